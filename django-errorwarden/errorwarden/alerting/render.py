"""The channel-neutral alert: a plain dict built from a scrubbed event, scrubbed once more as text.

An alert is strings and numbers only, so it can be queued, sent through Celery as JSON and
rendered by any channel (errorwarden/alerting/channels/). Its free texts pass the scrubber
here, once, when the alert is built; channels only cut them to their own limits.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from errorwarden.text import cut, when

if TYPE_CHECKING:
    from errorwarden.settings import Settings

ScrubText = Callable[[str], str]
TEXT_FIELDS = ("title", "error_type", "message", "endpoint", "service")
WITHHELD = "[withheld: the scrubber failed]"
# Alerts travel as Celery messages: a 1 MB exception value must not become a 1 MB task.
MESSAGE_MAX, TEXT_MAX = 10_000, 1_000

_EVENT_ID = re.compile(r"[^0-9A-Za-z-]")


def issue_link(settings: Settings, event_id: str) -> tuple[str, str]:
    """(link, inbox_command): a link that works on the DSN's server, else the local inbox command."""
    from errorwarden.issue_links import issue_link_for

    event_id = _EVENT_ID.sub("", event_id)[:64]
    if not event_id:
        return "", ""
    if settings.dsn:
        return issue_link_for(settings, event_id), ""
    return "", f"python manage.py sentry_inbox --show {event_id}"


def _scrubbed(text: str, scrub: ScrubText | None, limit: int) -> str:
    if scrub is not None and text:
        try:
            # The event was scrubbed already; this pass guards texts built from it, so the part
            # that can be shown is enough (a 1 MB value must not cost a 1 MB scan here).
            text = scrub(text[: limit * 2])
        except Exception:  # fail closed: a text that could not be scrubbed is not sent
            return WITHHELD
    return cut(text, limit)


def build_alert(*, rule: str, severity: str, title: str, error_type: str, message: str,
                scrub: ScrubText | None, occurrences: int = 1, window: int | None = None,
                suppressed: int = 0, environment: str = "", release: str = "", endpoint: str = "",
                service: str = "", first_seen: float | None = None, last_seen: float | None = None,
                event_id: str = "", link: str = "", inbox_command: str = "",
                status: str = "firing") -> dict[str, Any]:
    """The channel-neutral alert: JSON-safe; its free texts pass `scrub` here, once."""
    return {
        "status": status, "rule": rule, "severity": severity,
        "title": _scrubbed(title, scrub, TEXT_MAX), "error_type": _scrubbed(error_type, scrub, TEXT_MAX),
        "message": _scrubbed(message, scrub, MESSAGE_MAX),
        "occurrences": int(occurrences), "window": window, "suppressed": int(suppressed),
        "environment": environment, "release": release, "endpoint": _scrubbed(endpoint, scrub, TEXT_MAX),
        "service": _scrubbed(service, scrub, TEXT_MAX),
        "first_seen": when(first_seen), "last_seen": when(last_seen), "event_id": event_id,
        "link": link if link.startswith(("https://", "http://")) else "", "inbox_command": inbox_command,
    }


def _occurrences(alert: dict[str, Any]) -> str:
    window = alert.get("window")
    text = f"{alert.get('occurrences', 1)}" + (f" in the last {window}s" if window else "")
    if alert.get("suppressed"):
        text += f" ({alert['suppressed']} more since the last alert)"
    return text


def details(alert: dict[str, Any]) -> list[tuple[str, str]]:
    """The (name, value) rows every channel shows under the message, empty ones left out."""
    rows = [("Occurrences", _occurrences(alert)), ("Environment", alert.get("environment", "")),
            ("Release", alert.get("release", "")), ("Endpoint", alert.get("endpoint", "")),
            ("Service", alert.get("service", "")), ("First seen", alert.get("first_seen", "")),
            ("Last seen", alert.get("last_seen", "")), ("Event ID", alert.get("event_id", ""))]
    return [(name, str(value)) for name, value in rows if value]
