"""Celery tasks: alert delivery, one task per channel so each channel retries on its own.

The tasks are `shared_task`s: the project's Celery app registers them when it includes this
module (`include=["infrastructure.tasks"]` or `autodiscover_tasks`). A task carries only the
rendered, scrubbed alert dict, and reads the channel's configuration from `get_settings()`
in the worker.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from infrastructure.alerting.dispatch import DELIVER_TASK, OutageLog, RetryPolicy
from infrastructure.alerting.notifiers import (
    DeliveryError,
    Notifier,
    ScrubText,
    build_notifiers,
    default_scrub_text,
)
from infrastructure.settings import get_settings

logger = logging.getLogger("infrastructure.alerting")

POLICY = RetryPolicy()
_outages: dict[str, OutageLog] = {}
_scrub_text: ScrubText | None = None


def set_scrub_text(scrub_text: ScrubText | None) -> None:
    """Use this scrubber for alert texts in this worker (default: the project's Scrubber)."""
    global _scrub_text
    _scrub_text = scrub_text


def channel_notifier(channel: str) -> Notifier | None:
    """The enabled notifier named `channel` for the current settings, or None."""
    settings = get_settings()
    scrub = _scrub_text or default_scrub_text(settings)
    return next((n for n in build_notifiers(settings, scrub) if n.name == channel), None)


@shared_task(bind=True, name=DELIVER_TASK, max_retries=POLICY.attempts - 1, ignore_result=True,
             acks_late=True)
def deliver_alert(self: Any, channel: str, alert: dict[str, Any]) -> bool:
    """Deliver one alert to one channel; retry with backoff, honouring Slack's Retry-After."""
    notifier = channel_notifier(channel)
    if notifier is None:
        logger.warning("Alert channel %s is not enabled in this worker's settings; alert dropped.", channel)
        return False
    outage = _outages.setdefault(channel, OutageLog(channel))
    try:
        notifier.send(alert)
    except DeliveryError as exc:
        outage.failed(exc)
        if not exc.retryable or self.request.retries >= self.max_retries:
            outage.lost()
            return False
        raise self.retry(countdown=POLICY.delay(self.request.retries, exc.retry_after), exc=exc) from None
    outage.delivered()
    return True


@shared_task(bind=True, name="infrastructure.probe_queue_depth", ignore_result=True)
def probe_queue_depth(self: Any, queues: list[str] | None = None) -> dict[str, int]:
    """Report how many messages wait in each queue (celery beat runs this every minute)."""
    from infrastructure.queue_depth import report

    return report(self.app, queues)
