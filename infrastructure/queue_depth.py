"""Celery queue depth: how many messages wait in each queue, reported as a Sentry gauge metric."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import sentry_sdk

logger = logging.getLogger("infrastructure.queue_depth")
METRIC = "celery.queue.depth"


def measure(app: Any, queues: Iterable[str]) -> dict[str, int]:
    """Messages waiting per queue, asked of the broker with a passive declare (AMQP and Redis alike)."""
    depths: dict[str, int] = {}
    with app.connection_for_read() as connection:
        channel = connection.default_channel
        for queue in queues:
            try:
                depths[queue] = int(channel.queue_declare(queue=queue, passive=True).message_count)
            except Exception as exc:  # a queue nobody declared yet has no depth to report
                logger.info("Queue %r has no depth to report (%s).", queue, type(exc).__name__)
    return depths


def report(app: Any, queues: Iterable[str] | None = None) -> dict[str, int]:
    """Measure the app's queues (its default queue when none are named) and send one gauge per queue."""
    names = tuple(queues) if queues else (app.conf.task_default_queue or "celery",)
    depths = measure(app, names)
    from infrastructure.runtime import current_runtime

    runtime = current_runtime()
    aggregates = runtime.aggregates if runtime is not None else None
    for queue, depth in depths.items():
        sentry_sdk.metrics.gauge(METRIC, depth, attributes={"queue": queue})
        if aggregates is not None:  # the local inbox keeps no metrics: the dashboard's series does
            aggregates.observe_queue_depth(queue, depth)
    return depths
