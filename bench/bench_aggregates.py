"""Benchmark: the request-path cost of the local aggregates' observe_* calls, against plain dict counting.

Run with ``.venv/bin/python -m bench.bench_aggregates``. Anchors, measured in the same run:

    dict      ``counts[key] = counts.get(key, 0) + 1``: the cheapest possible per-request count
    locked    the same increment under a threading.Lock, which any multi-threaded server needs
    sqlite    one INSERT ... ON CONFLICT per request into a WAL file: what the aggregates avoid

Rounds of each are interleaved so drift on the shared machine hits all alike; the figure is the
median ns per call and its ratio to the dict anchor. A flush of what 10,000 requests over 20
routes left in memory is timed too; it runs on the background thread, not the request path.
It never asserts.
"""

from __future__ import annotations

import sqlite3
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from errorwarden.local.aggregates import Aggregates

CALLS = 20_000
ROUNDS = 15
ROUTES = [f"/api/route{i}/{{pk}}/" for i in range(20)]


def _per_call_ns(fn: Callable[[int], None], calls: int) -> float:
    started = time.perf_counter_ns()
    for i in range(calls):
        fn(i)
    return (time.perf_counter_ns() - started) / calls


def _candidates(folder: Path) -> dict[str, Callable[[int], None]]:
    counts: dict[str, int] = {}
    lock = threading.Lock()
    aggregates = Aggregates(folder / "bench.metrics.sqlite3", flush_interval=3600)
    conn = sqlite3.connect(folder / "anchor.sqlite3", isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE c (route TEXT PRIMARY KEY, n INTEGER NOT NULL)")

    def plain(i: int) -> None:
        key = ROUTES[i % 20]
        counts[key] = counts.get(key, 0) + 1

    def locked(i: int) -> None:
        key = ROUTES[i % 20]
        with lock:
            counts[key] = counts.get(key, 0) + 1

    def sqlite_write(i: int) -> None:
        conn.execute("INSERT INTO c VALUES (?, 1) ON CONFLICT (route) DO UPDATE SET n = n + 1",
                     (ROUTES[i % 20],))

    return {
        "dict": plain, "locked": locked,
        "observe_request": lambda i: aggregates.observe_request(ROUTES[i % 20], 12.5 + i % 50, i % 97 == 0,
                                                                i % 7 == 0, 0),
        "observe_service": lambda i: aggregates.observe_service("s3", 40.0 + i % 30, False),
        "observe_task": lambda i: aggregates.observe_task("library.tasks.report", 80.0, False),
        "sqlite": sqlite_write,
    }, aggregates


def _flush_ms(folder: Path) -> float:
    aggregates = Aggregates(folder / "flush.metrics.sqlite3", flush_interval=3600)
    for i in range(10_000):
        aggregates.observe_request(ROUTES[i % 20], 5.0 + i % 300, i % 50 == 0)
    started = time.perf_counter()
    aggregates.flush()
    elapsed = (time.perf_counter() - started) * 1000
    aggregates.close()
    return elapsed


def main() -> None:
    """Print ns per call for each candidate and its ratio to the dict anchor."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        candidates, aggregates = _candidates(folder)
        samples: dict[str, list[float]] = {name: [] for name in candidates}
        for name, fn in candidates.items():  # warm-up
            _per_call_ns(fn, 2000 if name != "sqlite" else 200)
        for _ in range(ROUNDS):
            for name, fn in candidates.items():
                calls = CALLS if name != "sqlite" else CALLS // 20
                samples[name].append(_per_call_ns(fn, calls))
            aggregates.flush()  # as the background thread would, between rounds
        anchor = statistics.median(samples["dict"])
        print(f"{'candidate':<18}{'ns/call':>10}{'x dict':>10}")
        for name, values in samples.items():
            median = statistics.median(values)
            print(f"{name:<18}{median:>10.0f}{median / anchor:>10.1f}")
        aggregates.close()
        print(f"flush of 10,000 requests over 20 routes (background thread): {_flush_ms(folder):.1f} ms")


if __name__ == "__main__":
    main()
