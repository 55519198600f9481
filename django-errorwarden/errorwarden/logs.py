"""Logging that cannot flood the log it reports to: at most once per interval per cause."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable

# The app's loggers that sentry-sdk's LoggingIntegration must never turn into events: an outbox
# warning that would need the outbox, a loss line that could be lost again, a start-up line said
# before the client exists, an alerting line that would join the issue it pages about.
QUIET_LOGGERS = ("errorwarden.delivery", "errorwarden.alerting", "errorwarden.sdk", "errorwarden.losses")


def quiet_own_loggers() -> None:
    """Name QUIET_LOGGERS to sentry-sdk (idempotent). Called where their users are built (the
    runtime, the outbox, the ledger, the outage log, the SDK check), never at import."""
    from sentry_sdk.integrations.logging import ignore_logger

    for name in QUIET_LOGGERS:
        ignore_logger(name)


class OncePerInterval:
    """Counts occurrences per cause; `due(cause)` says when to log again and how many were held back."""

    def __init__(self, interval: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.interval, self._clock = interval, clock
        self._lock = threading.Lock()
        self.total: Counter[str] = Counter()
        self._unlogged: Counter[str] = Counter()
        self._logged_at: dict[str, float] = {}

    def due(self, cause: str, count: int = 1) -> int:
        """Count `count` occurrences; the number to report now (0 while the cause was logged recently)."""
        now = self._clock()
        with self._lock:
            self.total[cause] += count
            self._unlogged[cause] += count
            last = self._logged_at.get(cause)
            if last is not None and now - last < self.interval:
                return 0
            self._logged_at[cause] = now
            pending, self._unlogged[cause] = self._unlogged[cause], 0
            return pending

    def pending(self) -> dict[str, int]:
        """What was counted but not reported yet, per cause (cleared: report it now)."""
        with self._lock:
            found = {cause: n for cause, n in self._unlogged.items() if n}
            self._unlogged.clear()
            return found
