"""The durable alert queue: a fired alert is written here before anything tries to deliver it.

One SQLite file per host, shared by its processes (gunicorn workers, Celery workers):
- `alert_claims` holds, per rule key, until when the key has fired on this host. A claim is
  taken in the same transaction that queues the deliveries, so two processes that both believe
  they fired (each counting in memory while Redis is away) page once per host, not twice.
- `alert_deliveries` holds one row per alert and channel: pending until delivered or given up
  at its deadline (the end of the alert's cooldown), leased by one process at a time, so a
  process that dies mid-send leaves the row to the next one after the lease.
Rows outlive the process: the next process's channel workers deliver what was left.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from errorwarden.local.sqlite import SqliteFile

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alert_claims (key TEXT PRIMARY KEY, until REAL NOT NULL);
CREATE TABLE IF NOT EXISTS alert_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id TEXT NOT NULL,
    key TEXT NOT NULL,
    channel TEXT NOT NULL,
    rule TEXT NOT NULL DEFAULT '',
    title TEXT NOT NULL DEFAULT '',
    severity TEXT NOT NULL DEFAULT '',
    payload TEXT NOT NULL,
    created REAL NOT NULL,
    deadline REAL NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL,
    lease_until REAL NOT NULL DEFAULT 0,
    lease_owner TEXT NOT NULL DEFAULT '',
    last_error TEXT NOT NULL DEFAULT '',
    finished REAL
);
CREATE INDEX IF NOT EXISTS alert_deliveries_due ON alert_deliveries (channel, status, next_at);
"""
_TAKE = """
UPDATE alert_deliveries SET lease_until = ?, lease_owner = ?, attempts = attempts + 1
WHERE id = (SELECT id FROM alert_deliveries
            WHERE channel = ? AND status = 'pending' AND next_at <= ? AND lease_until <= ?
            ORDER BY id LIMIT 1)
RETURNING id, alert_id, title, payload, attempts, deadline
"""
# A pending row not yet tried is queued; once tried it is retrying; 'queued' in the table means
# handed to Celery, whose worker owns it from there.
_RECENT = """
SELECT alert_id, channel, created, COALESCE(finished, created), rule, title, severity,
       CASE status WHEN 'pending' THEN CASE WHEN attempts = 0 THEN 'queued' ELSE 'retrying' END
                   WHEN 'lost' THEN 'failed'
                   WHEN 'queued' THEN CASE WHEN last_error = '' THEN 'handed to Celery' ELSE 'retrying' END
                   ELSE status END,
       attempts, COALESCE(json_extract(payload, '$.event_id'), ''), last_error
FROM alert_deliveries ORDER BY id DESC LIMIT ?
"""
PENDING, DELIVERED, LOST, QUEUED = "pending", "delivered", "lost", "queued"
KEEP_FINISHED = 1000  # delivered / lost rows kept for the dashboard, newest first


@dataclass(frozen=True)
class Delivery:
    """One leased attempt: the alert for one channel, how many attempts so far, its deadline."""

    id: int
    alert_id: str
    title: str
    alert: dict[str, Any]
    attempts: int
    deadline: float


class AlertSpool:
    """Durable, host-wide alert queue with per-key claims (see the module docstring)."""

    def __init__(self, path: str | os.PathLike[str], *, lease: float = 60.0, timeout: float = 2.0):
        self._file = SqliteFile(path, _SCHEMA, timeout=timeout)
        self.path = self._file.path
        self._lease = lease
        self._owner = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"

    def enqueue(self, key: str, until: float, alert: dict[str, Any], channels: Iterable[str],
                now: float) -> str | None:
        """Claim `key` until `until` and queue one delivery per channel, atomically.

        Returns the alert id, or None when this host already fired `key` and the claim still runs.
        """
        alert_id = uuid.uuid4().hex
        payload = json.dumps(alert, ensure_ascii=False, separators=(",", ":"))
        with self._file.transaction() as conn:
            row = conn.execute("SELECT until FROM alert_claims WHERE key = ?", (key,)).fetchone()
            if row is not None and row[0] > now:
                return None
            conn.execute("INSERT OR REPLACE INTO alert_claims (key, until) VALUES (?, ?)", (key, until))
            conn.executemany(
                "INSERT INTO alert_deliveries (alert_id, key, channel, rule, title, severity, payload,"
                " created, deadline, next_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(alert_id, key, channel, str(alert.get("rule", "")), str(alert.get("title", "")),
                  str(alert.get("severity", "")), payload, now, until, now) for channel in channels])
            conn.execute("DELETE FROM alert_claims WHERE until < ?", (now,))
        return alert_id

    def claims(self, now: float) -> dict[str, float]:
        """Keys fired on this host whose claim still runs, with its end."""
        with self._file.connection() as conn:
            rows = conn.execute("SELECT key, until FROM alert_claims WHERE until > ?", (now,)).fetchall()
        return dict(rows)

    def take(self, channel: str, now: float) -> Delivery | None:
        """Lease the oldest due delivery for `channel`, or None when nothing is due."""
        with self._file.transaction() as conn:
            row = conn.execute(_TAKE, (now + self._lease, self._owner, channel, now, now)).fetchone()
        if row is None:
            return None
        return Delivery(row[0], row[1], row[2], json.loads(row[3]), row[4], row[5])

    def next_due(self, channel: str) -> float | None:
        """When the next pending delivery for `channel` is due (its lease respected), or None."""
        with self._file.connection() as conn:
            row = conn.execute("SELECT MIN(MAX(next_at, lease_until)) FROM alert_deliveries "
                               "WHERE channel = ? AND status = 'pending'", (channel,)).fetchone()
        return row[0]

    def pending(self, channel: str | None = None) -> int:
        """How many deliveries wait (for one channel, or all)."""
        where, args = ("AND channel = ?", (channel,)) if channel else ("", ())
        with self._file.connection() as conn:
            return conn.execute(f"SELECT COUNT(*) FROM alert_deliveries WHERE status = 'pending' {where}",
                                args).fetchone()[0]

    def finish(self, delivery_id: int, status: str, now: float, error: str = "") -> None:
        """Mark a leased delivery delivered, lost or queued (handed to Celery)."""
        with self._file.transaction() as conn:
            # Handed to Celery: the worker may have recorded its outcome already (record_worker);
            # "queued" never overwrites it.
            conn.execute("UPDATE alert_deliveries SET status = ?, finished = ?, last_error = ?,"
                         " lease_until = 0 WHERE id = ? AND (? != 'queued' OR status = 'pending')",
                         (status, now, error[:200], delivery_id, status))
            conn.execute("DELETE FROM alert_deliveries WHERE status != 'pending' AND id <= "
                         "(SELECT id FROM alert_deliveries WHERE status != 'pending' ORDER BY id DESC "
                         "LIMIT 1 OFFSET ?)", (KEEP_FINISHED,))

    def record_worker(self, alert_id: str, channel: str, outcome: str, attempts: int, now: float,
                      error: str = "") -> bool:
        """A Celery worker's word on a delivery it was handed: delivered, lost, or retrying (the row
        stays 'queued' with the error and attempt count). False when this spool has no such row
        (the worker runs on another host, or the row was trimmed)."""
        if outcome not in (DELIVERED, LOST, "retrying"):
            raise ValueError(f"outcome must be one of delivered, lost, retrying, not {outcome!r}")
        status = QUEUED if outcome == "retrying" else outcome
        finished = None if outcome == "retrying" else now
        with self._file.transaction() as conn:
            return bool(conn.execute(
                "UPDATE alert_deliveries SET status = ?, attempts = MAX(attempts, ?), last_error = ?, "
                "finished = COALESCE(?, finished), lease_until = 0 WHERE alert_id = ? AND channel = ? "
                "AND status IN ('queued', 'pending')",
                (status, attempts, error[:200], finished, alert_id, channel)).rowcount)

    def retry_at(self, delivery_id: int, next_at: float, error: str) -> None:
        """Release a leased delivery for another attempt at `next_at`."""
        with self._file.transaction() as conn:
            conn.execute("UPDATE alert_deliveries SET next_at = ?, lease_until = 0, last_error = ?"
                         " WHERE id = ?", (next_at, error[:200], delivery_id))

    def recent(self, limit: int = 100) -> list[dict[str, Any]]:
        """The newest deliveries as the dashboard shows them: what fired, where, and what became of it."""
        keys = ("alert_id", "channel", "fired", "updated", "rule", "title", "severity", "outcome", "attempts",
                "event_id", "detail")
        with self._file.connection() as conn:
            rows = conn.execute(_RECENT, (limit,)).fetchall()
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def clear_finished(self) -> int:
        """Forget delivered and lost rows (pending ones stay: they are still owed); return how many."""
        with self._file.transaction() as conn:
            return conn.execute("DELETE FROM alert_deliveries WHERE status != 'pending'").rowcount

    def deliveries(self, limit: int = 100) -> list[dict[str, Any]]:
        """The newest deliveries, for the dashboard and `sentry_inbox --alerts`."""
        keys = ("alert_id", "channel", "rule", "title", "severity", "created", "status", "attempts",
                "last_error", "finished")
        with self._file.connection() as conn:
            rows = conn.execute(f"SELECT {', '.join(keys)} FROM alert_deliveries ORDER BY id DESC LIMIT ?",
                                (limit,)).fetchall()
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def close(self) -> None:
        """Close this process's connection."""
        self._file.close()
