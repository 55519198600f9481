"""End to end: hostile text posted to a real server reaches on-call inert on every channel.

A view echoes what a request sent into a ValueError (tests/hostile_urls.py). The posted text is
the Big List of Naughty Strings plus Slack's mention/link syntax and terminal sequences
(tests/support/hostile.py). What the Slack stand-in and aiosmtpd received is what a person reads.
"""

from __future__ import annotations

import re
from email.header import decode_header, make_header

import pytest
import requests

from infrastructure.sentry_alerts import flush
from tests.support.hostile import FORGED_RECORD, RAW, SLACK_FORMED, chunks
from tests.support.paging import paging

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls("tests.hostile_urls")]


def _strings(value) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def _assert_slack_inert(payload: dict, own_link: str = "") -> None:
    texts = _strings(payload)
    for text in texts:
        assert not RAW.search(text), f"raw {RAW.findall(text)} in Slack text {text[:120]!r}"
        assert not SLACK_FORMED.search(text), f"Slack syntax formed in {text[:200]!r}"
    # The only link is the system's own (the button to the issue): a whole string, never inside text.
    links = [t for t in texts if re.match(r"https?://", t)]
    assert all(link.startswith(own_link) for link in links) if own_link else not links
    assert len(links) <= 1


def _own_server(runtime) -> str:
    """Where the system's own links point: the DSN's Sentry server."""
    from urllib.parse import urlsplit

    from errorwarden.issue_links import issue_link_for

    parts = urlsplit(issue_link_for(runtime.settings, "0" * 32))
    assert parts.scheme and parts.netloc
    return f"{parts.scheme}://{parts.netloc}/"


def _mail_parts(received) -> tuple[str, str, str]:
    message = received.message
    subject = str(make_header(decode_header(message["Subject"])))
    parts = {part.get_content_type(): part.get_payload(decode=True).decode(part.get_content_charset("utf-8"))
             for part in message.walk() if not part.is_multipart()}
    # SMTP carries lines ended by CRLF: those are the mail's own line breaks.
    return subject, parts["text/plain"].replace("\r\n", "\n"), parts["text/html"].replace("\r\n", "\n")


def _assert_mail_inert(received, own_link: str = "") -> None:
    subject, plain, html = _mail_parts(received)
    assert "\n" not in subject and not RAW.search(subject), subject
    assert not RAW.search(plain.replace("\n", "")), RAW.findall(plain)
    assert not RAW.search(html.replace("\n", "")), RAW.findall(html)
    assert "<script" not in html.lower()
    anchors = re.findall(r'<a href="([^"]*)"', html)
    assert all(a.startswith(own_link) for a in anchors) if own_link else not anchors
    assert not any(line.startswith(FORGED_RECORD) for line in plain.split("\n"))


def test_rule_alerts_of_hostile_errors_reach_slack_and_email_inert(envelope_receiver, live_server):
    """Each posted chunk fails a request and pages once (threshold 1); every Slack message and
    e-mail shows the controls as escapes, forms no mention or link, and links only to the issue."""
    messages = chunks()
    with paging(envelope_receiver, critical_error_threshold=1,
                error_rate_min_requests=10_000) as (runtime, smtp, slack):
        own = _own_server(runtime)
        for number, text in enumerate(messages):
            reply = requests.post(live_server.url + "/hostile/parse/", data={"q": text, "issue": number},
                                  timeout=30)
            assert reply.status_code == 500
        assert flush(20)
        assert slack.wait_for(len(messages), timeout=30) and smtp.recorder.wait_for(len(messages), timeout=30)
    assert len(slack.accepted) == len(messages) and len(smtp.messages) == len(messages)
    for payload in slack.accepted:
        _assert_slack_inert(payload, own)
    for received in smtp.messages:
        _assert_mail_inert(received, own)
    everything = " ".join(s for p in slack.accepted for s in _strings(p))
    # What was there is shown: ESC, the bidi override and Slack's syntax appear as escapes.
    assert "\\x1b[2J" in everything and "\\u202e" in everything and "&lt;!channel&gt;" in everything
    mail_text = " ".join(_mail_parts(m)[1] for m in smtp.messages)
    assert "\\x1b]8;;http://evil.example/\\x07" in mail_text and "<!channel>" in mail_text


def test_the_spec_notifiers_send_hostile_errors_inert(envelope_receiver, live_server):
    """SlackNotifier and EmailNotifier, called by app code with str(exc), send nothing that acts."""
    messages = [text for text in chunks() if RAW.search(text) or "<" in text]
    with paging(envelope_receiver) as (_, smtp, slack):
        for text in messages:
            reply = requests.post(live_server.url + "/hostile/notify/", data={"q": text}, timeout=60)
            assert reply.json() == {"slack": True, "email": True}
    assert len(slack.accepted) == len(messages) and len(smtp.messages) == len(messages)
    for payload in slack.accepted:
        _assert_slack_inert(payload)
        assert payload["text"].startswith("[ERROR] ValueError: ValueError reported")
    for received in smtp.messages:
        _assert_mail_inert(received)
    notices = " ".join(p["text"] for p in slack.accepted)
    assert "<" not in notices and "\\x1b" not in notices  # titles here hold no captured text
    bodies = " ".join(s for p in slack.accepted for s in _strings(p))
    assert "&lt;@U024BE7LH&gt;" in bodies and "\\u202e" in bodies and "\\x1b]0;pwned title\\x07" in bodies
