"""Beat monitors with real parts: celery beat and a worker on the machine's broker, the alert engine
counting in Redis, Slack (the stand-in) and e-mail (aiosmtpd), and Sentry (the envelope receiver).

Each test runs its own beat (celery.beat's embedded service, in a thread) and worker on a private
queue, with one-second schedules, so a finding shows within seconds.
"""

from __future__ import annotations

import re
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from email.header import decode_header, make_header
from io import StringIO
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from celery import Celery, current_app
from celery.beat import EmbeddedService, Service
from celery.contrib.testing.worker import start_worker
from django.core.management import call_command
from django.test import override_settings
from kombu import Queue

from errorwarden.diagnostics.monitors import check_monitors
from errorwarden.local.monitors import MonitorStore
from errorwarden.monitors import HEADER, beat_started
from tests.support.services import require_redis
from tests.support.slack import SERVER_ERROR, SlackStandIn
from tests.support.smtp import smtp_server, smtp_settings
from tests.test_alerting_celery import BROKERS, WakeUp, delete_queue

BROKER = "redis://127.0.0.1:6379/14"
COUNTERS = "redis://127.0.0.1:6379/13"


def monitored_app(run: str, entries: dict[str, tuple[str, float]], broker: str = BROKER) -> Celery:
    """A Celery app whose beat schedule runs `entries` (name: (task, seconds)) on a private queue."""
    queue = f"monitors-test-{run}"
    app = Celery(f"monitors-{run}", broker=broker, set_as_current=False)
    app.conf.update(task_default_queue=queue, task_queues=[Queue(queue, auto_delete=True, durable=False)],
                    broker_connection_retry_on_startup=False, worker_hijack_root_logger=False,
                    worker_enable_remote_control=False, task_ignore_result=True,
                    beat_schedule={name: {"task": task, "schedule": seconds}
                                   for name, (task, seconds) in entries.items()})
    app.steps["consumer"].add(WakeUp)

    @app.task(name="monitors_test.tick", shared=False)
    def tick() -> str:
        return "ok"

    @app.task(name="monitors_test.fail", shared=False)
    def fail() -> None:
        raise RuntimeError("the report generator broke")

    @app.task(name="monitors_test.slow", shared=False)
    def slow() -> str:
        time.sleep(1.5)
        return "late"

    return app


@contextmanager
def beat_and_worker(app: Celery, tmp: Path) -> Iterator[EmbeddedService]:
    """A real worker (threads pool) consuming the app's queue, and a real beat; both stopped after."""
    beat = EmbeddedService(app, thread=True, max_interval=0.2, schedule_filename=str(tmp / "beat-schedule"))
    try:
        with start_worker(app, pool="threads", concurrency=8, perform_ping_check=False, loglevel="WARNING",
                          shutdown_timeout=20):
            beat.start()
            try:
                yield beat
            finally:
                stop(beat)
    finally:
        delete_queue(app, app.conf.task_default_queue)


def stop(beat: EmbeddedService) -> None:
    """Stop beat as a dead beat process would: nothing more is dispatched."""
    if beat.is_alive():
        beat.stop()
        beat.join(10)


def wait_until(predicate: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


@contextmanager
def tracked_with(app: Celery, error_tracking: Any, **overrides: Any):
    """The runtime initialised while `app` is current, as config/celery.py's app is at init_sentry()."""
    project_app = current_app._get_current_object()
    app.set_current()
    try:
        yield error_tracking(**overrides)
    finally:
        project_app.set_current()


def subject(message: Any) -> str:
    return str(make_header(decode_header(message["Subject"])))


def pages(slack: SlackStandIn) -> Counter:
    """(error type, monitor) for each accepted Slack page."""
    found: Counter = Counter()
    for body in slack.accepted:
        text = str(body)
        kind = next((k for k in ("MissedRun", "FailedRun", "OverlongRun") if k in text), "other")
        monitor = next((m for m in ("tick", "fail", "slow") if f"beat {m}-" in text), "?")
        found[(kind, monitor)] += 1
    return found


@pytest.fixture(params=[pytest.param("redis", marks=pytest.mark.redis),
                        pytest.param("rabbitmq", marks=pytest.mark.rabbitmq)])
def broker(request: pytest.FixtureRequest) -> str:
    """The broker URL for this param, once its service is known to be up (Redis holds the counters)."""
    url, require = BROKERS[request.param]
    require()
    require_redis()
    return url


def test_beat_dies_a_task_fails_and_one_overruns_each_pages_once_on_slack_and_email(error_tracking, tmp_path,
                                                                                   client, settings, broker):
    """A failing task pages once, a task past its maximum pages once, and when beat stops every
    monitor that stops checking in pages once as missed: on Slack (down for the first page) and by
    e-mail, nothing twice."""
    settings.DEBUG = True  # the dashboard, as `make dashboard` serves it
    run = uuid.uuid4().hex[:10]
    app = monitored_app(run, {f"tick-{run}": ("monitors_test.tick", 1.0),
                              f"fail-{run}": ("monitors_test.fail", 1.0),
                              f"slow-{run}": ("monitors_test.slow", 1.0)}, broker)
    with SlackStandIn() as slack, smtp_server() as smtp, override_settings(**smtp_settings(smtp.port)), \
            tracked_with(app, error_tracking, dsn="", inbox_path=tmp_path / "inbox.sqlite3",
                         redis_url=COUNTERS, app_name=f"monitors-{run}", slack_alerts_enabled=True,
                         slack_webhook_url=slack.url, email_alerts_enabled=True,
                         alert_email_recipients=("oncall@example.com",), monitor_check_seconds=0.2,
                         monitor_grace=1, monitor_overrides={f"slow-{run}": {"max_runtime": 1}},
                         monitor_alert_cooldown=300) as runtime:
        store = MonitorStore(runtime.settings.monitors_path)
        slack.answer(SERVER_ERROR)  # Slack is down for the first page: the spool retries it
        with beat_and_worker(app, tmp_path) as beat:
            # The failing and the slow task page while beat still runs.
            assert slack.wait_for(accepted=2, timeout=30), pages(slack)
            def ticked() -> bool:
                return len([c for c in store.checkins(f"tick-{run}") if c["status"] == "ok"]) >= 2

            assert wait_until(ticked, 20)
            stop(beat)
            # Every monitor that stops checking in is missed: tick and fail at once, slow after its run.
            assert slack.wait_for(accepted=5, timeout=30), pages(slack)
            time.sleep(1.5)  # more detector rounds and finishing runs: nothing may page again
        assert runtime.flush(10)
        expected = Counter({("FailedRun", "fail"): 1, ("OverlongRun", "slow"): 1, ("MissedRun", "tick"): 1,
                            ("MissedRun", "fail"): 1, ("MissedRun", "slow"): 1})
        assert pages(slack) == expected and len(slack.received) == 6
        assert smtp.recorder.wait_for(5, timeout=10)
        time.sleep(0.5)
        subjects = Counter(re.match(r"\[(\w+)\] (\w+): (\w+)-", subject(m.message)).groups()
                           for m in smtp.messages)
        severity = {"FailedRun": "ERROR", "OverlongRun": "ERROR", "MissedRun": "CRITICAL"}
        assert subjects == Counter((severity[kind], kind, monitor) for kind, monitor in expected)
        # The local check-ins: ok runs for tick, error runs for fail, each with its duration.
        ticks = store.checkins(f"tick-{run}")
        assert ticks and all(c["status"] in ("ok", "in_progress") for c in ticks)
        fails = [c for c in store.checkins(f"fail-{run}") if c["status"] != "in_progress"]
        assert fails and all(c["status"] == "error" and c["duration"] is not None for c in fails)
        slows = [c for c in store.checkins(f"slow-{run}") if c["status"] == "ok"]
        assert slows and all(c["duration"] >= 1.5 for c in slows)
        # sentry_inbox --monitors and sentry_check's monitors line say the same.
        out = StringIO()
        call_command("sentry_inbox", "--monitors", stdout=out)
        lines = {line.split()[0]: line for line in out.getvalue().splitlines()[2:]}
        assert re.search(r"every 1s\s+missed\s+\d{4}-.*\s+x+!$", lines[f"fail-{run}"])
        assert re.search(r"every 1s\s+missed\s+\d{4}-.*\s+o+!$", lines[f"tick-{run}"])
        check = check_monitors(runtime.monitors, store, time.time())
        assert check.status == "WARN" and "beat monitoring is on, 3 monitor(s)" in check.message
        assert f"tick-{run} (every 1s): missed, last check-in 20" in check.message
        # The Monitors page: each monitor's strip ends in a missed mark; fail's runs are errors.
        page = client.get("/_errors/monitors/").content.decode()
        for name in ("tick", "fail", "slow"):
            row = re.search(rf'<tr data-monitor="{name}-{run}" data-status="(\w+)">(.*?)</tr>', page, re.S)
            assert row is not None and row.group(1) == "missed", name
            strip = re.findall(r'data-run="(\w+)"', row.group(2))
            assert strip[-1] == "missed" and "missed" not in strip[:-1], (name, strip)
            assert set(strip[:-1]) <= {"fail": {"error"}, "tick": {"ok"}, "slow": {"ok"}}[name], (name, strip)
            assert "every 1s" in row.group(2)


@pytest.mark.redis
def test_with_a_dsn_check_in_envelopes_reach_sentry(error_tracking, envelope_receiver, tmp_path):
    """With a DSN, each beat run's check-ins (in_progress, then ok or error with its duration) reach
    the server as check_in envelope items named after the beat entry."""
    require_redis()
    run = uuid.uuid4().hex[:10]
    app = monitored_app(run, {f"tick-{run}": ("monitors_test.tick", 1.0),
                              f"fail-{run}": ("monitors_test.fail", 1.0)})
    with tracked_with(app, error_tracking, dsn=envelope_receiver.dsn, traces_sample_rate=0.0,
                      inbox_path=tmp_path / "inbox.sqlite3", monitor_check_seconds=60,
                      slack_alerts_enabled=False, email_alerts_enabled=False), beat_and_worker(app, tmp_path):
        def seen(status: str, slug: str) -> bool:
            return any(p.get("monitor_slug") == slug and p.get("status") == status
                       for _, p in envelope_receiver.items("check_in"))

        assert envelope_receiver.wait_for(lambda rx: seen("ok", f"tick-{run}") and
                                          seen("error", f"fail-{run}"), timeout=30)
    checkins = [p for _, p in envelope_receiver.items("check_in")]
    ticks = [p for p in checkins if p["monitor_slug"] == f"tick-{run}"]
    started = {p["check_in_id"] for p in ticks if p["status"] == "in_progress"}
    finished = [p for p in ticks if p["status"] == "ok"]
    assert finished and all(p["check_in_id"] in started and p["duration"] >= 0 for p in finished)
    assert all(p.get("environment") and p.get("release") for p in checkins)



@pytest.mark.redis
def test_a_schedule_sentry_crons_accepts_is_checked_in_by_sentry_sdk_once(error_tracking, envelope_receiver,
                                                                          tmp_path):
    """A one-minute entry: beat's own Scheduler (patched by sentry-sdk's CeleryIntegration with
    monitor_beat_tasks=True) sends the in_progress check-in with the monitor's schedule, the worker's
    sentry-sdk the ok one; the errorwarden header rides along, and the worker adds no check-in of its own."""
    require_redis()
    run = uuid.uuid4().hex[:10]
    slug = f"minutely-{run}"
    app = monitored_app(run, {slug: ("monitors_test.tick", 60.0)})
    with tracked_with(app, error_tracking, dsn=envelope_receiver.dsn, traces_sample_rate=0.0,
                      inbox_path=tmp_path / "inbox.sqlite3", monitor_check_seconds=60,
                      slack_alerts_enabled=False, email_alerts_enabled=False) as runtime:
        scheduler = Service(app, schedule_filename=str(tmp_path / "beat-schedule")).scheduler
        beat_started(SimpleNamespace(scheduler=scheduler))  # what beat_init does in `celery beat`
        entry = scheduler.schedule[slug]
        with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING"):
            scheduler.apply_entry(entry, producer=scheduler.producer)

            def statuses() -> list[str]:
                return [p["status"] for _, p in envelope_receiver.items("check_in")
                        if p["monitor_slug"] == slug]

            assert envelope_receiver.wait_for(lambda rx: "ok" in statuses(), timeout=30)
            time.sleep(0.5)  # a duplicate check-in of ours would arrive by now
        scheduler.close()
        delete_queue(app, app.conf.task_default_queue)
        assert entry.options["headers"][HEADER] == slug
        state = runtime.monitors.ledger.state(slug)
    checkins = [p for _, p in envelope_receiver.items("check_in") if p["monitor_slug"] == slug]
    assert [p["status"] for p in checkins] == ["in_progress", "ok"]
    assert checkins[0]["monitor_config"]["schedule"] == {"type": "interval", "value": 1, "unit": "minute"}
    assert checkins[0]["check_in_id"] == checkins[1]["check_in_id"]
    assert state["status"] == "ok" and state["finish"] >= state["start"]
