"""Check-ins of scheduled work on this host: history for the dashboard, state for the detector.

One SQLite file (sentry_monitors.sqlite3 beside the inbox), shared by the host's processes:
- `checkins`: one row per run, keyed by its check-in id: sentry-sdk sends "in_progress" when a
  run starts and "ok" or "error" (with its duration) when it ends; both land on the same row.
  Without a DSN the local inbox transport files every check-in envelope item here, after the
  before_send pipeline scrubbed it. The table keeps at most `max_checkins` rows, oldest first out.
- `monitor_state`: per monitor, its last start and finish as the worker saw them. The detector
  (errorwarden/monitors.py) reads it when there is no Redis to share the state across hosts.
"""

from __future__ import annotations

import os
import time
from typing import Any

from errorwarden.local.sqlite import SqliteFile
from errorwarden.text import cut

SLUG_MAX = 128
_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS checkins (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    check_in_id TEXT NOT NULL UNIQUE,
    slug TEXT NOT NULL,
    status TEXT NOT NULL,
    started REAL NOT NULL,
    finished REAL,
    duration REAL,
    environment TEXT NOT NULL DEFAULT '',
    release TEXT NOT NULL DEFAULT '',
    schedule TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS checkins_slug ON checkins (slug, id);
CREATE TABLE IF NOT EXISTS monitor_state (
    slug TEXT PRIMARY KEY,
    first REAL,
    start REAL,
    finish REAL,
    status TEXT NOT NULL DEFAULT '',
    duration REAL,
    run TEXT NOT NULL DEFAULT ''
);
"""
STATUSES = frozenset({"in_progress", "ok", "error"})
# A finish arriving for a run whose start was never filed (the beat's in_progress went elsewhere)
# still makes a row: it started `duration` seconds before it finished.
_UPSERT = """
INSERT INTO checkins (check_in_id, slug, status, started, finished, duration, environment, release, schedule)
VALUES (:id, :slug, :status, :started, :finished, :duration, :environment, :release, :schedule)
ON CONFLICT (check_in_id) DO UPDATE SET
    status = CASE WHEN excluded.status = 'in_progress' THEN checkins.status ELSE excluded.status END,
    finished = COALESCE(excluded.finished, checkins.finished),
    duration = COALESCE(excluded.duration, checkins.duration),
    schedule = CASE WHEN excluded.schedule = '' THEN checkins.schedule ELSE excluded.schedule END
"""


def _schedule_text(config: Any) -> str:
    schedule = config.get("schedule") if isinstance(config, dict) else None
    if not isinstance(schedule, dict):
        return ""
    value, unit = schedule.get("value", ""), schedule.get("unit", "")
    return cut(f"{schedule.get('type', '')} {value} {unit}".strip(), 80)


class MonitorStore:
    """Check-in history and monitor state in one SQLite file (WAL, several processes)."""

    def __init__(self, path: str | os.PathLike[str], max_checkins: int = 10_000, timeout: float = 2.0):
        self._file = SqliteFile(path, _SCHEMA, version=_SCHEMA_VERSION, timeout=timeout)
        self.path = self._file.path
        self.max_checkins = max_checkins

    # --- check-ins (history)
    def add_checkins(self, payloads: list[dict[str, Any]], now: float | None = None) -> int:
        """File check-in payloads (as sentry-sdk builds them); bad ones are skipped; return how many."""
        now = time.time() if now is None else now
        rows = [row for row in (self._row(p, now) for p in payloads) if row is not None]
        if not rows:
            return 0
        with self._file.transaction() as conn:
            for row in rows:
                conn.execute(_UPSERT, row)
            last = conn.execute("SELECT MAX(id) FROM checkins").fetchone()[0] or 0
            conn.execute("DELETE FROM checkins WHERE id <= ?", (last - self.max_checkins,))
        return len(rows)

    @staticmethod
    def _row(payload: dict[str, Any], now: float) -> dict[str, Any] | None:
        slug, status = payload.get("monitor_slug"), payload.get("status")
        check_in_id = str(payload.get("check_in_id") or "")
        if not isinstance(slug, str) or not slug or status not in STATUSES or not check_in_id:
            return None
        duration = payload.get("duration")
        duration = float(duration) if isinstance(duration, int | float) and duration >= 0 else None
        finished = None if status == "in_progress" else now
        started = now - duration if finished is not None and duration is not None else now
        return {"id": cut(check_in_id, 64), "slug": cut(slug, SLUG_MAX), "status": status, "started": started,
                "finished": finished, "duration": duration,
                "environment": cut(str(payload.get("environment") or ""), 64),
                "release": cut(str(payload.get("release") or ""), 200),
                "schedule": _schedule_text(payload.get("monitor_config"))}

    def checkins(self, slug: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Check-ins, newest first, optionally of one monitor."""
        where, params = ("WHERE slug = ?", (slug,)) if slug else ("", ())
        keys = ("check_in_id", "slug", "status", "started", "finished", "duration", "environment", "release",
                "schedule")
        with self._file.connection() as conn:
            rows = conn.execute(f"SELECT {', '.join(keys)} FROM checkins {where} ORDER BY id DESC LIMIT ?",
                                (*params, limit)).fetchall()
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def slugs(self) -> list[str]:
        """Every monitor that has a check-in on file."""
        with self._file.connection() as conn:
            return [row[0] for row in conn.execute("SELECT DISTINCT slug FROM checkins ORDER BY slug")]

    # --- state (the detector's view when there is no Redis)
    def state(self, slug: str) -> dict[str, Any]:
        """The monitor's first sighting, last start and finish, status, duration and run id."""
        with self._file.connection() as conn:
            row = conn.execute("SELECT first, start, finish, status, duration, run FROM monitor_state "
                               "WHERE slug = ?", (slug,)).fetchone()
        keys = ("first", "start", "finish", "status", "duration", "run")
        return dict(zip(keys, row, strict=True)) if row else {}

    def started(self, slug: str, run: str, at: float) -> None:
        """A run of `slug` started."""
        with self._file.transaction() as conn:
            conn.execute("INSERT INTO monitor_state (slug, first, start, status, run) VALUES (?, ?, ?, "
                         "'in_progress', ?) ON CONFLICT (slug) DO UPDATE SET start = excluded.start, "
                         "status = 'in_progress', run = excluded.run, finish = NULL, duration = NULL",
                         (slug, at, at, run))

    def finished(self, slug: str, run: str, at: float, status: str, duration: float | None) -> None:
        """A run of `slug` ended (status ok or error); a finish of an older run changes nothing."""
        with self._file.transaction() as conn:
            conn.execute("UPDATE monitor_state SET finish = ?, status = ?, duration = ? WHERE slug = ? AND "
                         "run = ?", (at, status, duration, slug, run))

    def clear(self) -> None:
        """Forget every check-in and state (tests, `sentry_inbox --clear`)."""
        with self._file.transaction() as conn:
            conn.execute("DELETE FROM checkins")
            conn.execute("DELETE FROM monitor_state")

    def close(self) -> None:
        """Close this process's connection; the next call reopens it."""
        self._file.close()
