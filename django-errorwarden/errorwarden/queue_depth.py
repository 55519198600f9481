"""Celery queue depth: how many messages wait in each queue, reported as a Sentry gauge metric."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import sentry_sdk
from kombu.exceptions import ChannelError

logger = logging.getLogger("errorwarden.queue_depth")
METRIC = "celery.queue.depth"


def measure(app: Any, queues: Iterable[str]) -> dict[str, int]:
    """Messages waiting per queue, asked of the broker with a passive declare.

    kombu keeps a Redis queue as a list, and Redis deletes an empty list's key, so on Redis a queue
    the broker does not know is an empty one: depth 0. RabbitMQ answers NOT_FOUND for a queue never
    declared, which has no depth to report, and closes the channel (py-amqp revives it; the next
    queue gets a new channel all the same, so no client's handling of that is relied on).
    """
    depths: dict[str, int] = {}
    with app.connection_for_read() as connection:
        empty_when_unknown = connection.transport.driver_type == "redis"
        channel = connection.channel()
        try:
            for queue in queues:
                try:
                    depths[queue] = int(channel.queue_declare(queue=queue, passive=True).message_count)
                except Exception as exc:
                    if empty_when_unknown and isinstance(exc, ChannelError):  # NOT_FOUND: no key
                        depths[queue] = 0
                        continue
                    logger.info("Queue %r has no depth to report (%s).", queue, type(exc).__name__)
                    if not empty_when_unknown:
                        channel.close()
                        channel = connection.channel()
        finally:
            channel.close()
    return depths


def app_queues(app: Any) -> tuple[str, ...]:
    """The queues the app sends to: its default queue, the alert task's queue (task_routes may route
    it elsewhere), every queue of task_queues and every queue a dict in task_routes names."""
    from errorwarden.diagnostics.services import alert_queue

    names = [app.conf.task_default_queue or "celery", alert_queue(app)]
    names += [getattr(queue, "name", str(queue)) for queue in app.conf.task_queues or ()]
    routes = app.conf.task_routes
    for routing in (routes.values() if isinstance(routes, dict) else ()):
        queue = routing.get("queue") if isinstance(routing, dict) else None
        if queue:
            names.append(getattr(queue, "name", str(queue)))
    return tuple(dict.fromkeys(names))


def report(app: Any, queues: Iterable[str] | None = None) -> dict[str, int]:
    """Measure the named queues (else every queue the app sends to) and send one gauge per queue."""
    names = tuple(queues) if queues else app_queues(app)
    depths = measure(app, names)
    from errorwarden.runtime import current_runtime

    runtime = current_runtime()
    aggregates = runtime.aggregates if runtime is not None else None
    for queue, depth in depths.items():
        sentry_sdk.metrics.gauge(METRIC, depth, attributes={"queue": queue})
        if aggregates is not None:  # the local inbox keeps no metrics: the dashboard's series does
            aggregates.observe_queue_depth(queue, depth)
    return depths
