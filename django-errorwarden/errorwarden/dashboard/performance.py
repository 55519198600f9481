"""What the Performance page shows: endpoints, services and tasks over a window, and queue depth."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from errorwarden.dashboard.charts import line_chart, sparkline
from errorwarden.local.aggregates import Aggregates, Stat

WINDOWS = MappingProxyType({"5m": 300, "1h": 3600, "6h": 6 * 3600})
DEFAULT_WINDOW = "1h"
# Sortable endpoint columns: the query value, the header text and the Stat's sort key.
COLUMNS = (
    ("name", "Endpoint", lambda s: s.name), ("count", "Requests", lambda s: s.count),
    ("rpm", "Req/min", lambda s: s.rps), ("errors", "Error rate", lambda s: s.error_rate),
    ("avg", "Avg ms", lambda s: s.avg_ms), ("p50", "p50 ms", lambda s: s.p50_ms),
    ("p95", "p95 ms", lambda s: s.p95_ms), ("p99", "p99 ms", lambda s: s.p99_ms),
    ("slow", "Slow queries", lambda s: s.slow_queries), ("n1", "N+1", lambda s: s.n_plus_one),
)
SORTS = MappingProxyType({key: sort_key for key, _, sort_key in COLUMNS})
DEFAULT_SORT = "p95"


class BadParameter(ValueError):
    """A query parameter outside its allowed values; the message names both."""


def choose(name: str, value: str | None, allowed: list[str] | tuple[str, ...], default: str) -> str:
    """The parameter's value when allowed, the default when absent; BadParameter otherwise."""
    if value in (None, ""):
        return default
    if value not in allowed:
        raise BadParameter(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return value


@dataclass
class Row:
    """One table line: the figures, a per-minute sparkline, and whether p95 is over the threshold."""

    stat: Stat
    spark: Any
    slow: bool
    error_pct: str
    rpm: str
    traces: dict[str, Any] | None = None  # the endpoint's latest, slowest and N+1 transactions


def _rows(stats: list[Stat], timeline: dict[str, list[tuple[float, int, int]]], slow_ms: float) -> list[Row]:
    rows = []
    for stat in stats:
        minutes = timeline.get(stat.name, [])
        spark = sparkline([c for _, c, _ in minutes], failed=[f for _, _, f in minutes],
                          label=f"{stat.count} calls, {stat.failed} failed, per minute")
        rows.append(Row(stat=stat, spark=spark, slow=stat.p95_ms > slow_ms,
                        error_pct=f"{stat.error_rate:.1%}", rpm=f"{stat.rps * 60:.3g}"))
    return rows


def performance(aggregates: Aggregates, window: str, sort: str, direction: str, slow_ms: float,
                now: float, never_traced: Callable[[str], bool] | None = None,
                show_all: bool = False) -> dict[str, Any]:
    """The page's tables, sorted endpoints first, and the queue-depth chart over the window.

    Routes that are never traced (health probes, files: `never_traced`) are left out of the
    endpoints unless `show_all`; the page says how many and offers the toggle.
    """
    seconds = WINDOWS[window]
    endpoints = sorted(aggregates.endpoints(seconds), key=SORTS[sort], reverse=direction == "desc")
    untraced = [s for s in endpoints if never_traced is not None and never_traced(s.name)]
    if not show_all:
        endpoints = [s for s in endpoints if s not in untraced]
    depths = aggregates.queue_depth(since=now - seconds)
    series: dict[str, list[tuple[float, float]]] = {}
    latest: dict[str, tuple[float, int]] = {}
    for at, queue, depth in depths:
        series.setdefault(queue, []).append((at, depth))
        latest[queue] = (at, depth)
    flipped = "asc" if direction == "desc" else "desc"
    everything = "&all=1" if show_all else ""
    headers = [{"key": key, "text": text, "active": key == sort,
                "href": f"?window={window}&sort={key}&dir={flipped if key == sort else 'desc'}{everything}",
                "arrow": ("▼" if direction == "desc" else "▲") if key == sort else ""}
               for key, text, _ in COLUMNS]
    return {
        "endpoints": _rows(endpoints, aggregates.timeline("endpoint", seconds), slow_ms),
        "services": _rows(aggregates.services(seconds), aggregates.timeline("service", seconds), slow_ms),
        "tasks": _rows(aggregates.tasks(seconds), aggregates.timeline("task", seconds), slow_ms),
        "queues": [{"queue": q, "depth": d, "at": datetime.fromtimestamp(at, UTC)}
                   for q, (at, d) in sorted(latest.items())],
        "queue_chart": line_chart(series, label="Celery queue depth over time"),
        "headers": headers, "windows": list(WINDOWS), "window": window, "evicted": aggregates.evicted(),
        "untraced": len(untraced), "show_all": show_all, "sort": sort, "dir": direction,
    }
