"""One reading of a sentry-sdk event: exceptions, stacks, crash frame, message, tags, fingerprint.

Grouping, alerting and the local inbox all read events through these functions, so they agree
on which exception was raised, which frame crashed and what `{{ default }}` means. Every
function tolerates any missing or malformed part (an event may come from anywhere) and never
raises.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

# Our own frames (ErrorTracker, the query wrapper, the pipeline) are never where an error
# happened: the caller's frame is.
OWN_MODULES = ("errorwarden",)
LEVELS = ("fatal", "error", "warning", "info", "debug")  # Sentry's event levels
# The hint key under which the classifier leaves its Verdict for the steps after it.
VERDICT = "errorwarden.verdict"
_DEFAULT = re.compile(r"^\{\{\s*default\s*\}\}$")


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _mapping(value: Any) -> bool:
    # The common case (a dict) without the ABC check, which costs more than the rest of a lookup.
    return type(value) is dict or isinstance(value, Mapping)


def exceptions(event: Mapping[str, Any]) -> list[dict]:
    """The exception chain as Sentry orders it: the cause first, the raised exception last."""
    values = (event.get("exception") or {}) if _mapping(event) else {}
    values = values.get("values") if _mapping(values) else None
    return [v for v in _list(values) if isinstance(v, dict)]


def main_exception(event: Mapping[str, Any]) -> dict | None:
    """The raised exception's entry, or None for a message event."""
    chain = exceptions(event)
    return chain[-1] if chain else None


def stacktraces(event: Mapping[str, Any]) -> list[list[dict]]:
    """Frame lists: the raised exception's first, then its causes', then the threads', then the event's."""
    found = []
    threads = event.get("threads") if _mapping(event.get("threads")) else {}
    sources = [*reversed(exceptions(event)), *reversed(_list(threads.get("values"))), event]
    for source in sources:
        stack = source.get("stacktrace") if _mapping(source) else None
        frames = [f for f in _list(stack.get("frames") if _mapping(stack) else None)
                  if isinstance(f, dict)]
        if frames:
            found.append(frames)
    return found


def is_own(frame: Mapping[str, Any]) -> bool:
    """True for a frame of the error-tracking system itself."""
    module = frame.get("module")
    return isinstance(module, str) and any(module == m or module.startswith(m + ".") for m in OWN_MODULES)


def crash_frame(event: Mapping[str, Any], in_app_only: bool = False,
                stacks: list[list[dict]] | None = None) -> dict | None:
    """Where it happened: the innermost in-app frame of any stack, else the first stack's innermost
    (None instead with in_app_only=True).

    Our own frames are passed over in both searches while any other frame exists. `stacks` is
    stacktraces(event), when the caller has it already.
    """
    stacks = stacktraces(event) if stacks is None else stacks
    for frames in stacks:
        for frame in reversed(frames):
            if frame.get("in_app") is True and not is_own(frame):
                return frame
    if not stacks or in_app_only:
        return None
    others = [f for f in stacks[0] if not is_own(f)]
    return (others or stacks[0])[-1]


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):  # the older protocol shape {"message": ..., "formatted": ...}
        return _text(value.get("formatted") or value.get("message"))
    return ""


def message(event: Mapping[str, Any], template: bool = False) -> str:
    """A message event's text; with template=True the unformatted log template when there is one."""
    entry = event.get("logentry")
    entry = entry if isinstance(entry, Mapping) else {}
    keys = ("message", "formatted") if template else ("formatted", "message")
    for value in (*(entry.get(k) for k in keys), event.get("message")):
        text = _text(value)
        if text:
            return text
    return ""


def text(event: Mapping[str, Any]) -> str:
    """What a person reads first: the raised exception's value, else the message."""
    exc = main_exception(event)
    value = _text(exc.get("value")) if exc else ""
    return value or message(event)


def tags(event: Mapping[str, Any]) -> dict[str, str]:
    """The event's tags as a dict (the protocol also allows a list of [key, value] pairs)."""
    raw = event.get("tags")
    if isinstance(raw, Mapping):
        return {str(k): str(v) for k, v in raw.items()}
    return {str(p[0]): str(p[1]) for p in _list(raw) if isinstance(p, list | tuple) and len(p) == 2}


def timestamp(value: Any) -> float | None:
    """Seconds since the epoch from an ISO 8601 string, a datetime or a number; None otherwise."""
    if isinstance(value, str) and value:
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if isinstance(value, datetime):
        # Sentry's timestamps are UTC; a naive one must not be read as local time.
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def is_default_fingerprint(part: Any) -> bool:
    """True for Sentry's '{{ default }}' placeholder in any spacing."""
    return isinstance(part, str) and _DEFAULT.match(part) is not None


def expand_fingerprint(custom: Any, default: Sequence[str]) -> list[str]:
    """The fingerprint that groups: `default` when none is set, else `custom` with
    '{{ default }}' replaced by the default's parts."""
    if not isinstance(custom, list | tuple) or not custom:
        return list(default)
    parts: list[str] = []
    for part in custom:
        parts.extend(default if is_default_fingerprint(part) else (str(part),))
    return parts
