"""Celery queue depth is measured at the broker and reaches Sentry as a gauge metric."""

from __future__ import annotations

import uuid

import pytest
import sentry_sdk
from celery import Celery

from infrastructure.queue_depth import METRIC, report
from tests.support.services import require_redis


@pytest.mark.redis
def test_waiting_messages_are_counted_and_sent_as_a_gauge(tracked):
    """Three messages published with no worker give depth 3 for that queue, sent as celery.queue.depth."""
    require_redis()
    app = Celery("probe", broker="redis://127.0.0.1:6379/12")
    queue = f"depth-{uuid.uuid4().hex[:8]}"
    try:
        for _ in range(3):
            app.send_task("nothing.runs.this", queue=queue)
        assert report(app, [queue, "never-declared"]) == {queue: 3}
        sentry_sdk.flush(timeout=5)
        assert tracked.wait_for(lambda rx: rx.items("trace_metric"), timeout=10)
        metrics = [m for _, payload in tracked.items("trace_metric") for m in payload.get("items", [])]
        depth = next(m for m in metrics if m["name"] == METRIC)
        assert depth["value"] == 3 and depth["type"] == "gauge"
        assert depth["attributes"]["queue"]["value"] == queue
    finally:
        with app.connection_for_write() as connection:
            connection.default_channel.queue_delete(queue)
