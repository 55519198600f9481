"""Storm sampling for the outbox: keep a few events per issue per window, and count the rest exactly.

Only envelopes on their way to the spool pass here (Sentry down, rate-limited, or the SDK's queue
full). Per issue (fingerprint), the first `keep` events of each `window` seconds are kept. Later
ones are omitted and counted; the newest omitted one is held as the issue's carrier. The count
travels on an event that is sent, in its `outbox_sampling` context:

    {"represents": 1 + omitted, "omitted": n, "omitted_first": <epoch>, "omitted_last": <epoch>}

either on the issue's next kept event, or, when none comes before the window ends (or at flush,
or when too many issues are tracked), on the carrier itself. So for every issue,
sum(represents) over its delivered events == the number of events captured.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sentry_sdk.envelope import Envelope, Item, PayloadRef

from errorwarden.local.store import fingerprint_of

CONTEXT = "outbox_sampling"


@dataclass
class _Issue:
    window_start: float
    kept: int = 0
    omitted: int = 0
    first: float = 0.0
    last: float = 0.0
    carrier: Envelope | None = None


def _event_item(envelope: Envelope) -> Item | None:
    return next((item for item in envelope.items if item.type == "event"), None)


def represented(event: dict[str, Any]) -> int:
    """How many captured events this delivered event stands for (1 unless it carries a summary)."""
    summary = (event.get("contexts") or {}).get(CONTEXT)
    if isinstance(summary, dict) and isinstance(summary.get("represents"), int):
        return max(1, summary["represents"])
    return 1


def _with_summary(envelope: Envelope, item: Item, issue: _Issue, omitted: int) -> Envelope:
    event = dict(item.get_event() or json.loads(item.get_bytes()))
    contexts = dict(event.get("contexts") or {})
    already = represented(event) - 1  # an event that already speaks for others keeps them
    contexts[CONTEXT] = {"represents": 1 + omitted + already, "omitted": omitted + already,
                         "omitted_first": issue.first, "omitted_last": issue.last}
    event["contexts"] = contexts
    headers = {k: v for k, v in item.headers.items() if k != "length"}
    items = [Item(PayloadRef(json=event), headers=headers) if it is item else it for it in envelope.items]
    return Envelope(headers=envelope.headers, items=items)


class StormSampler:
    """Decides which spooled events of an issue to keep; thread-safe; holds one envelope per issue."""

    def __init__(self, keep: int = 10, window: float = 60.0, max_issues: int = 1000,
                 clock: Callable[[], float] = time.time):
        if keep < 1 or window <= 0 or max_issues < 1:
            raise ValueError(f"storm sampling needs keep >= 1, window > 0 and max_issues >= 1, not "
                             f"{keep}, {window}, {max_issues}")
        self.keep, self.window, self.max_issues = keep, window, max_issues
        self._clock = clock
        self._lock = threading.Lock()
        self._issues: dict[str, _Issue] = {}
        self.omitted_total = 0

    def admit(self, envelope: Envelope) -> list[Envelope]:
        """The envelopes to spool for this one: itself (maybe with a summary), a carrier, or nothing."""
        item = _event_item(envelope)
        if item is None:
            return [envelope]
        event = item.get_event() or json.loads(item.get_bytes())
        key = json.dumps(fingerprint_of("event", event))
        now = self._clock()
        with self._lock:
            issue = self._issues.get(key)
            out = self._make_room() if issue is None else []
            if issue is None:
                issue = self._issues[key] = _Issue(window_start=now)
            if now - issue.window_start >= self.window:
                issue.window_start, issue.kept = now, 0
            if issue.kept < self.keep:
                issue.kept += 1
                out.append(self._settle(issue, envelope, item))
                return out
            issue.omitted += represented(event)
            self.omitted_total += represented(event)
            issue.first = issue.first or now
            issue.last, issue.carrier = now, envelope
            return out

    def _settle(self, issue: _Issue, envelope: Envelope, item: Item) -> Envelope:
        """Put the issue's pending count on this kept envelope."""
        if not issue.omitted:
            return envelope
        settled = _with_summary(envelope, item, issue, issue.omitted)
        issue.omitted, issue.first, issue.carrier = 0, 0.0, None
        return settled

    def _promote(self, issue: _Issue) -> Envelope | None:
        """The carrier, speaking for the other omitted events of its issue."""
        if issue.carrier is None:
            return None
        carrier, item = issue.carrier, _event_item(issue.carrier)
        own = represented(item.get_event() or json.loads(item.get_bytes()))
        promoted = _with_summary(carrier, item, issue, issue.omitted - own)
        issue.omitted, issue.first, issue.carrier = 0, 0.0, None
        return promoted

    def _make_room(self) -> list[Envelope]:
        out = []
        while len(self._issues) >= self.max_issues:
            oldest = min(self._issues, key=lambda k: self._issues[k].window_start)
            promoted = self._promote(self._issues.pop(oldest))
            if promoted is not None:
                out.append(promoted)
        return out

    def due(self, everything: bool = False) -> list[Envelope]:
        """Carriers of issues whose window ended (all carriers when everything), with their counts."""
        now = self._clock()
        out = []
        with self._lock:
            for key, issue in list(self._issues.items()):
                if everything or now - issue.window_start >= self.window:
                    promoted = self._promote(issue)
                    if promoted is not None:
                        out.append(promoted)
                    if now - issue.window_start >= self.window:
                        del self._issues[key]
        return out

    def holding(self) -> int:
        """Issues with omitted events not yet delivered."""
        with self._lock:
            return sum(1 for issue in self._issues.values() if issue.carrier is not None)
