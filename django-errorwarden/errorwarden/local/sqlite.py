"""One SQLite file shared by every process of a host: WAL, fork-safe handles, immediate writes.

The local inbox, the alert spool and the delivery outbox each keep their tables in a file of
their own through this class, so the three agree on how a file is opened, how a forked
gunicorn worker gets its own handle, and how a write waits for another process's lock.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

# A connection inherited through fork() must never be used or closed in the child: closing it
# could checkpoint or unlink the parent's WAL files. Children keep the stale handle here forever.
_INHERITED: list[sqlite3.Connection] = []


class SqliteFile:
    """A lazily opened, thread-safe, fork-aware connection to one SQLite file with a schema."""

    def __init__(self, path: str | os.PathLike[str], schema: str, *, version: int = 1, timeout: float = 2.0):
        self.path = Path(path)
        self._schema, self._version, self._timeout = schema, version, timeout
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = os.getpid()

    def _open(self) -> sqlite3.Connection:
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None,
                               check_same_thread=False)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")  # WAL stays consistent; a crash may lose the tail
            if conn.execute("PRAGMA user_version").fetchone()[0] < self._version:
                # One transaction: processes creating the file at once take turns, and the schema
                # is idempotent, so the second one changes nothing.
                conn.executescript(f"BEGIN IMMEDIATE;{self._schema};"
                                   f"PRAGMA user_version = {int(self._version)};COMMIT;")
        except BaseException:
            conn.close()
            raise
        return conn

    def _adopt_after_fork(self) -> None:
        if self._pid != os.getpid():  # forked: the parent's lock and handle are not ours
            if self._conn is not None:
                _INHERITED.append(self._conn)
            self._lock, self._conn, self._pid = threading.Lock(), None, os.getpid()

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """This process's connection, held alone by the calling thread for the block."""
        self._adopt_after_fork()
        with self._lock:
            if self._conn is None:
                self._conn = self._open()
            yield self._conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that takes the file's write lock up front."""
        with self.connection() as conn:
            # IMMEDIATE takes the write lock up front, so busy_timeout can wait for it instead of
            # failing a read-to-write upgrade while another process writes.
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                # A failed COMMIT (disk full) leaves the transaction open; without this rollback
                # every later BEGIN on this connection would fail too.
                if conn.in_transaction:
                    with suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise

    def read(self, sql: str, params: tuple = ()) -> list[tuple]:
        """The rows of one query; [] when its table does not exist yet (a file nobody wrote to)."""
        with self.connection() as conn:
            try:
                return conn.execute(sql, params).fetchall()
            except sqlite3.OperationalError as exc:
                if "no such table" in str(exc):
                    return []
                raise

    def close(self) -> None:
        """Close this process's connection; the next use reopens it."""
        self._adopt_after_fork()
        with self._lock:
            if self._conn is not None:
                self._conn.close()
            self._conn = None
