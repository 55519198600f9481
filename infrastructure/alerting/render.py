"""Alert messages: the channel-neutral alert dict, Slack Block Kit and multipart email.

An alert is a plain dict of strings and numbers built only from a scrubbed event, so it can be
queued, sent through Celery as JSON, and rendered by any channel. Renderers cut long texts to
the channel's limits instead of letting the channel reject the whole message.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

SEVERITY_COLOURS = {
    "critical": "#D00000",
    "error": "#E8710A",
    "warning": "#F2C744",
    "info": "#439FE0",
    "resolved": "#2EB67D",
}
TEXT_FIELDS = ("title", "error_type", "message", "endpoint", "service")
# Alerts travel as Celery messages: a 1 MB exception value must not become a 1 MB task.
MESSAGE_MAX, TEXT_MAX = 10_000, 1_000

# Slack's documented limits (characters).
HEADER_MAX, SECTION_MAX, FIELD_MAX, FIELDS_MAX, BUTTON_MAX, URL_MAX, BLOCKS_MAX = (
    150, 3000, 2000, 10, 75, 3000, 50)
SUBJECT_MAX = 150

_SPACE = re.compile(r"\s+")
_EVENT_ID = re.compile(r"[^0-9A-Za-z-]")


ERROR_TYPE_MAX = 60  # a long class path must not push the environment out of the subject


def cut(text: str, limit: int) -> str:
    """`text` shortened to at most `limit` characters, marking the cut with an ellipsis."""
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def one_line(text: str) -> str:
    """`text` with every run of whitespace, CR and LF included, turned into one space."""
    return _SPACE.sub(" ", text).strip()


def when(timestamp: float | None) -> str:
    """A UTC timestamp as ISO 8601, or '' when unknown."""
    if timestamp is None:
        return ""
    try:
        return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, OSError, ValueError):  # a bogus event timestamp must not lose the alert
        return ""


def issue_link(settings: Any, event_id: str) -> tuple[str, str]:
    """(link, inbox_command): a Sentry search link when a DSN and org are set, else the local command."""
    event_id = _EVENT_ID.sub("", event_id)[:64]
    if not event_id:
        return "", ""
    if settings.dsn and settings.sentry_org:
        # The issue id is only known after ingestion; a search by event id finds it from here.
        base = settings.sentry_url.rstrip("/")
        return f"{base}/organizations/{quote(settings.sentry_org)}/issues/?query={event_id}", ""
    if not settings.dsn:
        return "", f"python manage.py sentry_inbox --show {event_id}"
    return "", ""


def build_alert(*, rule: str, severity: str, title: str, error_type: str, message: str,
                occurrences: int = 1, window: int | None = None, suppressed: int = 0,
                environment: str = "", release: str = "", endpoint: str = "", service: str = "",
                first_seen: float | None = None, last_seen: float | None = None, event_id: str = "",
                link: str = "", inbox_command: str = "", status: str = "firing") -> dict[str, Any]:
    """The channel-neutral alert: JSON-safe, built only from already-scrubbed values."""
    return {
        "status": status, "rule": rule, "severity": severity, "title": cut(title, TEXT_MAX),
        "error_type": cut(error_type, TEXT_MAX), "message": cut(message, MESSAGE_MAX),
        "occurrences": int(occurrences), "window": window, "suppressed": int(suppressed),
        "environment": environment, "release": release, "endpoint": cut(endpoint, TEXT_MAX),
        "service": cut(service, TEXT_MAX),
        "first_seen": when(first_seen), "last_seen": when(last_seen), "event_id": event_id,
        "link": link if link.startswith(("https://", "http://")) else "", "inbox_command": inbox_command,
    }


def _occurrences(alert: dict[str, Any]) -> str:
    window = alert.get("window")
    text = f"{alert.get('occurrences', 1)}" + (f" in the last {window}s" if window else "")
    if alert.get("suppressed"):
        text += f" ({alert['suppressed']} more since the last alert)"
    return text


def _details(alert: dict[str, Any]) -> list[tuple[str, str]]:
    rows = [("Occurrences", _occurrences(alert)), ("Environment", alert.get("environment", "")),
            ("Release", alert.get("release", "")), ("Endpoint", alert.get("endpoint", "")),
            ("Service", alert.get("service", "")), ("First seen", alert.get("first_seen", "")),
            ("Last seen", alert.get("last_seen", "")), ("Event ID", alert.get("event_id", ""))]
    return [(name, str(value)) for name, value in rows if value]


def _mrkdwn(text: str, limit: int) -> str:
    """Escape Slack's control characters, keeping as much text as fits the limit escaped.

    Escaping can grow a text fivefold (``&`` -> ``&amp;``), so the cut is found character by
    character over at most ``limit`` characters, never by shrinking the whole text blindly.
    """
    escaped = _slack_escape(text[: limit + 1])
    if len(text) <= limit and len(escaped) <= limit:
        return escaped
    out, size = [], 0
    for ch in text[:limit]:
        piece = _ESCAPES.get(ch, ch)
        if size + len(piece) > limit - 1:
            break
        out.append(piece)
        size += len(piece)
    return "".join(out) + "…"


_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(alert: dict[str, Any], channel: str = "") -> dict[str, Any]:
    """A Block Kit message within Slack's limits, coloured by severity through an attachment."""
    severity = str(alert.get("severity", "error"))
    headline = f"[{severity.upper()}] {alert.get('error_type', '')}"
    header = {"type": "header", "text": {"type": "plain_text", "text": cut(one_line(headline), HEADER_MAX)}}
    summary = f"*{_mrkdwn(str(alert.get('title', '')), 500)}*\n"
    message = str(alert.get("message", "")) or "(no message)"
    body = summary + "```" + _mrkdwn(message, SECTION_MAX - len(summary) - 6) + "```"
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": body}}]
    fields = [{"type": "mrkdwn", "text": _mrkdwn(f"*{name}*\n{value}", FIELD_MAX)}
              for name, value in _details(alert)[:FIELDS_MAX]]
    if fields:
        blocks.append({"type": "section", "fields": fields})
    blocks.extend(_link_blocks(alert))
    attachment = {"color": SEVERITY_COLOURS.get(severity, SEVERITY_COLOURS["error"]),
                  "blocks": blocks[: BLOCKS_MAX - 1]}
    payload: dict[str, Any] = {"text": cut(one_line(f"{headline}: {alert.get('title', '')}"), SECTION_MAX),
                               "blocks": [header], "attachments": [attachment]}
    if channel:
        payload["channel"] = channel
    return payload


def _link_blocks(alert: dict[str, Any]) -> list[dict[str, Any]]:
    link = str(alert.get("link", ""))
    if link and len(link) <= URL_MAX:
        button = {"type": "button", "text": {"type": "plain_text", "text": cut("View in Sentry", BUTTON_MAX)},
                  "url": link}
        return [{"type": "actions", "elements": [button]}]
    command = str(alert.get("inbox_command", ""))
    if command:
        text = _mrkdwn(f"Inspect locally: `{command}`", SECTION_MAX)
        return [{"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}]
    return []


def email_subject(alert: dict[str, Any]) -> str:
    """'[CRITICAL] Type: message (environment)' on one line, cut to SUBJECT_MAX characters."""
    error_type = cut(one_line(str(alert.get("error_type", ""))), ERROR_TYPE_MAX)
    prefix = one_line(f"[{str(alert.get('severity', 'error')).upper()}] {error_type}") + ": "
    suffix = f" ({one_line(str(alert.get('environment', '')))})" if alert.get("environment") else ""
    suffix = cut(suffix, 40)
    room = max(10, SUBJECT_MAX - len(prefix) - len(suffix))
    message = one_line(str(alert.get("message", "")) or str(alert.get("title", "")))
    return cut(prefix + cut(message, room) + suffix, SUBJECT_MAX)


def email_bodies(alert: dict[str, Any]) -> tuple[str, str]:
    """(plain text, HTML) bodies; every value is HTML-escaped in the HTML part."""
    rows = [("Alert", str(alert.get("title", ""))), ("Error", str(alert.get("error_type", ""))),
            ("Message", str(alert.get("message", ""))), *_details(alert)]
    link, command = str(alert.get("link", "")), str(alert.get("inbox_command", ""))
    text = "\n".join(f"{name}: {value}" for name, value in rows)
    cells = "".join(f"<tr><th align=\"left\">{html.escape(n)}</th><td>{html.escape(v)}</td></tr>"
                    for n, v in rows)
    extra = ""
    if link:
        text += f"\n\nView in Sentry: {link}"
        extra = f'<p><a href="{html.escape(link, quote=True)}">View in Sentry</a></p>'
    elif command:
        text += f"\n\nInspect locally: {command}"
        extra = f"<p>Inspect locally: <code>{html.escape(command)}</code></p>"
    body = f"<html><body><table>{cells}</table>{extra}</body></html>"
    return text + "\n", body
