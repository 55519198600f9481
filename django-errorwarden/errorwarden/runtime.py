"""The process's one registry: settings, pipelines, alert engine, query instrumentation, transport.

`install(settings)` builds everything for these settings and makes it current, closing what it
replaces; `reset()` closes it and leaves nothing installed. `current_runtime()` is the only way
any part of the system finds another: there is no other process-wide state.
"""

from __future__ import annotations

import atexit
import importlib.util
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from sentry_sdk.transport import Transport

from errorwarden.alerting import AlertEngine, build_engine
from errorwarden.grouping import Classifier
from errorwarden.local.aggregates import Aggregates
from errorwarden.performance import QueryInstrumentation
from errorwarden.pipeline import FAIL_CLOSED, OBSERVE, SKIP, DropIgnored, Pipeline, PipelineStats, Stage
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
    stats: PipelineStats
    traces_sampler: TracesSampler
    aggregates: Aggregates | None = None  # the local performance figures (no DSN only)

    def observe_request(self, failed: bool) -> None:
        """Count one finished request for the error-rate rule; never raises."""
        self.stats.guard("observe_request", self.alerts.observe_request, failed)

    def flush(self, timeout: float = 5.0) -> bool:
        """Judge pending request counts and wait up to `timeout` s for queued alerts; never raises."""
        return bool(self.stats.guard("flush_alerts", self.alerts.flush, timeout, default=False))

    def close(self, timeout: float = 1.0) -> None:
        """Let queued alerts finish briefly, then stop background work; never raises."""
        self.flush(timeout)
        self.stats.guard("close_alerts", self.alerts.close)
        if self.aggregates is not None:
            self.stats.guard("close_aggregates", self.aggregates.close)


def build(settings: Settings, **parts: Any) -> Runtime:
    """Validate and precompile every step for these settings (not installed).

    `parts` replace built members, e.g. `alerts=` or `transport=` in tests and benchmarks.
    """
    from errorwarden.trimming import TrimToSize

    stats = PipelineStats()
    scrubber = parts.pop("scrubber", None) or Scrubber(extra_keys=settings.scrub_extra_keys,
                                                       safe_keys=settings.scrub_safe_keys,
                                                       engine=settings.scrub_engine)
    classifier = Classifier(settings.service_hosts, settings.grouping_rules)
    alerts = parts.pop("alerts", None) or build_engine(settings, scrub_text=scrubber.scrub_text)
    # DRF's expected answers are ignored where DRF is installed; a project without it has none.
    defaults = tuple(p for p in DEFAULT_IGNORED if importlib.util.find_spec(p.split(".")[0]) is not None)
    ignored = DropIgnored(defaults + settings.ignore_errors)
    trim = TrimToSize()  # before the scrub: a 20 MB local must not be scanned to be thrown away

    def scrub(event: dict, hint: dict) -> dict:
        return scrubber.scrub_event(event)

    def one(name: str, step: Any) -> Pipeline:
        return Pipeline([Stage(name, lambda item, hint: step(item), FAIL_CLOSED)], stats)

    values: dict[str, Any] = dict(
        settings=settings, scrubber=scrubber, classifier=classifier, alerts=alerts,
        queries=QueryInstrumentation(settings.slow_query_ms, settings.n_plus_one_threshold),
        transport=_outbox(settings) if settings.dsn else _inbox_transport(settings),
        before_send=Pipeline([
            Stage("ignore", ignored, SKIP),
            Stage("trim", trim, SKIP),
            Stage("scrub", scrub, FAIL_CLOSED),
            Stage("classify", classifier, SKIP),
            Stage("alert", alerts.observe_event, OBSERVE),
        ], stats),
        before_send_transaction=Pipeline([Stage("trim", trim, SKIP), Stage("scrub", scrub, FAIL_CLOSED),
                                          Stage("span_services", SpanServices(settings.service_hosts), SKIP)],
                                         stats),
        before_breadcrumb=one("scrub_breadcrumb", scrubber.scrub_breadcrumb),
        before_send_log=one("scrub_log", scrubber.scrub_log),
        before_send_metric=one("scrub_metric", scrubber.scrub_value),
        stats=stats,
        traces_sampler=TracesSampler(settings.traces_sample_rate, settings.traces_sample_rules),
        aggregates=Aggregates.for_inbox(settings.inbox_path) if settings.local_inbox else None,
    )
    values.update(parts)
    return Runtime(**values)


def _inbox_transport(settings: Settings) -> Transport:
    """The local inbox transport, also keeping profile chunks and logs (errorwarden/local/extras.py)."""
    from errorwarden.local import transport_for
    from errorwarden.local.extras import ExtrasStore, keep_extras

    return keep_extras(transport_for(settings), ExtrasStore(settings.inbox_path))


def _outbox(settings: Settings) -> Transport:
    """With a DSN: sentry-sdk's HTTP transport that spools what Sentry cannot take (the outbox)."""
    from errorwarden.delivery import transport_for as outbox_transport_for

    return outbox_transport_for(settings, {"shutdown_timeout": settings.shutdown_timeout})


_lock = threading.Lock()
_runtime: Runtime | None = None
_exit_hook = False


def install(settings: Settings, **parts: Any) -> Runtime:
    """Build a runtime for these settings, make it current, and close the one it replaces."""
    global _runtime, _exit_hook
    runtime = build(settings, **parts)
    if runtime.aggregates is not None:
        from errorwarden import outgoing

        outgoing.install(settings.service_hosts)
    with _lock:
        previous, _runtime = _runtime, runtime
        if not _exit_hook:
            atexit.register(_at_exit)
            _exit_hook = True
    if previous is not None:
        previous.close()
    return runtime


def reset() -> None:
    """Close the current runtime and leave none installed (tests)."""
    global _runtime
    with _lock:
        previous, _runtime = _runtime, None
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


_task_starts: dict[str, float] = {}


def task_started(task_id: str | None = None, **kwargs: Any) -> None:
    """celery task_prerun: collect the task's queries like a request's, and time it."""
    runtime = _runtime
    if runtime is not None and task_id:
        runtime.queries.task_started(task_id)
        _task_starts[task_id] = time.perf_counter()


def task_finished(task_id: str | None = None, task: Any = None, state: str | None = None,
                  **kwargs: Any) -> None:
    """celery task_postrun: annotate the task's transaction (still open here) and count its run."""
    runtime = _runtime
    started = _task_starts.pop(task_id, None) if task_id else None
    if runtime is None or not task_id:
        return
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
