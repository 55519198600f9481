"""The process's one registry: settings, pipelines, alert engine, query instrumentation, transport.

`install(settings)` builds everything for these settings and makes it current, closing what it
replaces; `reset()` closes it and leaves nothing installed. `current_runtime()` is the only way
any part of the system finds another: there is no other process-wide state (the few reviewed
exceptions are listed, with their reasons, in tests/test_import_side_effects.py). Importing a
module of the app sets nothing up; the process hooks (the exit flush, the outgoing-call
wrappers) are set up by `install()` and undone by `reset()`, and that test fails on module-level
state or import-time registration anywhere else.
"""

from __future__ import annotations

import atexit
import importlib.util
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from sentry_sdk.transport import Transport

from errorwarden.alerting import AlertEngine, build_engine, retry_policy
from errorwarden.alerting.retry import OutageLog, RetryPolicy
from errorwarden.delivery.sampler import Pins
from errorwarden.grouping import Classifier
from errorwarden.local.aggregates import Aggregates
from errorwarden.losses import LossLedger
from errorwarden.outgoing import OutgoingCalls
from errorwarden.pipeline import (
    FAIL_CLOSED,
    OBSERVE,
    SKIP,
    DropIgnored,
    NeverRaising,
    Pipeline,
    PipelineStats,
    Stage,
)
from errorwarden.queries import QueryInstrumentation
from errorwarden.scrubbing import Scrubber
from errorwarden.settings import Settings
from errorwarden.tracing import SpanServices, TracesSampler

# Expected errors that are answers, not faults. SENTRY_IGNORE_ERRORS extends this list.
DEFAULT_IGNORED = (
    "django.http.response.Http404",
    "rest_framework.exceptions.NotFound",
    "rest_framework.exceptions.MethodNotAllowed",
    "rest_framework.exceptions.NotAcceptable",
    "rest_framework.exceptions.UnsupportedMediaType",
    "django.core.exceptions.DisallowedHost",
    "django.http.request.UnreadablePostError",
)


@dataclass
class Runtime:
    """Everything built for one set of settings; the SDK calls the before_* members."""

    settings: Settings
    scrubber: Scrubber
    classifier: Classifier
    alerts: AlertEngine
    queries: QueryInstrumentation
    transport: Transport | None
    before_send: Pipeline
    before_send_transaction: Pipeline
    before_breadcrumb: Pipeline
    before_send_log: Pipeline
    before_send_metric: Pipeline
    before_send_span: NeverRaising
    stats: PipelineStats  # the pipelines' view of `losses` (kind "pipeline")
    traces_sampler: TracesSampler
    task_policy: RetryPolicy
    aggregates: Aggregates | None = None  # the local performance figures (no DSN only)
    outgoing: OutgoingCalls | None = None  # wraps urllib3/httpx while installed (aggregates only)
    monitors: Any = None  # the beat monitors' detector (errorwarden/monitors.py), when enabled
    # What was dropped, spooled or failed, by kind and reason: the pipelines, the outbox, the alert
    # channels, the inbox and the aggregates all count here (errorwarden/losses.py).
    losses: LossLedger = field(default_factory=LossLedger)
    # The events an alert names, which the transport's storm sampler keeps (delivery/sampler.py).
    pins: Pins = field(default_factory=Pins)
    ignored: DropIgnored | None = None  # the ignore step: its dotted paths resolve in the app's ready()
    # Per-process bookkeeping that used to sit in module globals: Celery task start times by task
    # id, and each alert channel's outage log ("task:slack" for the Celery task, "sync:slack" for
    # the spec's notifiers), which counts in `losses`.
    task_starts: dict[str, float] = field(default_factory=dict)
    outages: dict[str, OutageLog] = field(default_factory=dict)
    # The beat monitors' per-process state (errorwarden/monitors.py): tagged runs in progress in
    # this worker by task id, and in a beat process its scheduler. Both outlive a re-initialisation
    # (install() hands them on): a run that started under the old runtime still finishes.
    monitor_runs: dict[str, Any] = field(default_factory=dict)
    beat_scheduler: Any = None

    def outage(self, key: str, channel: str) -> OutageLog:
        """The outage log of one channel seen from one sender (created on first use)."""
        return self.outages.setdefault(key, OutageLog(channel, self.losses))

    def start(self) -> None:
        """Set up what this runtime does to the process (the outgoing-call wrappers, the beat
        monitors' detector); never raises."""
        if self.outgoing is not None:
            self.stats.guard("install_outgoing", self.outgoing.install)
        if self.monitors is not None:
            self.stats.guard("start_monitors", self.monitors.start)

    def flush_aggregates(self) -> None:
        """Write this process's pending local figures now (the dashboard, exit); never raises."""
        if self.aggregates is not None:
            self.stats.guard("flush_aggregates", self.aggregates.flush)

    def observe_request(self, failed: bool) -> None:
        """Count one finished request for the error-rate rule; never raises."""
        self.stats.guard("observe_request", self.alerts.observe_request, failed)
        if self.monitors is not None:
            self.monitors.start()  # cheap when running; a forked web worker starts its own

    def flush(self, timeout: float = 5.0) -> bool:
        """Judge pending request counts and wait up to `timeout` s for queued alerts; never raises."""
        return bool(self.stats.guard("flush_alerts", self.alerts.flush, timeout, default=False))

    def close(self, timeout: float = 1.0) -> None:
        """Undo start(), let queued alerts finish briefly, then stop background work; never raises."""
        if self.outgoing is not None:
            self.stats.guard("remove_outgoing", self.outgoing.remove)
        self.flush(timeout)
        self.stats.guard("close_alerts", self.alerts.close)
        if self.aggregates is not None:
            self.stats.guard("close_aggregates", self.aggregates.close)
        if self.monitors is not None:
            self.stats.guard("close_monitors", self.monitors.close)
        self.stats.guard("report_losses", self.losses.report)


def build(settings: Settings, **parts: Any) -> Runtime:
    """Validate and precompile every step for these settings (not installed).

    `parts` replace built members by name, e.g. `alerts=` or `transport=` in tests and
    benchmarks; a member given is never built (no outbox file opened, no SDK shape check for a
    given transport, no monitor thread for given monitors), and an unknown name is a TypeError.
    """
    from dataclasses import fields

    from errorwarden.logs import quiet_own_loggers
    from errorwarden.trimming import STRING_CAP, TrimToSize

    quiet_own_loggers()  # the app's own warnings stay log lines (errorwarden/logs.py says why)

    unknown = set(parts) - {f.name for f in fields(Runtime)}
    if unknown:
        raise TypeError(f"build() got unknown part(s): {', '.join(sorted(unknown))}")

    def part(name: str, make: Any) -> Any:
        return parts[name] if name in parts else make()

    losses = part("losses", LossLedger)
    pins = part("pins", Pins)
    stats = part("stats", lambda: PipelineStats(losses))
    scrubber = part("scrubber", lambda: Scrubber(extra_keys=settings.scrub_extra_keys,
                                                 safe_keys=settings.scrub_safe_keys,
                                                 engine=settings.scrub_engine,
                                                 cache_dir=settings.scrub_cache_dir))
    classifier = part("classifier", lambda: Classifier(settings.service_hosts, settings.grouping_rules))
    alerts = part("alerts", lambda: build_engine(settings, scrub_text=scrubber.scrub_text,
                                                 losses=losses, pins=pins))
    # DRF's expected answers are ignored where DRF is installed; a project without it has none.
    ignored = part("ignored", lambda: DropIgnored(tuple(
        p for p in DEFAULT_IGNORED if importlib.util.find_spec(p.split(".")[0]) is not None)
        + settings.ignore_errors))
    # Before the scrub: a 20 MB local must not be scanned to be thrown away, and no string the
    # scrub reads is over STRING_CAP characters (the SDK's max_value_length is left unset).
    trim = TrimToSize(max_string=STRING_CAP)

    def scrub(event: dict, hint: dict) -> dict:
        if hint.get("attachments"):
            # An attachment is bytes of any format, which no scrub can vouch for: it is not sent.
            # (sentry-sdk reads the list back from this hint after before_send.)
            hint["attachments"] = []
            stats.record_drop("attachments")
        return scrubber.scrub_event(event)

    def one(name: str, step: Any) -> Pipeline:
        return Pipeline([Stage(name, lambda item, hint: step(item), FAIL_CLOSED)], stats)

    makers: dict[str, Any] = dict(
        queries=lambda: QueryInstrumentation(settings.slow_query_ms, settings.n_plus_one_threshold),
        transport=lambda: (_outbox(settings, losses, pins) if settings.dsn
                           else _inbox_transport(settings, losses, pins)),
        before_send=lambda: Pipeline([
            Stage("ignore", ignored, SKIP),
            Stage("trim", trim, SKIP),
            Stage("scrub", scrub, FAIL_CLOSED),
            Stage("classify", _not_check_ins(classifier), SKIP),
            Stage("alert", _not_check_ins(alerts.observe_event), OBSERVE),
        ], stats),
        before_send_transaction=lambda: Pipeline([
            Stage("trim", trim, SKIP), Stage("scrub", scrub, FAIL_CLOSED),
            Stage("span_services", SpanServices(settings.service_hosts), SKIP)], stats),
        before_breadcrumb=lambda: one("scrub_breadcrumb", scrubber.scrub_breadcrumb),
        before_send_log=lambda: one("scrub_log", scrubber.scrub_log),
        before_send_metric=lambda: one("scrub_metric", scrubber.scrub_value),
        before_send_span=lambda: NeverRaising("scrub_span", scrubber.scrub_streamed_span, stats),
        traces_sampler=lambda: TracesSampler(settings.traces_sample_rate, settings.traces_sample_rules),
        task_policy=lambda: retry_policy(settings),
        # The silence watch reads the per-minute figures, so naming one keeps them with a DSN too.
        aggregates=lambda: Aggregates.for_inbox(settings.inbox_path, losses=losses)
        if settings.local_inbox or (settings.silence_watch and settings.monitors_enabled) else None,
        outgoing=lambda: OutgoingCalls(settings.service_hosts)
        if settings.local_inbox and settings.measure_outgoing else None,
    )
    values: dict[str, Any] = {**parts, "settings": settings, "scrubber": scrubber, "classifier": classifier,
                              "alerts": alerts, "stats": stats, "losses": losses, "ignored": ignored,
                              "pins": pins}
    values.update({name: make() for name, make in makers.items() if name not in parts})
    runtime = Runtime(**values)
    if settings.monitors_enabled and "monitors" not in parts:
        runtime.monitors = _monitor_watch(settings, runtime)
    return runtime


def _monitor_watch(settings: Settings, runtime: Runtime) -> Any:
    """The beat monitors' detector; its findings go to this runtime's alert engine."""
    import sys

    from errorwarden.monitors import MonitorWatch, build_ledger

    app = None
    if "celery" in sys.modules:  # the project's Celery app, current when settings.py calls init_sentry()
        from celery import current_app

        app = current_app._get_current_object()
    return MonitorWatch(settings, build_ledger(settings),
                        lambda finding: runtime.stats.guard("monitor_finding", runtime.alerts.observe_monitor,
                                                            finding), app=app, aggregates=runtime.aggregates)


def _not_check_ins(step: Any) -> Any:
    """A cron check-in passes before_send too: scrubbed, but it is no error to group or alert on."""
    def run(event: dict, hint: dict) -> Any:
        return event if event.get("type") == "check_in" else step(event, hint)

    return run


def _inbox_transport(settings: Settings, losses: LossLedger, pins: Pins) -> Transport:
    """The local inbox transport, also keeping profile chunks and logs (errorwarden/local/extras.py)."""
    from errorwarden.local import inbox_transport_for
    from errorwarden.local.extras import ExtrasStore, keep_extras

    return keep_extras(inbox_transport_for(settings, losses, pins), ExtrasStore(settings.inbox_path))


def _outbox(settings: Settings, losses: LossLedger, pins: Pins) -> Transport | None:
    """With a DSN: sentry-sdk's HTTP transport that spools what Sentry cannot take (the outbox).

    The outbox reaches into sentry-sdk through errorwarden.sdk only; when the installed SDK does not
    have the shape that seam relies on, one ERROR names the member(s) and the supported range, and
    None lets sentry_sdk.init build its own HttpTransport: events still go out, scrubbed, unspooled.
    """
    from errorwarden import sdk
    from errorwarden.delivery import outbox_transport_for

    problems = sdk.check()
    if problems:
        sdk.report(problems)
        return None
    return outbox_transport_for(settings, {"shutdown_timeout": settings.shutdown_timeout}, losses=losses,
                                pins=pins)


_lock = threading.Lock()
_runtime: Runtime | None = None
_exit_hook = False


def install(settings: Settings, **parts: Any) -> Runtime:
    """Build a runtime for these settings, make it current, and close the one it replaces.

    The replaced runtime is closed (its wrappers removed) before the new one starts, so
    re-initialising never stacks one wrapper on another.
    """
    global _runtime, _exit_hook
    runtime = build(settings, **parts)
    with _lock:
        previous, _runtime = _runtime, runtime
        if not _exit_hook:
            atexit.register(_at_exit)
            _exit_hook = True
    if previous is not None:
        runtime.monitor_runs.update(previous.monitor_runs)
        runtime.beat_scheduler = runtime.beat_scheduler or previous.beat_scheduler
        previous.close()
    runtime.start()
    return runtime


def reset() -> None:
    """Close the current runtime and undo every process hook install() set up (tests)."""
    global _runtime, _exit_hook
    with _lock:
        previous, _runtime = _runtime, None
        if _exit_hook:
            atexit.unregister(_at_exit)
            _exit_hook = False
    if previous is not None:
        previous.close()


def current_runtime() -> Runtime | None:
    """The installed runtime, if init_sentry() has run."""
    return _runtime


def require_runtime() -> Runtime:
    """The installed runtime; ImproperlyConfigured when init_sentry() has not run."""
    runtime = _runtime
    if runtime is None:
        raise ImproperlyConfigured("Error tracking is not initialised: call "
                                   "errorwarden.sentry_config.init_sentry() at the end of settings.py.")
    return runtime


def _at_exit() -> None:
    # The spool keeps what is not delivered by then for the next process, so exit waits no longer
    # for alerts than sentry-sdk waits for events (SENTRY_SHUTDOWN_TIMEOUT_SECONDS).
    runtime = _runtime
    if runtime is not None:
        runtime.flush_aggregates()
        runtime.flush(runtime.settings.shutdown_timeout)


def execute_wrapper(execute, sql, params, many, context):
    """Installed once per database connection; times the statement with the current runtime.

    Connections outlive a re-initialisation, so they hold this lookup rather than one
    QueryInstrumentation whose thresholds could go stale.
    """
    runtime = _runtime
    if runtime is None:
        return execute(sql, params, many, context)
    return runtime.queries(execute, sql, params, many, context)


def task_started(task_id: str | None = None, **kwargs: Any) -> None:
    """celery task_prerun: collect the task's queries like a request's, and time it."""
    runtime = _runtime
    if runtime is not None and task_id:
        runtime.queries.task_started(task_id)
        runtime.task_starts[task_id] = time.perf_counter()


def task_finished(task_id: str | None = None, task: Any = None, state: str | None = None,
                  **kwargs: Any) -> None:
    """celery task_postrun: annotate the task's transaction (still open here) and count its run."""
    runtime = _runtime
    if runtime is None or not task_id:
        return
    started = runtime.task_starts.pop(task_id, None)
    runtime.queries.task_finished(task_id)
    if runtime.aggregates is not None and started is not None:
        name = str(getattr(task, "name", task))
        runtime.stats.guard("aggregate_task", runtime.aggregates.observe_task, name,
                            (time.perf_counter() - started) * 1000.0, state not in (None, "SUCCESS"))


def observe_service(service: str, duration_ms: float, failed: bool) -> None:
    """One outgoing call's latency and outcome for the local aggregates (errorwarden/outgoing.py)."""
    runtime = _runtime
    if runtime is not None and runtime.aggregates is not None:
        runtime.stats.guard("aggregate_service", runtime.aggregates.observe_service, service, duration_ms,
                            failed)
