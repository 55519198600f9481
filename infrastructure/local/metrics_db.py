"""The local metrics file beside the inbox: a fork-safe SQLite connection for aggregates and alerts.

The aggregates and the alert log live in their own file (`sentry_inbox.metrics.sqlite3` beside
`sentry_inbox.sqlite3`), not in the inbox's: the inbox owns its file's schema version, its cap and
`--clear`, and keeping the two apart means an aggregates flush from every worker never queues
behind the inbox's batch writes for the same write lock.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

METRICS_SUFFIX = ".metrics.sqlite3"
# A connection inherited through fork() is never used or closed in the child (closing it could
# checkpoint the parent's WAL); children keep the stale handles here.
_INHERITED: list[sqlite3.Connection] = []
_LIVE: weakref.WeakSet[MetricsDB] = weakref.WeakSet()


def metrics_path(inbox_path: str | os.PathLike[str]) -> Path:
    """The metrics file beside an inbox: var/sentry_inbox.sqlite3 -> var/sentry_inbox.metrics.sqlite3."""
    inbox = Path(inbox_path)
    return inbox.with_name(inbox.stem + METRICS_SUFFIX)


class MetricsDB:
    """One lazily opened WAL connection per process to a metrics file, with its own schema script."""

    def __init__(self, path: str | os.PathLike[str], schema: str, timeout: float = 2.0):
        self.path = Path(path)
        self._schema, self._timeout = schema, timeout
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = os.getpid()
        _LIVE.add(self)

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None,
                               check_same_thread=False)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")  # a crash may lose the last flush, never corrupt
            conn.executescript(self._schema)  # CREATE ... IF NOT EXISTS: cheap, once per connection
        except BaseException:
            conn.close()
            raise
        return conn

    def _after_fork(self) -> None:
        if self._conn is not None:
            _INHERITED.append(self._conn)
        self._lock, self._conn, self._pid = threading.Lock(), None, os.getpid()

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """This process's connection, under the instance lock."""
        if self._pid != os.getpid():  # belt and braces beside the at-fork hook
            self._after_fork()
        with self._lock:
            if self._conn is None:
                self._conn = self._open()
            yield self._conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any error so the connection stays usable."""
        with self.connection() as conn:
            # IMMEDIATE takes the write lock up front, so busy_timeout waits for another process
            # instead of failing a read-to-write upgrade.
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    with suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise

    def close(self) -> None:
        """Close this process's connection; the next use reopens it."""
        if self._pid != os.getpid():
            self._after_fork()
        with self._lock:
            if self._conn is not None:
                self._conn.close()
            self._conn = None


def _reset_in_child() -> None:
    for db in list(_LIVE):
        db._after_fork()


os.register_at_fork(after_in_child=_reset_in_child)
