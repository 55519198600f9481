"""Small text helpers every floor shares: cutting to a limit, one line, a UTC time."""

from __future__ import annotations

import re
from datetime import UTC, datetime

ELLIPSIS = "…"
_SPACE = re.compile(r"\s+")


def cut(text: str, limit: int, marker: str = ELLIPSIS) -> str:
    """`text` shortened to at most `limit` characters, the cut marked with `marker` ('' for none)."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - len(marker))] + marker


def one_line(text: str) -> str:
    """`text` with every run of whitespace, CR and LF included, turned into one space."""
    return _SPACE.sub(" ", text).strip()


def when(timestamp: float | None, fmt: str = "%Y-%m-%d %H:%M:%S UTC") -> str:
    """Seconds since the epoch as a UTC time, or '' when unknown or out of the calendar's range."""
    if timestamp is None:
        return ""
    try:
        return datetime.fromtimestamp(timestamp, UTC).strftime(fmt)
    except (OverflowError, OSError, ValueError):  # a bogus event timestamp must not lose an alert
        return ""
