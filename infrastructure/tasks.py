"""Celery tasks: alert delivery, one task per channel so each channel retries on its own.

The tasks are `shared_task`s: the project's Celery app registers them when it includes this
module (`include=["infrastructure.tasks"]` or `autodiscover_tasks`). A task carries only the
rendered alert, already scrubbed when it was built, and delivers it through the channel of the
worker's own runtime (its settings say where the webhook and the mail server are).
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from infrastructure.alerting.channels import DeliveryError
from infrastructure.alerting.dispatch import DELIVER_TASK, OutageLog, RetryPolicy
from infrastructure.runtime import require_runtime

logger = logging.getLogger("infrastructure.alerting")

POLICY = RetryPolicy()
_outages: dict[str, OutageLog] = {}


@shared_task(bind=True, name=DELIVER_TASK, max_retries=POLICY.attempts - 1, ignore_result=True,
             acks_late=True)
def deliver_alert(self: Any, channel: str, alert: dict[str, Any]) -> bool:
    """Deliver one alert to one channel; retry with backoff, honouring Slack's Retry-After."""
    notifier = require_runtime().alerts.channel(channel)
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
