"""Small text helpers every floor shares: cutting to a limit, one line, a UTC time, and making captured
text safe for each kind of output a person reads (terminal, Slack, e-mail, HTML, log line, JSON)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from types import MappingProxyType

ELLIPSIS = "…"
_SPACE = re.compile(r"\s+")


def cut(text: str, limit: int, marker: str = ELLIPSIS) -> str:
    """`text` shortened to at most `limit` characters, the cut marked with `marker` ('' for none)."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - len(marker))] + marker


def one_line(text: str) -> str:
    """`text` with every run of whitespace, CR and LF included, turned into one space.

    Captured text goes through `visible` first (the for_* functions below), so its control
    characters are shown rather than turned into spaces here."""
    return _SPACE.sub(" ", text).strip()


def when(timestamp: float | None, fmt: str = "%Y-%m-%d %H:%M:%S UTC") -> str:
    """Seconds since the epoch as a UTC time, or '' when unknown or out of the calendar's range."""
    if timestamp is None:
        return ""
    try:
        return datetime.fromtimestamp(timestamp, UTC).strftime(fmt)
    except (OverflowError, OSError, ValueError):  # a bogus event timestamp must not lose an alert
        return ""


# -- Captured text on its way to a person ------------------------------------------------------
#
# Text captured from an error (a message echoing a request's path, header or form value) is
# written by whoever sent the request. Before it reaches a person it is made inert for the kind
# of output it goes to: nothing in it may act on the reader's terminal, chat or mail client, and
# nothing may be silently deleted either, so the reader sees that something was there.
#
# Shown as a visible escape everywhere (never executed, never dropped):
#   C0 and C1 control characters and DEL (ESC starts terminal sequences: CSI clears the screen,
#   OSC 8 plants a hyperlink; BEL rings; BS and CR overwrite; U+0085 NEL breaks lines),
#   U+2028/U+2029 (line and paragraph separators),
#   bidi embeddings, overrides, isolates and marks (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F,
#   U+061C), which make a line read in another order than it is stored,
#   lone surrogates (undecodable bytes), which make a UTF-8 stream raise.
# TAB stays; LF stays where the output has lines of its own (a body, a traceback).
_CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029"
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_SURROGATES = "\ud800-\udfff"
_UNSAFE = re.compile(f"[{_CONTROLS}{_BIDI}{_SURROGATES}\n]")
_UNSAFE_KEEP_LF = re.compile(f"[{_CONTROLS}{_BIDI}{_SURROGATES}]")
_BREAKS = re.compile("[ \t\r\n]+")
_NAMED = MappingProxyType({"\n": "\\n", "\r": "\\r", "\x00": "\\0"})
# Slack's control characters (its documented escapes): with '<' escaped no mention (<!channel>,
# <!here>, <@U…>, <#C…>, <!subteam^…>) and no link (<url|label>) can form from captured text.
SLACK_ESCAPES = MappingProxyType({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_SLACK = re.compile("[&<>]")
# What marks the continuation lines of one log record (docs/alerting.md, "Hostile text").
LOG_CONTINUATION = "  | "


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str, lines: bool = False) -> str:
    """`text` with every control, bidi and separator character shown as an escape (ESC as `\\x1b`,
    U+202E as `\\u202e`); LF too unless `lines` (then only LF, the output's own line break, stays).
    """
    return (_UNSAFE_KEEP_LF if lines else _UNSAFE).sub(_escape, text)


def _json_escape(match: re.Match[str]) -> str:
    char = match.group()
    return f"\\u{ord(char):04x}"


def for_json(dumped: str) -> str:
    """A JSON document (json.dumps with ensure_ascii=False) with the characters JSON leaves raw
    (DEL, C1, bidi, separators) escaped as \\uXXXX: still valid JSON, still the same strings."""
    return _UNSAFE_KEEP_LF.sub(_json_escape, dumped)


def for_terminal(text: str) -> str:
    """Text for a terminal that may span lines (a report): nothing in it can move the cursor,
    repaint, link or ring; its own LFs stay."""
    return visible(text, lines=True)


def for_terminal_line(text: str) -> str:
    """Text for one line of a terminal (a table cell, a report line): LF shown as `\\n` too."""
    return visible(text)


def for_log(text: str, continuation: str = LOG_CONTINUATION) -> str:
    """A formatted log record: one line, its further lines (a traceback's) each marked with
    `continuation`, so nothing in the record can pass for another record."""
    return visible(text, lines=True).replace("\n", "\n" + continuation)


def summary_line(text: str) -> str:
    """One line summing up captured text (a subject, a notification): its line breaks and tabs
    fold into spaces, as in any one-line summary; every other control and bidi character is shown."""
    return visible(_BREAKS.sub(" ", text)).strip()


def for_email_header(text: str) -> str:
    """An e-mail header value: a summary line (the mail API refuses CR/LF in headers)."""
    return summary_line(text)


def for_html(text: str) -> str:
    """Text for an HTML page: HTML-escaped, controls and bidi characters shown as escapes."""
    import html

    return html.escape(visible(text, lines=True), quote=True)


def for_html_page(page: str) -> str:
    """A rendered, already escaped HTML page with every control and bidi character in its text
    shown as an escape (the markup is ASCII; these can only come from the text it shows)."""
    return _UNSAFE_KEEP_LF.sub(_escape, page)


def slack_escaped(text: str) -> str:
    """`text` with Slack's control characters as entities (no mention or link can form)."""
    return _SLACK.sub(lambda m: SLACK_ESCAPES[m.group()], text)


def for_slack_mrkdwn(text: str, limit: int, lines: bool = True) -> str:
    """Text for a Slack mrkdwn object, at most `limit` characters once escaped (cut with '…')."""
    head = visible(text[: limit + 1], lines=lines)
    escaped = slack_escaped(head)
    if len(text) <= limit and len(escaped) <= limit:
        return escaped
    out, size = [], 0
    for ch in head[:limit]:
        piece = SLACK_ESCAPES.get(ch, ch)
        if size + len(piece) > limit - 1:
            break
        out.append(piece)
        size += len(piece)
    return "".join(out) + ELLIPSIS


def for_slack_text(text: str, limit: int) -> str:
    """A Slack message's top-level `text` (the notification and the fallback): one line, escaped."""
    return for_slack_mrkdwn(summary_line(text), limit, lines=False)


def for_slack_plain(text: str, limit: int) -> str:
    """A Slack plain_text object (a header, a button): one line, controls and bidi shown."""
    return cut(summary_line(text), limit)
