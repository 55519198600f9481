"""Monitors of scheduled work: check-ins for every Celery beat entry, and the detector of bad runs.

- Beat tags each entry it dispatches with the header `errorwarden-monitor: <entry name>`
  (`beat_init`), so a worker knows a run came from the schedule and which monitor it belongs to.
- The worker records each tagged run's start and end in the ledger (Redis when REDIS_URL is set,
  so every host sees it; else the host's sentry_monitors.sqlite3) and sends check-ins: sentry-sdk's
  own beat monitoring sends them for schedules Sentry Crons accepts (whole minutes, crontabs);
  for the rest (seconds) the worker sends them itself. Without a DSN the local inbox files them.
- A failed run, or one that ended past its maximum runtime, is a finding at once (in the worker).
- `MonitorWatch`, a thread in every web and worker process (started with the alert machinery),
  looks every SENTRY_MONITOR_CHECK_SECONDS for runs that were due and did not start (missed) and
  runs still going past their maximum (overlong). It reads the schedule from the Celery app's
  beat_schedule, never from beat, so it notices a dead beat. Every process may find the same
  thing; the alert engine's shared counters (Redis) let exactly one of them page per cooldown.

A monitor is judged once it has checked in: a deployment that never ran beat is not paged.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from errorwarden.alerting.rules import MonitorFinding
from errorwarden.logs import OncePerInterval

if TYPE_CHECKING:
    from errorwarden.settings import Settings

logger = logging.getLogger("errorwarden.monitors")
HEADER = "errorwarden-monitor"
SENTRY_HEADER = "sentry-monitor-slug"


@dataclass(frozen=True)
class Monitor:
    """One beat entry as a monitor: its schedule, grace and maximum runtime (seconds)."""

    slug: str
    task: str
    schedule: Any  # a celery.schedules.schedule or crontab
    grace: float
    max_runtime: float

    def due_after(self, last_start: float, now: float) -> float:
        """When the run after one that started at `last_start` was (or is) due, epoch seconds."""
        run_every = getattr(self.schedule, "run_every", None)
        if not hasattr(self.schedule, "remaining_delta") and run_every is not None:  # an interval
            return last_start + run_every.total_seconds()
        last = datetime.fromtimestamp(last_start, tz=UTC)
        if hasattr(self.schedule, "remaining_delta"):  # crontab: the next matching minute after last
            start, delta, _ = self.schedule.remaining_delta(last)
            return (start + delta).timestamp()
        return now + self.schedule.remaining_estimate(last).total_seconds()

    def describe(self) -> str:
        """The schedule as a person reads it: 'every 30s' or 'crontab 0 3 * * *'."""
        seconds = getattr(self.schedule, "seconds", None)
        if hasattr(self.schedule, "_orig_minute"):
            s = self.schedule
            return (f"crontab {s._orig_minute} {s._orig_hour} {s._orig_day_of_month} {s._orig_month_of_year} "
                    f"{s._orig_day_of_week}")
        if seconds is not None:
            return f"every {seconds:g}s"
        return type(self.schedule).__name__


def monitors_of(app: Any, settings: Settings) -> dict[str, Monitor]:
    """The monitors of a Celery app's beat_schedule, with SENTRY_MONITORS' per-entry settings."""
    if app is None:
        return {}
    from celery.schedules import maybe_schedule

    found: dict[str, Monitor] = {}
    for name, entry in dict(app.conf.beat_schedule or {}).items():
        options: Mapping[str, Any] = settings.monitor_overrides.get(name, {})
        if not options.get("enabled", True) or not isinstance(entry, Mapping):
            continue
        schedule = maybe_schedule(entry.get("schedule"), app=app)
        if not hasattr(schedule, "remaining_estimate"):
            continue
        found[str(name)] = Monitor(str(name), str(entry.get("task", "")), schedule,
                                   float(options.get("grace", settings.monitor_grace)),
                                   float(options.get("max_runtime", settings.monitor_max_runtime)))
    return found


# --- the ledger: last start and finish per monitor, shared by every process that watches

_FINISH = """
if redis.call('HGET', KEYS[1], 'run') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'finish', ARGV[2], 'status', ARGV[3], 'duration', ARGV[4])
end
return 1
"""


class RedisLedger:
    """Monitor state in Redis: one hash per monitor, shared by every host."""

    def __init__(self, client: Any, prefix: str, ttl: int = 30 * 86_400):
        self._client, self._prefix, self._ttl = client, prefix, ttl
        self._finish = client.register_script(_FINISH)

    def _key(self, slug: str) -> str:
        return f"{self._prefix}mon:{slug}"

    def state(self, slug: str) -> dict[str, Any]:
        """first, start, finish (epoch seconds), status, duration, run; {} when never seen."""
        raw = self._client.hgetall(self._key(slug))
        found = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
                 for k, v in raw.items()}
        for name in ("first", "start", "finish", "duration"):
            found[name] = float(found[name]) if found.get(name) not in (None, "") else None
        return found if found.get("start") is not None else {}

    def started(self, slug: str, run: str, at: float) -> None:
        """A run started: it becomes the monitor's current run."""
        key = self._key(slug)
        pipe = self._client.pipeline(transaction=True)
        pipe.hsetnx(key, "first", repr(at))
        pipe.hset(key, mapping={"start": repr(at), "status": "in_progress", "run": run})
        pipe.hdel(key, "finish", "duration")
        pipe.expire(key, self._ttl)
        pipe.execute()

    def finished(self, slug: str, run: str, at: float, status: str, duration: float | None) -> None:
        """The run ended; an older run's end changes nothing."""
        self._finish(keys=[self._key(slug)],
                     args=[run, repr(at), status, "" if duration is None else repr(duration)])


def build_ledger(settings: Settings) -> Any:
    """Redis when REDIS_URL is set (every host shares it), else this host's monitors file."""
    if settings.redis_url:
        from errorwarden.alerting.redis_counters import redis_client

        return RedisLedger(redis_client(settings.redis_url, timeout=1.0), settings.redis_prefix)
    from errorwarden.local.monitors import MonitorStore

    return MonitorStore(settings.monitors_path)


# --- the detector

class MonitorWatch:
    """Finds missed and overlong runs from the ledger and the schedule; a daemon thread per process."""

    def __init__(self, settings: Settings, ledger: Any, observe: Callable[[MonitorFinding], Any], *,
                 app: Any = None, clock: Callable[[], float] = time.time, aggregates: Any = None):
        self.settings, self.ledger, self._observe, self.app = settings, ledger, observe, app
        self._clock = clock
        self.aggregates = aggregates  # per-minute traffic, for the silence watch (SENTRY_SILENCE_WATCH)
        self.interval = settings.monitor_check_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._running = False  # read on every request: a plain flag, cleared in a forked child
        self._lock = threading.Lock()
        self._warnings = OncePerInterval(60.0)
        _notice_fork(self)

    def report(self, finding: MonitorFinding) -> None:
        """Hand a finding noticed elsewhere (a late start, in the worker) to the alert engine."""
        self._observe(finding)

    def monitors(self) -> dict[str, Monitor]:
        """The monitors of the watched app's beat schedule, now."""
        return monitors_of(self.app, self.settings)

    def start(self) -> None:
        """Run the thread (again after a fork); one flag test when it already runs."""
        if self._running:
            return
        with self._lock:
            if self._running:
                return
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._run, args=(self._stop,), daemon=True,
                                            name="errorwarden-monitors")
            self._thread.start()
            self._running = True

    def close(self) -> None:
        """Stop the thread (start() would run a new one)."""
        with self._lock:
            self._running = False
            self._stop.set()

    def _forked(self) -> None:
        # The child has the object but not the thread, and maybe a lock some parent thread held.
        self._lock, self._running, self._thread = threading.Lock(), False, None

    def _run(self, stop: threading.Event) -> None:
        while not stop.wait(self.interval):
            try:
                for finding in self.tick():
                    self._observe(finding)
            except Exception as exc:  # Redis down, a bad schedule: try again next time, log rarely
                held = self._warnings.due(type(exc).__name__)
                if held:
                    logger.warning("Monitor check failed (%s, %d time(s)); retrying every %ss.",
                                   type(exc).__name__, held, self.interval)

    def tick(self, now: float | None = None) -> list[MonitorFinding]:
        """Look at every monitor once; return what is wrong (the thread hands it to the engine)."""
        now = self._clock() if now is None else now
        findings = []
        for monitor in self.monitors().values():
            state = self.ledger.state(monitor.slug)
            start = state.get("start") if state else None
            if start is None:
                continue  # never checked in: not judged
            finding = judge(monitor, state, now)
            if finding is not None:
                findings.append(finding)
        if self.settings.silence_watch and self.aggregates is not None:
            findings += self.silences()
        return findings

    def silences(self) -> list[MonitorFinding]:
        """Watched endpoints and tasks whose steady traffic stopped (from the local per-minute figures)."""
        steady, least = self.settings.silence_steady_minutes, self.settings.silence_min_per_minute
        longest = max(minutes for _, minutes in self.settings.silence_watch)
        timelines = {kind: self.aggregates.timeline(kind, (steady + longest) * 60)
                     for kind in ("endpoint", "task")}
        found = []
        for name, minutes in self.settings.silence_watch:
            for kind, timeline in timelines.items():
                counts = [count for _, count, _ in timeline.get(name, [])]
                if went_silent(counts, steady, minutes, least):
                    found.append(MonitorFinding(
                        "silent", name, kind, f"No {'requests' if kind == 'endpoint' else 'runs'} for "
                        f"{minutes} min after at least {least} a minute for {steady} min.",
                        self._clock() - minutes * 60))
        return found


def went_silent(counts: list[int], steady: int, silent: int, least: int) -> bool:
    """True when the last `silent` minutes (the current one included) had nothing and each of the
    `steady` minutes before them had at least `least`. `counts` is per minute, oldest first."""
    if len(counts) < steady + silent:
        return False
    quiet, before = counts[len(counts) - silent:], counts[len(counts) - silent - steady:len(counts) - silent]
    return not any(quiet) and all(count >= least for count in before)


def _notice_fork(watch: MonitorWatch) -> None:
    """Tell `watch` in a forked child that its thread stayed behind (registered when a runtime is
    built, never at import; the hook holds the watch weakly and does nothing once it is gone)."""
    if not hasattr(os, "register_at_fork"):
        return
    ref = weakref.ref(watch)

    def after_in_child() -> None:
        alive = ref()
        if alive is not None:
            alive._forked()

    os.register_at_fork(after_in_child=after_in_child)


def judge(monitor: Monitor, state: Mapping[str, Any], now: float) -> MonitorFinding | None:
    """What is wrong with a monitor whose last run started at state['start'], if anything."""
    start, finish = float(state["start"]), state.get("finish")
    if finish is None:  # running (or its worker died): only its runtime is judged
        running = now - start
        if running > monitor.max_runtime:
            return MonitorFinding("overlong", monitor.slug, monitor.task,
                                  f"Running for {running:.0f}s, more than its maximum of "
                                  f"{monitor.max_runtime:g}s (started {_when(start)}).", start)
        return None
    due = monitor.due_after(start, now)
    if now > due + monitor.grace:
        return MonitorFinding("missed", monitor.slug, monitor.task,
                              f"Due at {_when(due)} ({monitor.describe()}), not started within its "
                              f"{monitor.grace:g}s grace; the last run started {_when(start)}. Is celery "
                              f"beat running?", due)
    return None


def late(monitor: Monitor, previous: Mapping[str, Any], now: float) -> MonitorFinding | None:
    """A run starting now, after one that started at previous['start']: late past its grace?

    Late and missed are one finding (one key): whichever is noticed first pages.
    """
    if not previous or previous.get("start") is None or previous.get("finish") is None:
        return None
    due = monitor.due_after(float(previous["start"]), now)
    if now <= due + monitor.grace:
        return None
    return MonitorFinding("missed", monitor.slug, monitor.task,
                          f"Started {now - due:.0f}s after it was due at {_when(due)} "
                          f"({monitor.describe()}), past its {monitor.grace:g}s grace.", due)


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


# --- Celery signal handlers (connected in errorwarden/apps.py)

def beat_started(sender: Any = None, **kwargs: Any) -> None:
    """celery beat_init: tag every entry's messages with its monitor name (the scheduler is kept
    on the runtime, for beat_publishing)."""
    from errorwarden.runtime import current_runtime

    scheduler = getattr(sender, "scheduler", None)
    if scheduler is None:
        return
    runtime = current_runtime()
    if runtime is not None:
        runtime.beat_scheduler = scheduler
    for name, entry in scheduler.schedule.items():
        headers = entry.options.setdefault("headers", {})
        if isinstance(headers, dict):
            headers[HEADER] = str(name)


def beat_publishing(sender: Any = None, headers: Any = None, **kwargs: Any) -> None:
    """celery before_task_publish in a beat process: tag a message its entry did not tag.

    Schedulers that rebuild their entries (django-celery-beat's, after an edit) drop the header
    beat_init set; the entry is then found by its task's name when exactly one entry runs it.
    """
    from errorwarden.runtime import current_runtime

    runtime = current_runtime()
    scheduler = runtime.beat_scheduler if runtime is not None else None
    if scheduler is None or not isinstance(headers, dict) or HEADER in headers:
        return
    try:
        names = [name for name, entry in scheduler.schedule.items() if entry.task == sender]
    except Exception:  # a scheduler that cannot list its entries now: the run goes untagged
        return
    if len(names) == 1:
        headers[HEADER] = str(names[0])


def _header(task: Any, name: str) -> Any:
    request = getattr(task, "request", None)
    if request is None:
        return None
    headers = getattr(request, "headers", None) or {}
    if isinstance(headers, dict):
        if name in headers:
            return headers[name]
        nested = headers.get("headers")
        if isinstance(nested, dict) and name in nested:
            return nested[name]
    return getattr(request, name, None)


@dataclass
class MonitorRun:
    """A tagged run in progress in this worker (Runtime.monitor_runs, by task id)."""

    slug: str
    started: float
    own_checkin: bool
    check_in_id: str
    config: dict[str, Any]



def _monitor_config(monitor: Monitor | None) -> dict[str, Any]:
    """The monitor config Sentry Crons accepts for this schedule, or {} (e.g. seconds)."""
    if monitor is None:
        return {}
    from errorwarden.sdk import crons_interval

    if hasattr(monitor.schedule, "_orig_minute"):
        return {"schedule": {"type": "crontab", "value": monitor.describe().removeprefix("crontab ")}}
    interval = crons_interval(getattr(monitor.schedule, "seconds", 0))
    if interval is None:
        return {}
    return {"schedule": {"type": "interval", "value": interval["value"], "unit": interval["unit"]}}


def run_started(task_id: str | None = None, task: Any = None, **kwargs: Any) -> None:
    """celery task_prerun: a tagged run starts; record it and check in."""
    from errorwarden.runtime import current_runtime

    runtime = current_runtime()
    slug = _header(task, HEADER)
    if runtime is None or runtime.monitors is None or not task_id or not isinstance(slug, str):
        return
    runtime.stats.guard("monitor_start", _start, runtime, task_id, task, slug)


def _start(runtime: Any, task_id: str, task: Any, slug: str) -> None:
    import sentry_sdk.crons

    watch: MonitorWatch = runtime.monitors
    if watch.app is None:
        watch.app = getattr(task, "app", None)
    watch.start()
    now = time.time()
    own = _header(task, SENTRY_HEADER) is None  # else sentry-sdk's beat monitoring checks in
    check_in_id = task_id.replace("-", "")
    monitor = watch.monitors().get(slug)
    config = _monitor_config(monitor) if own else {}
    finding = late(monitor, watch.ledger.state(slug), now) if monitor is not None else None
    runtime.monitor_runs[task_id] = MonitorRun(slug, now, own, check_in_id, config)
    watch.ledger.started(slug, task_id, now)
    if own:
        sentry_sdk.crons.capture_checkin(monitor_slug=slug, check_in_id=check_in_id, status="in_progress",
                                         monitor_config=config or None)
    if finding is not None:
        watch.report(finding)


def run_finished(task_id: str | None = None, task: Any = None, state: str | None = None,
                 **kwargs: Any) -> None:
    """celery task_postrun: a tagged run ended; record it, check in, page on failure or overrun."""
    from errorwarden.runtime import current_runtime

    runtime = current_runtime()
    run = runtime.monitor_runs.pop(task_id, None) if runtime is not None and task_id else None
    if run is None or runtime.monitors is None:
        return
    runtime.stats.guard("monitor_finish", _finish, runtime, task_id, task, run, state)


def _finish(runtime: Any, task_id: str, task: Any, run: MonitorRun, state: str | None) -> None:
    import sentry_sdk.crons

    watch = runtime.monitors
    now = time.time()
    duration = now - run.started
    status = "ok" if state == "SUCCESS" else "error"
    watch.ledger.finished(run.slug, task_id, now, status, duration)
    if run.own_checkin:
        sentry_sdk.crons.capture_checkin(monitor_slug=run.slug, check_in_id=run.check_in_id, status=status,
                                         duration=duration, monitor_config=run.config or None)
    monitor = watch.monitors().get(run.slug)
    name = monitor.task if monitor else str(getattr(task, "name", ""))
    if state == "FAILURE":
        runtime.alerts.observe_monitor(MonitorFinding(
            "failed", run.slug, name, f"The run that started {_when(run.started)} failed after "
            f"{duration:.1f}s (the task's error is reported as its own issue).", run.started))
    if monitor is not None and duration > monitor.max_runtime:
        runtime.alerts.observe_monitor(MonitorFinding(
            "overlong", run.slug, name, f"The run that started {_when(run.started)} took {duration:.1f}s, "
            f"more than its maximum of {monitor.max_runtime:g}s.", run.started))


# --- what the dashboard, `sentry_inbox --monitors` and `sentry_check` show

STRIP_RUNS = 30


def overview(watch: MonitorWatch, history: Any, now: float | None = None) -> list[dict[str, Any]]:
    """One row per monitor (scheduled now, or with check-ins on file): schedule, state, last runs.

    `history` is the host's MonitorStore (check-ins are filed there without a DSN). Each row's
    `strip` lists the last runs oldest first as (status, epoch seconds, duration) with a
    ("missed", due, None) mark wherever a run was due and none started within the grace.
    """
    now = time.time() if now is None else now
    monitors = watch.monitors()
    rows = []
    for slug in sorted(set(monitors) | set(history.slugs())):
        monitor = monitors.get(slug)
        state = watch.ledger.state(slug)
        runs = list(reversed(history.checkins(slug, STRIP_RUNS)))
        finding = judge(monitor, state, now) if monitor is not None and state else None
        start = state.get("start") if state else None
        rows.append({
            "slug": slug, "task": monitor.task if monitor else "", "scheduled": monitor is not None,
            "schedule": monitor.describe() if monitor else (runs[-1]["schedule"] if runs else ""),
            "grace": monitor.grace if monitor else None,
            "max_runtime": monitor.max_runtime if monitor else None,
            "status": _status(finding, state),
            "last_checkin": max((v for v in (start, state.get("finish")) if v is not None), default=None)
            if state else None,
            "next_due": monitor.due_after(start, now) if monitor is not None and start is not None else None,
            "strip": _strip(monitor, runs, finding),
            "durations": [r["duration"] for r in runs if r["duration"] is not None],
        })
    return rows


def _status(finding: MonitorFinding | None, state: Mapping[str, Any]) -> str:
    if finding is not None:
        return finding.kind
    if not state:
        return "no check-in yet"
    if state.get("finish") is None:
        return "in progress"
    return str(state.get("status") or "ok")


def _strip(monitor: Monitor | None, runs: list[dict[str, Any]],
           finding: MonitorFinding | None) -> list[tuple[str, float, float | None]]:
    strip: list[tuple[str, float, float | None]] = []
    previous = None
    for run in runs:
        if monitor is not None and previous is not None:
            due = monitor.due_after(previous, run["started"])
            if run["started"] > due + monitor.grace:
                strip.append(("missed", due, None))
        strip.append((run["status"], run["started"], run["duration"]))
        previous = run["started"]
    if finding is not None and finding.kind == "missed":
        strip.append(("missed", finding.since or 0.0, None))
    return strip[-STRIP_RUNS:]
