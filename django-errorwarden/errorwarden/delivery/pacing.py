"""Timing helper of the outbox: retry backoff with jitter (its losses go to errorwarden/losses.py)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable


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
