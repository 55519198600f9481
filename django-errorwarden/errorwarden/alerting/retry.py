"""The one retry policy, and one attempt at a time: shared by the spool workers, Celery and the spec's sends.

`RetryPolicy.wait` is tenacity's exponential backoff with jitter, never shorter than a server's
Retry-After; `next_attempt` schedules a delivery within its alert's deadline (the end of its
cooldown), keeping one last attempt at the deadline; `send_now` is the synchronous form
(tenacity's Retrying) the spec's notifiers use. Losses are logged at once, with the title.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sentry_sdk.integrations.logging import ignore_logger

from errorwarden.alerting.channels import Channel, DeliveryError

logger = logging.getLogger("errorwarden.alerting")
# Alerting's lines stay on the console: as events (in the scope of the request that started the
# channel's thread, which sentry-sdk copies) a lost alert joined that request's issue and paged again.
ignore_logger(logger.name)


@dataclass(frozen=True)
class RetryPolicy:
    """The one retry policy: tenacity's exponential backoff with jitter, never under Retry-After.

    `attempts` and `budget` bound the synchronous sends of the spec's notifiers; scheduled
    deliveries are bounded by their alert's deadline instead.
    """

    base: float = 1.0
    max_delay: float = 60.0
    jitter: float = 1.0
    attempts: int = 4
    budget: float = 6.0

    def wait(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        from tenacity import RetryCallState, wait_exponential_jitter

        state = RetryCallState(None, None, (), {})
        state.attempt_number = max(1, attempt)
        backoff = wait_exponential_jitter(multiplier=self.base, max=self.max_delay, jitter=self.jitter)(state)
        return max(backoff, retry_after or 0.0)

    def next_attempt(self, attempts: int, error: DeliveryError, now: float, deadline: float) -> float | None:
        """When to try again after `attempts` failed ones, or None to give up.

        A backoff past the deadline still leaves one attempt as the cooldown ends, so an outage
        shorter than the cooldown loses nothing; a server's Retry-After past it is obeyed instead.
        """
        if not error.retryable or now >= deadline or now + (error.retry_after or 0.0) > deadline:
            return None
        return min(now + self.wait(attempts, error.retry_after), deadline)


class OutageLog:
    """Logs a channel's trouble once per outage and once when it recovers, not once per attempt."""

    def __init__(self, channel: str):
        self._channel, self._lock = channel, threading.Lock()
        self._down, self._failures = False, 0

    def failed(self, error: BaseException) -> None:
        """Record a failed attempt; only the first of an outage is logged."""
        with self._lock:
            first, self._down = not self._down, True
            self._failures += 1
        if first:
            logger.warning("Alert channel %s is failing (%s); alerts are kept and retried until their "
                           "cooldown ends. Further failures are not logged until it recovers.",
                           self._channel, error)

    def delivered(self) -> None:
        """Record a success; logs the recovery if the channel was down."""
        with self._lock:
            was_down, failures = self._down, self._failures
            self._down, self._failures = False, 0
        if was_down:
            logger.warning("Alert channel %s recovered after %d failed attempts.", self._channel, failures)


def log_lost(channel: str, title: str, attempts: int, reason: str) -> None:
    """Say at once that an alert will never arrive on a channel, and which one."""
    logger.error("Alert %r was NOT delivered to %s after %d attempt(s): %s.", title, channel, attempts,
                 reason)


def attempt(channel: Channel, alert: dict[str, Any]) -> DeliveryError | None:
    """One send; None when delivered, else the error (an unexpected exception is not retried)."""
    try:
        channel.send(alert)
    except DeliveryError as exc:
        return exc
    except Exception as exc:
        return DeliveryError(f"{channel.name}: {type(exc).__name__} (not retried)", retryable=False)
    return None


def send_now(channel: Channel, alert: dict[str, Any], policy: RetryPolicy, outage: OutageLog,
             sleep: Callable[[float], None] = time.sleep) -> bool:
    """Deliver synchronously with the policy's bounded retries (tenacity); True when delivered."""
    from tenacity import RetryError, Retrying, retry_if_exception, stop_after_attempt, stop_after_delay

    def wait(state: Any) -> float:
        return policy.wait(state.attempt_number, getattr(state.outcome.exception(), "retry_after", None))

    def send() -> None:
        error = attempt(channel, alert)
        if error is not None:
            outage.failed(error)
            raise error

    retrying = Retrying(stop=stop_after_attempt(policy.attempts) | stop_after_delay(policy.budget), wait=wait,
                        retry=retry_if_exception(lambda e: isinstance(e, DeliveryError) and e.retryable),
                        sleep=sleep)
    try:
        retrying(send)
    except RetryError as exc:  # retryable failures until the attempts or the budget ran out
        error: BaseException | None = exc.last_attempt.exception()
    except DeliveryError as exc:  # a failure no retry can help
        error = exc
    else:
        outage.delivered()
        return True
    log_lost(channel.name, str(alert.get("title", "")), retrying.statistics.get("attempt_number", 1),
             str(error))
    return False
