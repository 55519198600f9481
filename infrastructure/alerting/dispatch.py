"""Alert delivery off the request path: the durable spool, one worker thread per channel, or Celery.

A fired alert is first written to the spool (infrastructure/alerting/spool.py); only then is its
cooldown spent. Each channel's worker thread takes due deliveries from the spool and makes one
attempt each; a failure that a retry can help is scheduled again by the one RetryPolicy (backoff
with jitter, at least the server's Retry-After) for as long as the alert's cooldown runs, so an
outage shorter than the cooldown loses nothing. What a process leaves behind at exit, the next
process's workers deliver. With Celery, the worker thread hands each delivery to the project's
Celery app (its routing applies); if the broker refuses, the thread delivers it itself.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sentry_sdk.integrations.logging import ignore_logger

from infrastructure.alerting.channels import Channel, DeliveryError
from infrastructure.alerting.spool import DELIVERED, LOST, QUEUED, AlertSpool, Delivery

logger = logging.getLogger("infrastructure.alerting")
# Alerting's lines stay on the console: as events (in the scope of the request that started the
# channel's thread, which sentry-sdk copies) a lost alert joined that request's issue and paged again.
ignore_logger(logger.name)

# The Celery task's registered name; infrastructure/tasks.py registers it, we publish by name.
DELIVER_TASK = "infrastructure.deliver_alert"
Publish = Callable[[str, dict[str, Any], float], Any]


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


class ChannelWorker:
    """One channel's thread: takes due deliveries from the spool, one attempt each, reschedules."""

    def __init__(self, channel: Channel, spool: AlertSpool, policy: RetryPolicy, *,
                 handoff: Publish | None = None, clock: Callable[[], float] = time.time, poll: float = 2.0):
        self.channel, self.spool, self.policy, self.outage = channel, spool, policy, OutageLog(channel.name)
        self._handoff, self._clock, self._poll = handoff, clock, poll
        self._wake, self._idle = threading.Event(), threading.Condition()
        self._stop = threading.Event()
        self._pid, self._thread = 0, None

    def start(self) -> None:
        """Run the thread (again after a fork or close); cheap when it already runs."""
        if self._thread is not None and self._pid == os.getpid() and not self._stop.is_set():
            return
        # A forked child inherits the object but not the thread; a closed worker may be used again.
        self._pid, self._stop = os.getpid(), threading.Event()
        self._thread = threading.Thread(target=self._run, args=(self._stop,), daemon=True,
                                        name=f"alert-{self.channel.name}")
        self._thread.start()

    def wake(self) -> None:
        """New work was queued: look now instead of at the next poll."""
        self.start()
        self._wake.set()

    def _run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                delivery = self.spool.take(self.channel.name, self._clock())
                if delivery is None:
                    self._sleep(stop)
                    continue
                self._deliver(delivery)
            except Exception as exc:  # the spool itself failed (disk, lock): try again later
                logger.error("Alert spool %s failed (%s); retrying.", self.spool.path, type(exc).__name__)
                stop.wait(self._poll)
            finally:
                with self._idle:
                    self._idle.notify_all()

    def _sleep(self, stop: threading.Event) -> None:
        due = self.spool.next_due(self.channel.name)
        pause = self._poll if due is None else min(self._poll, max(0.0, due - self._clock()))
        self._wake.wait(pause)
        self._wake.clear()

    def _deliver(self, delivery: Delivery) -> None:
        if self._handoff is not None and self._hand_off(delivery):
            return
        error = attempt(self.channel, delivery.alert)
        now = self._clock()
        if error is None:
            self.outage.delivered()
            self.spool.finish(delivery.id, DELIVERED, now)
            return
        self.outage.failed(error)
        next_at = self._next_attempt(delivery, error, now)
        if next_at is not None:
            self.spool.retry_at(delivery.id, next_at, str(error))
            return
        reason = str(error) if not error.retryable else f"{error}; its cooldown ended"
        self.spool.finish(delivery.id, LOST, now, reason)
        log_lost(self.channel.name, delivery.title, delivery.attempts, reason)

    def _next_attempt(self, delivery: Delivery, error: DeliveryError, now: float) -> float | None:
        # A backoff past the deadline still leaves one attempt as the cooldown ends, so an outage
        # shorter than the cooldown loses nothing; a server's Retry-After past it is obeyed instead.
        deadline = delivery.deadline
        if not error.retryable or now >= deadline or now + (error.retry_after or 0.0) > deadline:
            return None
        return min(now + self.policy.wait(delivery.attempts, error.retry_after), deadline)

    def _hand_off(self, delivery: Delivery) -> bool:
        try:
            self._handoff(self.channel.name, delivery.alert, delivery.deadline)
        except Exception as exc:  # the broker is down: this thread delivers the alert itself
            logger.warning("Celery broker refused an alert (%s); delivering it from this process.",
                           type(exc).__name__)
            return False
        self.spool.finish(delivery.id, QUEUED, self._clock())
        return True

    def flush(self, deadline: float) -> bool:
        """Wait until nothing is pending for this channel, or until `deadline` (monotonic)."""
        self.wake()
        with self._idle:
            while self.spool.pending(self.channel.name):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(min(left, 0.05))
        return True

    def close(self) -> None:
        """Stop the thread; what it had not delivered stays in the spool."""
        self._stop.set()
        self._wake.set()


class Dispatcher:
    """Takes fired alerts off the caller's thread; `flush` waits for them."""

    channels: tuple[Channel, ...] = ()

    def channel(self, name: str) -> Channel | None:
        """The channel called `name`, or None."""
        return next((c for c in self.channels if c.name == name), None)

    def submit(self, alert: dict[str, Any], key: str = "", until: float = 0.0) -> bool:
        """Queue one alert for every channel; False when this host already fired `key`."""
        raise NotImplementedError

    def poke(self) -> None:
        """Make sure background delivery runs in this process (after a fork, say)."""

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait up to `timeout` seconds for queued alerts; True when all were handled."""
        return True

    def close(self) -> None:
        """Stop background work."""


class SpoolDispatcher(Dispatcher):
    """Durable delivery: the spool, and one ChannelWorker per channel (handing off to Celery if given)."""

    def __init__(self, channels: Iterable[Channel], spool: AlertSpool, policy: RetryPolicy | None = None, *,
                 handoff: Publish | None = None, clock: Callable[[], float] = time.time):
        self.channels, self.spool, self._clock = tuple(channels), spool, clock
        policy = policy or RetryPolicy()
        self.workers = [ChannelWorker(c, spool, policy, handoff=handoff, clock=clock) for c in self.channels]
        if self.channels and spool.pending():
            self.poke()  # a previous process left alerts behind

    def submit(self, alert: dict[str, Any], key: str = "", until: float = 0.0) -> bool:
        """Write the alert to the spool for every channel, then wake their workers."""
        if not self.channels:
            return True
        now = self._clock()
        if self.spool.enqueue(key or f"alert:{id(alert)}:{now}", until or now + 300.0, alert,
                              [c.name for c in self.channels], now) is None:
            return False
        for worker in self.workers:
            worker.wake()
        return True

    def poke(self) -> None:
        """Start the workers if they are not running in this process."""
        for worker in self.workers:
            worker.start()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait up to `timeout` seconds for every channel's pending deliveries."""
        deadline = time.monotonic() + timeout
        return all([worker.flush(deadline) for worker in self.workers])

    def close(self) -> None:
        """Stop every channel's thread; undelivered alerts stay in the spool."""
        for worker in self.workers:
            worker.close()


def celery_publisher(app: Any = None) -> Publish:
    """publish(channel, alert, deadline): send the delivery task through the project's Celery app.

    The app is the one current when this is called (the project's, during init_sentry), so its
    routing settings (task_default_queue, task_routes) apply; Celery's "current app" is per
    thread, and our publishing thread would otherwise get Celery's fallback app.
    """
    if app is None:
        from celery import current_app

        app = current_app._get_current_object()

    def publish(channel: str, alert: dict[str, Any], deadline: float) -> Any:
        # argsrepr keeps the alert's text out of Celery's logs; the worker gets the full dict.
        return app.send_task(DELIVER_TASK, args=[channel, alert, deadline],
                             argsrepr=repr([channel, "<alert>", deadline]), retry=True,
                             retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5,
                                           "interval_max": 1.0})

    return publish
