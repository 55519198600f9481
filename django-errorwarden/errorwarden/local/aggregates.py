"""Local performance aggregates: latency, throughput and errors per endpoint, service and task.

The request path only adds to in-memory cells under one lock: `observe_*` never touches SQLite.
A daemon thread writes the cells every `flush_interval` seconds (and the runtime at exit) into the metrics
file beside the inbox as upserts that add counts, so every process (gunicorn workers, Celery,
runserver) merges into one view. Everything is bounded: fixed latency buckets (histogram.py),
one-minute slots kept for `retention` seconds, at most `max_names` names per kind, the least
recently seen evicted and counted.
"""

from __future__ import annotations

import os
import threading
import time
from bisect import bisect_left
from collections.abc import Callable
from pathlib import Path
from typing import Any

from errorwarden.local.aggregates_sql import (
    CELL_SIZE,
    COUNT,
    FAILED,
    FIRST_BUCKET,
    MAX,
    MIN,
    N_PLUS_ONE,
    SLOW,
    SUM,
    Stat,
    read_depths,
    read_stats,
    read_timeline,
    schema,
    write,
)
from errorwarden.local.histogram import BOUNDS_MS
from errorwarden.local.sqlite import SqliteFile
from errorwarden.losses import LossLedger

KIND = "aggregates"  # this part's kind in the loss ledger

SLOT_SECONDS = 60
KINDS = ("endpoint", "service", "task")
OTHER = "(other)"  # where names beyond max_names go until the next flush

__all__ = ["KINDS", "SLOT_SECONDS", "Aggregates", "Stat"]


def metrics_path(inbox_path: str | os.PathLike[str]) -> Path:
    """The figures' file beside an inbox: var/sentry_inbox.sqlite3 -> var/sentry_inbox.metrics.sqlite3.

    A file of its own: flushes from every worker never queue behind the inbox's batch writes.
    """
    inbox = Path(inbox_path)
    return inbox.with_name(inbox.stem + ".metrics.sqlite3")


class Aggregates:
    """Per-process accumulator and shared reader of the local performance figures."""

    def __init__(self, path: str | os.PathLike[str], *, flush_interval: float = 5.0,
                 retention: int = 6 * 3600, max_names: int = 200, clock: Callable[[], float] = time.time,
                 losses: LossLedger | None = None):
        if flush_interval <= 0:
            raise ValueError(f"flush_interval must be a positive number of seconds, not {flush_interval!r}")
        if retention < SLOT_SECONDS:
            raise ValueError(f"retention must be at least {SLOT_SECONDS} seconds, not {retention!r}")
        if max_names < 1:
            raise ValueError(f"max_names must be at least 1, not {max_names!r}")
        self.path = Path(path)
        self.flush_interval, self.retention, self.max_names = flush_interval, retention, max_names
        # Observations lost to a failed write or bad input: kind "aggregates" of the runtime's ledger.
        self.losses = losses if losses is not None else LossLedger()
        self._clock = clock
        self._db = SqliteFile(self.path, schema())
        self._reset()

    @classmethod
    def for_inbox(cls, inbox_path: str | os.PathLike[str], **options: Any) -> Aggregates:
        """Aggregates in the metrics file beside this inbox (see metrics_path)."""
        return cls(metrics_path(inbox_path), **options)

    def _reset(self) -> None:
        # Also after a fork (_adopt_after_fork): the child drops the parent's unflushed cells (the
        # parent writes them) and a lock some parent thread may have held, and starts its own flusher.
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._cells: dict[tuple[str, Any, int], list[float]] = {}
        self._names: dict[str, set[Any]] = {kind: set() for kind in KINDS}
        self._depths: dict[tuple[str, int], list[float]] = {}
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # --- write side: called on request, query, task and HTTP paths -----------------------------

    def observe_request(self, route: str, duration_ms: float, failed: bool, slow_queries: int = 0,
                        n_plus_one: int = 0) -> None:
        """Count one finished request of a route pattern (failed: 5xx or unhandled). Never raises."""
        self._observe("endpoint", route, duration_ms, failed, slow_queries, n_plus_one)

    def observe_service(self, service: str, duration_ms: float, failed: bool) -> None:
        """Count one call to an external service (s3, clerk, resend, ...). Never raises."""
        self._observe("service", service, duration_ms, failed, 0, 0)

    def observe_task(self, name: str, duration_ms: float, failed: bool) -> None:
        """Count one finished Celery task run. Never raises."""
        self._observe("task", name, duration_ms, failed, 0, 0)

    def _adopt_after_fork(self) -> None:
        # Checked where the cells are touched, instead of a fork hook registered at import.
        if self._pid != os.getpid():
            self._reset()

    def _observe(self, kind: str, name: Any, duration_ms: float, failed: bool, slow: int, n1: int) -> None:
        try:
            if self._pid != os.getpid():  # _adopt_after_fork, inlined on the request path
                self._reset()
            slot = int(self._clock()) // SLOT_SECONDS
            bucket = _bucket(duration_ms)
            with self._lock:
                cell = self._cells.get((kind, name, slot))
                if cell is None:
                    cell = self._new_cell(kind, name, slot, duration_ms)
                cell[COUNT] += 1
                if failed:
                    cell[FAILED] += 1
                cell[SUM] += duration_ms
                if duration_ms > cell[MAX]:
                    cell[MAX] = duration_ms
                elif duration_ms < cell[MIN]:
                    cell[MIN] = duration_ms
                if slow:
                    cell[SLOW] += slow
                if n1:
                    cell[N_PLUS_ONE] += n1
                cell[bucket] += 1
        except Exception as exc:  # a wrong argument must not fail the request that reported it
            self._lose("observe", 1, exc)

    def _new_cell(self, kind: str, name: Any, slot: int, duration_ms: float) -> list[float]:
        # The slow path, once per name and minute per flush: start the flusher, cap the names.
        if self._thread is None:
            self._start()
        names = self._names[kind]
        if name not in names:
            if len(names) >= self.max_names - 1:  # one place stays for OTHER itself
                name = OTHER
            names.add(name)
        cell = self._cells.get((kind, name, slot))
        if cell is None:
            duration_ms = float(duration_ms)
            cell = self._cells[(kind, name, slot)] = [0] * CELL_SIZE
            cell[MIN] = cell[MAX] = duration_ms
        return cell

    def observe_queue_depth(self, queue: str, depth: int) -> None:
        """Record one reading of a Celery queue's depth (the gauge over time). Never raises."""
        try:
            self._adopt_after_fork()
            now = self._clock()
            depth = int(depth)
            with self._lock:
                if self._thread is None:
                    self._start()
                key = (str(queue), int(now) // SLOT_SECONDS)
                if key not in self._depths and len(self._depths) >= self.max_names:
                    return
                last = self._depths.get(key)
                self._depths[key] = [now, depth, max(depth, last[2]) if last else depth]
        except Exception as exc:
            self._lose("observe", 1, exc)

    def _start(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(self._stop,), daemon=True,
                                        name="local-aggregates")
        self._thread.start()

    def _run(self, stop: threading.Event) -> None:
        while not stop.wait(self.flush_interval):
            self.flush()

    def flush(self) -> bool:
        """Write what this process accumulated into the shared file now; False when the write failed."""
        self._adopt_after_fork()
        with self._lock:
            cells, self._cells = self._cells, {}
            depths, self._depths = self._depths, {}
            self._names = {kind: set() for kind in KINDS}
        if not cells and not depths:
            return True
        now = self._clock()
        try:
            with self._db.transaction() as conn:
                write(conn, cells, depths, now_slot=int(now) // SLOT_SECONDS,
                      keep_slots=self.retention // SLOT_SECONDS, max_names=self.max_names)
        except Exception as exc:  # locked past busy_timeout, disk full: counted, never raised
            self._lose("write", sum(int(cell[COUNT]) for cell in cells.values()) + len(depths), exc)
            return False
        return True

    def close(self) -> None:
        """Stop the flusher and write what is pending; a later observe starts a new flusher."""
        self._stop.set()
        with self._lock:
            self._thread = None
        self.flush()
        self._db.close()

    @property
    def dropped(self) -> int:
        """Observations this process lost (the ledger's "aggregates" entries)."""
        return self.losses.total(KIND)

    def _lose(self, problem: str, count: int, exc: BaseException) -> None:
        # The type only: an exception's message may quote what was being written.
        self.losses.lost(KIND, problem, count, f"local aggregates at {self.path}: {problem} failed "
                                               f"({type(exc).__name__})")

    # --- read side: the dashboard and `sentry_inbox --performance` ----------------------------

    def endpoints(self, window: float = 3600) -> list[Stat]:
        """Per route pattern over the last `window` seconds, busiest first."""
        return self._stats("endpoint", window)

    def services(self, window: float = 3600) -> list[Stat]:
        """Per external service over the last `window` seconds, busiest first."""
        return self._stats("service", window)

    def tasks(self, window: float = 3600) -> list[Stat]:
        """Per Celery task over the last `window` seconds, busiest first."""
        return self._stats("task", window)

    def _stats(self, kind: str, window: float) -> list[Stat]:
        if window <= 0:
            raise ValueError(f"window must be a positive number of seconds, not {window!r}")
        now = self._clock()
        first = int(now - window) // SLOT_SECONDS
        span = max(now - first * SLOT_SECONDS, 1.0)  # the slots read cover [first slot's start, now]
        with self._db.connection() as conn:
            return read_stats(conn, kind, first, span)

    def timeline(self, kind: str, window: float = 3600) -> dict[str, list[tuple[float, int, int]]]:
        """Per name, (minute start, count, failed) for every minute of the window, zeros included."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
        last = int(self._clock()) // SLOT_SECONDS
        first = last - max(int(window) // SLOT_SECONDS, 1) + 1
        with self._db.connection() as conn:
            return read_timeline(conn, kind, first, last, SLOT_SECONDS)

    def queue_depth(self, since: float | None = None) -> list[tuple[float, str, int]]:
        """(time, queue, depth) readings since an epoch time (default: the last hour), oldest first."""
        since = self._clock() - 3600 if since is None else since
        with self._db.connection() as conn:
            return read_depths(conn, int(since) // SLOT_SECONDS)

    def evicted(self) -> dict[str, int]:
        """How many names each kind has lost to the max_names cap, across all processes."""
        with self._db.connection() as conn:
            rows = conn.execute("SELECT kind, evicted FROM agg_evicted").fetchall()
        return {kind: 0 for kind in KINDS} | dict(rows)

    def clear(self) -> None:
        """Forget every figure, in memory and in the file."""
        with self._lock:
            self._cells, self._depths = {}, {}
            self._names = {kind: set() for kind in KINDS}
        with self._db.transaction() as conn:
            for table in ("agg_slots", "agg_names", "agg_queue", "agg_evicted"):
                conn.execute(f"DELETE FROM {table}")


def _bucket(duration_ms: float) -> int:
    # The histogram bucket's index in a cell, past its scalar fields.
    return FIRST_BUCKET + bisect_left(BOUNDS_MS, duration_ms)

