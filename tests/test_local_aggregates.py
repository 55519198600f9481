"""Tests for the local aggregates: histograms, windows, bounds, flushing and merging across processes."""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from errorwarden.local.aggregates import OTHER, SLOT_SECONDS, Aggregates, metrics_path
from errorwarden.local.histogram import BOUNDS_MS, BUCKETS, bucket_of, percentile

T0 = 1_800_000_000.0  # a minute boundary: 30_000_000 * 60
REPO = Path(__file__).resolve().parent.parent


class Clock:
    """A settable clock for the windows, so no test waits for time to pass."""

    def __init__(self, now: float = T0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    """Time frozen at T0 until a test moves it."""
    return Clock()


@pytest.fixture
def aggregates(tmp_path: Path, clock: Clock) -> Iterator[Aggregates]:
    """Aggregates in a fresh metrics file, on the settable clock."""
    agg = Aggregates(tmp_path / "var" / "inbox.metrics.sqlite3", clock=clock, max_names=50)
    yield agg
    agg.close()


# --- histogram ------------------------------------------------------------------------------


@pytest.mark.parametrize(("duration", "bucket"), [
    (0.0, 0), (1.0, 0), (1.01, 1), (2 ** 0.25, 1), (100.0, bucket_of(100.0)), (65536.0, 64), (1e9, 65),
])
def test_bucket_bounds(duration, bucket):
    """Bucket i holds durations in (BOUNDS_MS[i-1], BOUNDS_MS[i]]; everything past 65.5 s is the last."""
    assert bucket_of(duration) == bucket
    assert BUCKETS == len(BOUNDS_MS) + 1 == 66


def test_percentile_of_one_observation_is_exact_and_of_none_is_zero():
    """Clamping to the observed min and max makes a lone value read back exactly; nothing reads as 0."""
    buckets = [0] * BUCKETS
    buckets[bucket_of(350.0)] = 1
    assert percentile(buckets, 0.95, 350.0, 350.0) == 350.0
    assert percentile([0] * BUCKETS, 0.5, 0.0, 0.0) == 0.0
    with pytest.raises(ValueError, match=r"q must be in \(0, 1\]"):
        percentile(buckets, 0, 1.0, 1.0)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=0.05, max_value=60_000), min_size=1, max_size=300),
       st.sampled_from([0.5, 0.95, 0.99]))
def test_percentile_error_stays_within_one_bucket(durations, q):
    """The estimate lies in the true quantile's bucket: within 19% of it (1 ms below 1 ms)."""
    buckets = [0] * BUCKETS
    for d in durations:
        buckets[bucket_of(d)] += 1
    ordered = sorted(durations)
    true = ordered[max(math.ceil(q * len(ordered)) - 1, 0)]
    estimate = percentile(buckets, q, ordered[0], ordered[-1])
    assert abs(estimate - true) <= max(true * (2 ** 0.25 - 1), 1.0) + 1e-9


# --- figures over windows -------------------------------------------------------------------


def test_request_figures_after_a_flush(aggregates, clock):
    """Counts, error rate, average, percentiles, slow queries and N+1 come back per route pattern."""
    for i in range(100):
        aggregates.observe_request("/api/books/", 10.0 + i, failed=i % 10 == 0, slow_queries=i % 2,
                                   n_plus_one=1 if i == 5 else 0)
    aggregates.observe_request("/api/reports/popular/", 900.0, False, slow_queries=1)
    clock.now += 30
    assert aggregates.flush()
    books, report = aggregates.endpoints(window=300)
    assert (books.name, books.count, books.failed, books.error_rate) == ("/api/books/", 100, 10, 0.1)
    assert books.avg_ms == pytest.approx(59.5)
    assert books.slow_queries == 50 and books.n_plus_one == 1
    assert books.p50_ms == pytest.approx(59.0, rel=0.19)
    assert books.p95_ms == pytest.approx(104.0, rel=0.19) and books.p99_ms <= books.max_ms == 109.0
    assert books.p50_ms <= books.p95_ms <= books.p99_ms
    # The 5-minute window reads the minutes it overlaps: from T0 - 300 s to now, T0 + 30 s.
    assert books.rps == pytest.approx(100 / 330)
    assert (report.count, report.p95_ms, report.slow_queries) == (1, 900.0, 1)


def test_services_tasks_and_kinds_stay_apart(aggregates):
    """Services and tasks have their own figures; a name used by two kinds is two rows."""
    aggregates.observe_service("s3", 40.0, failed=True)
    aggregates.observe_service("s3", 60.0, failed=False)
    aggregates.observe_task("library.tasks.send_overdue_reminders", 12.0, failed=False)
    aggregates.observe_request("s3", 1.0, False)
    aggregates.flush()
    [s3] = aggregates.services()
    assert (s3.name, s3.count, s3.failed, s3.avg_ms, s3.max_ms) == ("s3", 2, 1, 50.0, 60.0)
    assert [t.name for t in aggregates.tasks()] == ["library.tasks.send_overdue_reminders"]
    assert [e.count for e in aggregates.endpoints()] == [1]


def test_windows_only_count_their_minutes(aggregates, clock):
    """A rolling window reads the minutes it overlaps: old traffic leaves the 5-minute view first."""
    aggregates.observe_request("/api/books/", 5.0, False)
    clock.now += 2 * 3600
    aggregates.observe_request("/api/books/", 7.0, True)
    aggregates.flush()
    [recent] = aggregates.endpoints(window=300)
    assert (recent.count, recent.failed) == (1, 1)
    assert aggregates.endpoints(window=3 * 3600)[0].count == 2
    with pytest.raises(ValueError, match="window must be a positive number of seconds"):
        aggregates.endpoints(window=0)


def test_timeline_has_a_point_per_minute_with_zeros(aggregates, clock):
    """timeline() gives every minute of the window, counts and failures, zeros where nothing ran."""
    aggregates.observe_request("/api/books/", 5.0, True)
    clock.now += 3 * SLOT_SECONDS
    aggregates.observe_request("/api/books/", 5.0, False)
    aggregates.flush()
    points = aggregates.timeline("endpoint", window=5 * SLOT_SECONDS)["/api/books/"]
    assert [(count, failed) for _, count, failed in points] == [(0, 0), (1, 1), (0, 0), (0, 0), (1, 0)]
    assert points[-1][0] == clock.now - clock.now % SLOT_SECONDS
    with pytest.raises(ValueError, match="kind must be one of endpoint, service, task"):
        aggregates.timeline("queue")


def test_queue_depth_is_a_series_keeping_the_latest_reading_per_minute(aggregates, clock):
    """Queue depth comes back as (time, queue, depth) over time; within a minute the latest wins."""
    aggregates.observe_queue_depth("celery", 3)
    clock.now += 10
    aggregates.observe_queue_depth("celery", 8)
    aggregates.observe_queue_depth("mail", 1)
    aggregates.flush()
    clock.now += SLOT_SECONDS
    aggregates.observe_queue_depth("celery", 2)
    aggregates.flush()
    assert aggregates.queue_depth(since=T0) == [(T0 + 10, "celery", 8), (T0 + 10, "mail", 1),
                                                (T0 + 70, "celery", 2)]
    assert aggregates.queue_depth(since=T0 + 65) == [(T0 + 70, "celery", 2)]


# --- bounds ---------------------------------------------------------------------------------


def test_retention_drops_old_minutes(tmp_path, clock):
    """Minutes older than the retention are deleted at the next flush."""
    agg = Aggregates(tmp_path / "m.sqlite3", clock=clock, retention=600)
    agg.observe_request("/old", 1.0, False)
    agg.observe_queue_depth("celery", 5)
    agg.flush()
    clock.now += 3600
    agg.observe_request("/new", 1.0, False)
    agg.flush()
    assert [e.name for e in agg.endpoints(window=7200)] == ["/new"]
    assert agg.queue_depth(since=0) == []
    agg.close()


def test_names_beyond_the_cap_fold_in_memory_and_evict_least_recent_on_disk(tmp_path, clock):
    """Names past max_names fold into '(other)' per flush; on disk the least recent are evicted, counted."""
    agg = Aggregates(tmp_path / "m.sqlite3", clock=clock, max_names=3)
    for name in ("/a", "/b", "/c", "/d", "/e"):
        agg.observe_request(name, 1.0, False)
    agg.flush()
    assert sorted(e.name for e in agg.endpoints()) == ["(other)", "/a", "/b"] and OTHER == "(other)"
    assert agg.evicted()["endpoint"] == 0
    clock.now += SLOT_SECONDS
    agg.observe_request("/a", 1.0, False)  # /a is now the most recent; "(other)" and /b are older
    agg.observe_request("/z", 1.0, False)
    agg.flush()
    names = sorted(e.name for e in agg.endpoints())
    assert len(names) == 3 and "/a" in names and "/z" in names
    assert agg.evicted() == {"endpoint": 1, "service": 0, "task": 0}
    agg.close()


@pytest.mark.parametrize(("option", "value", "message"), [
    ("flush_interval", 0, "flush_interval must be a positive number of seconds"),
    ("retention", 10, "retention must be at least 60 seconds"),
    ("max_names", 0, "max_names must be at least 1"),
])
def test_bad_options_are_refused_with_their_name(tmp_path, option, value, message):
    """Each option's bad value raises ValueError naming the option and what is allowed."""
    with pytest.raises(ValueError, match=message):
        Aggregates(tmp_path / "m.sqlite3", **{option: value})


# --- never raising, flushing --------------------------------------------------------------


def test_bad_observation_is_dropped_and_counted_never_raised(aggregates, caplog):
    """A wrong argument on the request path is counted and logged once, not raised."""
    with caplog.at_level(logging.WARNING, logger="errorwarden.local.aggregates"):
        aggregates.observe_request("/api/books/", None, False)  # type: ignore[arg-type]
        aggregates.observe_queue_depth("celery", "many")  # type: ignore[arg-type]
    assert aggregates.dropped == 2
    assert len([r for r in caplog.records if "observe failed" in r.getMessage()]) == 1


def test_unwritable_file_fails_the_flush_without_raising(tmp_path, caplog):
    """A directory where the file should be makes flush() return False and count the loss."""
    target = tmp_path / "in-the-way"
    target.mkdir()
    agg = Aggregates(target, flush_interval=3600)
    agg.observe_request("/api/books/", 3.0, False)
    agg.observe_request("/api/books/", 4.0, False)
    with caplog.at_level(logging.WARNING, logger="errorwarden.local.aggregates"):
        assert agg.flush() is False
    assert agg.dropped == 2 and "write failed" in caplog.text
    agg.close()


def test_background_thread_flushes_without_being_asked(tmp_path):
    """The flusher writes within a few intervals; a second reader of the file sees the figures."""
    path = tmp_path / "m.sqlite3"
    writer, reader = Aggregates(path, flush_interval=0.05), Aggregates(path)
    writer.observe_task("library.tasks.report", 20.0, False)
    deadline = time.monotonic() + 10
    while not reader.tasks() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [t.count for t in reader.tasks()] == [1]
    writer.close()
    reader.close()


def test_process_exit_flushes(tmp_path):
    """A process whose runtime observed and exits without flushing still leaves its figures: the
    registry's exit hook (set up by install(), not by importing the aggregates) flushes them."""
    inbox = tmp_path / "inbox.sqlite3"
    code = ("import django\n"
            "django.setup()\n"
            "from errorwarden.runtime import require_runtime\n"
            "require_runtime().aggregates.observe_request('/api/books/', 12.0, False)\n")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "SENTRY_DSN": "",
           "SENTRY_INBOX_PATH": str(inbox), "SENTRY_PROFILES_SAMPLE_RATE": "0"}
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, timeout=60, env=env)
    reader = Aggregates.for_inbox(inbox)
    assert [e.count for e in reader.endpoints()] == [1]
    reader.close()


def _observe_in_child(path: str, worker: int) -> None:
    agg = Aggregates(path, flush_interval=3600)
    for _ in range(50):
        agg.observe_request("/api/books/", 10.0 + worker, failed=worker == 0)
    agg.close()


def test_processes_merge_into_one_view(tmp_path):
    """Four processes writing the same file add up: counts, failures and the max are merged."""
    path = str(tmp_path / "m.sqlite3")
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_observe_in_child, args=(path, n)) for n in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert [w.exitcode for w in workers] == [0, 0, 0, 0]
    reader = Aggregates(path)
    [books] = reader.endpoints()
    assert (books.count, books.failed, books.max_ms, books.avg_ms) == (200, 50, 13.0, 11.5)
    reader.close()


def test_forked_child_never_writes_the_parents_pending_cells(tmp_path):
    """After fork the child drops the parent's unflushed cells and flushes only its own."""
    agg = Aggregates(tmp_path / "m.sqlite3", flush_interval=3600)
    agg.observe_request("/parent", 1.0, False)
    pid = os.fork()
    if pid == 0:  # the child: observe, flush, and leave without running the parent's atexit
        try:
            agg.observe_request("/child", 1.0, False)
            os._exit(0 if agg.flush() else 1)
        finally:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    agg.flush()
    assert sorted((e.name, e.count) for e in agg.endpoints()) == [("/child", 1), ("/parent", 1)]
    agg.close()


def test_metrics_file_sits_beside_the_inbox(tmp_path):
    """for_inbox() puts the figures in <inbox stem>.metrics.sqlite3 next to the inbox file."""
    agg = Aggregates.for_inbox(tmp_path / "sentry_inbox.sqlite3")
    expected = tmp_path / "sentry_inbox.metrics.sqlite3"
    assert agg.path == metrics_path(tmp_path / "sentry_inbox.sqlite3") == expected
    agg.close()


def test_clear_forgets_everything(aggregates):
    """clear() empties memory and file alike."""
    aggregates.observe_request("/api/books/", 1.0, False)
    aggregates.flush()
    aggregates.observe_request("/api/books/", 1.0, False)
    aggregates.clear()
    aggregates.flush()
    assert aggregates.endpoints() == [] and aggregates.queue_depth(since=0) == []
