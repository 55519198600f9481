"""The loss ledger: what this process could not keep, counted by kind and reason, in one place.

Every part that gives up on an item (today the local inbox; the pipeline, the outbox, the alert
channels and the aggregates are to follow) calls `ledger.lost(kind, reason, count, explain)`.
The ledger counts it and logs a WARNING for that (kind, reason) at most once per interval, with
how many were lost since the last report and the running total, for as long as losses go on:
never just once and never once per item. `explain` is the caller's fixed text; it must never be
an exception's message (one could carry a scrubbed value), at most the exception's type name.

A writer that keeps the counts somewhere shared (the local inbox keeps them in its SQLite file so
the dashboard and `manage.py sentry_inbox` show every process's losses) takes what is not saved
yet with `take_unsaved()` and gives it back with `put_back()` when its write fails.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import suppress

from sentry_sdk.integrations.logging import ignore_logger

from errorwarden.logs import OncePerInterval

LOGGER_NAME = "errorwarden.losses"
logger = logging.getLogger(LOGGER_NAME)
# A warning about losses must never become an event that could be lost again.
ignore_logger(LOGGER_NAME)

Key = tuple[str, str]  # (kind, reason)


class LossLedger:
    """Lost items by (kind, reason), each pair logged at most once per interval; thread- and fork-safe."""

    def __init__(self, interval: float = 60.0, clock: Callable[[], float] = time.monotonic,
                 log: logging.Logger = logger):
        if interval <= 0:
            raise ValueError(f"the loss ledger's interval must be a positive number of seconds, "
                             f"not {interval!r}")
        self.interval, self._clock, self._log = interval, clock, log
        self._reset()

    def _reset(self) -> None:
        # Also after fork: the child's totals start at zero and the parent saves its own unsaved counts.
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._once = OncePerInterval(self.interval, self._clock)
        self._totals: Counter[Key] = Counter()
        self._unsaved: Counter[Key] = Counter()

    def _mine(self) -> None:
        if self._pid != os.getpid():
            self._reset()

    def lost(self, kind: str, reason: str, count: int = 1, explain: str = "") -> None:
        """Count `count` items of `kind` lost for `reason`; warn unless this pair was warned about recently.

        Never raises: the callers are already handling a failure.
        """
        if count <= 0:
            return
        with suppress(Exception):  # a broken log handler must not turn a loss into a crash
            self._mine()
            with self._lock:
                self._totals[kind, reason] += count
                self._unsaved[kind, reason] += count
                total = self._totals[kind, reason]
            held = self._once.due(f"{kind}/{reason}", count)
            if held:
                self._warn(kind, reason, held, total, explain)

    def _warn(self, kind: str, reason: str, count: int, total: int, explain: str) -> None:
        self._log.warning("%s lost %d item(s) (%s)%s; %d lost for this reason since the process started; "
                          "the next report comes in %d s at the earliest", kind, count, reason,
                          f": {explain}" if explain else "", total, self.interval)

    def report(self) -> None:
        """Log what was counted since the last report, whatever the interval (at shutdown)."""
        self._mine()
        for cause, count in self._once.pending().items():
            kind, _, reason = cause.partition("/")
            with self._lock:
                total = self._totals[kind, reason]
            self._log.warning("%s lost %d more item(s) (%s) since its last report; %d in all since the "
                              "process started", kind, count, reason, total)

    def totals(self, kind: str | None = None) -> dict[Key, int]:
        """Items lost since this process started, per (kind, reason), optionally of one kind."""
        self._mine()
        with self._lock:
            return {key: n for key, n in self._totals.items() if kind is None or key[0] == kind}

    def total(self, kind: str | None = None) -> int:
        """Items lost since this process started, in all or of one kind."""
        return sum(self.totals(kind).values())

    def take_unsaved(self) -> dict[Key, int]:
        """The counts not handed to a writer yet, cleared (put_back gives them back when a write fails)."""
        self._mine()
        with self._lock:
            taken, self._unsaved = dict(self._unsaved), Counter()
        return taken

    def put_back(self, counts: dict[Key, int]) -> None:
        """Counts a writer took but could not save: it takes them again next time."""
        self._mine()
        with self._lock:
            self._unsaved.update(counts)
