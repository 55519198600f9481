"""The outbox: a bounded SQLite spool of envelopes that Sentry could not take yet, shared by processes."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from errorwarden.local.sqlite import SqliteFile
from errorwarden.settings import Settings

_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dsn_key TEXT NOT NULL,
    created REAL NOT NULL,
    not_before REAL NOT NULL DEFAULT 0,
    lease_until REAL NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    reason TEXT NOT NULL,
    summary TEXT NOT NULL DEFAULT '',
    size INTEGER NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (dsn_key, not_before, id);
CREATE TABLE IF NOT EXISTS outbox_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO outbox_meta VALUES ('count', 0), ('bytes', 0), ('dropped', 0), ('dropped_bytes', 0);
CREATE TRIGGER IF NOT EXISTS outbox_added AFTER INSERT ON outbox BEGIN
    UPDATE outbox_meta SET value = value + 1 WHERE key = 'count';
    UPDATE outbox_meta SET value = value + NEW.size WHERE key = 'bytes';
END;
CREATE TRIGGER IF NOT EXISTS outbox_removed AFTER DELETE ON outbox BEGIN
    UPDATE outbox_meta SET value = value - 1 WHERE key = 'count';
    UPDATE outbox_meta SET value = value - OLD.size WHERE key = 'bytes';
END;
"""
_INSERT = ("INSERT INTO outbox (dsn_key, created, not_before, reason, summary, size, body)"
           " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id")
_CLAIM = """
UPDATE outbox SET lease_until = :lease, attempts = attempts + 1
WHERE id IN (SELECT id FROM outbox WHERE dsn_key = :key AND not_before <= :now AND lease_until <= :now
             ORDER BY created, id LIMIT :limit)
RETURNING id, attempts, body, summary
"""


def dsn_key(dsn: str) -> str:
    """A short, one-way name for a DSN, so the spool never stores the DSN's key."""
    return hashlib.sha256(dsn.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Spooled:
    """One envelope to spool: its serialized bytes and why it waits."""

    body: bytes
    reason: str
    summary: str = ""
    not_before: float = 0.0
    created: float | None = None  # when it was captured (default: when it is spooled)


@dataclass(frozen=True)
class Claimed:
    """One leased row handed to a sender: row id, how often it was tried, the envelope bytes and
    their summary (item types first: what a client report counts if the bytes cannot be read)."""

    id: int
    attempts: int
    body: bytes
    summary: str = ""


class OutboxStore:
    """Envelopes in one SQLite file (WAL), at most max_envelopes and max_bytes, oldest dropped first."""

    def __init__(self, path: str | os.PathLike[str], max_envelopes: int = Settings.outbox_max_envelopes,
                 max_bytes: int = Settings.outbox_max_mb * 1024 * 1024, timeout: float = 5.0):
        # The bounds' defaults are the settings table's (SENTRY_OUTBOX_MAX_*), not repeated here.
        if max_envelopes < 1 or max_bytes < 1:
            raise ValueError(f"outbox bounds must be positive, not {max_envelopes} envelopes "
                             f"and {max_bytes} bytes")
        self._file = SqliteFile(path, _SCHEMA, version=_SCHEMA_VERSION, timeout=timeout)
        self.path = self._file.path
        self.max_envelopes = max_envelopes
        self.max_bytes = max_bytes

    def add_many(self, key: str, items: Iterable[Spooled], now: float | None = None,
                 evicted: list[str] | None = None) -> tuple[list[int], int]:
        """Spool items for one DSN in one transaction; return (their row ids, envelopes dropped for space).

        evicted, when given, receives the summary (item types first) of each envelope dropped.
        """
        now = time.time() if now is None else now
        rows = [(key, item.created or now, item.not_before, item.reason, item.summary[:300], len(item.body),
                 item.body) for item in items]
        fitting = [row for row in rows if row[5] <= self.max_bytes]
        if evicted is not None:
            evicted.extend(row[4] for row in rows if row[5] > self.max_bytes)
        if not fitting:
            return [], len(rows)
        with self._file.transaction() as conn:
            ids = [conn.execute(_INSERT, row).fetchone()[0] for row in fitting]
            dropped = self._evict(conn, evicted)
        return ids, dropped + len(rows) - len(fitting)

    def _evict(self, conn: sqlite3.Connection, evicted: list[str] | None = None) -> int:
        count, size = self._totals(conn)
        dropped = dropped_bytes = 0
        while count > self.max_envelopes or size > self.max_bytes:
            # Oldest captured first, whatever its DSN (an envelope that failed on the wire is spooled
            # after later ones went straight to the spool); in chunks, never the whole table at once.
            chunk = conn.execute("SELECT id, size, summary FROM outbox ORDER BY created, id LIMIT 200"
                                 ).fetchall()
            gone = []
            for row_id, row_size, summary in chunk:
                if count <= self.max_envelopes and size <= self.max_bytes:
                    break
                gone.append((row_id,))
                if evicted is not None:
                    evicted.append(summary)
                count, size = count - 1, size - row_size
                dropped, dropped_bytes = dropped + 1, dropped_bytes + row_size
            if not gone:
                break
            conn.executemany("DELETE FROM outbox WHERE id = ?", gone)
        if dropped:
            conn.execute("UPDATE outbox_meta SET value = value + ? WHERE key = 'dropped'", (dropped,))
            conn.execute("UPDATE outbox_meta SET value = value + ? WHERE key = 'dropped_bytes'",
                         (dropped_bytes,))
        return dropped

    @staticmethod
    def _totals(conn: sqlite3.Connection) -> tuple[int, int]:
        meta = dict(conn.execute("SELECT key, value FROM outbox_meta WHERE key IN ('count', 'bytes')"))
        return meta["count"], meta["bytes"]

    def claim(self, key: str, limit: int, lease: float = 60.0, now: float | None = None) -> list[Claimed]:
        """Lease up to limit due rows of one DSN, oldest first; a leased row is no other sender's."""
        now = time.time() if now is None else now
        with self._file.transaction() as conn:
            rows = conn.execute(_CLAIM, {"lease": now + lease, "key": key, "now": now,
                                         "limit": limit}).fetchall()
        return sorted((Claimed(*row) for row in rows), key=lambda c: c.id)

    def delete(self, row_ids: Iterable[int]) -> None:
        """Forget rows that were delivered (or can never be)."""
        ids = [(row_id,) for row_id in row_ids]
        if ids:
            with self._file.transaction() as conn:
                conn.executemany("DELETE FROM outbox WHERE id = ?", ids)

    def release(self, row_ids: Iterable[int], not_before: float = 0.0) -> None:
        """Give leased rows back, due again at not_before (epoch seconds)."""
        ids = [(not_before, row_id) for row_id in row_ids]
        if ids:
            with self._file.transaction() as conn:
                conn.executemany("UPDATE outbox SET lease_until = 0, not_before = ? WHERE id = ?", ids)

    def pending(self, key: str | None = None) -> int:
        """Rows waiting (for one DSN, or all)."""
        with self._file.connection() as conn:
            if key is None:
                return self._totals(conn)[0]
            return conn.execute("SELECT COUNT(*) FROM outbox WHERE dsn_key = ?", (key,)).fetchone()[0]

    def next_due(self, key: str) -> float | None:
        """When the earliest row of this DSN may be tried (epoch seconds), or None when there is none."""
        with self._file.connection() as conn:
            row = conn.execute("SELECT MIN(MAX(not_before, lease_until)) FROM outbox WHERE dsn_key = ?",
                               (key,)).fetchone()
        return row[0]

    def stats(self) -> dict[str, Any]:
        """Totals for operators: rows, bytes, dropped for space (ever), oldest row's age, per reason."""
        with self._file.connection() as conn:
            meta = dict(conn.execute("SELECT key, value FROM outbox_meta"))
            oldest = conn.execute("SELECT MIN(created) FROM outbox").fetchone()[0]
            reasons = dict(conn.execute("SELECT reason, COUNT(*) FROM outbox GROUP BY reason"))
        return {"envelopes": meta["count"], "bytes": meta["bytes"], "dropped": meta["dropped"],
                "dropped_bytes": meta["dropped_bytes"], "max_envelopes": self.max_envelopes,
                "max_bytes": self.max_bytes, "oldest": oldest, "reasons": reasons}

    def rows(self, limit: int = 20) -> list[dict[str, Any]]:
        """The oldest rows' metadata (never the envelope bytes), for `sentry_inbox --outbox`."""
        with self._file.connection() as conn:
            found = conn.execute("SELECT id, created, not_before, attempts, reason, size, summary "
                                 "FROM outbox ORDER BY id LIMIT ?", (limit,)).fetchall()
        keys = ("id", "created", "not_before", "attempts", "reason", "size", "summary")
        return [dict(zip(keys, row, strict=True)) for row in found]

    def clear(self) -> int:
        """Delete every row; return how many there were."""
        with self._file.transaction() as conn:
            return conn.execute("DELETE FROM outbox").rowcount

    def close(self) -> None:
        """Close this process's connection; the next call reopens it."""
        self._file.close()
