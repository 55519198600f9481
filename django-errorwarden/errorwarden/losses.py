"""The loss ledger: what this process dropped, spooled, or failed to do, by kind and reason, in one place.

It lives on the runtime (`runtime.losses`), and every part reports to it:

    kind        reasons (a `failed:` or `spooled:` prefix is added by the method, see below)
    pipeline    <step> (the step dropped the event: ignore, attachments), <step>_failed (a fail-closed
                step raised: the event was dropped), failed:<step>:<ExceptionType> (any step raised)
    outbox      space, memory, rejected, spool_write, internal, corrupt (lost); spooled:<why>
                (outage, rate_limited, queue_full, shutdown, in_flight, storm_summary, send_failed);
                failed:send, failed:replay
    alert       <channel> (an alert that will never arrive there), failed:<channel> (one failed
                attempt), spooled:<channel> (kept in the alert spool for another attempt), failed:spool
    inbox       queue_full, write_failed, unreadable ...
    aggregates  observe, write

Three fates, three methods: `lost(kind, reason, ...)` (the item is gone), `failed(kind, reason, ...)`
(an attempt or a step failed; the item goes on or is retried) and `spooled(kind, reason, ...)` (the
item waits in a spool for a later attempt). Each counts the item under (kind, reason), with
`failed:`/`spooled:` in front of the reason for the last two, and logs that pair at most once per
interval (through OncePerInterval, errorwarden/logs.py), with how many since the last report and
the running total, for as long as it goes on: never just once and never once per item. `explain`
is the caller's fixed text and `where` a traceback's frames; neither may ever hold an exception's
message (one could carry a scrubbed value): at most the exception's type name.

What Sentry has a client-report reason for is also reported to the server by the part that lost it
(the outbox: cache_overflow, queue_overflow, internal_sdk_error; sentry-sdk itself counts
before_send and event_processor drops), so the server's "dropped" figures match this ledger's.

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

from errorwarden.logs import OncePerInterval, quiet_own_loggers

LOGGER_NAME = "errorwarden.losses"
logger = logging.getLogger(LOGGER_NAME)

Key = tuple[str, str]  # (kind, reason)
FAILED, SPOOLED = "failed:", "spooled:"  # reason prefixes of the two fates that are no loss (yet)


def is_loss(key: Key) -> bool:
    """True for an item that is gone (not a failed attempt, not one waiting in a spool)."""
    return not key[1].startswith((FAILED, SPOOLED))


def on_purpose(key: Key) -> bool:
    """True for an event a pipeline step dropped on purpose (an ignored Http404, an attachment):
    counted like any loss, but nothing went wrong."""
    return key[0] == "pipeline" and is_loss(key) and not key[1].endswith("_failed")


class LossLedger:
    """Lost items by (kind, reason), each pair logged at most once per interval; thread- and fork-safe."""

    def __init__(self, interval: float = 60.0, clock: Callable[[], float] = time.monotonic,
                 log: logging.Logger = logger):
        quiet_own_loggers()  # a line about losses must never become an event that could be lost again
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

    def lost(self, kind: str, reason: str, count: int = 1, explain: str = "", *,
             level: int = logging.WARNING, where: str = "", every: bool = False) -> None:
        """Count `count` items of `kind` lost for `reason`; log unless this pair was logged recently.

        `every`: log this loss whatever the interval, for items few by construction that must each
        be named (a lost alert: its rule's cooldown already bounds how many there can be).
        Never raises: the callers are already handling a failure.
        """
        self._count(kind, reason, count, explain, level, where, every)

    def failed(self, kind: str, reason: str, count: int = 1, explain: str = "", *,
               level: int = logging.WARNING, where: str = "") -> None:
        """Count `count` failed attempts or steps (the items go on, or are tried again) as failed:<reason>."""
        self._count(kind, FAILED + reason, count, explain, level, where)

    def spooled(self, kind: str, reason: str, count: int = 1, explain: str = "", *,
                level: int = logging.INFO) -> None:
        """Count `count` items kept in a spool for a later attempt as spooled:<reason>."""
        self._count(kind, SPOOLED + reason, count, explain, level, "")

    def _count(self, kind: str, reason: str, count: int, explain: str, level: int, where: str,
               every: bool = False) -> None:
        if count <= 0:
            return
        with suppress(Exception):  # a broken log handler must not turn a loss into a crash
            self._mine()
            with self._lock:
                self._totals[kind, reason] += count
                self._unsaved[kind, reason] += count
                total = self._totals[kind, reason]
            held = count if every else self._once.due(f"{kind}/{reason}", count)
            if held and self._log.isEnabledFor(level):
                self._say(level, kind, reason, held, total, explain, where)

    def _say(self, level: int, kind: str, reason: str, count: int, total: int, explain: str,
             where: str) -> None:
        verb = _verb(reason)
        self._log.log(level, "%s %s %d item(s) (%s)%s; %d %s for this reason since the process started; "
                      "the next report comes in %d s at the earliest%s", kind, verb, count, reason,
                      f": {explain}" if explain else "", total, verb, self.interval,
                      f". Where it failed:\n{where}" if where else "")

    def report(self) -> None:
        """Log what was counted since the last report, whatever the interval (at shutdown)."""
        self._mine()
        for cause, count in self._once.pending().items():
            kind, _, reason = cause.partition("/")
            with self._lock:
                total = self._totals[kind, reason]
            self._log.log(logging.WARNING if is_loss((kind, reason)) else logging.INFO,
                          "%s %s %d more item(s) (%s) since its last report; %d in all since the "
                          "process started", kind, _verb(reason), count, reason, total)

    def totals(self, kind: str | None = None) -> dict[Key, int]:
        """Everything counted since this process started (lost, failed:, spooled:), per (kind, reason),
        optionally of one kind."""
        self._mine()
        with self._lock:
            return {key: n for key, n in self._totals.items() if kind is None or key[0] == kind}

    def total(self, kind: str | None = None) -> int:
        """Items lost (gone: no failed attempts, nothing spooled) since this process started, in all
        or of one kind."""
        return sum(n for key, n in self.totals(kind).items() if is_loss(key))

    def count(self, kind: str, reason: str) -> int:
        """How many were counted under (kind, reason) since this process started (reason with its prefix)."""
        self._mine()
        with self._lock:
            return self._totals.get((kind, reason), 0)

    def unsaved(self) -> dict[Key, int]:
        """The counts not handed to a writer yet, left in place (what a saved copy lacks)."""
        self._mine()
        with self._lock:
            return dict(self._unsaved)

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


def _verb(reason: str) -> str:
    return "failed" if reason.startswith(FAILED) else "spooled" if reason.startswith(SPOOLED) else "lost"


def combined(*sources: dict[Key, int]) -> list[tuple[str, str, int]]:
    """Counts from several places (a file every process writes, this process's unsaved counts) as
    (kind, reason, count) rows, largest first."""
    total: Counter[Key] = Counter()
    for counts in sources:
        total.update(counts)
    rows = sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))
    return [(kind, reason, n) for (kind, reason), n in rows if n]


def whole(runtime: object) -> list[tuple[str, str, int]]:
    """Everything the ledger knows, as (kind, reason, count) rows, largest first.

    With the local inbox, every process saves its counts in the inbox file: the file's counts plus
    what this process has not saved yet. Otherwise this process's counts.
    """
    ledger = getattr(runtime, "losses", None)
    if ledger is None:
        return []
    store = getattr(getattr(runtime, "transport", None), "store", None)
    saved = getattr(store, "losses", None)
    if getattr(getattr(runtime, "settings", None), "local_inbox", False) and callable(saved):
        try:
            return combined(saved(), ledger.unsaved())
        except Exception:  # an unreadable inbox file: this process's counts are still worth showing
            pass
    return combined(ledger.totals())
