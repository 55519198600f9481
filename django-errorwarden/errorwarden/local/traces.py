"""Stored transactions by endpoint and by trace, read in SQL from the inbox file.

The inbox already keeps each sampled transaction whole (its spans, and the query findings the
query wrapper put on it under contexts.trace.data.db_performance); a transaction's fingerprint
is its name, so "the transactions of /api/books/" is an index range. Durations are worked out
by SQLite from the payload's timestamps (ISO 8601 from sentry-sdk, or epoch seconds), so no
payload is loaded into Python to rank them.
"""

from __future__ import annotations

import json
import os
from typing import Any

from errorwarden.local.sqlite import SqliteFile

RECENT = 2000  # transactions read to find each endpoint's latest, slowest and N+1 one
_DURATION = """
CASE WHEN typeof(json_extract(payload, '$.timestamp')) IN ('real', 'integer')
     THEN (json_extract(payload, '$.timestamp') - json_extract(payload, '$.start_timestamp')) * 1000.0
     ELSE (julianday(json_extract(payload, '$.timestamp'))
           - julianday(json_extract(payload, '$.start_timestamp'))) * 86400000.0 END
"""
_N1 = "COALESCE(json_array_length(payload, '$.contexts.trace.data.db_performance.n_plus_one'), 0)"
_TRACE = "json_extract(payload, '$.contexts.trace.trace_id')"


class TraceReader:
    """Reads transactions and the events of a trace from the inbox file (nothing is written)."""

    def __init__(self, path: str | os.PathLike[str], timeout: float = 2.0):
        self._file = SqliteFile(path, "", version=0, timeout=timeout)

    def endpoints(self, recent: int = RECENT) -> dict[str, dict[str, Any]]:
        """Per transaction name, among the newest `recent` transactions: the latest, the slowest
        (event id, ms) and the latest with N+1 findings."""
        rows = self._file.read(f"SELECT title, event_id, {_DURATION}, {_N1} FROM inbox_items "
                          "WHERE type = 'transaction' ORDER BY id DESC LIMIT ?", (recent,))
        found: dict[str, dict[str, Any]] = {}
        for name, event_id, duration, n_plus_one in rows:
            entry = found.setdefault(name, {"latest": event_id, "slowest": event_id, "slowest_ms": duration,
                                            "n_plus_one": ""})
            if duration is not None and (entry["slowest_ms"] is None or duration > entry["slowest_ms"]):
                entry["slowest"], entry["slowest_ms"] = event_id, duration
            if n_plus_one and not entry["n_plus_one"]:
                entry["n_plus_one"] = event_id
        return found

    def of_trace(self, trace_id: str, limit: int = 50) -> list[dict[str, str]]:
        """The stored events and transactions of one trace, newest first: event id, type, title."""
        if not trace_id:
            return []
        rows = self._file.read(f"SELECT event_id, type, title FROM inbox_items WHERE {_TRACE} = ? "
                          "ORDER BY id DESC LIMIT ?", (trace_id, limit))
        return [{"event_id": e, "type": t, "title": title} for e, t, title in rows]

    def transaction(self, event_id: str) -> dict[str, Any] | None:
        """One stored transaction's payload, or None."""
        rows = self._file.read("SELECT payload FROM inbox_items WHERE event_id = ? AND type = 'transaction' "
                          "ORDER BY id DESC LIMIT 1", (event_id,))
        return json.loads(rows[0][0]) if rows else None

    def close(self) -> None:
        """Close this process's connection."""
        self._file.close()
