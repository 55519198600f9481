"""Counting through a Redis outage, and after a Redis that restarts empty, without paging twice.

`FailoverStore` uses the shared store (Redis) while it answers and per-process memory while it
does not. Every answer of the shared store tells this process when a key's cooldown ends, and
every alert fired from memory adds its own; that is the process's memory of what already paged.
While Redis is away, memory counts and honours it; when Redis answers again (a restarted Redis
without persistence has forgotten everything), it is written back before counting resumes, and
a "fired" answer for a key this process knows to be in cooldown is taken as suppressed. The
alert spool's per-host claim catches the rest (a process that never saw the key).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from errorwarden.alerting.counters import CountCheck, CounterStore, Hit, RateCheck, RateResult

logger = logging.getLogger("errorwarden.alerting")


class FailoverStore(CounterStore):
    """The shared store while it answers, memory while it does not (see the module docstring).

    After a failure the shared store is probed again from a background thread with an
    exponential backoff, so a dead Redis costs the request path nothing and is not hammered.
    """

    def __init__(self, primary: CounterStore, fallback: CounterStore, *, ping: Callable[[], object],
                 errors: tuple[type[BaseException], ...] = (OSError,), min_backoff: float = 1.0,
                 max_backoff: float = 30.0, monotonic: Callable[[], float] = time.monotonic,
                 clock: Callable[[], float] = time.time, max_known: int = 10_000):
        self._primary, self._fallback, self._ping, self._errors = primary, fallback, ping, errors
        self._min, self._max, self._monotonic, self._clock = min_backoff, max_backoff, monotonic, clock
        self._lock = threading.Lock()
        self._up, self._probing = True, False
        self._backoff, self._retry_at = min_backoff, 0.0
        self._known: OrderedDict[str, float] = OrderedDict()  # key -> when its cooldown ends
        self._max_known = max_known

    @property
    def shared(self) -> bool:
        """True while counting goes to the shared store."""
        return self._up

    def hit(self, check: CountCheck, now: float, *, claim: bool = True) -> Hit:
        """Count in the shared store, or in memory while it is unreachable."""
        if self._available():
            try:
                hit = self._primary.hit(check, now, claim=claim)
            except self._errors as exc:
                self._went_down(exc, now)
            else:
                known = self._known.get(check.key)
                if hit.fired and known is not None and known > now:
                    return Hit(False, hit.count, until=known)  # Redis forgot a cooldown we saw running
                self._note(check.key, hit.until)
                return hit
        hit = self._fallback.hit(check, now, claim=claim)
        self._note(check.key, hit.until)
        return hit

    def rate(self, check: RateCheck, total: int, failed: int, now: float, *,
             claim: bool = True) -> RateResult:
        """Add to the shared store's rate, or to memory while it is unreachable."""
        if self._available():
            try:
                result = self._primary.rate(check, total, failed, now, claim=claim)
            except self._errors as exc:
                self._went_down(exc, now)
            else:
                return self._learn_rate(check, result, now)
        return self._learn_rate(check, self._fallback.rate(check, total, failed, now, claim=claim), now)

    def _learn_rate(self, check: RateCheck, result: RateResult, now: float) -> RateResult:
        if result.transition == "fire":
            known = self._known.get(check.key)
            if known is not None and known > now:
                return RateResult("", result.total, result.failed)
            self._note(check.key, now + check.cooldown)
        return result

    def release(self, key: str) -> None:
        """End `key`'s cooldown everywhere this process can reach."""
        with self._lock:
            self._known.pop(key, None)
        self._fallback.release(key)
        if self._up:
            try:
                self._primary.release(key)
            except self._errors as exc:
                self._went_down(exc, self._clock())

    def settle(self, key: str, until: float | None, now: float) -> None:
        """End `key`'s cooldown at `until` in memory and, while it answers, in the shared store."""
        self.release(key)
        if until is None or until <= now:
            return
        self._note(key, until)
        self._fallback.restore({key: until}, now)
        if self._up:
            try:
                self._primary.restore({key: until}, now)
            except self._errors as exc:
                self._went_down(exc, now)

    def restore(self, cooldowns: dict[str, float], now: float) -> None:
        """Remember cooldowns from elsewhere too."""
        for key, until in cooldowns.items():
            self._note(key, until)

    def _note(self, key: str, until: float | None) -> None:
        if until is None:
            return
        with self._lock:
            self._known[key] = max(until, self._known.get(key, 0.0))
            self._known.move_to_end(key)
            while len(self._known) > self._max_known:
                self._known.popitem(last=False)

    def _active(self, now: float) -> dict[str, float]:
        with self._lock:
            return {key: until for key, until in self._known.items() if until > now}

    def _available(self) -> bool:
        if self._up:
            return True
        with self._lock:
            if self._probing or self._monotonic() < self._retry_at:
                return False
            self._probing = True
        threading.Thread(target=self._probe, name="alert-counter-probe", daemon=True).start()
        return False

    def _went_down(self, exc: BaseException, now: float) -> None:
        with self._lock:
            if not self._up:
                return
            self._up, self._backoff = False, self._min
            self._retry_at = self._monotonic() + self._backoff
        self._fallback.restore(self._active(now), now)
        # The error's type only: redis-py messages can name the host and port of the URL.
        logger.warning("Alert counters: shared store unreachable (%s); counting per process, honouring "
                       "the cooldowns already seen, until it answers again.", type(exc).__name__)

    def _probe(self) -> None:
        try:
            self._ping()
            # Written back before counting resumes: a restarted Redis must not page again for what
            # already paged, here or in the processes that learned it from us.
            self._primary.restore(self._active(self._clock()), self._clock())
        except Exception:
            with self._lock:
                self._backoff = min(self._max, self._backoff * 2)
                self._retry_at, self._probing = self._monotonic() + self._backoff, False
            return
        with self._lock:
            self._up, self._probing = True, False
        logger.warning("Alert counters: shared store reachable again; cooldowns written back, shared "
                       "counting resumed.")
