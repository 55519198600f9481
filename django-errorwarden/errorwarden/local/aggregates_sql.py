"""The aggregates' SQLite side: the cell layout, the schema, merging upserts and the window reads.

One row per (kind, name, minute) holds the counts and one column per latency bucket, so a
flush from any process adds into the same row with one upsert and a window's histogram is one
SUM per column. Zero-valued integer columns cost SQLite no payload bytes, so the 66 bucket
columns of a typical row take a few dozen bytes.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from errorwarden.local.histogram import BUCKETS, percentile

# A cell is a flat list: the scalar fields, then the histogram buckets.
COUNT, FAILED, SUM, MIN, MAX, SLOW, N_PLUS_ONE = range(7)
FIRST_BUCKET = 7
CELL_SIZE = FIRST_BUCKET + BUCKETS
NAME_MAX = 200

_BUCKET_COLUMNS = tuple(f"b{i}" for i in range(BUCKETS))
_SCALARS = ("count", "failed", "sum_ms", "min_ms", "max_ms", "slow", "n_plus_one")
_MERGE = MappingProxyType({"min_ms": "min(min_ms, excluded.min_ms)",
                          "max_ms": "max(max_ms, excluded.max_ms)"})
_COLUMNS = ("kind", "name", "slot", *_SCALARS, *_BUCKET_COLUMNS)
_UPSERT = (f"INSERT INTO agg_slots ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))}) "
           "ON CONFLICT (kind, name, slot) DO UPDATE SET "
           + ", ".join(f"{c} = {_MERGE.get(c, f'{c} + excluded.{c}')}" for c in _COLUMNS[3:]))
_STATS = ("SELECT name, SUM(count), SUM(failed), SUM(sum_ms), MIN(min_ms), MAX(max_ms), SUM(slow), "
          f"SUM(n_plus_one), {', '.join(f'SUM({c})' for c in _BUCKET_COLUMNS)} FROM agg_slots "
          "WHERE kind = ? AND slot >= ? GROUP BY name ORDER BY SUM(count) DESC, name")
_NAME_UPSERT = ("INSERT INTO agg_names (kind, name, last_slot) VALUES (?, ?, ?) ON CONFLICT (kind, name) "
                "DO UPDATE SET last_slot = max(last_slot, excluded.last_slot)")
_DEPTH_UPSERT = ("INSERT INTO agg_queue (queue, slot, at, depth, max_depth) VALUES (?, ?, ?, ?, ?) "
                 "ON CONFLICT (queue, slot) DO UPDATE SET "
                 "depth = CASE WHEN excluded.at >= at THEN excluded.depth ELSE depth END, "
                 "at = max(at, excluded.at), max_depth = max(max_depth, excluded.max_depth)")
_EVICTED = ("INSERT INTO agg_evicted (kind, evicted) VALUES (?, ?) "
            "ON CONFLICT (kind) DO UPDATE SET evicted = evicted + excluded.evicted")


def schema() -> str:
    """The CREATE statements of the aggregates' tables (idempotent)."""
    buckets = ", ".join(f"{c} INTEGER NOT NULL DEFAULT 0" for c in _BUCKET_COLUMNS)
    return f"""
CREATE TABLE IF NOT EXISTS agg_slots (
    kind TEXT NOT NULL, name TEXT NOT NULL, slot INTEGER NOT NULL,
    count INTEGER NOT NULL, failed INTEGER NOT NULL, sum_ms REAL NOT NULL, min_ms REAL NOT NULL,
    max_ms REAL NOT NULL, slow INTEGER NOT NULL, n_plus_one INTEGER NOT NULL, {buckets},
    PRIMARY KEY (kind, name, slot)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS agg_slots_slot ON agg_slots (slot);
CREATE TABLE IF NOT EXISTS agg_names (
    kind TEXT NOT NULL, name TEXT NOT NULL, last_slot INTEGER NOT NULL,
    PRIMARY KEY (kind, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS agg_queue (
    queue TEXT NOT NULL, slot INTEGER NOT NULL, at REAL NOT NULL, depth INTEGER NOT NULL,
    max_depth INTEGER NOT NULL, PRIMARY KEY (queue, slot)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS agg_evicted (kind TEXT PRIMARY KEY, evicted INTEGER NOT NULL);
"""


@dataclass(frozen=True)
class Stat:
    """One endpoint's, service's or task's figures over a window."""

    name: str
    count: int
    failed: int
    rps: float
    avg_ms: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    slow_queries: int = 0
    n_plus_one: int = 0

    @property
    def error_rate(self) -> float:
        """Failed share of the calls, 0.0 to 1.0."""
        return self.failed / self.count if self.count else 0.0


def _name(value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= NAME_MAX else text[: NAME_MAX - 1] + "…"


def write(conn: sqlite3.Connection, cells: dict[tuple[str, Any, int], list[float]],
          depths: dict[tuple[str, int], list[float]], *, now_slot: int, keep_slots: int,
          max_names: int) -> None:
    """Merge one process's cells and queue readings, then apply the name cap and the retention."""
    rows, last_seen = [], {}
    for (kind, name, slot), cell in cells.items():
        name = _name(name)
        rows.append((kind, name, slot, *cell))
        last_seen[(kind, name)] = max(slot, last_seen.get((kind, name), slot))
    for queue, slot in depths:
        key = ("queue", _name(queue))
        last_seen[key] = max(slot, last_seen.get(key, slot))
    conn.executemany(_UPSERT, rows)
    conn.executemany(_DEPTH_UPSERT, [(_name(q), slot, at, int(d), int(m))
                                     for (q, slot), (at, d, m) in depths.items()])
    conn.executemany(_NAME_UPSERT, [(kind, name, slot) for (kind, name), slot in last_seen.items()])
    _evict(conn, max_names)
    cutoff = now_slot - keep_slots
    for table, column in (("agg_slots", "slot"), ("agg_queue", "slot"), ("agg_names", "last_slot")):
        conn.execute(f"DELETE FROM {table} WHERE {column} < ?", (cutoff,))


def _evict(conn: sqlite3.Connection, max_names: int) -> None:
    over = conn.execute("SELECT kind, COUNT(*) - ? FROM agg_names GROUP BY kind HAVING COUNT(*) > ?",
                        (max_names, max_names)).fetchall()
    for kind, excess in over:
        victims = [(kind, row[0]) for row in conn.execute(
            "SELECT name FROM agg_names WHERE kind = ? ORDER BY last_slot, name LIMIT ?", (kind, excess))]
        if kind == "queue":
            conn.executemany("DELETE FROM agg_queue WHERE queue = ?", [(name,) for _, name in victims])
        else:
            conn.executemany("DELETE FROM agg_slots WHERE kind = ? AND name = ?", victims)
        conn.executemany("DELETE FROM agg_names WHERE kind = ? AND name = ?", victims)
        conn.execute(_EVICTED, (kind, excess))


def read_stats(conn: sqlite3.Connection, kind: str, first_slot: int, span: float) -> list[Stat]:
    """Figures per name from first_slot on; span is the seconds those slots cover (for rates)."""
    stats = []
    for row in conn.execute(_STATS, (kind, first_slot)):
        name, count, failed, total, low, high, slow, n1 = row[:8]
        buckets = row[8:]
        stats.append(Stat(
            name=name, count=count, failed=failed, rps=count / span, avg_ms=total / count if count else 0.0,
            p50_ms=percentile(buckets, 0.50, low, high), p95_ms=percentile(buckets, 0.95, low, high),
            p99_ms=percentile(buckets, 0.99, low, high), max_ms=high, slow_queries=slow, n_plus_one=n1))
    return stats


def read_timeline(conn: sqlite3.Connection, kind: str, first_slot: int, last_slot: int,
                  slot_seconds: int) -> dict[str, list[tuple[float, int, int]]]:
    """Per name, (slot start, count, failed) for every slot from first to last, zeros included."""
    found: dict[str, dict[int, tuple[int, int]]] = {}
    for name, slot, count, failed in conn.execute(
            "SELECT name, slot, count, failed FROM agg_slots WHERE kind = ? AND slot BETWEEN ? AND ?",
            (kind, first_slot, last_slot)):
        found.setdefault(name, {})[slot] = (count, failed)
    return {name: [(float(s * slot_seconds), *slots.get(s, (0, 0))) for s in range(first_slot, last_slot + 1)]
            for name, slots in found.items()}


def read_depths(conn: sqlite3.Connection, first_slot: int) -> list[tuple[float, str, int]]:
    """(time, queue, depth) readings from first_slot on, oldest first."""
    return [(at, queue, depth) for at, queue, depth in conn.execute(
        "SELECT at, queue, depth FROM agg_queue WHERE slot >= ? ORDER BY at, queue", (first_slot,))]
