"""The alert log: what fired, on which channel, and whether it was delivered, for the dashboard.

Alerting calls `record` from its delivery threads (never the request path), once when a channel
takes an alert and again when the outcome is known: one row per (alert, channel), updated in
place, so the page shows the latest outcome and the attempts spent. Rows are capped like the
inbox: ids only grow, so one range delete on the primary key keeps the newest `max_rows`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from infrastructure.local.metrics_db import MetricsDB, metrics_path

logger = logging.getLogger("infrastructure.local.alert_log")

OUTCOMES = ("queued", "delivered", "retrying", "failed", "dropped")
TEXT_MAX = 300
_SCHEMA = """
CREATE TABLE IF NOT EXISTS alert_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id TEXT NOT NULL, channel TEXT NOT NULL, fired REAL NOT NULL, updated REAL NOT NULL,
    rule TEXT NOT NULL, title TEXT NOT NULL, severity TEXT NOT NULL, outcome TEXT NOT NULL,
    attempts INTEGER NOT NULL, event_id TEXT NOT NULL DEFAULT '', detail TEXT NOT NULL DEFAULT '',
    UNIQUE (alert_id, channel));
"""
_RECORD = """
INSERT INTO alert_log (alert_id, channel, fired, updated, rule, title, severity, outcome, attempts,
                       event_id, detail)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (alert_id, channel) DO UPDATE SET updated = excluded.updated, outcome = excluded.outcome,
    attempts = max(attempts, excluded.attempts), detail = excluded.detail,
    event_id = CASE WHEN excluded.event_id != '' THEN excluded.event_id ELSE event_id END
"""
_COLUMNS = ("alert_id", "channel", "fired", "updated", "rule", "title", "severity", "outcome", "attempts",
            "event_id", "detail")


def _cut(value: Any) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= TEXT_MAX else text[: TEXT_MAX - 1] + "…"


def alert_id_of(alert: Mapping[str, Any]) -> str:
    """The alert's own `id`, else a stable digest of what identifies one firing (rule, title, times)."""
    if alert.get("id"):
        return str(alert["id"])
    keys = ("rule", "status", "title", "first_seen", "last_seen", "event_id")
    parts = [str(alert.get(k, "")) for k in keys]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


class AlertLog:
    """Alerts and their per-channel outcomes in the metrics file; a storage failure never raises."""

    def __init__(self, path: str | os.PathLike[str], max_rows: int = 1000,
                 clock: Callable[[], float] = time.time):
        if max_rows < 1:
            raise ValueError(f"max_rows must be at least 1, not {max_rows!r}")
        self.path, self.max_rows, self._clock = Path(path), max_rows, clock
        self._db = MetricsDB(self.path, _SCHEMA)

    @classmethod
    def for_inbox(cls, inbox_path: str | os.PathLike[str], **options: Any) -> AlertLog:
        """The alert log in the metrics file beside this inbox."""
        return cls(metrics_path(inbox_path), **options)

    def record(self, alert_id: str, rule: str, title: str, severity: str, channel: str, outcome: str,
               attempts: int = 1, event_id: str = "", detail: str = "") -> bool:
        """Record (or update) one alert's outcome on one channel; False when it could not be stored.

        `outcome` is one of OUTCOMES; `detail` is a short scrubbed reason (never a URL or a secret).
        """
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
        now = self._clock()
        row = (_cut(alert_id), _cut(channel), now, now, _cut(rule), _cut(title), _cut(severity), outcome,
               max(int(attempts), 0), _cut(event_id), _cut(detail))
        try:
            with self._db.transaction() as conn:
                conn.execute(_RECORD, row)
                conn.execute("DELETE FROM alert_log WHERE id <= (SELECT MAX(id) FROM alert_log) - ?",
                             (self.max_rows,))
        except Exception as exc:  # alert delivery must never fail because its log could not be written
            logger.warning("Alert log at %s not written (%s).", self.path, type(exc).__name__)
            return False
        return True

    def record_alert(self, alert: Mapping[str, Any], channel: str, outcome: str, attempts: int = 1,
                     detail: str = "") -> bool:
        """`record` for an alert dict made by alerting.render.build_alert."""
        return self.record(alert_id_of(alert), str(alert.get("rule", "")), str(alert.get("title", "")),
                           str(alert.get("severity", "")), channel, outcome, attempts,
                           str(alert.get("event_id", "")), detail)

    def recent(self, limit: int = 100) -> list[dict[str, Any]]:
        """The newest rows first (fired, updated are epoch seconds)."""
        with self._db.connection() as conn:
            rows = conn.execute(f"SELECT {', '.join(_COLUMNS)} FROM alert_log ORDER BY fired DESC, id DESC "
                                "LIMIT ?", (limit,)).fetchall()
        return [dict(zip(_COLUMNS, row, strict=True)) for row in rows]

    def clear(self) -> int:
        """Delete every row; return how many there were."""
        with self._db.transaction() as conn:
            return conn.execute("DELETE FROM alert_log").rowcount

    def close(self) -> None:
        """Close this process's connection."""
        self._db.close()
