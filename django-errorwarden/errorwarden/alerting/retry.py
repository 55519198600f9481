"""The one retry policy, and one attempt at a time: shared by the spool workers, Celery and the spec's sends.

`RetryPolicy.wait` is tenacity's exponential backoff with jitter, never shorter than a server's
Retry-After; `next_attempt` schedules a delivery within its alert's deadline (the end of its
cooldown), keeping one last attempt at the deadline; `send_now` is the synchronous form
(tenacity's Retrying) the spec's notifiers use. Failed attempts, alerts kept for another attempt
and lost alerts are counted in the runtime's loss ledger (kind "alert", errorwarden/losses.py);
a lost alert is logged at once, with its title.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from errorwarden.alerting.channels import Channel, DeliveryError
from errorwarden.logs import quiet_own_loggers
from errorwarden.losses import LossLedger

logger = logging.getLogger("errorwarden.alerting")
# Alerting's lines stay on the console (logs.quiet_own_loggers, called by OutageLog): as events
# (in the scope of the request that started the channel's thread, which sentry-sdk copies) a lost
# alert joined that request's issue and paged again.
KIND = "alert"  # alerting's kind in the loss ledger


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


def reason_of(error: BaseException) -> str:
    """What may be said about a failed attempt: a DeliveryError's text is the channel's own summary
    (status codes and exception type names, errorwarden/alerting/channels), anything else its type."""
    return str(error) if isinstance(error, DeliveryError) else type(error).__name__


class OutageLog:
    """One channel's failed attempts seen from one sender, counted in the loss ledger.

    Each failed attempt is counted as failed:<channel>, which the ledger logs at most once per
    interval; the recovery is logged once, when a delivery succeeds after failures.
    """

    def __init__(self, channel: str, ledger: LossLedger | None = None):
        quiet_own_loggers()
        self._channel, self._lock = channel, threading.Lock()
        self.ledger = ledger if ledger is not None else LossLedger()
        self._failures = 0

    def failed(self, error: BaseException) -> None:
        """Count a failed attempt (logged by the ledger at most once per interval)."""
        with self._lock:
            self._failures += 1
        self.ledger.failed(KIND, self._channel, 1, f"Alert channel {self._channel} is failing "
                           f"({reason_of(error)}); alerts are kept and retried until their cooldown ends")

    def delivered(self) -> None:
        """Record a success; logs the recovery if the channel was failing."""
        with self._lock:
            failures, self._failures = self._failures, 0
        if failures:
            logger.warning("Alert channel %s recovered after %d failed attempts.", self._channel, failures)

    def lost(self, title: str, attempts: int, reason: str) -> None:
        """Count an alert that will never arrive on this channel, and name it at once."""
        log_lost(self._channel, title, attempts, reason, self.ledger)


def log_lost(channel: str, title: str, attempts: int, reason: str, ledger: LossLedger | None = None) -> None:
    """Count an alert that will never arrive on a channel (lost: <channel>), and name it at once.

    `reason` is a reason_of() text, never an exception's message.
    """
    explain = f"Alert {title!r} was NOT delivered to {channel} after {attempts} attempt(s): {reason}"
    (ledger if ledger is not None else LossLedger()).lost(KIND, channel, 1, explain, level=logging.ERROR,
                                                         every=True)


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
    outage.lost(str(alert.get("title", "")), retrying.statistics.get("attempt_number", 1),
                reason_of(error) if error is not None else "unknown")
    return False
