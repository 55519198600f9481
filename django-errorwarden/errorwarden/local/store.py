"""A bounded SQLite inbox of Sentry events and transactions that several processes can write."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from errorwarden import event as ev
from errorwarden.local.sqlite import SqliteFile
from errorwarden.settings import Settings
from errorwarden.text import cut

TITLE_MAX = 200
_SCHEMA_VERSION = 1
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
"""
_ISSUES = """
SELECT g.fingerprint, g.count, g.first_seen, g.last_seen, i.event_id, i.level, i.title, i.culprit
FROM (SELECT fingerprint, COUNT(*) AS count, MIN(received) AS first_seen,
             MAX(received) AS last_seen, MAX(id) AS last_id
      FROM inbox_items WHERE (? IS NULL OR type = ?) GROUP BY fingerprint) AS g
JOIN inbox_items AS i ON i.id = g.last_id
ORDER BY g.last_id DESC LIMIT ?
"""
# `received` is ISO 8601 in UTC with milliseconds, so text order is time order and its first 16
# characters are its minute.
_MINUTES = ("SELECT fingerprint, substr(received, 1, 16), COUNT(*) FROM inbox_items WHERE type = ? "
            "AND received >= ? GROUP BY fingerprint, substr(received, 1, 16)")
_INSERT = ("INSERT INTO inbox_items (event_id, type, received, level, title, culprit, fingerprint,"
           " environment, release, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


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


def _default_fingerprint(item_type: str, event: dict[str, Any]) -> list[str]:
    if item_type == "transaction":
        return [_text(event.get("transaction")) or "<unnamed transaction>"]
    exception = ev.main_exception(event)
    if exception is not None:
        frame = ev.crash_frame(event)
        if frame is None:  # no code location: the value is all that tells errors apart
            return [exception.get("type") or "Error", _text(exception.get("value"))]
        where = frame.get("module") or frame.get("filename") or "?"
        return [exception.get("type") or "Error", f"{where}.{frame.get('function') or '?'}"]
    # The unformatted template groups "user 1 failed" with "user 2 failed".
    return [_message(event, template=True) or title_of(item_type, event)]


def fingerprint_of(item_type: str, event: dict[str, Any]) -> list[str]:
    """The grouping key: the event's own fingerprint, with `{{ default }}` expanded."""
    return ev.expand_fingerprint(event.get("fingerprint"), _default_fingerprint(item_type, event))


def _row(item_type: str, payload: dict[str, Any]) -> tuple[Any, ...]:
    return (
        str(payload.get("event_id") or "").replace("-", "").lower(),
        item_type,
        datetime.now(UTC).isoformat(timespec="milliseconds"),
        str(payload.get("level") or ("info" if item_type == "transaction" else "error")),
        title_of(item_type, payload),
        culprit_of(item_type, payload),
        json.dumps(fingerprint_of(item_type, payload), ensure_ascii=False),
        str(payload.get("environment") or ""),
        str(payload.get("release") or ""),
        json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str),
    )


class InboxStore:
    """Events and transactions in one SQLite file (WAL), capped at max_events, oldest dropped first."""

    def __init__(self, path: str | os.PathLike[str], max_events: int = 10_000, timeout: float = 2.0):
        if max_events < 1:
            raise ValueError(f"max_events must be at least 1, not {max_events}")
        self._file = SqliteFile(path, _SCHEMA, version=_SCHEMA_VERSION, timeout=timeout)
        self.path = self._file.path
        self.max_events = max_events

    @classmethod
    def from_settings(cls, settings: Settings) -> InboxStore:
        """The store at SENTRY_INBOX_PATH, capped at SENTRY_INBOX_MAX_EVENTS."""
        return cls(settings.inbox_path, settings.inbox_max_events)

    def add(self, item_type: str, payload: dict[str, Any]) -> str:
        """Store one item and drop whatever now exceeds the cap; return its event id."""
        return self.add_many([(item_type, payload)])[0]

    def add_many(self, items: Iterable[tuple[str, dict[str, Any]]]) -> list[str]:
        """Store several (type, payload) items in one transaction, then enforce the cap once."""
        rows = [_row(item_type, payload) for item_type, payload in items]
        if not rows:
            return []
        with self._file.transaction() as conn:
            for row in rows:
                last_id = conn.execute(_INSERT, row).lastrowid
            # AUTOINCREMENT ids only grow, so one range delete on the primary key enforces the cap.
            conn.execute("DELETE FROM inbox_items WHERE id <= ?", (last_id - self.max_events,))
        return [row[0] for row in rows]

    def issues(self, limit: int = 50, type: str | None = "event") -> list[dict[str, Any]]:
        """Items grouped by fingerprint, most recently seen first (type None: all types)."""
        with self._file.connection() as conn:
            rows = conn.execute(_ISSUES, (type, type, limit)).fetchall()
        keys = ("fingerprint", "count", "first_seen", "last_seen", "last_event_id", "level", "title",
                "culprit")
        issues = [dict(zip(keys, row, strict=True)) for row in rows]
        for issue in issues:
            issue["fingerprint"] = json.loads(issue["fingerprint"])
        return issues

    def minute_counts(self, since: datetime, type: str = "event") -> dict[str, dict[str, int]]:
        """Items per fingerprint (as stored, JSON) and per minute received ('YYYY-MM-DDTHH:MM', UTC)
        since a moment: every item counted, no payload read."""
        with self._file.connection() as conn:
            rows = conn.execute(_MINUTES, (type, since.astimezone(UTC).isoformat(timespec="milliseconds")))
            found: dict[str, dict[str, int]] = {}
            for fingerprint, minute, count in rows:
                found.setdefault(fingerprint, {})[minute] = count
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
        """How many items are stored, optionally of one type."""
        where, params = ("WHERE type = ?", (type,)) if type else ("", ())
        with self._file.connection() as conn:
            return conn.execute(f"SELECT COUNT(*) FROM inbox_items {where}", params).fetchone()[0]

    def clear(self) -> int:
        """Delete every item; return how many there were."""
        with self._file.transaction() as conn:
            return conn.execute("DELETE FROM inbox_items").rowcount

    def close(self) -> None:
        """Close this process's connection; the next call reopens it."""
        self._file.close()
