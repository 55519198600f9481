"""Celery delivery with a real worker: the task delivers to the Slack stand-in and retries a 429."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker
from kombu import Queue

import infrastructure.tasks  # registers the shared task with every app
from infrastructure import settings as settings_module
from infrastructure.alerting import build_dispatcher, build_engine
from infrastructure.alerting.counters import MemoryStore
from infrastructure.alerting.dispatch import DELIVER_TASK, RetryPolicy, celery_publisher
from infrastructure.alerting.render import build_alert
from infrastructure.settings import Settings
from tests.support.services import require_redis
from tests.support.slack import SERVER_ERROR, SlackStandIn, rate_limited
from tests.support.smtp import free_port

# Redis as the test broker: a pyamqp worker takes about ten seconds to shut down in start_worker,
# which would dominate the suite; the delivery code does not depend on the transport.
BROKER = "redis://127.0.0.1:6379/14"


def alert() -> dict[str, Any]:
    return build_alert(rule="database_connection", severity="critical", title="Database connection failure",
                       error_type="OperationalError", message="could not connect", environment="test")


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as stand_in:
        yield stand_in


@pytest.fixture
def worker_settings(slack: SlackStandIn) -> Iterator[Settings]:
    """The settings the worker reads through get_settings(): Slack on, pointing at the stand-in."""
    saved = settings_module._current
    current = Settings(slack_alerts_enabled=True, slack_webhook_url=slack.url, email_alerts_enabled=False)
    settings_module.set_settings(current)
    infrastructure.tasks.set_scrub_text(str)
    yield current
    infrastructure.tasks.set_scrub_text(None)
    settings_module._current = saved


@pytest.fixture
def celery_app(worker_settings) -> Iterator[Celery]:
    """A test Celery app on Redis db 14 and a private queue, with a real worker thread consuming it."""
    require_redis()
    queue = f"alerting-test-{uuid.uuid4().hex}"
    app = Celery("alerting-test", broker=BROKER, set_as_current=False)
    app.conf.update(task_default_queue=queue, task_queues=[Queue(queue, auto_delete=True, durable=False)],
                    broker_connection_retry_on_startup=False, worker_hijack_root_logger=False)
    assert DELIVER_TASK in app.tasks
    with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING"):
        yield app
    with app.connection_for_write() as connection:
        client = connection.default_channel.client
        for key in client.scan_iter(f"*{queue}*"):  # the queue and kombu's bindings for it
            client.delete(key)


def test_the_task_delivers_and_retries_a_429_after_retry_after(celery_app, slack):
    """A 429 with Retry-After makes the task retry via countdown; the alert then arrives once."""
    slack.answer(rate_limited(1))
    celery_publisher(app=celery_app)("slack", alert())
    assert slack.wait_for(accepted=1, timeout=30)
    assert len(slack.received) == 2 and len(slack.accepted) == 1
    assert slack.accepted[0]["blocks"][0]["text"]["text"] == "[CRITICAL] OperationalError"


def test_an_engine_with_celery_delivery_pages_through_the_worker(celery_app, slack, worker_settings):
    """A rule firing in the engine is published as a task and delivered by the worker."""
    dispatcher = build_dispatcher(worker_settings, str, publish=celery_publisher(app=celery_app))
    engine = build_engine(worker_settings, scrub_text=str, store=MemoryStore(), dispatcher=dispatcher,
                          install=False)
    tags = {"error.category": "database", "error.kind": "connection"}
    engine.observe_event({"level": "error", "tags": tags,
                          "exception": {"values": [{"type": "OperationalError", "value": "refused"}]}})
    assert engine.flush(10)
    assert slack.wait_for(accepted=1, timeout=30)
    dispatcher.close()


def test_a_dead_broker_falls_back_to_direct_delivery(slack, worker_settings):
    """If the broker cannot take the task, the alert is still delivered, from the process itself."""
    dead = celery_publisher(f"redis://127.0.0.1:{free_port()}/0")
    dispatcher = build_dispatcher(worker_settings, str, publish=dead,
                                  policy=RetryPolicy(attempts=3, base=0.01, jitter=0.0))
    dispatcher.submit(alert())
    assert dispatcher.flush(30)
    assert len(slack.accepted) == 1
    dispatcher.close()


def test_the_task_gives_up_after_bounded_retries(celery_app, slack, monkeypatch):
    """A Slack that keeps failing is retried a bounded number of times, then given up."""
    monkeypatch.setattr(infrastructure.tasks, "POLICY", RetryPolicy(attempts=3, base=0.05, jitter=0.0))
    task = celery_app.tasks[DELIVER_TASK]
    monkeypatch.setattr(task, "max_retries", 2)
    slack.default = SERVER_ERROR
    celery_publisher(app=celery_app)("slack", alert())
    assert slack.wait_for(accepted=0, received=3, timeout=30)
    assert not slack.wait_for(accepted=0, received=4, timeout=1.0)
