"""Celery tasks: alert delivery, one task per channel so each channel retries on its own.

The tasks are `shared_task`s: the project's Celery app registers them when it includes this
module (`include=["errorwarden.tasks"]` or `autodiscover_tasks`). A task carries only the
rendered alert, already scrubbed when it was built, and delivers it through the channel of the
worker's own runtime (its settings say where the webhook and the mail server are).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from celery import shared_task

from errorwarden.alerting.alert_queue import DELIVERED, LOST, AlertSpool
from errorwarden.alerting.dispatch import DELIVER_TASK
from errorwarden.alerting.retry import attempt, log_lost, reason_of
from errorwarden.runtime import require_runtime

logger = logging.getLogger("errorwarden.alerting")


@shared_task(bind=True, name=DELIVER_TASK, max_retries=None, ignore_result=True, acks_late=True)
def deliver_alert(self: Any, channel: str, alert: dict[str, Any], deadline: float | None = None,
                  delivery: str | None = None) -> bool:
    """Deliver one alert to one channel; retried by the broker with the one RetryPolicy until the
    alert's deadline (the end of its cooldown), honouring Slack's Retry-After. With `delivery`
    (the spool's alert id) each outcome is written back to the spool, so the Alerts page and
    `sentry_inbox --alerts` say delivered, retrying or failed instead of "handed to Celery"."""
    runtime = require_runtime()
    target = runtime.alerts.channel(channel)
    title = str(alert.get("title", ""))
    attempts = self.request.retries + 1
    if target is None:
        reason = "the channel is not enabled in this worker's settings"
        log_lost(channel, title, self.request.retries, reason, runtime.losses)
        _record(runtime, delivery, channel, LOST, attempts, reason)
        return False
    outage = runtime.outage(f"task:{channel}", channel)
    error = attempt(target, alert)
    if error is None:
        outage.delivered()
        _record(runtime, delivery, channel, DELIVERED, attempts)
        return True
    outage.failed(error)
    now = time.time()
    policy = runtime.task_policy
    if deadline is None:  # published by an older version: five attempts, as it promised
        deadline = now + policy.max_delay if attempts < 5 else now
    next_at = policy.next_attempt(attempts, error, now, deadline)
    if next_at is not None:
        _record(runtime, delivery, channel, "retrying", attempts, reason_of(error))
        raise self.retry(countdown=max(0.0, next_at - now), exc=error) from None
    reason = reason_of(error) if not error.retryable else f"{reason_of(error)}; its cooldown ended"
    outage.lost(title, attempts, reason)
    _record(runtime, delivery, channel, LOST, attempts, reason)
    return False


def _record(runtime: Any, delivery: str | None, channel: str, outcome: str, attempts: int,
            error: str = "") -> None:
    """Write the outcome to this host's spool; a spool that cannot take it never fails the delivery."""
    if not delivery:
        return
    spool = AlertSpool(runtime.settings.alert_spool)  # one short-lived handle per outcome: no module state
    try:
        spool.record_worker(delivery, channel, outcome, attempts, time.time(), error)
    except Exception as exc:  # the error text may name the webhook's host: only its type is logged
        logger.warning("Could not record the %s delivery of an alert in the spool (%s)", channel,
                       type(exc).__name__)
    finally:
        spool.close()


@shared_task(bind=True, name="errorwarden.probe_queue_depth", ignore_result=True)
def probe_queue_depth(self: Any, queues: list[str] | None = None) -> dict[str, int]:
    """Report how many messages wait in each queue (celery beat runs this every minute)."""
    from errorwarden.queue_depth import report

    return report(self.app, queues)
