"""Timing helpers of the outbox: retry backoff with jitter, and loss counts logged once per minute."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable

from errorwarden.logs import OncePerInterval


class Backoff:
    """Exponential backoff with jitter after failures: first, 2x first ... up to cap seconds."""

    def __init__(self, first: float = 1.0, cap: float = 60.0, clock: Callable[[], float] = time.monotonic,
                 rng: Callable[[], float] = random.random):
        if not 0 < first <= cap:
            raise ValueError(f"backoff needs 0 < first <= cap, not first={first}, cap={cap}")
        self.first, self.cap = first, cap
        self._clock, self._rng = clock, rng
        self._lock = threading.Lock()
        self.failures = 0
        self._until = 0.0

    def failed(self) -> float:
        """Record one failure; return the delay before the next attempt."""
        with self._lock:
            full = min(self.cap, self.first * 2 ** min(self.failures, 30))
            # Half fixed, half random: processes that failed together do not retry together.
            delay = full * (0.5 + self._rng() / 2)
            self.failures += 1
            self._until = self._clock() + delay
            return delay

    def succeeded(self) -> bool:
        """Record a success; return whether this ended a run of failures."""
        with self._lock:
            ended, self.failures, self._until = self.failures > 0, 0, 0.0
            return ended

    def active(self) -> bool:
        """True while the last failure's delay has not passed."""
        return self._clock() < self._until

    def remaining(self) -> float:
        """Seconds until the next attempt is allowed (0 when it is)."""
        return max(0.0, self._until - self._clock())


class LossLog:
    """Counts lost envelopes by cause and logs each cause at most once per interval, with its count."""

    def __init__(self, logger: logging.Logger, interval: float = 60.0,
                 clock: Callable[[], float] = time.monotonic):
        self._logger, self.interval = logger, interval
        self._once = OncePerInterval(interval, clock)
        self.total = self._once.total

    def lost(self, cause: str, count: int, explain: str) -> None:
        """Count count envelopes lost for cause; log now unless this cause was logged recently."""
        if count <= 0:
            return
        pending = self._once.due(cause, count)
        if pending:
            self._logger.warning("Sentry outbox lost %d envelope(s) (%s): %s; %d lost for this cause since "
                                 "the process started; the next report comes in %d s at the earliest",
                                 pending, cause, explain, self.total[cause], self.interval)

    def report(self) -> None:
        """Log the counts not logged yet (at shutdown), whatever the interval."""
        for cause, count in self._once.pending().items():
            self._logger.warning("Sentry outbox lost %d more envelope(s) (%s) since its last report; "
                                 "%d in all since the process started", count, cause, self.total[cause])
