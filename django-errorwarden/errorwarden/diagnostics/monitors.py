"""The `monitors` line of sentry_check: is beat monitoring on, and when did each monitor check in."""

from __future__ import annotations

from typing import Any

from errorwarden.diagnostics.base import OK, SKIPPED, WARN, Check
from errorwarden.text import when

_BAD = ("missed", "overlong", "error")


def check_monitors(watch: Any, history: Any, now: float) -> Check:
    """OK with each monitor's last check-in; WARN when one is missed, overlong or failed, or the state
    cannot be read; SKIPPED when monitoring is off or there is no beat schedule."""
    if watch is None:
        return Check("monitors", SKIPPED, "beat monitoring is off (SENTRY_MONITORS_ENABLED=false)")
    from errorwarden.monitors import overview

    try:
        rows = [row for row in overview(watch, history, now) if row["scheduled"]]
    except Exception as exc:  # Redis down, an unreadable file: the check says so, never raises
        return Check("monitors", WARN, f"beat monitoring is on, but its state cannot be read "
                                       f"({type(exc).__name__})", "Check REDIS_URL (or the monitors file "
                                       "beside the inbox) with the redis line above.")
    if not rows:
        return Check("monitors", SKIPPED, "beat monitoring is on; this process's Celery app has no beat "
                                       "entries to monitor")
    parts = []
    for row in rows:
        last = when(row["last_checkin"], "%Y-%m-%d %H:%M:%S") if row["last_checkin"] else "never"
        parts.append(f"{row['slug']} ({row['schedule']}): {row['status']}, last check-in {last}")
    text = f"beat monitoring is on, {len(rows)} monitor(s): " + "; ".join(parts)
    bad = [row["slug"] for row in rows if row["status"] in _BAD]
    if bad:
        return Check("monitors", WARN, text, f"Look at {', '.join(bad)}: is celery beat running, and the "
                                             "worker? See docs/operations.md#scheduled-work-monitors.")
    return Check("monitors", OK, text)
