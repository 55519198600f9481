"""A short scripted demo run filling a local inbox, its aggregates and its alert spool, for the browser test.

Run as ``python -m tests.browser.fill_demo`` with SENTRY_INBOX_PATH and DATABASE_URL pointing at
throwaway files. It reuses the demo's own set-up (library.demo: tracking re-initialised on the
local inbox, 503 stand-ins for S3, Clerk and Resend, email alerts into memory) and drives the app
over HTTP on a real loopback WSGI server, through the real pipeline.

The project's own wiring fills the figures (the middleware, the query wrapper, the outgoing-call
counts, Celery's signals) and the alert spool (the dispatcher): nothing here stands in for it.
"""

from __future__ import annotations

import os
import re

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
SLOW_DEPTH = 1_500_000  # the popular report's recursion depth that makes its query slow on SQLite
SCRIPT_TITLE = "<script>alert('xss')</script> left in a message"
_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")


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
    from errorwarden import queue_depth
    from infrastructure.sentry_alerts import flush as flush_alerts
    from infrastructure.sentry_config import ErrorTracker
    from library.demo import report, standins
    from library.demo.seed import seed

    call_command("migrate", verbosity=0, skip_checks=True)
    stubs = {name: standins.unavailable_service() for name in ("s3", "clerk", "resend")}
    runtime = report.prepare(stubs, keep_inbox=False)
    settings.S3_ENDPOINT_URL, settings.CLERK_API_URL, settings.RESEND_API_URL = (
        stubs["s3"].url, stubs["clerk"].url, stubs["resend"].url)
    seed()  # on a fresh database: authors 1-10, books 1-30, loan 1
    aggregates = runtime.aggregates
    aggregates.clear()
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
    queue_depth.report(celery_app, [queue])  # the beat task's own code: gauge and figures
    sentry_sdk.flush(timeout=10)
    runtime.alerts.flush_requests()
    flush_alerts(10)
    aggregates.flush()
    print(f"filled {runtime.settings.inbox_path}")


if __name__ == "__main__":
    main()
