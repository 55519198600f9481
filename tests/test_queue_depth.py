"""Celery queue depth is measured at the broker and reaches Sentry as a gauge metric."""

from __future__ import annotations

import time
import uuid

import pytest
import sentry_sdk
from celery import Celery

from errorwarden.queue_depth import METRIC, report
from tests.support.services import require_rabbitmq, require_redis


@pytest.mark.redis
def test_waiting_messages_are_counted_and_sent_as_a_gauge(tracked):
    """Three messages published with no worker give depth 3 for that queue, sent as celery.queue.depth."""
    require_redis()
    app = Celery("probe", broker="redis://127.0.0.1:6379/12")
    queue = f"depth-{uuid.uuid4().hex[:8]}"
    try:
        for _ in range(3):
            app.send_task("nothing.runs.this", queue=queue)
        # kombu's Redis queue is a list whose key Redis deletes when empty: an unknown queue is empty
        assert report(app, [queue, f"empty-{queue}"]) == {queue: 3, f"empty-{queue}": 0}
        sentry_sdk.flush(timeout=5)
        assert tracked.wait_for(lambda rx: rx.items("trace_metric"), timeout=10)
        metrics = [m for _, payload in tracked.items("trace_metric") for m in payload.get("items", [])]
        depth = next(m for m in metrics if m["name"] == METRIC)
        assert depth["value"] == 3 and depth["type"] == "gauge"
        assert depth["attributes"]["queue"]["value"] == queue
    finally:
        with app.connection_for_write() as connection:
            connection.default_channel.queue_delete(queue)


@pytest.mark.redis
def test_by_default_every_queue_the_app_sends_to_is_measured(error_tracking, tmp_path):
    """With no queues named, the probe measures the default queue and the queue task_routes sends
    alerts to; a real worker runs the beat task and its readings reach the local figures."""
    require_redis()
    from celery.contrib.testing.worker import start_worker

    import errorwarden.tasks  # noqa: F401  (registers the shared tasks with every app)
    from errorwarden.alerting.dispatch import DELIVER_TASK
    from errorwarden.queue_depth import app_queues

    runtime = error_tracking(dsn="", inbox_path=tmp_path / "inbox.sqlite3", profiles_sample_rate=0.0)
    run = uuid.uuid4().hex[:8]
    default, alerts = f"default-{run}", f"alerts-{run}"
    app = Celery("probe-routes", broker="redis://127.0.0.1:6379/12", set_as_current=False)
    app.conf.update(task_default_queue=default, task_routes={DELIVER_TASK: {"queue": alerts}},
                    worker_hijack_root_logger=False, worker_enable_remote_control=False)
    try:
        assert app_queues(app) == (default, alerts)
        for _ in range(2):
            app.send_task(DELIVER_TASK, args=("slack", {}, 0.0))  # routed: nobody consumes alerts-…
        assert report(app) == {default: 0, alerts: 2}
        with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING"):
            app.send_task(DELIVER_TASK, args=("slack", {}, 0.0))  # a third alert waits
            app.tasks["errorwarden.probe_queue_depth"].delay()
            deadline = time.monotonic() + 30
            while ((alerts, 3) not in [(q, d) for _, q, d in runtime.aggregates.queue_depth()]
                   and time.monotonic() < deadline):
                runtime.aggregates.flush()  # the worker thread's reading, kept by this process's figures
                time.sleep(0.1)
    finally:
        with app.connection_for_write() as connection:
            for key in connection.default_channel.client.scan_iter(f"*{run}*"):
                connection.default_channel.client.delete(key)
    readings = [(queue, depth) for _, queue, depth in runtime.aggregates.queue_depth()]
    assert (alerts, 3) in readings and (default, 0) in readings  # the worker's run of the beat task


@pytest.mark.rabbitmq
def test_on_rabbitmq_a_queue_never_declared_is_skipped_and_the_next_still_measured():
    """A NOT_FOUND from RabbitMQ (which closes the channel) leaves the next queue measured."""
    require_rabbitmq()
    app = Celery("probe-amqp", broker="amqp://guest:guest@127.0.0.1:5672//", set_as_current=False)
    queue = f"depth-{uuid.uuid4().hex[:8]}"
    try:
        for _ in range(3):
            app.send_task("nothing.runs.this", queue=queue)  # declares the queue
        assert report(app, [f"never-{queue}", queue]) == {queue: 3}
    finally:
        with app.connection_for_write() as connection:
            connection.default_channel.queue_delete(queue)


@pytest.mark.redis
def test_a_redis_that_fails_mid_probe_reports_no_depth_rather_than_zero(monkeypatch):
    """Only NOT_FOUND means an empty Redis queue; any other failure leaves the queue unreported."""
    require_redis()
    from kombu.transport import redis as kombu_redis

    def broken(self, *args, **kwargs):
        raise ConnectionError("redis went away")

    monkeypatch.setattr(kombu_redis.Channel, "queue_declare", broken)
    app = Celery("probe-broken", broker="redis://127.0.0.1:6379/12")
    assert report(app, ["celery"]) == {}
