"""Celery delivery with a real worker on Redis and on RabbitMQ: the task delivers and retries a 429."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from celery import Celery, bootsteps, current_app
from celery.contrib.testing.worker import TestWorkController, start_worker
from celery.signals import task_postrun, task_received
from kombu import Exchange, Queue

import errorwarden.tasks
from errorwarden.alerting import build_dispatcher, build_engine
from errorwarden.alerting.alert_queue import AlertSpool
from errorwarden.alerting.counters import MemoryStore
from errorwarden.alerting.dispatch import DELIVER_TASK, celery_publisher
from errorwarden.alerting.render import build_alert
from errorwarden.alerting.retry import RetryPolicy
from errorwarden.event import VERDICT
from errorwarden.grouping import Verdict
from errorwarden.runtime import require_runtime
from errorwarden.settings import Settings
from tests.support.services import require_rabbitmq, require_redis
from tests.support.slack import SERVER_ERROR, SlackStandIn, rate_limited
from tests.support.smtp import free_port

# Each worker test runs once per broker the project supports; each param requires its service
# (a skip on a laptop, a failure under CI=true). Redis uses db 14; RabbitMQ the default vhost.
BROKERS = {
    "redis": ("redis://127.0.0.1:6379/14", require_redis),
    "rabbitmq": ("amqp://guest:guest@127.0.0.1:5672//", require_rabbitmq),
}


def alert() -> dict[str, Any]:
    return build_alert(rule="database_connection", severity="critical", title="Database connection failure",
                       error_type="OperationalError", message="could not connect", environment="test",
                       scrub=None)


class TaskRuns:
    """The delivery task's trips through the worker, recorded from Celery's signals in the worker thread.

    `received` holds (task id, worker node name, queue) for each message the worker's consumer took
    off the broker: task_received is sent by the consumer only, never in eager mode. `runs` holds
    (task id, state, result) for each execution; a retry's result is the name of its exception.
    """

    def __init__(self) -> None:
        self.received: list[tuple[str, str, str]] = []
        self.runs: list[tuple[str, str, Any]] = []
        self._cond = threading.Condition()

    def on_received(self, sender: Any = None, request: Any = None, **_: Any) -> None:
        if request.name == DELIVER_TASK:
            with self._cond:
                self.received.append((request.id, request.hostname, request.delivery_info.get("routing_key")))
                self._cond.notify_all()

    def on_postrun(self, sender: Any = None, task_id: str = "", state: str = "", retval: Any = None,
                   **_: Any) -> None:
        if getattr(sender, "name", None) == DELIVER_TASK:
            result = retval if isinstance(retval, bool) else type(retval).__name__
            with self._cond:
                self.runs.append((task_id, state, result))
                self._cond.notify_all()

    def wait_for(self, runs: int, timeout: float = 30.0) -> bool:
        """Wait until at least `runs` executions finished."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self.runs) >= runs, timeout)


class WakeUp(bootsteps.StartStopStep):
    """Wakes the worker's event loop every 0.1 s, so it sees start_worker's stop request at once.

    Without a timer due sooner, kombu's hub polls for up to ten seconds: a pyamqp worker then
    outlives start_worker's shutdown_timeout and the fixture fails at teardown.
    """

    def start(self, c: Any) -> None:
        if c.hub is not None:
            c.hub.call_repeatedly(0.1, lambda: None)


def via_worker(task_id: str, worker: TestWorkController) -> tuple[str, str, str]:
    """What `received` holds for a task the worker took off its private queue."""
    return task_id, worker.hostname, worker.app.conf.task_default_queue


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as stand_in:
        yield stand_in


@pytest.fixture
def worker_settings(slack: SlackStandIn, error_tracking) -> Settings:
    """The worker thread's runtime (this process's): Slack on, pointing at the stand-in."""
    return error_tracking(slack_alerts_enabled=True, slack_webhook_url=slack.url,
                          email_alerts_enabled=False).settings


@pytest.fixture(params=[pytest.param("redis", marks=pytest.mark.redis),
                        pytest.param("rabbitmq", marks=pytest.mark.rabbitmq)])
def broker(request: pytest.FixtureRequest) -> str:
    """The broker URL for this param, once its service is known to be up."""
    url, require = BROKERS[request.param]
    require()
    return url


@pytest.fixture
def task_runs() -> Iterator[TaskRuns]:
    """Records delivery-task runs; connected before the worker starts, disconnected after it stops."""
    runs = TaskRuns()
    task_received.connect(runs.on_received, weak=False)
    task_postrun.connect(runs.on_postrun, weak=False)
    yield runs
    task_postrun.disconnect(runs.on_postrun)
    task_received.disconnect(runs.on_received)


@pytest.fixture
def celery_worker(broker: str, worker_settings, task_runs) -> Iterator[TestWorkController]:
    """A real worker thread consuming a private, per-run queue on the broker; the queue is deleted after."""
    queue = f"alerting-test-{uuid.uuid4().hex}"
    app = Celery("alerting-test", broker=broker, set_as_current=False)
    app.conf.update(task_default_queue=queue, task_queues=[Queue(queue, auto_delete=True, durable=False)],
                    broker_connection_retry_on_startup=False, worker_hijack_root_logger=False,
                    worker_enable_remote_control=False)  # no pidbox queue and exchange to leave behind
    app.steps["consumer"].add(WakeUp)
    assert DELIVER_TASK in app.tasks
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING") as worker:
            yield worker
    finally:
        delete_queue(app, queue)


def delete_queue(app: Celery, queue: str) -> None:
    """Remove the run's queue, anything left in it, and the exchange Celery declared for it."""
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        if connection.transport.driver_type == "redis":
            for key in channel.client.scan_iter(f"*{queue}*"):  # the queue and kombu's bindings for it
                channel.client.delete(key)
            return
        # RabbitMQ drops an auto_delete queue with its last consumer; delete it anyway (idempotent),
        # and the durable direct exchange named after it, which would otherwise outlive the run.
        channel.queue_delete(queue)
        Exchange(queue).bind(channel).delete()


@pytest.fixture
def celery_app(celery_worker: TestWorkController) -> Celery:
    return celery_worker.app


def test_the_task_delivers_and_retries_a_429_after_retry_after(celery_app, celery_worker, task_runs, slack):
    """A 429 with Retry-After makes the worker retry the same task via the broker; the alert arrives once."""
    slack.answer(rate_limited(1))
    sent = celery_publisher(app=celery_app)("slack", alert(), time.time() + 60)
    assert slack.wait_for(accepted=1, timeout=30)
    assert len(slack.received) == 2 and len(slack.accepted) == 1
    assert slack.accepted[0]["blocks"][0]["text"]["text"] == "[CRITICAL] OperationalError"
    assert task_runs.wait_for(runs=2)
    assert task_runs.received == [via_worker(sent.id, celery_worker)] * 2
    assert task_runs.runs == [(sent.id, "RETRY", "Retry"), (sent.id, "SUCCESS", True)]


def test_an_engine_with_celery_delivery_pages_through_the_worker(celery_app, celery_worker, task_runs, slack,
                                                                  worker_settings):
    """A rule firing in the engine is published as a task and delivered by the worker."""
    dispatcher = build_dispatcher(worker_settings, publish=celery_publisher(app=celery_app))
    engine = build_engine(worker_settings, scrub_text=str, store=MemoryStore(), dispatcher=dispatcher)
    engine.observe_event({"level": "error",
                          "exception": {"values": [{"type": "OperationalError", "value": "refused"}]}},
                         {VERDICT: Verdict("database", "connection", ("database",))})
    assert engine.flush(10)
    assert slack.wait_for(accepted=1, timeout=30)
    dispatcher.close()
    assert task_runs.wait_for(runs=1)
    [(task_id, _, _)] = task_runs.received
    assert task_runs.received == [via_worker(task_id, celery_worker)]
    assert task_runs.runs == [(task_id, "SUCCESS", True)]
    [row] = AlertSpool(worker_settings.alert_spool).recent(5)  # the worker wrote its outcome back
    assert (row["channel"], row["outcome"], row["attempts"]) == ("slack", "delivered", 1)


def test_the_worker_records_retrying_then_delivered_in_the_spool(celery_app, celery_worker, task_runs, slack,
                                                                  worker_settings):
    """A 500 then a 200: the Alerts page's row goes handed-to-Celery, retrying, delivered (2 attempts)."""
    slack.answer(SERVER_ERROR)
    errorwarden.tasks.POLICY = RetryPolicy(attempts=5, base=0.5, max_delay=0.5, jitter=0.0)
    try:
        dispatcher = build_dispatcher(worker_settings, publish=celery_publisher(app=celery_app))
        engine = build_engine(worker_settings, scrub_text=str, store=MemoryStore(), dispatcher=dispatcher)
        engine.observe_event({"level": "error",
                              "exception": {"values": [{"type": "OperationalError", "value": "refused"}]}},
                             {VERDICT: Verdict("database", "connection", ("database",))})
        assert engine.flush(10)
        spool = AlertSpool(worker_settings.alert_spool)
        seen = set()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            outcome = spool.recent(5)[0]["outcome"]
            seen.add(outcome)
            if outcome == "delivered":
                break
            time.sleep(0.02)
        dispatcher.close()
    finally:
        errorwarden.tasks.POLICY = None
    [row] = spool.recent(5)
    assert (row["outcome"], row["attempts"]) == ("delivered", 2) and len(slack.accepted) == 1
    assert "retrying" in seen


@pytest.mark.parametrize("scheme", ["redis://127.0.0.1:{port}/0", "amqp://guest:guest@127.0.0.1:{port}//"],
                         ids=["redis", "rabbitmq"])
def test_a_dead_broker_falls_back_to_direct_delivery(slack, worker_settings, scheme):
    """If the broker cannot take the task, the alert is still delivered, from the process itself."""
    app = Celery("dead-broker", broker=scheme.format(port=free_port()), set_as_current=False)
    app.conf.broker_connection_timeout = 1.0
    dispatcher = build_dispatcher(worker_settings, publish=celery_publisher(app=app),
                                  policy=RetryPolicy(base=0.01, jitter=0.0))
    dispatcher.submit(alert(), key="db", until=time.time() + 60)
    assert dispatcher.flush(30)
    assert len(slack.accepted) == 1
    dispatcher.close()


def test_the_task_retries_until_the_alerts_cooldown_ends_then_names_the_loss(celery_app, celery_worker,
                                                                            task_runs, slack, monkeypatch,
                                                                            caplog):
    """A Slack that keeps failing is retried by the worker with the one policy while the alert's
    cooldown runs; when the next wait would pass its deadline the loss is logged with the title."""
    monkeypatch.setattr(require_runtime(), "task_policy", RetryPolicy(base=0.4, max_delay=0.4, jitter=0.0))
    slack.default = SERVER_ERROR
    with caplog.at_level(logging.ERROR, "errorwarden.alerting"):
        sent = celery_publisher(app=celery_app)("slack", alert(), time.time() + 1.0)
        assert task_runs.wait_for(runs=3)
        time.sleep(0.5)  # let a fourth run show itself if the deadline were ignored
    runs = task_runs.runs
    assert runs[-1] == (sent.id, "SUCCESS", False) and all(r[1] == "RETRY" for r in runs[:-1])
    assert 2 <= len(runs) <= 4 and len(slack.received) == len(runs) and slack.accepted == []
    assert any("'Database connection failure' was NOT delivered to slack" in r.getMessage()
               for r in caplog.records)


def test_the_runtime_publishes_through_the_projects_app_and_its_default_queue(
        celery_app, celery_worker, task_runs, slack, error_tracking):
    """With CELERY_BROKER_URL set, alerts go through the Celery app current at init_sentry() (the
    project's, whose task_default_queue here is the worker's private queue), not a private app."""
    project_app = current_app._get_current_object()
    celery_app.set_current()  # as config/celery.py's app is current when settings.py calls init_sentry()
    try:
        runtime = error_tracking(slack_alerts_enabled=True, slack_webhook_url=slack.url,
                                 email_alerts_enabled=False, celery_broker_url=celery_app.conf.broker_url)
    finally:
        project_app.set_current()
    runtime.alerts.observe_event({"level": "error", "exception": {"values": [{"type": "OperationalError"}]}},
                                 {VERDICT: Verdict("database", "connection", ("database",))})
    assert slack.wait_for(accepted=1, timeout=30)
    assert task_runs.wait_for(runs=1)
    [(_, _, queue)] = task_runs.received
    assert queue == celery_app.conf.task_default_queue


def test_task_routes_send_alerts_to_the_routed_queue_and_its_worker_delivers(broker, task_runs, slack,
                                                                            error_tracking):
    """With CELERY_TASK_ROUTES sending the alert task to its own queue, the alert travels on that
    queue (not the default one, which no worker consumes here) and the worker on it pages Slack."""
    run = uuid.uuid4().hex
    routed, default = f"alerts-routed-{run}", f"alerts-default-{run}"
    app = Celery("alerting-routes", broker=broker, set_as_current=False)
    app.conf.update(task_default_queue=default, task_routes={DELIVER_TASK: {"queue": routed}},
                    task_queues=[Queue(routed, auto_delete=True, durable=False)],
                    broker_connection_retry_on_startup=False, worker_hijack_root_logger=False,
                    worker_enable_remote_control=False)
    app.steps["consumer"].add(WakeUp)
    project_app = current_app._get_current_object()
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING"):
            app.set_current()  # the project's app is current when settings.py calls init_sentry()
            try:
                runtime = error_tracking(slack_alerts_enabled=True, slack_webhook_url=slack.url,
                                         email_alerts_enabled=False, celery_broker_url=broker)
            finally:
                project_app.set_current()
            runtime.alerts.observe_event(
                {"level": "error", "exception": {"values": [{"type": "OperationalError"}]}},
                {VERDICT: Verdict("database", "connection", ("database",))})
            assert slack.wait_for(accepted=1, timeout=30)
            assert task_runs.wait_for(runs=1)
    finally:
        delete_queue(app, routed)
        delete_queue(app, default)  # empty unless routing failed
    [(_, _, queue)] = task_runs.received
    assert queue == routed and task_runs.runs[0][1:] == ("SUCCESS", True)
