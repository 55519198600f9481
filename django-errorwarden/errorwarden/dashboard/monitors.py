"""The Monitors page's data: each beat monitor's schedule, state, strip of last runs, duration trend."""

from __future__ import annotations

from typing import Any

from errorwarden.dashboard.charts import sparkline
from errorwarden.dashboard.issues import moment
from errorwarden.monitors import overview


def monitor_rows(watch: Any, history: Any, now: float) -> list[dict[str, Any]]:
    """overview() rows with times as datetimes, the strip as labelled cells and a duration sparkline."""
    rows = overview(watch, history, now)
    for row in rows:
        row["last_at"] = moment(row["last_checkin"]) if row["last_checkin"] else None
        row["next_at"] = moment(row["next_due"]) if row["next_due"] else None
        row["cells"] = [{"status": status, "at": moment(at) if at else None,
                         "label": f"{status}" + (f", {duration:.2f}s" if duration is not None else "")}
                        for status, at, duration in row["strip"]]
        durations = row["durations"][-30:]
        label = f"{row['slug']}: durations of the last {len(durations)} runs (s)"
        row["trend"] = sparkline(durations, label=label) if durations else ""
        row["last_duration"] = durations[-1] if durations else None
    return rows
