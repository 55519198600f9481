"""A short scripted demo run that fills a local inbox, its aggregates and its alert log, for the browser test.

Run as ``python -m tests.browser.fill_demo`` with SENTRY_INBOX_PATH and DATABASE_URL pointing at
throwaway files. It reuses the demo's own set-up (library.demo: tracking re-initialised on the
local inbox, 503 stand-ins for S3, Clerk and Resend, email alerts into memory) and drives the app
over HTTP on a real loopback WSGI server, through the real pipeline.

Until the project wires the aggregates and the alert log itself (middleware, query
instrumentation, service spans, Celery signals, alert delivery), FeedAggregates, _timed_services,
_timed_tasks and _logged_alerts feed them from this process the way that wiring will; they stay
off once the runtime carries its own `aggregates`.
"""

from __future__ import annotations

import os
import re
import time
from collections import Counter
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
SLOW_DEPTH = 1_500_000  # the popular report's recursion depth that makes its query slow on SQLite
SCRIPT_TITLE = "<script>alert('xss')</script> left in a message"
_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")


def route_of(request: Any) -> str:
    """The request's route pattern as the traces name it: /api/books/{pk}/."""
    match = getattr(request, "resolver_match", None)
    return "/" + _CONVERTER.sub(r"{\1}", match.route) if match is not None else "<unmatched>"


class QueryCounter:
    """An execute wrapper counting slow statements and repeated SELECT shapes of one request."""

    def __init__(self, slow_ms: float, threshold: int):
        self.slow_ms, self.threshold = slow_ms, threshold
        self.slow, self.shapes = 0, Counter()

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.slow += (time.perf_counter() - started) * 1000 >= self.slow_ms
            self.shapes[sql] += 1

    def n_plus_one(self) -> int:
        """How many SELECT shapes repeated at least the threshold number of times."""
        return sum(1 for sql, n in self.shapes.items()
                   if n >= self.threshold and sql.lstrip()[:6].upper() == "SELECT")


class FeedAggregates:
    """Stand-in middleware: one observe_request per request with its route, time and query findings."""

    aggregates: Any = None

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.conf import settings
        from django.db import connection

        counter = QueryCounter(settings.SENTRY.slow_query_ms, settings.SENTRY.n_plus_one_threshold)
        started, failed = time.perf_counter(), True
        try:
            with connection.execute_wrapper(counter):
                response = self.get_response(request)
            failed = response.status_code >= 500
            return response
        finally:
            if self.aggregates is not None:
                self.aggregates.observe_request(route_of(request), (time.perf_counter() - started) * 1000,
                                                failed, counter.slow, counter.n_plus_one())


def _timed_services(aggregates: Any) -> None:
    """Wrap the library's three service clients so each call is observed under its service."""
    from library import services

    for name, function in (("s3", "upload_cover"), ("clerk", "verify_session"), ("resend", "send_email")):
        original = getattr(services, function)

        def timed(*args, _original=original, _name=name, **kwargs):
            started, failed = time.perf_counter(), True
            try:
                result = _original(*args, **kwargs)
                failed = False
                return result
            finally:
                aggregates.observe_service(_name, (time.perf_counter() - started) * 1000, failed)

        setattr(services, function, timed)


def _timed_tasks(aggregates: Any) -> None:
    from celery import signals

    started: dict[str, float] = {}
    signals.task_prerun.connect(lambda task_id=None, **kw: started.__setitem__(task_id, time.perf_counter()),
                                weak=False)

    def finished(task_id=None, task=None, state=None, **kw):
        begun = started.pop(task_id, None)
        if begun is not None:
            aggregates.observe_task(task.name, (time.perf_counter() - begun) * 1000, state != "SUCCESS")

    signals.task_postrun.connect(finished, weak=False)


def _traffic(base: str) -> None:
    import requests

    from library.auth import issue_token

    http = requests.Session()
    calls = [("GET", "/api/books/", {})] * 10 + [("GET", f"/api/books/{pk}/", {}) for pk in (1, 2, 3)]
    calls += [("GET", "/api/books/?naive=1", {})] * 2
    calls += [("GET", f"/api/reports/popular/?depth={SLOW_DEPTH}", {})] * 2
    calls += [("GET", f"/api/orders/{n}/", {}) for n in range(1000, 1012)]  # a critical burst
    calls += [("POST", "/api/books/1/cover/", {"data": b"\xff\xd8jpeg"}),
              ("POST", "/api/auth/verify/", {"json": {"token": "sess_2abc"}}),
              ("POST", "/api/loans/1/remind/", {}),
              ("GET", "/api/me/", {"headers": {"Authorization": "Bearer forged.token"}}),
              ("GET", "/api/me/", {"headers": {"Authorization": f"Bearer {issue_token('alice')}"}}),
              ("POST", "/api/tasks/reminders/", {})]
    for method, path, options in calls:
        http.request(method, base + path, timeout=30, **options)


def main() -> None:
    """Migrate, seed, drive the app, write the figures, and print the slow route's name."""
    django.setup()
    import sentry_sdk
    from django.conf import settings
    from django.core.management import call_command

    from config.celery import app as celery_app
    from infrastructure import queue_depth
    from infrastructure.local.aggregates import Aggregates
    from infrastructure.sentry_alerts import flush as flush_alerts
    from infrastructure.sentry_config import ErrorTracker
    from library.demo import report, standins
    from library.management.commands.demo import _seed

    call_command("migrate", verbosity=0, skip_checks=True)
    stubs = {name: standins.unavailable_service() for name in ("s3", "clerk", "resend")}
    runtime = report.prepare(stubs, keep_inbox=False)
    settings.S3_ENDPOINT_URL, settings.CLERK_API_URL, settings.RESEND_API_URL = (
        stubs["s3"].url, stubs["clerk"].url, stubs["resend"].url)
    _seed()
    aggregates = Aggregates.for_inbox(runtime.settings.inbox_path)
    aggregates.clear()
    if getattr(runtime, "aggregates", None) is None:  # the project's own wiring replaces this
        settings.MIDDLEWARE = [settings.MIDDLEWARE[0], f"{__name__}.FeedAggregates", *settings.MIDDLEWARE[1:]]
        FeedAggregates.aggregates = aggregates
        _timed_services(aggregates)
        _timed_tasks(aggregates)
    from django.core.wsgi import get_wsgi_application

    server = standins.wsgi_server(get_wsgi_application())
    try:
        _traffic(server.url)
    finally:
        server.stop()
        for stub in stubs.values():
            stub.stop()
    ErrorTracker.capture_message(SCRIPT_TITLE, level="warning")
    queue = f"dashboard-demo-{os.getpid()}"
    for _ in range(4):
        celery_app.send_task("library.tasks.catalogue_report", queue=queue)
    for name, depth in queue_depth.measure(celery_app, [queue]).items():
        aggregates.observe_queue_depth(name, depth)
    sentry_sdk.flush(timeout=10)
    runtime.alerts.flush_requests()
    flush_alerts(10)
    aggregates.close()
    print(f"filled {runtime.settings.inbox_path}")


if __name__ == "__main__":
    main()
