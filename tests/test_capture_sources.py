"""Unhandled errors outside views reach Sentry too: a real Celery worker's task, and a script."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.services import require_redis

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_failing_task_on_a_real_worker_is_captured_with_its_task_context(tracked):
    """A task that raises on a real Celery worker (Redis broker) arrives with its task name and trace."""
    require_redis()
    from celery.contrib.testing.worker import start_worker

    from config.celery import app
    from library.models import Author, Book, Loan
    from library.tasks import send_overdue_reminders

    author = Author.objects.create(name="A")
    book = Book.objects.create(title="B", isbn="isbn-task", author=author)
    Loan.objects.create(book=book, reader="bob", email="", due="2026-01-01")
    previous = dict(app.conf)
    app.conf.update(broker_url="redis://127.0.0.1:6379/13", task_always_eager=False, result_backend=None)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            send_overdue_reminders.delay()
            assert tracked.wait_for(lambda rx: any(
                e.get("exception", {}).get("values", [{}])[-1].get("type") == "ValueError"
                for e in rx.events()), timeout=20)
    finally:
        app.conf.update({k: previous[k] for k in ("broker_url", "task_always_eager", "result_backend")})
    event = next(e for e in tracked.events() if e.get("exception"))
    assert event["transaction"] == "library.tasks.send_overdue_reminders"
    assert event["extra"]["celery-job"]["task_name"] == "library.tasks.send_overdue_reminders"
    assert event["tags"]["celery_task_id"]
    assert event["tags"]["error.category"] == "generic"
    frames = event["exception"]["values"][-1]["stacktrace"]["frames"]
    assert frames[-1]["function"] == "send_overdue_reminders"


def test_an_unhandled_error_in_a_script_is_captured(envelope_receiver, tmp_path):
    """A management script that dies with an exception still sends it before the process exits."""
    env = {**os.environ, "SENTRY_DSN": envelope_receiver.dsn, "SENTRY_PROFILES_SAMPLE_RATE": "0",
           "SENTRY_INBOX_PATH": str(tmp_path / "inbox.sqlite3"), "DATABASE_URL": ""}
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", "raise RuntimeError('catalogue import failed')"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert envelope_receiver.wait_for(lambda rx: any(
        e.get("exception", {}).get("values", [{}])[-1].get("value") == "catalogue import failed"
        for e in rx.events()), timeout=10)
    event = envelope_receiver.events()[-1]
    assert event["level"] == "error" and event["release"] == "muejam-backend@1.0.0"


@pytest.mark.redis
def test_a_queued_task_leaves_a_breadcrumb_with_its_name_queue_and_id_but_no_arguments(tracked):
    """Publishing a task (real Redis broker) records one breadcrumb: task, queue and id; never its args."""
    require_redis()
    import uuid

    import sentry_sdk

    from config.celery import app
    from infrastructure.sentry_config import ErrorTracker

    queue = f"breadcrumb-test-{uuid.uuid4().hex}"
    previous = dict(app.conf)
    app.conf.update(broker_url="redis://127.0.0.1:6379/13", task_always_eager=False, result_backend=None)
    try:
        with sentry_sdk.isolation_scope() as scope:
            scope.clear_breadcrumbs()  # this test's scope starts with none of the earlier tests'
            sent = app.send_task("library.tasks.catalogue_report", args=["s3cr3t-argument"], queue=queue)
            ErrorTracker.capture_message("after queueing")
        sentry_sdk.flush(timeout=5)
        with app.connection_for_write() as connection:
            connection.default_channel.client.delete(queue)
    finally:
        app.conf.update({k: previous[k] for k in ("broker_url", "task_always_eager", "result_backend")})
    assert tracked.wait_for(lambda rx: any(e.get("message") == "after queueing" for e in rx.events()))
    event = next(e for e in tracked.events() if e.get("message") == "after queueing")
    crumbs = [b for b in event["breadcrumbs"]["values"] if b.get("category") == "celery.queued"]
    assert [(b["message"], b["data"]) for b in crumbs] == [
        ("queued library.tasks.catalogue_report",
         {"task": "library.tasks.catalogue_report", "queue": queue, "id": sent.id})]
    assert "s3cr3t-argument" not in str(event["breadcrumbs"])  # (the source line shows it, of course)
