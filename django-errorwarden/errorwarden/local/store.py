"""A bounded SQLite inbox of Sentry events and transactions that several processes can write.

Two things are kept apart: counts and payloads. Every event captured is counted against its
issue (count, first and last seen, per minute) whether or not its payload is kept; the payloads
kept are a sample in a storm (see transport.py) and the newest max_events of them.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from errorwarden import event as ev
from errorwarden.local.sqlite import SqliteFile
from errorwarden.settings import Settings
from errorwarden.text import cut

TITLE_MAX = 200
ID_PREFIX_MIN = 6  # the shortest event id prefix `sentry_inbox --show` and the dashboard accept
MINUTE_RETENTION = 6 * 3600  # per-minute counts older than this are deleted
TRIM_INTERVAL = 60.0  # seconds between two trims of the issue counts and minutes by one process
_SCHEMA_VERSION = 2
_SCHEMA = """
CREATE TABLE IF NOT EXISTS inbox_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL,
    type TEXT NOT NULL,
    received TEXT NOT NULL,
    level TEXT NOT NULL DEFAULT '',
    title TEXT NOT NULL DEFAULT '',
    culprit TEXT NOT NULL DEFAULT '',
    fingerprint TEXT NOT NULL,
    environment TEXT NOT NULL DEFAULT '',
    release TEXT NOT NULL DEFAULT '',
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS inbox_items_event_id ON inbox_items (event_id);
CREATE INDEX IF NOT EXISTS inbox_items_group ON inbox_items (type, fingerprint, id);
-- Every event captured, kept or not: its issue's count and first/last seen (epoch seconds) ...
CREATE TABLE IF NOT EXISTS inbox_issues (
    id INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    count INTEGER NOT NULL,
    first_seen REAL NOT NULL,
    last_seen REAL NOT NULL,
    level TEXT NOT NULL DEFAULT '',
    title TEXT NOT NULL DEFAULT '',
    culprit TEXT NOT NULL DEFAULT '',
    UNIQUE (type, fingerprint)
);
CREATE INDEX IF NOT EXISTS inbox_issues_seen ON inbox_issues (last_seen);
-- ... and its count per minute (epoch minute), for the sparklines and the last hour.
CREATE TABLE IF NOT EXISTS inbox_minutes (
    type TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    minute INTEGER NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (type, fingerprint, minute)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS inbox_minutes_minute ON inbox_minutes (minute);
-- What every process writing this inbox could not keep, by the loss ledger's (kind, reason).
CREATE TABLE IF NOT EXISTS inbox_losses (
    kind TEXT NOT NULL,
    reason TEXT NOT NULL,
    count INTEGER NOT NULL,
    last_at REAL NOT NULL,
    PRIMARY KEY (kind, reason)
) WITHOUT ROWID;
-- A file of schema 1 counted only what it stored: its issues and minutes start from those rows.
INSERT OR IGNORE INTO inbox_issues (type, fingerprint, count, first_seen, last_seen, level, title, culprit)
SELECT g.type, g.fingerprint, g.n, g.first_seen, g.last_seen, i.level, i.title, i.culprit
FROM (SELECT type, fingerprint, COUNT(*) AS n, MAX(id) AS last_id,
             (julianday(MIN(received)) - 2440587.5) * 86400.0 AS first_seen,
             (julianday(MAX(received)) - 2440587.5) * 86400.0 AS last_seen
      FROM inbox_items GROUP BY type, fingerprint) AS g
JOIN inbox_items AS i ON i.id = g.last_id;
INSERT OR IGNORE INTO inbox_minutes (type, fingerprint, minute, count)
SELECT type, fingerprint, CAST((julianday(substr(received, 1, 16)) - 2440587.5) * 1440.0 + 0.5 AS INTEGER),
       COUNT(*)
FROM inbox_items GROUP BY type, fingerprint, substr(received, 1, 16);
"""
# The most recently seen first; the issue made later first among events of the same instant.
_ISSUES = """
SELECT s.fingerprint, s.count, s.first_seen, s.last_seen, s.level, s.title, s.culprit,
       (SELECT COUNT(*) FROM inbox_items AS i WHERE i.type = s.type AND i.fingerprint = s.fingerprint),
       (SELECT i.event_id FROM inbox_items AS i WHERE i.type = s.type AND i.fingerprint = s.fingerprint
        ORDER BY i.id DESC LIMIT 1)
FROM inbox_issues AS s WHERE (? IS NULL OR s.type = ?)
ORDER BY s.last_seen DESC, s.id DESC LIMIT ?
"""
_MINUTES = "SELECT fingerprint, minute, count FROM inbox_minutes WHERE type = ? AND minute >= ?"
_INSERT = ("INSERT INTO inbox_items (event_id, type, received, level, title, culprit, fingerprint,"
           " environment, release, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
_ISSUE_UPSERT = """
INSERT INTO inbox_issues (type, fingerprint, count, first_seen, last_seen, level, title, culprit)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (type, fingerprint) DO UPDATE SET
    count = count + excluded.count,
    first_seen = min(first_seen, excluded.first_seen),
    level = CASE WHEN excluded.last_seen >= last_seen THEN excluded.level ELSE level END,
    title = CASE WHEN excluded.last_seen >= last_seen THEN excluded.title ELSE title END,
    culprit = CASE WHEN excluded.last_seen >= last_seen THEN excluded.culprit ELSE culprit END,
    last_seen = max(last_seen, excluded.last_seen)
"""
_MINUTE_UPSERT = ("INSERT INTO inbox_minutes (type, fingerprint, minute, count) VALUES (?, ?, ?, ?) "
                  "ON CONFLICT (type, fingerprint, minute) DO UPDATE SET count = count + excluded.count")
_LOSS_UPSERT = ("INSERT INTO inbox_losses (kind, reason, count, last_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (kind, reason) DO UPDATE SET count = count + excluded.count, "
                "last_at = max(last_at, excluded.last_at)")
# Issues beyond the cap, the least recently seen first.
_ISSUE_TRIM = ("DELETE FROM inbox_issues WHERE id IN "
               "(SELECT id FROM inbox_issues ORDER BY last_seen DESC LIMIT -1 OFFSET ?)")


def _text(value: Any, limit: int = TITLE_MAX) -> str:
    text = "" if value is None else str(value)
    return cut(text.strip().splitlines()[0] if text.strip() else "", limit)


def _message(event: dict[str, Any], template: bool) -> str:
    return _text(ev.message(event, template=template))


def title_of(item_type: str, event: dict[str, Any]) -> str:
    """A one-line title: `Type: value` for errors, the message, or the transaction name."""
    exception = ev.main_exception(event)
    if item_type == "transaction":
        return _text(event.get("transaction")) or "<unnamed transaction>"
    if exception is not None:
        kind = exception.get("type") or "Error"
        value = _text(ev.readable_value(kind, exception.get("value")))
        return _text(f"{kind}: {value}" if value else kind)
    return _message(event, template=False) or "<no message>"


def culprit_of(item_type: str, event: dict[str, Any]) -> str:
    """Where it happened: the transaction, else the crash frame as `module in function`."""
    explicit = event.get("culprit") if item_type != "transaction" else None
    if explicit or event.get("transaction"):
        return _text(explicit or event.get("transaction"))
    frame = ev.crash_frame(event)
    if frame is None:
        return ""
    where = frame.get("module") or frame.get("filename") or "?"
    return _text(f"{where} in {frame.get('function') or '?'}")


def fingerprint_of(item_type: str, event: dict[str, Any]) -> list[str]:
    """The grouping key: the event's own fingerprint, with `{{ default }}` expanded."""
    return ev.issue_fingerprint(event, transaction=item_type == "transaction")


def key_of(item_type: str, payload: dict[str, Any]) -> str:
    """The issue key: the fingerprint as stored (JSON), which counts, samples and rows share."""
    return json.dumps(fingerprint_of(item_type, payload), ensure_ascii=False)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")


def row_of(item_type: str, payload: dict[str, Any], key: str, received: float) -> tuple[Any, ...]:
    """One inbox_items row for a payload whose issue key and capture time are known already."""
    return (
        str(payload.get("event_id") or "").replace("-", "").lower(),
        item_type,
        _iso(received),
        _level(item_type, payload),
        title_of(item_type, payload),
        culprit_of(item_type, payload),
        key,
        str(payload.get("environment") or ""),
        str(payload.get("release") or ""),
        json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str),
    )


def _level(item_type: str, payload: dict[str, Any]) -> str:
    return str(payload.get("level") or ("info" if item_type == "transaction" else "error"))


class Tally:
    """Events counted per issue and per minute in memory, until a batch writes them; not thread-safe
    (the transport adds under its own lock and swaps in a fresh tally for each write)."""

    __slots__ = ("events", "issues", "minutes")

    def __init__(self) -> None:
        self.events = 0
        # (type, key) -> [count, first seen, last seen, the latest payload (its level, title, culprit)]
        self.issues: dict[tuple[str, str], list[Any]] = {}
        self.minutes: dict[tuple[str, str, int], int] = {}

    def add(self, item_type: str, key: str, when: float, payload: dict[str, Any], count: int = 1) -> None:
        """Count `count` events of one issue captured at `when` (epoch seconds)."""
        self.events += count
        issue = self.issues.get((item_type, key))
        if issue is None:
            self.issues[item_type, key] = [count, when, when, payload]
        else:
            issue[0] += count
            if when < issue[1]:
                issue[1] = when
            if when >= issue[2]:
                issue[2], issue[3] = when, payload
        cell = (item_type, key, int(when // 60))
        self.minutes[cell] = self.minutes.get(cell, 0) + count

    def merge(self, other: Tally) -> None:
        """Add another tally's counts to this one (a write that failed gives its counts back)."""
        self.events += other.events
        for (item_type, key), (count, first, last, payload) in other.issues.items():
            issue = self.issues.get((item_type, key))
            if issue is None:
                self.issues[item_type, key] = [count, first, last, payload]
                continue
            issue[0] += count
            issue[1] = min(issue[1], first)
            if last >= issue[2]:
                issue[2], issue[3] = last, payload
        for cell, count in other.minutes.items():
            self.minutes[cell] = self.minutes.get(cell, 0) + count

    def __len__(self) -> int:
        """Cells held: issues plus minutes (what bounds this tally's memory)."""
        return len(self.issues) + len(self.minutes)


class InboxStore:
    """Events and transactions in one SQLite file (WAL): every event counted per issue and minute, its
    payload kept while the newest max_events are; the counts of at most max_events issues."""

    def __init__(self, path: str | os.PathLike[str], max_events: int = Settings.inbox_max_events,
                 timeout: float = 2.0):  # max_events' default: SENTRY_INBOX_MAX_EVENTS's
        if max_events < 1:
            raise ValueError(f"max_events must be at least 1, not {max_events}")
        self._file = SqliteFile(path, _SCHEMA, version=_SCHEMA_VERSION, timeout=timeout)
        self.path = self._file.path
        self.max_events = max_events
        self._trimmed_at = float("-inf")

    @classmethod
    def from_settings(cls, settings: Settings) -> InboxStore:
        """The store at SENTRY_INBOX_PATH, capped at SENTRY_INBOX_MAX_EVENTS."""
        return cls(settings.inbox_path, settings.inbox_max_events)

    def add(self, item_type: str, payload: dict[str, Any]) -> str:
        """Count and store one item and drop whatever now exceeds the cap; return its event id."""
        return self.add_many([(item_type, payload)])[0]

    def add_many(self, items: Iterable[tuple[str, dict[str, Any]]]) -> list[str]:
        """Count and store several (type, payload) items in one transaction, then enforce the cap once."""
        now, rows, tally = time.time(), [], Tally()
        for item_type, payload in items:
            key = key_of(item_type, payload)
            rows.append(row_of(item_type, payload, key, now))
            tally.add(item_type, key, now, payload)
        if rows:
            self.write(rows, tally)
        return [row[0] for row in rows]

    def write(self, rows: list[tuple[Any, ...]], tally: Tally | None = None,
              losses: dict[tuple[str, str], int] | None = None) -> None:
        """One transaction: store the rows (from row_of), add the tally's counts and the losses, and keep
        to the caps. Raises what SQLite raises; nothing is written then."""
        tally = tally or Tally()
        issues = [(item_type, key, count, first, last, _level(item_type, payload),
                   title_of(item_type, payload), culprit_of(item_type, payload))
                  for (item_type, key), (count, first, last, payload) in tally.issues.items()]
        minutes = [(*cell, count) for cell, count in tally.minutes.items()]
        now = time.time()
        trim = time.monotonic() - self._trimmed_at >= TRIM_INTERVAL
        with self._file.transaction() as conn:
            if issues:
                conn.executemany(_ISSUE_UPSERT, issues)
                conn.executemany(_MINUTE_UPSERT, minutes)
            if losses:
                conn.executemany(_LOSS_UPSERT, [(*key, n, now) for key, n in losses.items()])
            if rows:
                conn.executemany(_INSERT, rows)
                last_id = conn.execute("SELECT last_insert_rowid()").fetchone()[0]
                # AUTOINCREMENT ids only grow, so one range delete on the primary key enforces the cap.
                conn.execute("DELETE FROM inbox_items WHERE id <= ?", (last_id - self.max_events,))
            if trim:
                conn.execute(_ISSUE_TRIM, (self.max_events,))
                conn.execute("DELETE FROM inbox_minutes WHERE minute < ?",
                             (int((now - MINUTE_RETENTION) // 60),))
        if trim:
            self._trimmed_at = time.monotonic()

    def issues(self, limit: int = 50, type: str | None = "event") -> list[dict[str, Any]]:
        """Issues, most recently seen first (type None: all types): every event counted, with how many are
        kept and the newest kept one (last_event_id, '' when none is)."""
        with self._file.connection() as conn:
            rows = conn.execute(_ISSUES, (type, type, limit)).fetchall()
        keys = ("fingerprint", "count", "first_seen", "last_seen", "level", "title", "culprit", "kept",
                "last_event_id")
        issues = [dict(zip(keys, row, strict=True)) for row in rows]
        for issue in issues:
            issue["fingerprint"] = json.loads(issue["fingerprint"])
            issue["first_seen"], issue["last_seen"] = _iso(issue["first_seen"]), _iso(issue["last_seen"])
            issue["last_event_id"] = issue["last_event_id"] or ""
        return issues

    def totals(self, type: str | None = "event") -> dict[str, int]:
        """Events counted, issues and items kept, of one type (None: all types)."""
        where, params = ("WHERE type = ?", (type,)) if type else ("", ())
        with self._file.connection() as conn:
            counted, issues = conn.execute(
                f"SELECT coalesce(SUM(count), 0), COUNT(*) FROM inbox_issues {where}", params).fetchone()
            kept = conn.execute(f"SELECT COUNT(*) FROM inbox_items {where}", params).fetchone()[0]
        return {"events": counted, "issues": issues, "kept": kept}

    def losses(self) -> dict[tuple[str, str], int]:
        """What the processes writing this inbox could not keep, per (kind, reason) of the loss ledger."""
        with self._file.connection() as conn:
            rows = conn.execute("SELECT kind, reason, count FROM inbox_losses "
                                "ORDER BY count DESC, kind, reason")
            return {(kind, reason): count for kind, reason, count in rows}

    def minute_counts(self, since: datetime, type: str = "event") -> dict[str, dict[str, int]]:
        """Events per fingerprint (as stored, JSON) and per minute captured ('YYYY-MM-DDTHH:MM', UTC)
        since a moment's minute: every event counted, kept or not."""
        first = int(since.timestamp() // 60)
        with self._file.connection() as conn:
            found: dict[str, dict[str, int]] = {}
            for fingerprint, minute, count in conn.execute(_MINUTES, (type, first)):
                label = datetime.fromtimestamp(minute * 60, UTC).strftime("%Y-%m-%dT%H:%M")
                found.setdefault(fingerprint, {})[label] = count
        return found
    def get(self, event_id: str) -> dict[str, Any] | None:
        """The full payload of one event or transaction, or None when unknown."""
        with self._file.connection() as conn:
            row = conn.execute("SELECT payload FROM inbox_items WHERE event_id = ? ORDER BY id DESC LIMIT 1",
                               (event_id.replace("-", "").lower(),)).fetchone()
        return json.loads(row[0]) if row else None

    def event_ids(self, prefix: str, limit: int = 2) -> list[str]:
        """Distinct event ids starting with prefix (the CLI accepts unique prefixes)."""
        pattern = prefix.replace("-", "").lower().replace("%", "").replace("_", "") + "%"
        with self._file.connection() as conn:
            rows = conn.execute("SELECT DISTINCT event_id FROM inbox_items WHERE event_id LIKE ? LIMIT ?",
                                (pattern, limit)).fetchall()
        return [row[0] for row in rows]

    def events(self, limit: int | None = None, type: str | None = None) -> list[dict[str, Any]]:
        """Full payloads, newest first, optionally of one type."""
        where, params = ("WHERE type = ?", [type]) if type else ("", [])
        with self._file.connection() as conn:
            rows = conn.execute(f"SELECT payload FROM inbox_items {where} ORDER BY id DESC LIMIT ?",
                                (*params, -1 if limit is None else limit)).fetchall()
        return [json.loads(row[0]) for row in rows]

    def count(self, type: str | None = None) -> int:
        """How many items are kept (stored with their payload), optionally of one type."""
        where, params = ("WHERE type = ?", (type,)) if type else ("", ())
        with self._file.connection() as conn:
            return conn.execute(f"SELECT COUNT(*) FROM inbox_items {where}", params).fetchone()[0]

    def clear(self) -> int:
        """Delete every item, count and recorded loss; return how many items there were."""
        with self._file.transaction() as conn:
            for table in ("inbox_issues", "inbox_minutes", "inbox_losses"):
                conn.execute(f"DELETE FROM {table}")  # a fixed table name
            return conn.execute("DELETE FROM inbox_items").rowcount

    def close(self) -> None:
        """Close this process's connection; the next call reopens it."""
        self._file.close()
