"""Leak audit: replay stored events through the detectors and report what would still change.

An event that was scrubbed when it was stored comes back unchanged; anything the current
rules would still remove is a leak (an event stored before a rule existed, or by a process
without the scrubber). Findings name the event, the field path and the placeholder, never
the value.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from .scrubber import Scrubber

_PLACEHOLDER = re.compile(r"\[[A-Za-z_]{2,30}\]")


@dataclass(frozen=True)
class Finding:
    """One value the detectors would still change: where it is and what it would become."""

    event_id: str
    path: str
    becomes: str

    def __str__(self) -> str:
        return f"{self.event_id}  {self.path}  would become {self.becomes}"


def audit(events: Iterable[dict], scrubber: Scrubber | None = None) -> list[Finding]:
    """Every value of ``events`` that ``scrubber`` would still change."""
    scrubber = scrubber or Scrubber()
    findings: list[Finding] = []
    for index, event in enumerate(events):
        if not isinstance(event, dict):
            raise TypeError(f"event {index} is a {type(event).__name__}, not a JSON object")
        event_id = str(event.get("event_id") or f"#{index}")
        scrubbed = scrubber.scrub_event(copy.deepcopy(event))
        findings += [Finding(event_id, path, becomes) for path, becomes in _differences(event, scrubbed, "")]
    return findings


def _differences(before: object, after: object, path: str) -> Iterator[tuple[str, str]]:
    """(path, what it becomes) for each leaf that differs; dict keys that change count too."""
    if isinstance(before, dict) and isinstance(after, dict):
        renamed = [k for k in after if k not in before]
        if renamed:  # a key that held a secret was rewritten: report the parent, never the key
            yield f"{path}.<a key>".lstrip("."), _kinds(renamed)
        for key, value in before.items():
            if key in after:
                yield from _differences(value, after[key], f"{path}.{key}")
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for i, (a, b) in enumerate(zip(before, after, strict=True)):
            yield from _differences(a, b, f"{path}[{i}]")
    elif before != after:
        yield path.lstrip("."), _kinds(after)


def _kinds(value: object) -> str:
    """The placeholders in a scrubbed value (``[email], [Filtered]``), or a type summary."""
    found = sorted(set(_PLACEHOLDER.findall(str(value))))
    return ", ".join(found) if found else "a changed value"
