"""Exactly once across processes: four real OS processes share one Redis and page once."""

from __future__ import annotations

import multiprocessing
import tempfile
import uuid
from pathlib import Path

import pytest

from errorwarden.settings import Settings
from tests.support.redis_server import RedisServer
from tests.support.services import require_redis
from tests.support.slack import SlackStandIn

REDIS_URL = "redis://127.0.0.1:6379/15"


def _worker(webhook: str, prefix: str, spool: str, errors: int,
            start: multiprocessing.synchronize.Barrier) -> None:
    """One worker process: its own engine, counting errors of one issue on the shared Redis, with
    the host's alert spool shared by all four (as gunicorn workers share var/)."""
    from errorwarden.alerting import build_engine

    settings = Settings(redis_url=REDIS_URL, slack_alerts_enabled=True, slack_webhook_url=webhook,
                        email_alerts_enabled=False, alert_spool_path=Path(spool))
    engine = build_engine(settings, scrub_text=str, key_prefix=prefix)
    event = {"event_id": uuid.uuid4().hex, "level": "error", "fingerprint": ["shared-issue"],
             "exception": {"values": [{"type": "OperationalError", "value": "could not connect"}]}}
    start.wait(30)  # all four start counting together
    for _ in range(errors):
        engine.observe_event(event)
    assert engine.flush(15)


@pytest.mark.parametrize("split", [(3, 3, 2, 2), (1, 1, 1, 7), (10, 0, 0, 0)])
def test_ten_errors_spread_over_four_processes_page_exactly_once(split, tmp_path):
    """However ten errors of one issue fall across four processes, Slack gets exactly one alert."""
    require_redis()
    import redis

    prefix = f"test-alerting:{uuid.uuid4().hex}:"
    spawn = multiprocessing.get_context("spawn")
    start = spawn.Barrier(len(split))
    try:
        with SlackStandIn() as slack:
            spool = str(tmp_path / "alerts.sqlite3")
            processes = [spawn.Process(target=_worker, args=(slack.url, prefix, spool, n, start))
                         for n in split]
            for p in processes:
                p.start()
            for p in processes:
                p.join(60)
            assert [p.exitcode for p in processes] == [0] * len(split)
            assert len(slack.received) == 1 and len(slack.accepted) == 1
            assert "OperationalError" in slack.accepted[0]["blocks"][0]["text"]["text"]
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)


def _phased_worker(webhook: str, redis_url: str, spool: str, phases: list, rounds: int) -> None:
    """One process: errors of three rules (a burst, the database, S3) in rounds between barriers."""
    from errorwarden.alerting import build_engine
    from errorwarden.event import VERDICT
    from errorwarden.grouping import Verdict

    settings = Settings(redis_url=redis_url, slack_alerts_enabled=True, slack_webhook_url=webhook,
                        email_alerts_enabled=False, alert_spool_path=Path(spool), critical_error_threshold=3)
    engine = build_engine(settings, scrub_text=str, key_prefix="restart:")
    engine.store._min = 0.05  # probe a returning Redis quickly
    kinds = [({"fingerprint": ["burst-issue"]}, Verdict("generic", "exception", ("burst",))),
             ({"fingerprint": ["db"]}, Verdict("database", "connection", ("database",))),
             ({"fingerprint": ["s3"]}, Verdict("external", "server_error", ("external",), service="s3"))]
    for go, done in phases:
        go.wait(60)
        for _ in range(rounds):
            for extra, verdict in kinds:
                event = {"level": "error", "exception": {"values": [{"type": "E", "value": "x"}]}, **extra}
                engine.observe_event(event, {VERDICT: verdict})
        done.wait(60)  # the test acts on Redis only once every worker finished the phase
    assert engine.flush(20)


def test_three_workers_page_once_per_rule_through_a_redis_kill_and_an_empty_restart(tmp_path):
    """Three processes keep failing while their Redis is killed and comes back empty (no persistence):
    each rule pages exactly once on Slack, before, during and after the outage together."""
    spawn = multiprocessing.get_context("spawn")
    # (go, done) per round, each for the three workers and this test.
    phases = [(spawn.Barrier(4), spawn.Barrier(4)) for _ in range(3)]
    with RedisServer() as redis_server, SlackStandIn() as slack:
        spool = str(tmp_path / "alerts.sqlite3")
        workers = [spawn.Process(target=_phased_worker, args=(slack.url, redis_server.url, spool, phases, 5))
                   for _ in range(3)]
        for worker in workers:
            worker.start()
        for (go, done), between in zip(phases, (redis_server.kill, redis_server.start, None), strict=True):
            go.wait(60)    # round 1: Redis up; round 2: Redis gone, counting in memory;
            done.wait(60)  # round 3: Redis back, empty, without what it knew
            if between is not None:
                between()
        for worker in workers:
            worker.join(90)
        assert [w.exitcode for w in workers] == [0, 0, 0]
        titles = sorted(body["text"] for body in slack.accepted)
    assert len(titles) == 3, titles
    assert [t.split(": ", 1)[1].split(":")[0] for t in titles] == [
        "Critical error burst", "Database connection failure", "External service failure"]


def _monitor_host(webhook: str, app_name: str, spool: str,
                  start: multiprocessing.synchronize.Barrier) -> None:
    """One host's process: its own alert spool and detector, sharing the monitor state and counters in
    Redis with the others; every detector round finds the same missed run."""
    from types import SimpleNamespace

    from errorwarden.alerting import build_engine
    from errorwarden.monitors import MonitorWatch, build_ledger

    settings = Settings(redis_url=REDIS_URL, app_name=app_name, slack_alerts_enabled=True,
                        slack_webhook_url=webhook, email_alerts_enabled=False, alert_spool_path=Path(spool),
                        monitor_grace=1)
    engine = build_engine(settings, scrub_text=str)
    schedule = {"nightly": {"task": "app.report", "schedule": 5.0}}
    app = SimpleNamespace(conf=SimpleNamespace(beat_schedule=schedule))
    watch = MonitorWatch(settings, build_ledger(settings), engine.observe_monitor, app=app)
    start.wait(30)
    for _ in range(5):
        for finding in watch.tick():
            engine.observe_monitor(finding)
    assert engine.flush(15)


def test_a_missed_run_found_on_three_hosts_pages_once():
    """Three hosts' detectors (own spools, one Redis) all see the same missed run: one page."""
    require_redis()
    import time

    import redis

    from errorwarden.monitors import RedisLedger

    app_name = f"monitors-{uuid.uuid4().hex[:12]}"
    client = redis.Redis.from_url(REDIS_URL)
    ledger = RedisLedger(client, f"{app_name}:alerts:development:")
    ledger.started("nightly", "run-1", time.time() - 30)  # every 5 s, last run 30 s ago: missed
    ledger.finished("nightly", "run-1", time.time() - 29, "ok", 1.0)
    spawn = multiprocessing.get_context("spawn")
    start = spawn.Barrier(3)
    try:
        with SlackStandIn() as slack, tempfile.TemporaryDirectory() as tmp:
            processes = [spawn.Process(target=_monitor_host, args=(slack.url, app_name,
                                                                   f"{tmp}/host{i}.sqlite3", start))
                         for i in range(3)]
            for p in processes:
                p.start()
            for p in processes:
                p.join(60)
            assert [p.exitcode for p in processes] == [0] * 3
            assert len(slack.accepted) == 1, slack.received
            assert "MissedRun" in str(slack.accepted[0])
    finally:
        for key in client.scan_iter(f"{app_name}:*"):
            client.delete(key)
