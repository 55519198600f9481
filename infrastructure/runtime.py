"""The process's wiring: one scrubber, classifier, alert engine and transport, built from settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from infrastructure.grouping import Classifier
from infrastructure.performance import QueryInstrumentation
from infrastructure.pipeline import FAIL_CLOSED, OBSERVE, SKIP, DropIgnored, Pipeline, PipelineStats, Stage
from infrastructure.scrubbing import Scrubber
from infrastructure.settings import Settings

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
    """Everything init_sentry() built; the SDK calls the before_* members."""

    settings: Settings
    scrubber: Scrubber
    classifier: Classifier
    alerts: Any
    queries: QueryInstrumentation
    transport: Any
    before_send: Pipeline
    before_send_transaction: Pipeline
    before_breadcrumb: Pipeline
    before_send_log: Pipeline
    before_send_metric: Pipeline
    stats: PipelineStats

    def observe_request(self, failed: bool) -> None:
        """Count one finished request for the error-rate rule."""
        self.alerts.observe_request(failed)


_runtime: Runtime | None = None


def current_runtime() -> Runtime | None:
    """The runtime built by the last init_sentry(), if any."""
    return _runtime


def build_runtime(settings: Settings) -> Runtime:
    """Validate and precompile every step for these settings, and make it the process's runtime."""
    global _runtime
    from infrastructure.alerting import build_engine
    from infrastructure.delivery import transport_for as outbox_transport_for
    from infrastructure.local import transport_for
    from infrastructure.trimming import TrimToSize

    stats = PipelineStats()
    scrubber = Scrubber(extra_keys=settings.scrub_extra_keys, safe_keys=settings.scrub_safe_keys)
    classifier = Classifier(settings.service_hosts, settings.grouping_rules)
    alerts = build_engine(settings, scrub_text=scrubber.scrub_text)
    ignored = DropIgnored(DEFAULT_IGNORED + settings.ignore_errors)
    trim = TrimToSize()

    def scrub(event: dict, hint: dict) -> dict:
        return scrubber.scrub_event(event)

    def observe(event: dict, hint: dict) -> None:
        alerts.observe_event(event)

    before_send = Pipeline([
        Stage("ignore", ignored, SKIP),
        Stage("trim", trim, SKIP),
        Stage("scrub", scrub, FAIL_CLOSED),
        Stage("classify", classifier, SKIP),
        Stage("alert", observe, OBSERVE),
    ], stats)
    before_send_transaction = Pipeline([Stage("trim", trim, SKIP), Stage("scrub", scrub, FAIL_CLOSED)], stats)
    runtime = Runtime(
        settings=settings, scrubber=scrubber, classifier=classifier, alerts=alerts,
        queries=QueryInstrumentation(settings.slow_query_ms, settings.n_plus_one_threshold),
        transport=outbox_transport_for(settings) if settings.dsn else transport_for(settings),
        before_send=before_send, before_send_transaction=before_send_transaction,
        before_breadcrumb=Pipeline([Stage("scrub_breadcrumb",
                                          lambda item, hint: scrubber.scrub_breadcrumb(item),
                                          FAIL_CLOSED)], stats),
        before_send_log=Pipeline([Stage("scrub_log", lambda item, hint: scrubber.scrub_log(item),
                                        FAIL_CLOSED)], stats),
        before_send_metric=Pipeline([Stage("scrub_metric", lambda item, hint: scrubber.scrub_value(item),
                                           FAIL_CLOSED)], stats),
        stats=stats,
    )
    runtime.queries.activate()
    _runtime = runtime
    return runtime

