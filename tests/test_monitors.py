"""Beat monitors, unit by unit: the schedule judge, the check-in store, the rule, the local transport."""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime
from io import StringIO
from types import SimpleNamespace

import pytest
import sentry_sdk.crons
from celery.schedules import crontab, schedule

from errorwarden.alerting import build_engine
from errorwarden.alerting.counters import MemoryStore
from errorwarden.alerting.dispatch import Dispatcher
from errorwarden.alerting.rules import MonitorFinding
from errorwarden.envvars import SettingsError
from errorwarden.local.aggregates import Aggregates
from errorwarden.local.monitors import MonitorStore
from errorwarden.monitors import (
    HEADER,
    Monitor,
    MonitorWatch,
    beat_publishing,
    beat_started,
    judge,
    late,
    monitors_of,
    went_silent,
)
from errorwarden.settings import Settings, load_settings


class Recorded(Dispatcher):
    def __init__(self) -> None:
        self.alerts: list[dict] = []

    def submit(self, alert, key="", until=0.0):
        self.alerts.append(alert)
        return True


def every(seconds: float, grace: float = 5, max_runtime: float = 60) -> Monitor:
    return Monitor("tick", "app.tick", schedule(seconds), grace, max_runtime)


def test_a_run_overdue_past_its_grace_is_missed_and_one_within_it_is_not():
    start = time.time() - 100
    state = {"start": start, "finish": start + 1}
    assert judge(every(90, grace=20), state, start + 105) is None  # due at +90, grace until +110
    finding = judge(every(90, grace=5), state, start + 100)
    assert finding is not None and finding.kind == "missed" and finding.slug == "tick"
    assert "every 90s" in finding.message and "5s grace" in finding.message


def test_a_run_still_going_past_its_maximum_is_overlong_and_never_missed():
    start = time.time() - 100
    running = {"start": start, "finish": None}
    assert judge(every(10, max_runtime=200), running, start + 100) is None  # long overdue, but running
    finding = judge(every(10, max_runtime=50), running, start + 100)
    assert finding is not None and finding.kind == "overlong" and "maximum of 50s" in finding.message


def test_a_run_that_starts_past_its_grace_is_late_and_counts_as_missed():
    previous = {"start": 1000.0, "finish": 1001.0}
    assert late(every(60, grace=10), previous, 1069.0) is None
    finding = late(every(60, grace=10), previous, 1075.0)
    assert finding is not None and finding.kind == "missed" and finding.since == 1060.0
    assert finding.message.startswith("Started 15s after it was due at")
    assert late(every(60), {}, 5000.0) is None  # the first run is never late
    assert late(every(60), {"start": 1000.0, "finish": None}, 5000.0) is None  # overlong's business


def test_beat_tags_its_entries_and_a_rebuilt_entry_by_its_task_name(monkeypatch):
    from errorwarden.runtime import require_runtime

    monkeypatch.setattr(require_runtime(), "beat_scheduler", None)  # beat keeps its scheduler there
    entries = {"nightly": SimpleNamespace(task="app.report", options={}),
               "a": SimpleNamespace(task="app.twice", options={}),
               "b": SimpleNamespace(task="app.twice", options={})}
    beat_started(SimpleNamespace(scheduler=SimpleNamespace(schedule=entries)))
    assert entries["nightly"].options == {"headers": {HEADER: "nightly"}}
    for entry in entries.values():  # a scheduler that rebuilt its entries from its database
        entry.options.clear()
    tagged, ambiguous, own = {}, {}, {HEADER: "kept"}
    for task, headers in (("app.report", tagged), ("app.twice", ambiguous), ("app.report", own)):
        beat_publishing(task, headers=headers)
    assert (tagged, ambiguous, own) == ({HEADER: "nightly"}, {}, {HEADER: "kept"})


def test_a_crontab_monitor_is_due_at_its_next_minute():
    monitor = Monitor("nightly", "app.report", crontab(minute="0", hour="3"), 60, 600)
    ran = datetime(2026, 1, 1, 3, 0, 5, tzinfo=UTC).timestamp()  # Jan 1st's 03:00 run
    now = datetime(2026, 1, 2, 3, 0, 30, tzinfo=UTC).timestamp()
    assert judge(monitor, {"start": ran, "finish": ran + 10}, now) is None  # 30 s into the grace
    later = datetime(2026, 1, 2, 3, 2, 0, tzinfo=UTC).timestamp()
    finding = judge(monitor, {"start": ran, "finish": ran + 10}, later)
    assert finding is not None and finding.kind == "missed" and "crontab 0 3 * * *" in finding.message


def test_monitors_come_from_the_beat_schedule_with_per_entry_settings():
    app = SimpleNamespace(conf=SimpleNamespace(beat_schedule={
        "tick": {"task": "app.tick", "schedule": 5.0},
        "nightly": {"task": "app.report", "schedule": crontab(minute="0", hour="3")},
        "off": {"task": "app.off", "schedule": 5.0},
    }))
    settings = Settings().with_overrides(monitor_grace=7, monitor_overrides={
        "nightly": {"max_runtime": 3600}, "off": {"enabled": False}})
    found = monitors_of(app, settings)
    assert sorted(found) == ["nightly", "tick"]
    assert (found["tick"].grace, found["tick"].max_runtime) == (7, settings.monitor_max_runtime)
    assert found["nightly"].max_runtime == 3600 and found["nightly"].describe() == "crontab 0 3 * * *"


@pytest.mark.parametrize("raw, reason", [
    ("[]", "a JSON object"),
    ('{"a": {"grace": 0}}', "grace must be 1 to 604800"),
    ('{"a": {"max_runtime": "10"}}', "max_runtime must be 1 to 604800"),
    ('{"a": {"every": 10}}', "keys outside grace, max_runtime, enabled"),
    ('{"a": {"enabled": "no"}}', "enabled must be true or false"),
])
def test_a_bad_monitors_setting_stops_start_up_naming_what_is_allowed(raw, reason):
    with pytest.raises(SettingsError) as caught:
        load_settings({"SENTRY_MONITORS": raw})
    assert "SENTRY_MONITORS" in str(caught.value) and reason in str(caught.value)


def test_the_detector_judges_only_monitors_that_checked_in(tmp_path):
    store = MonitorStore(tmp_path / "m.sqlite3")
    app = SimpleNamespace(conf=SimpleNamespace(beat_schedule={
        "seen": {"task": "a", "schedule": 1.0}, "never": {"task": "b", "schedule": 1.0}}))
    watch = MonitorWatch(Settings().with_overrides(monitor_grace=1), store, lambda f: None, app=app)
    store.started("seen", "run-1", time.time() - 30)
    store.finished("seen", "run-1", time.time() - 29, "ok", 1.0)
    assert [(f.kind, f.slug) for f in watch.tick()] == [("missed", "seen")]


def test_check_ins_are_filed_once_per_run_and_bounded(tmp_path):
    store = MonitorStore(tmp_path / "m.sqlite3", max_checkins=3)
    store.add_checkins([{"monitor_slug": "tick", "check_in_id": "a1", "status": "in_progress"}], now=100.0)
    store.add_checkins([{"monitor_slug": "tick", "check_in_id": "a1", "status": "ok", "duration": 2.5,
                         "monitor_config": {"schedule": {"type": "interval", "value": 1, "unit": "minute"}}}],
                       now=103.0)
    [run] = store.checkins("tick")
    assert (run["status"], run["started"], run["finished"], run["duration"]) == ("ok", 100.0, 103.0, 2.5)
    assert run["schedule"] == "interval 1 minute"
    bad = [{"monitor_slug": "", "check_in_id": "x", "status": "ok"}, {"monitor_slug": "t", "status": "ok"},
           {"monitor_slug": "t", "check_in_id": "y", "status": "exploded"}]
    assert store.add_checkins(bad) == 0
    store.add_checkins([{"monitor_slug": "tick", "check_in_id": f"b{i}", "status": "error"}
                        for i in range(5)])
    assert [r["check_in_id"] for r in store.checkins()] == ["b4", "b3", "b2"]


def test_each_finding_pages_once_per_cooldown_and_failures_at_their_threshold():
    dispatcher = Recorded()
    settings = Settings().with_overrides(monitor_failure_threshold=2, monitor_alert_cooldown=600)
    engine = build_engine(settings, scrub_text=str, store=MemoryStore(), dispatcher=dispatcher)
    missed = MonitorFinding("missed", "tick", "app.tick", "Due at ...")
    failed = MonitorFinding("failed", "tick", "app.tick", "failed after 1s")
    assert engine.observe_monitor(missed) and not engine.observe_monitor(missed)
    assert not engine.observe_monitor(failed) and engine.observe_monitor(failed)
    assert not engine.observe_monitor(MonitorFinding("failed", "tick", "app.tick", "again"))
    assert engine.observe_monitor(MonitorFinding("missed", "other", "app.other", "Due at ..."))
    assert [(a["rule"], a["severity"], a["title"]) for a in dispatcher.alerts] == [
        ("monitor_missed", "critical", "Scheduled task missed its run: tick"),
        ("monitor_failed", "error", "Scheduled task failed: tick"),
        ("monitor_missed", "critical", "Scheduled task missed its run: other")]
    assert dispatcher.alerts[1]["occurrences"] == 2
    assert dispatcher.alerts[1]["endpoint"] == "beat tick (app.tick)"


def test_without_a_dsn_check_ins_pass_the_pipeline_into_the_local_store(error_tracking, tmp_path):
    """A check-in goes through before_send (scrubbed, never counted by the error rules) and the local
    inbox transport files it in the monitors store, not among the events."""
    runtime = error_tracking(dsn="", inbox_path=tmp_path / "inbox.sqlite3", critical_error_threshold=1)
    slug = f"report AKIAIOSFODNN7EXAMPLE {uuid.uuid4().hex[:6]}"
    check_in_id = sentry_sdk.crons.capture_checkin(monitor_slug=slug, status="in_progress")
    sentry_sdk.crons.capture_checkin(monitor_slug=slug, check_in_id=check_in_id, status="error", duration=0.5)
    sentry_sdk.flush(5)
    store = MonitorStore(runtime.settings.monitors_path)
    [run] = store.checkins()
    assert run["status"] == "error" and run["duration"] == 0.5
    assert run["slug"] == f"report [aws_key] {slug[-6:]}"
    assert runtime.transport.store.count() == 0
    assert runtime.flush(2) and runtime.alerts.dispatcher.spool.pending() == 0


# --- silence: a watched endpoint or task with steady traffic that stops

class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_went_silent_needs_the_steady_minutes_then_the_quiet_ones():
    assert went_silent([1] * 60 + [0] * 10, 60, 10, 1)
    assert not went_silent([1] * 60 + [0] * 9 + [1], 60, 10, 1)  # one request in the window
    assert not went_silent([1] * 30 + [0] + [1] * 29 + [0] * 10, 60, 10, 1)  # a gap in the steady hour
    assert not went_silent([1] * 50 + [0] * 10, 60, 10, 1)  # not enough history
    assert not went_silent([2] * 60 + [0] * 10, 60, 10, 3)  # below the steady rate


def test_an_endpoint_that_goes_quiet_after_a_steady_hour_pages_once(tmp_path):
    """Real per-minute figures (the local aggregates file): /api/loans/ served every minute for an hour,
    then nothing for ten minutes, is one 'went silent' page; /api/books/, which never stopped, is not."""
    start = 1_800_000_000.0 - 1_800_000_000.0 % 60
    clock = Clock(start)
    aggregates = Aggregates(tmp_path / "metrics.sqlite3", clock=clock)
    for minute in range(70):
        clock.now = start + minute * 60 + 5
        if minute < 60:
            aggregates.observe_request("/api/loans/", 12.0, False)
        aggregates.observe_request("/api/books/", 8.0, False)
        aggregates.observe_task("library.tasks.send_reminders", 30.0, False)
        aggregates.flush()
    clock.now = start + 69 * 60 + 30
    dispatcher = Recorded()
    settings = Settings().with_overrides(silence_watch=(("/api/loans/", 10), ("/api/books/", 10),
                                                        ("library.tasks.send_reminders", 10)))
    engine = build_engine(settings, scrub_text=str, store=MemoryStore(), dispatcher=dispatcher, clock=clock)
    app = SimpleNamespace(conf=SimpleNamespace(beat_schedule={}))
    watch = MonitorWatch(settings, MonitorStore(tmp_path / "m.sqlite3"), engine.observe_monitor, app=app,
                         clock=clock, aggregates=aggregates)
    findings = watch.tick()
    assert [(f.kind, f.slug, f.task) for f in findings] == [("silent", "/api/loans/", "endpoint")]
    for finding in findings + watch.tick():
        engine.observe_monitor(finding)
    [alert] = dispatcher.alerts
    assert alert["rule"] == "monitor_silent" and alert["title"] == "Steady traffic stopped: /api/loans/"
    assert alert["endpoint"] == "endpoint /api/loans/"
    assert "No requests for 10 min after at least 1 a minute for 60 min." in alert["message"]


def test_a_bad_silence_watch_stops_start_up_naming_the_entry():
    with pytest.raises(SettingsError) as caught:
        load_settings({"SENTRY_SILENCE_WATCH": "/api/loans/=10,/api/books/"})
    assert "SENTRY_SILENCE_WATCH" in str(caught.value) and "'/api/books/' is not" in str(caught.value)
    assert load_settings({"SENTRY_SILENCE_WATCH": "/api/a=b/=5"}).silence_watch == (("/api/a=b/", 5),)


def test_a_forked_child_runs_a_detector_of_its_own(tmp_path):
    """A gunicorn or prefork child inherits the watch but not its thread: the next start() runs one."""
    watch = MonitorWatch(Settings(), MonitorStore(tmp_path / "m.sqlite3"), lambda finding: None)
    watch.start()
    parent_thread = watch._thread
    pid = os.fork()
    if pid == 0:  # the child: report through the exit code only
        fresh = not watch._running
        watch.start()
        os._exit(0 if fresh and watch._thread is not parent_thread and watch._thread.is_alive() else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert watch._running and watch._thread is parent_thread
    watch.close()
    assert not watch._running


def test_monitoring_off_builds_no_detector_and_tells_sentry_sdk(error_tracking):
    """SENTRY_MONITORS_ENABLED=false: no detector thread, and sentry-sdk's beat monitoring is off."""
    from sentry_sdk.integrations.celery import CeleryIntegration

    runtime = error_tracking(monitors_enabled=False)
    assert runtime.monitors is None
    assert sentry_sdk.get_client().get_integration(CeleryIntegration).monitor_beat_tasks is False
    runtime = error_tracking(monitors_enabled=True)
    assert runtime.monitors is not None and runtime.monitors._running
    assert sentry_sdk.get_client().get_integration(CeleryIntegration).monitor_beat_tasks is True


def test_sentry_inbox_clear_forgets_the_check_ins(error_tracking, tmp_path):
    """--clear empties the check-in history and, without Redis, the monitors' state with the inbox."""
    from django.core.management import call_command

    runtime = error_tracking(dsn="", inbox_path=tmp_path / "inbox.sqlite3")
    store = MonitorStore(runtime.settings.monitors_path)
    store.add_checkins([{"monitor_slug": "tick", "check_in_id": "a1", "status": "ok", "duration": 1.0}])
    store.started("tick", "run-1", time.time())
    call_command("sentry_inbox", "--clear", stdout=StringIO())
    assert store.checkins() == [] and store.state("tick") == {}
