"""Each output kind of errorwarden.text against strings nobody here wrote (tests/data/naughty)."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from errorwarden.alerting.channels.email import email_bodies, email_subject
from errorwarden.alerting.channels.slack import slack_message
from errorwarden.alerting.render import build_alert
from errorwarden.logfilter import LineFormatter, ScrubLogFilter
from errorwarden.text import (
    LOG_CONTINUATION,
    for_email_header,
    for_html,
    for_html_page,
    for_json,
    for_log,
    for_slack_mrkdwn,
    for_slack_plain,
    for_slack_text,
    for_terminal,
    for_terminal_line,
    visible,
)
from tests.support.hostile import (
    FORGED_RECORD,
    FORGERY,
    RAW,
    SLACK,
    SLACK_FORMED,
    TERMINAL,
    hostile,
    naughty,
)
from tests.support.slack import block_kit_problems

HOSTILE = hostile()
LINES = {"for_terminal": for_terminal, "for_log": for_log, "for_html": for_html}
ONE_LINE = {"for_terminal_line": for_terminal_line, "for_email_header": for_email_header,
            "for_slack_text": lambda t: for_slack_text(t, 3000),
            "for_slack_plain": lambda t: for_slack_plain(t, 3000),
            "for_slack_mrkdwn": lambda t: for_slack_mrkdwn(t, 3000, lines=False)}
SLACK_KINDS = ("for_slack_text", "for_slack_plain", "for_slack_mrkdwn")


def _escape_of(char: str) -> str:
    return {"\n": "\\n", "\r": "\\r", "\x00": "\\0"}.get(char) or (
        f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


def test_the_list_is_the_one_named_in_its_readme():
    """The naughty strings are read whole: hundreds of lines, controls and bidi among them."""
    strings = naughty()
    assert len(strings) > 500
    joined = "".join(strings)
    for char in ("\x1b", "\x07", "\x9b", "\u202e", "\u2066", "\u200f", "\x7f"):
        assert char in joined


@pytest.mark.parametrize("kind", sorted({**LINES, **ONE_LINE}))
def test_no_output_kind_lets_a_control_or_bidi_character_through(kind):
    """Whatever the kind, no C0/C1 control, DEL, separator or bidi character is left raw."""
    render = {**LINES, **ONE_LINE}[kind]
    for text in HOSTILE:
        out = render(text)
        assert not RAW.search(out), (kind, text, out)
        if kind in ONE_LINE:
            assert "\n" not in out, (kind, text, out)


@pytest.mark.parametrize("kind", sorted(ONE_LINE))
def test_what_was_there_is_shown_not_deleted(kind):
    """Every control and bidi character of the input appears as its escape (line breaks and tabs
    of a summary line fold into spaces)."""
    render = ONE_LINE[kind]
    for text in HOSTILE:
        out = render(text[:500])
        for char in set(RAW.findall(text[:400])):
            if kind not in ("for_terminal_line", "for_slack_mrkdwn") and char == "\r":
                continue  # a summary line folds CR with LF
            assert _escape_of(char) in out, (kind, repr(char), text)


@pytest.mark.parametrize("kind", SLACK_KINDS)
def test_no_slack_mention_or_link_forms_from_captured_text(kind):
    """<!channel>, <@U…>, <#C…>, <!subteam^…>, <url|label>: the angle brackets arrive as entities."""
    render = ONE_LINE[kind]
    for text in HOSTILE:
        out = render(text)
        if kind != "for_slack_plain":  # plain_text is never parsed for mentions or links
            assert "<" not in out and ">" not in out, (text, out)
            assert not SLACK_FORMED.search(out)
    assert for_slack_text("<!channel> ping", 100) == "&lt;!channel&gt; ping"
    assert for_slack_text("<http://evil.example|https://sentry.io>", 100) == (
        "&lt;http://evil.example|https://sentry.io&gt;")


def test_slack_escaping_is_cut_within_the_limit():
    """Escapes count against Slack's limit; the cut is marked."""
    out = for_slack_mrkdwn("<" * 100, 50)
    assert len(out) <= 50 and out.endswith("…") and "<" not in out


def test_a_log_record_cannot_start_a_line_of_its_own():
    """Every line after the first starts with the continuation mark; CR, NEL and U+2028 are escaped."""
    out = for_log(f"ERROR app: boom {FORGERY}\nTraceback line")
    first, *rest = out.split("\n")
    assert first.startswith("ERROR app: boom") and rest
    assert all(line.startswith(LOG_CONTINUATION) for line in rest)
    assert not any(line.startswith(FORGED_RECORD) for line in out.split("\n"))


def test_json_stays_json_with_the_same_strings():
    """--show's JSON: every string survives the round trip, nothing raw is printed."""
    for text in HOSTILE:
        dumped = for_json(json.dumps({"title": text}, ensure_ascii=False))
        assert not RAW.search(dumped.replace("\n", ""))
        assert json.loads(dumped)["title"] == text


def test_an_html_page_keeps_its_markup_and_shows_the_bidi_override():
    """The page pass touches only what could act; the markup and escaped text stay."""
    page = "<h1>invoice\u202egpj.exe &lt;b&gt;</h1>\n<p>ok</p>"
    assert for_html_page(page) == "<h1>invoice\\u202egpj.exe &lt;b&gt;</h1>\n<p>ok</p>"
    assert for_html("<b>\u202e") == "&lt;b&gt;\\u202e"


def test_visible_leaves_ordinary_text_of_any_script_alone():
    """Emoji with joiners, RTL scripts, zero-width spaces and tabs are text, not controls."""
    for text in ("👨‍👩‍👦 family", "مرحبا بالعالم", "שָׁלוֹם", "a\tb", "zero\u200bwidth", "日本語"):
        assert visible(text) == text


def _alert(text: str) -> dict:
    return build_alert(rule="critical_burst", severity="critical", title=f"burst of {text}",
                       error_type="ValueError", message=f"could not parse {text}", scrub=None,
                       environment="production", endpoint=f"/hostile/{text}", event_id="a" * 32,
                       link="https://sentry.io/organizations/acme/issues/?query=" + "a" * 32)


def _strings(value) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def test_a_slack_alert_of_every_hostile_string_is_inert_and_valid():
    """Every text of the Block Kit message: nothing raw, no mention or link, one link (ours)."""
    for text in HOSTILE:
        payload = slack_message(_alert(text))
        assert not block_kit_problems(payload), text
        for value in _strings(payload):
            assert not RAW.search(value) and not SLACK_FORMED.search(value), (text, value)
        urls = [v for v in _strings(payload) if re.match(r"https?://", v)]
        assert urls == ["https://sentry.io/organizations/acme/issues/?query=" + "a" * 32]
        mrkdwn = [b for b in payload["attachments"][0]["blocks"] if b["type"] == "section"]
        objects = [o for b in mrkdwn for o in [b.get("text"), *b.get("fields", [])] if o]
        assert objects and all(o.get("verbatim") is True for o in objects)


def test_an_email_alert_of_every_hostile_string_is_inert():
    """Subject, text and HTML parts: nothing raw; the only anchor is the system's link."""
    for text in HOSTILE:
        alert = _alert(text)
        subject = email_subject(alert)
        plain, html_body = email_bodies(alert)
        assert "\n" not in subject and not RAW.search(subject), text
        assert not RAW.search(plain.replace("\n", "")) and not RAW.search(html_body.replace("\n", "")), text
        assert html_body.count("<a ") == 1 and "<script" not in html_body.lower()
    plain, _ = email_bodies(_alert(TERMINAL[0]))
    assert "\\x1b[2J" in plain


def _log_through(formatter: logging.Formatter, message: str, *args, exc: BaseException | None = None,
                 scrub: bool = False) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    if scrub:
        handler.addFilter(ScrubLogFilter(scrub_text=lambda t: t))
    logger = logging.getLogger(f"test.hostile.{id(stream)}")
    logger.handlers, logger.propagate = [handler], False
    logger.error(message, *args, exc_info=(type(exc), exc, exc.__traceback__) if exc else None)
    return stream.getvalue()


@pytest.mark.parametrize("scrub", [True, False], ids=["with-the-filter", "formatter-alone"])
def test_the_line_formatter_marks_continuation_lines_of_any_record(scrub):
    """With or without the scrub filter, a message or traceback cannot print a line that reads as a record."""
    formatter = LineFormatter("%(levelname)s %(name)s: %(message)s")
    try:
        raise ValueError(f"could not parse {FORGERY}")
    except ValueError as error:
        printed = _log_through(formatter, "could not parse %s", FORGERY, exc=error, scrub=scrub)
    lines = printed.rstrip("\n").split("\n")
    assert lines[0].startswith("ERROR test.hostile.") and len(lines) > 3  # the traceback's lines
    assert all(line.startswith(LOG_CONTINUATION) for line in lines[1:])
    assert not RAW.search(printed.replace("\n", ""))
    for text in (*TERMINAL, *SLACK):
        printed = _log_through(formatter, "%s", text, scrub=scrub)
        assert printed.count("\n") == 1 and not RAW.search(printed.rstrip("\n"))


def test_the_project_console_uses_the_line_formatter():
    """config/settings.py's console handler prints through LineFormatter."""
    from django.conf import settings

    assert settings.LOGGING["formatters"]["plain"]["class"] == "errorwarden.logfilter.LineFormatter"
    assert "scrub" in settings.LOGGING["handlers"]["console"]["filters"]


def test_the_demo_report_prints_alert_subjects_inert(tracked, monkeypatch):
    """The demo's report lists the alert e-mails' subjects: one line each, nothing raw, escapes shown."""
    from types import SimpleNamespace

    from django.core import mail

    from library.demo import report
    from library.demo.tally import Tally

    subjects = [f"[CRITICAL] ValueError: {text}" for text in (*TERMINAL, FORGERY)]
    monkeypatch.setattr(mail, "outbox", [SimpleNamespace(subject=s) for s in subjects], raising=False)
    printed = report.summary(tracked.runtime, Tally(), SimpleNamespace(statuses={}, requests=0), 1.0)
    assert not RAW.search(printed.replace("\n", ""))
    shown = [line for line in printed.split("\n") if line.startswith("  [CRITICAL] ValueError: ")]
    assert len(shown) == len(subjects)
    assert not any(line.startswith(FORGED_RECORD) for line in printed.split("\n"))
    assert "\\x1b[2J" in printed and "\\u202e" in printed


# Any text at all, weighted towards the characters that matter here.
_TRICKY = st.sampled_from([*"\x00\x07\x08\t\n\r\x1b\x7f\x85\x9b\u061c\u200e\u200f\u202a\u202e\u2066\u2069",
                            *"\u2028\u2029\ud800<>&|!@#`*_~\\ ", "<!channel>", "\x1b[2J", "\r\n"])
_TEXT = st.lists(st.one_of(st.characters(), _TRICKY), max_size=60).map("".join)


@settings(max_examples=300, deadline=None)
@given(_TEXT)
def test_any_text_is_inert_in_every_kind(text):
    """For any text: nothing raw in any kind, one line where one line is due, no Slack syntax,
    log continuations marked, JSON round-trips."""
    for kind, render in {**LINES, **ONE_LINE}.items():
        out = render(text)
        assert not RAW.search(out), kind
        if kind in ONE_LINE:
            assert "\n" not in out, kind
        if kind in ("for_slack_text", "for_slack_mrkdwn"):
            assert "<" not in out and ">" not in out
    assert all(line.startswith(LOG_CONTINUATION) for line in for_log(text).split("\n")[1:])
    assert json.loads(for_json(json.dumps(text, ensure_ascii=False))) == text
    assert visible(visible(text)) == visible(text)  # applying it twice changes nothing more


def test_the_scrub_audit_prints_captured_paths_and_values_inert(tmp_path):
    """sentry_scrub_audit names where a value would still leak: key names and values are captured."""
    from io import StringIO

    from django.core.management import CommandError, call_command

    key = "\x1b[2J\u202ekey\nINFO django: ok"
    events = [{"event_id": "a" * 32, "extra": {key: "reach me at jane.reader@example.com"}}]
    path = tmp_path / "events.json"
    path.write_text(json.dumps(events), encoding="utf-8")
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("sentry_scrub_audit", str(path), stdout=out)
    printed = out.getvalue()
    assert "would become" in printed and not RAW.search(printed.replace("\n", ""))
    assert "\\x1b[2J\\u202ekey\\nINFO django: ok" in printed and printed.count("\n") == 1
