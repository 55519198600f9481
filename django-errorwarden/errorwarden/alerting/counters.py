"""Shared alert state: sliding-window counters, cooldowns and firing flags, in memory or in Redis.

Every store answers two questions atomically, in one step per call:
- `hit(check, now)`: count one occurrence of `check.key`; did the key just reach its threshold
  within the sliding window, outside its cooldown? (critical burst, database, external rules)
- `rate(check, total, failed, now)`: add a batch of requests; did the failure rate just start
  or stop breaching? (error-rate rule)

A fire spends the cooldown (and the rate rule's firing flag) in the same step. A process that
cannot page (no channel enabled, or none with a recipient) asks with `claim=False`: its
occurrences still count for the processes that can, but it never fires, so it never spends a
cooldown, takes the tally of held-back occurrences or ends a firing rate alert that nobody saw.

Windows are sliding estimates over SLOTS sub-buckets: the slots fully inside the window are
summed and the oldest, partly-outside slot is weighted by the share of it still inside. A fixed
bucket misses ten errors that straddle its boundary; the error here is bounded by one slot
(window / SLOTS) and memory stays a handful of numbers per key, whatever the event volume.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

SLOTS = 10
_EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class CountCheck:
    """Has `key` been seen `threshold` times within `window` seconds, outside its cooldown?"""

    key: str
    window: float
    threshold: int
    cooldown: float


@dataclass(frozen=True, slots=True)
class Hit:
    """The answer to a CountCheck: `suppressed` counts occurrences held back since the previous alert;
    `until` is when the key's cooldown ends, when one runs (every process learns it this way)."""

    fired: bool
    count: float
    suppressed: int = 0
    first_seen: float | None = None
    until: float | None = None


@dataclass(frozen=True, slots=True)
class RateCheck:
    """Does the failure share over `window` exceed `threshold` with at least `min_requests`?"""

    key: str
    window: float
    threshold: float
    min_requests: int
    cooldown: float


@dataclass(frozen=True, slots=True)
class RateResult:
    """`transition` is "fire" (just started breaching), "recover" (just cleared) or ""."""

    transition: str
    total: float
    failed: float
    since: float | None = None


def sliding_sum(slots: dict[int, float], now: float, window: float) -> float:
    """Estimate the window's total from its slots, dropping slots that left the window."""
    pos = now / (window / SLOTS)
    cur = math.floor(pos)
    total = 0.0
    for idx in list(slots):
        if idx < cur - SLOTS:
            del slots[idx]
        elif idx == cur - SLOTS:
            total += slots[idx] * (1.0 - (pos - cur))
        else:
            total += slots[idx]
    return total


def slot_of(now: float, window: float) -> int:
    """The index of the slot `now` falls in."""
    return math.floor(now / (window / SLOTS))


def breaching(total: float, failed: float, check: RateCheck) -> bool:
    """True when there is enough traffic and the failure share is above the threshold."""
    return total >= check.min_requests - _EPSILON and failed > check.threshold * total + _EPSILON


def cleared(total: float, failed: float, check: RateCheck) -> bool:
    """True when the failure share is back at or under the threshold (or there is no traffic)."""
    # Low volume alone does not clear: 3 failures out of 4 requests is not a recovery.
    return total <= _EPSILON or failed <= check.threshold * total + _EPSILON


class CounterStore:
    """Base for counter backends; every method is atomic across every user of the store."""

    def hit(self, check: CountCheck, now: float, *, claim: bool = True) -> Hit:
        """Count one occurrence and say whether it fires an alert (never, with claim=False)."""
        raise NotImplementedError

    def rate(self, check: RateCheck, total: int, failed: int, now: float, *,
             claim: bool = True) -> RateResult:
        """Add a batch of request outcomes and say whether the rate alert starts or clears
        (with claim=False: only add them)."""
        raise NotImplementedError

    def release(self, key: str) -> None:
        """End `key`'s cooldown now (its alert could not be queued, so it was not spent)."""
        raise NotImplementedError

    def settle(self, key: str, until: float | None, now: float) -> None:
        """Make `key`'s cooldown end at `until` (None or past: now), as a page that went out elsewhere set it.

        Called when a rule fired here but its alert was not queued because this host already paged
        for the key: the cooldown this fire took is replaced by that page's.
        """
        self.release(key)
        if until is not None and until > now:
            self.restore({key: until}, now)

    def restore(self, cooldowns: dict[str, float], now: float) -> None:
        """Put back cooldowns the store lost (a restarted Redis), keeping any it already has."""
        raise NotImplementedError


@dataclass(slots=True)
class _KeyState:
    slots: dict[int, float] = field(default_factory=dict)
    failed: dict[int, float] = field(default_factory=dict)
    first: float | None = None
    suppressed: int = 0
    cooldown_until: float = 0.0
    firing_since: float | None = None


class MemoryStore(CounterStore):
    """Per-process counters under one lock, holding at most `max_keys` issues (least recent go)."""

    def __init__(self, max_keys: int = 10_000):
        self._lock = threading.Lock()
        self._keys: OrderedDict[str, _KeyState] = OrderedDict()
        self._max_keys = max_keys

    def _state(self, key: str) -> _KeyState:
        state = self._keys.get(key)
        if state is None:
            state = self._keys[key] = _KeyState()
            if len(self._keys) > self._max_keys:
                self._keys.popitem(last=False)
        else:
            self._keys.move_to_end(key)
        return state

    def hit(self, check: CountCheck, now: float, *, claim: bool = True) -> Hit:
        """Count one occurrence and say whether it fires an alert (never, with claim=False)."""
        with self._lock:
            state = self._state(check.key)
            slot = slot_of(now, check.window)
            state.slots[slot] = state.slots.get(slot, 0.0) + 1
            if state.first is None:
                state.first = now
            count = sliding_sum(state.slots, now, check.window)
            if now < state.cooldown_until:
                state.suppressed += 1
                return Hit(False, count, until=state.cooldown_until)
            if not claim or count < check.threshold - _EPSILON:
                return Hit(False, count)
            hit = Hit(True, count, state.suppressed, state.first, until=now + check.cooldown)
            state.cooldown_until = now + check.cooldown
            state.suppressed, state.first = 0, None
            return hit

    def rate(self, check: RateCheck, total: int, failed: int, now: float, *,
             claim: bool = True) -> RateResult:
        """Add a batch of request outcomes and say whether the rate alert starts or clears
        (with claim=False: only add them)."""
        with self._lock:
            state = self._state(check.key)
            slot = slot_of(now, check.window)
            state.slots[slot] = state.slots.get(slot, 0.0) + total
            state.failed[slot] = state.failed.get(slot, 0.0) + failed
            sum_total = sliding_sum(state.slots, now, check.window)
            sum_failed = sliding_sum(state.failed, now, check.window)
            if not claim:
                return RateResult("", sum_total, sum_failed)
            if state.firing_since is None:
                if breaching(sum_total, sum_failed, check) and now >= state.cooldown_until:
                    state.firing_since, state.cooldown_until = now, now + check.cooldown
                    return RateResult("fire", sum_total, sum_failed, now)
            elif cleared(sum_total, sum_failed, check):
                since, state.firing_since = state.firing_since, None
                return RateResult("recover", sum_total, sum_failed, since)
            return RateResult("", sum_total, sum_failed)

    def release(self, key: str) -> None:
        """End `key`'s cooldown now."""
        with self._lock:
            state = self._keys.get(key)
            if state is not None:
                state.cooldown_until = 0.0

    def restore(self, cooldowns: dict[str, float], now: float) -> None:
        """Honour cooldowns learned elsewhere (from Redis before it went away)."""
        with self._lock:
            for key, until in cooldowns.items():
                if until > now:
                    state = self._state(key)
                    state.cooldown_until = max(state.cooldown_until, until)
