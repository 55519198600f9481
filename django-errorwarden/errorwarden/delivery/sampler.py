"""Storm sampling for the outbox: keep a few events per issue per window, and count the rest exactly.

Only envelopes on their way to the spool pass here (Sentry down, rate-limited, or the SDK's queue
full). Per issue (fingerprint), the first `keep` events of each `window` seconds are kept. Later
ones are omitted and counted; the newest omitted one is held as the issue's carrier. The count
travels on an event that is sent, in its `outbox_sampling` context:

    {"represents": 1 + omitted, "omitted": n, "omitted_first": <epoch>, "omitted_last": <epoch>}

either on the issue's next kept event, or, when none comes before the window ends (or at flush,
or when too many issues are tracked), on the carrier itself. So for every issue,
sum(represents) over its delivered events == the number of events captured.

The per-issue windows are IssueWindows, which the local inbox samples with too (its SPREAD
policy: the first events, a spread after them, and the newest; the inbox counts every event
exactly on its own, so it needs no summary).

An event an alert names (its "Inspect locally" command, its link to the issue) is always kept,
whatever the window: the alert engine pins its id (Pins) before the event reaches a transport,
and the sampler keeps a pinned event as one of the window's kept ones (it counts in the
window's budget, so SPREAD may then leave out a later event of its spread).
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
from errorwarden.settings import Settings

# The window's defaults are the settings table's (SENTRY_STORM_KEEP, SENTRY_STORM_WINDOW_SECONDS).
KEEP, WINDOW = Settings.storm_keep, Settings.storm_window

CONTEXT = "outbox_sampling"
FIRST, SPREAD = "first", "spread"  # the two policies of IssueWindows


class Pins:
    """Ids of events an alert names, which the storm samplers keep; bounded and thread-safe.

    The alert engine pins an event while the pipeline observes it, before the SDK hands it to the
    transport in the same thread, and the transport's sampler takes the pin when the event comes.
    At most `limit` pins wait (the oldest go first), so pins of events that never reached a
    transport (dropped by a later step, or sent by another process) cannot pile up.
    """

    def __init__(self, limit: int = 256):
        if limit < 1:
            raise ValueError(f"Pins needs a limit of at least 1, not {limit}")
        self._limit = limit
        self._lock = threading.Lock()
        self._ids: dict[str, None] = {}  # insertion-ordered: the oldest pin first

    def pin(self, event_id: Any) -> None:
        """Keep the event with this id when a storm sampler sees it; ignores an empty id."""
        if not isinstance(event_id, str) or not event_id:
            return
        with self._lock:
            self._ids.pop(event_id, None)
            self._ids[event_id] = None
            while len(self._ids) > self._limit:
                del self._ids[next(iter(self._ids))]

    def take(self, event_id: Any) -> bool:
        """True (once) when this event was pinned."""
        if not isinstance(event_id, str) or not self._ids:
            return False
        with self._lock:
            return self._ids.pop(event_id, False) is None

    def __len__(self) -> int:
        return len(self._ids)


@dataclass
class _Issue:
    window_start: float
    seen: int = 0  # events of this window, kept or not
    kept: int = 0
    omitted: int = 0  # weighted: an event that already speaks for others counts for them too
    first: float = 0.0
    last: float = 0.0
    carrier: Any = None


@dataclass(frozen=True)
class Held:
    """Omitted events of one issue not accounted for yet: how many, when, and the newest of them."""

    carrier: Any
    omitted: int
    first: float
    last: float


@dataclass(frozen=True)
class Admission:
    """What IssueWindows decided for one event."""

    kept: bool
    settled: Held | None = None  # when kept: the omitted events this one now speaks for
    released: tuple[Held, ...] = ()  # carriers to keep now: of an ended window, or of an evicted issue


class IssueWindows:
    """Per issue (any hashable key) and window: which events to keep in a storm; thread-safe.

    Both stores of events sample with this one class and the same settings (SENTRY_STORM_KEEP,
    SENTRY_STORM_WINDOW_SECONDS), each with its policy:

    FIRST (the outbox): the first `keep` events of each window are kept. The newest omitted one is
        held as the carrier of the count: it is released when its window ends without another
        kept event (or at flush, or when the issue is evicted); else the next kept event settles it.
    SPREAD (the local inbox): at most `keep` events per window: the first half of `keep`, then
        events at doubling gaps after them (first+1, +2, +4, +8, ...), and the newest, held as the
        carrier until its window ends (at the latest at flush or eviction), when it is released.

    An issue's state lives until its window ended and due() ran; at most `max_issues` are tracked,
    the one with the oldest window is evicted (its carrier released) to make room.
    """

    def __init__(self, keep: int = KEEP, window: float = WINDOW, max_issues: int = 1000, *,
                 policy: str = FIRST, clock: Callable[[], float] = time.time):
        if keep < 1 or window <= 0 or max_issues < 1 or policy not in (FIRST, SPREAD):
            raise ValueError(f"storm sampling needs keep >= 1, window > 0, max_issues >= 1 and a policy of "
                             f"{FIRST!r} or {SPREAD!r}, not {keep}, {window}, {max_issues}, {policy!r}")
        self.keep, self.window, self.max_issues, self.policy = keep, window, max_issues, policy
        self._clock = clock
        self._lock = threading.Lock()
        self._issues: dict[Any, _Issue] = {}
        self.omitted_total = 0
        # SPREAD's budget: the newest is one of `keep` (none when keep is 1), the first half, the rest spread.
        self._latest = 1 if policy == SPREAD and keep > 1 else 0
        self._first = keep if policy == FIRST else max(1, keep // 2)
        self._spread_until = keep - self._latest  # kept events of a window before only the newest is left

    def _keeps(self, issue: _Issue) -> bool:
        if issue.seen <= self._first:
            return True
        if self.policy == FIRST or issue.kept >= self._spread_until:
            return False
        gap = issue.seen - self._first
        return gap & (gap - 1) == 0  # first+1, first+2, first+4, ...

    def admit(self, key: Any, item: Any, weight: int = 1, now: float | None = None,
              pinned: bool = False) -> Admission:
        """Decide for one event of the issue `key`; `item` is what a carrier holds (the event or
        envelope). A `pinned` event (one an alert names) is kept whatever the window's budget."""
        now = self._clock() if now is None else now
        with self._lock:
            issue = self._issues.get(key)
            released = self._make_room() if issue is None else []
            if issue is None:
                issue = self._issues[key] = _Issue(window_start=now)
            elif now - issue.window_start >= self.window:
                if self._latest and issue.carrier is not None:
                    released.append(self._release(issue))  # the ended window's newest event
                issue.window_start, issue.seen, issue.kept = now, 0, 0
            issue.seen += 1
            if pinned or self._keeps(issue):
                issue.kept += 1
                return Admission(True, self._settle(issue), tuple(released))
            issue.omitted += weight
            self.omitted_total += weight
            issue.first = issue.first or now
            issue.last = now
            if self.policy == FIRST or self._latest:
                issue.carrier = item
            return Admission(False, None, tuple(released))

    @staticmethod
    def _settle(issue: _Issue) -> Held | None:
        if not issue.omitted:
            return None
        held = Held(None, issue.omitted, issue.first, issue.last)
        issue.omitted, issue.first, issue.carrier = 0, 0.0, None
        return held

    @staticmethod
    def _release(issue: _Issue) -> Held:
        held = Held(issue.carrier, issue.omitted, issue.first, issue.last)
        issue.omitted, issue.first, issue.carrier = 0, 0.0, None
        return held

    def _make_room(self) -> list[Held]:
        out = []
        while len(self._issues) >= self.max_issues:
            oldest = min(self._issues, key=lambda k: self._issues[k].window_start)
            issue = self._issues.pop(oldest)
            if issue.carrier is not None:
                out.append(self._release(issue))
        return out

    def due(self, everything: bool = False, now: float | None = None) -> list[Held]:
        """Carriers of issues whose window ended (all carriers when everything); forgets ended issues."""
        now = self._clock() if now is None else now
        out = []
        with self._lock:
            for key, issue in list(self._issues.items()):
                ended = now - issue.window_start >= self.window
                if (everything or ended) and issue.carrier is not None:
                    out.append(self._release(issue))
                if ended:
                    del self._issues[key]
        return out

    def next_due(self) -> float | None:
        """When the earliest window holding a carrier ends (clock time), or None when none is held."""
        with self._lock:
            starts = [issue.window_start for issue in self._issues.values() if issue.carrier is not None]
        return min(starts) + self.window if starts else None

    def holding(self) -> int:
        """Issues with a carrier not released yet."""
        with self._lock:
            return sum(1 for issue in self._issues.values() if issue.carrier is not None)

    def forget(self) -> None:
        """Drop every issue's state and carrier (a forked child: the parent keeps its own)."""
        with self._lock:
            self._issues.clear()


def _event_item(envelope: Envelope) -> Item | None:
    return next((item for item in envelope.items if item.type == "event"), None)


def represented(event: dict[str, Any]) -> int:
    """How many captured events this delivered event stands for (1 unless it carries a summary)."""
    summary = (event.get("contexts") or {}).get(CONTEXT)
    if isinstance(summary, dict) and isinstance(summary.get("represents"), int):
        return max(1, summary["represents"])
    return 1


def _with_summary(envelope: Envelope, item: Item, held: Held, omitted: int) -> Envelope:
    event = dict(item.get_event() or json.loads(item.get_bytes()))
    contexts = dict(event.get("contexts") or {})
    already = represented(event) - 1  # an event that already speaks for others keeps them
    contexts[CONTEXT] = {"represents": 1 + omitted + already, "omitted": omitted + already,
                         "omitted_first": held.first, "omitted_last": held.last}
    event["contexts"] = contexts
    headers = {k: v for k, v in item.headers.items() if k != "length"}
    items = [Item(PayloadRef(json=event), headers=headers) if it is item else it for it in envelope.items]
    return Envelope(headers=envelope.headers, items=items)


def _event_of(item: Item) -> dict[str, Any]:
    return item.get_event() or json.loads(item.get_bytes())


class StormSampler:
    """Which spooled events of an issue to keep (IssueWindows, FIRST); holds one envelope per issue."""

    def __init__(self, keep: int = KEEP, window: float = WINDOW, max_issues: int = 1000,
                 clock: Callable[[], float] = time.time, pins: Pins | None = None):
        self.windows = IssueWindows(keep, window, max_issues, policy=FIRST, clock=clock)
        self.keep, self.window, self.max_issues = keep, window, max_issues
        self.pins = pins

    @property
    def omitted_total(self) -> int:
        """Events omitted since this sampler was made (weighted by what each stood for)."""
        return self.windows.omitted_total

    def admit(self, envelope: Envelope) -> list[Envelope]:
        """The envelopes to spool for this one: itself (maybe with a summary), a carrier, or nothing."""
        item = _event_item(envelope)
        if item is None:
            return [envelope]
        event = _event_of(item)
        key = json.dumps(fingerprint_of("event", event))
        pinned = self.pins is not None and self.pins.take(event.get("event_id"))
        decision = self.windows.admit(key, envelope, represented(event), pinned=pinned)
        out = [promoted for held in decision.released if (promoted := self._promote(held)) is not None]
        if decision.kept:
            held = decision.settled
            out.append(envelope if held is None else _with_summary(envelope, item, held, held.omitted))
        return out

    @staticmethod
    def _promote(held: Held) -> Envelope | None:
        """The carrier, speaking for the other omitted events of its issue."""
        if held.carrier is None:
            return None
        carrier, item = held.carrier, _event_item(held.carrier)
        own = represented(_event_of(item))
        return _with_summary(carrier, item, held, held.omitted - own)

    def due(self, everything: bool = False) -> list[Envelope]:
        """Carriers of issues whose window ended (all carriers when everything), with their counts."""
        return [promoted for held in self.windows.due(everything)
                if (promoted := self._promote(held)) is not None]

    def holding(self) -> int:
        """Issues with omitted events not yet delivered."""
        return self.windows.holding()
