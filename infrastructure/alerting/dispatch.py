"""Alert delivery off the request path: per-channel background workers, or Celery tasks.

Every channel has its own bounded queue and daemon thread, so a Slack outage that retries for
minutes never delays an email. When a queue is full the oldest alert is dropped and counted:
under a storm the newest alerts, which carry the "N more since the last alert" tallies, matter
most. With Celery, a worker thread publishes one task per channel; if the broker cannot take it,
that thread delivers the alert itself, so a broken broker never loses a page.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from infrastructure.alerting.channels import Channel, DeliveryError

logger = logging.getLogger("infrastructure.alerting")

# The Celery task's registered name; infrastructure/tasks.py registers it, we publish by name.
DELIVER_TASK = "infrastructure.deliver_alert"


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff that waits at least as long as the server's Retry-After asks."""

    attempts: int = 5
    base: float = 1.0
    factor: float = 2.0
    max_delay: float = 60.0
    budget: float = 300.0
    jitter: float = 0.1

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (0-based)."""
        backoff = min(self.max_delay, self.base * self.factor**attempt)
        backoff *= 1 + self.jitter * random.random()  # spread processes that failed together
        return max(backoff, retry_after or 0.0)


class OutageLog:
    """Logs a channel's trouble once per outage and once when it recovers, not once per alert."""

    def __init__(self, channel: str):
        self._channel, self._lock = channel, threading.Lock()
        self._down, self._failures, self._lost = False, 0, 0

    def failed(self, error: DeliveryError) -> None:
        """Record a failed attempt; only the first of an outage is logged."""
        with self._lock:
            first, self._down = not self._down, True
            self._failures += 1
        if first:
            logger.warning("Alert channel %s is failing (%s); further failures are not logged until "
                           "it recovers.", self._channel, error)

    def lost(self) -> None:
        """Record an alert given up on."""
        with self._lock:
            self._lost += 1

    def delivered(self) -> None:
        """Record a success; logs the recovery if the channel was down."""
        with self._lock:
            was_down, failures, lost = self._down, self._failures, self._lost
            self._down, self._failures, self._lost = False, 0, 0
        if was_down:
            logger.warning("Alert channel %s recovered after %d failed attempts; %d alerts were lost.",
                           self._channel, failures, lost)


def deliver(channel: Channel, alert: dict[str, Any], policy: RetryPolicy, outage: OutageLog,
            wait: Callable[[float], bool], monotonic: Callable[[], float] = time.monotonic) -> bool:
    """Send with retries; `wait(seconds)` returns True to abandon. Returns whether it was delivered."""
    started = monotonic()
    for attempt in range(policy.attempts):
        try:
            channel.send(alert)
        except Exception as exc:
            error = exc if isinstance(exc, DeliveryError) else DeliveryError(
                f"{channel.name}: {type(exc).__name__} (not retried)", retryable=False)
            outage.failed(error)
            pause = policy.delay(attempt, error.retry_after)
            last = attempt + 1 >= policy.attempts
            if not error.retryable or last or monotonic() - started + pause > policy.budget or wait(pause):
                outage.lost()
                return False
            continue
        outage.delivered()
        return True
    return False


class ChannelWorker:
    """One channel's bounded queue and daemon thread (started on first use, after a fork or close)."""

    def __init__(self, channel: Channel, policy: RetryPolicy, max_queue: int = 100):
        self.channel, self.policy, self.outage = channel, policy, OutageLog(channel.name)
        self.dropped = 0
        self._max, self._queue = max_queue, deque()
        self._cond, self._stop = threading.Condition(), threading.Event()
        self._busy, self._pid, self._thread = False, 0, None

    def submit(self, alert: dict[str, Any]) -> None:
        """Queue an alert without blocking; drops the oldest queued one when full."""
        with self._cond:
            self._ensure_thread()
            if len(self._queue) >= self._max:
                self._queue.popleft()
                self.dropped += 1
                self.outage.lost()
            self._queue.append(alert)
            self._cond.notify_all()

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._pid == os.getpid() and not self._stop.is_set():
            return
        # A forked child inherits the queue but not the thread; a closed worker may be used again.
        self._pid, self._busy, self._stop = os.getpid(), False, threading.Event()
        self._thread = threading.Thread(target=self._run, args=(self._stop,), daemon=True,
                                        name=f"alert-{self.channel.name}")
        self._thread.start()

    def _run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            with self._cond:
                while not self._queue and not stop.is_set():
                    self._cond.wait()
                if stop.is_set():
                    return
                alert, self._busy = self._queue.popleft(), True
            try:
                deliver(self.channel, alert, self.policy, self.outage, stop.wait)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def flush(self, deadline: float) -> bool:
        """Wait until the queue is empty and nothing is in flight, or until `deadline` (monotonic)."""
        with self._cond:
            while self._queue or self._busy:
                left = deadline - time.monotonic()
                if left <= 0 or self._thread is None:
                    return False
                self._cond.wait(left)
        return True

    def close(self) -> None:
        """Stop the thread and any retry in progress; a later submit starts a new one."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()


class Dispatcher:
    """Takes fired alerts off the caller's thread; `flush` waits for them."""

    channels: tuple[Channel, ...] = ()

    def channel(self, name: str) -> Channel | None:
        """The channel called `name`, or None."""
        return next((c for c in self.channels if c.name == name), None)

    def submit(self, alert: dict[str, Any]) -> None:
        """Queue one alert for every channel; never blocks."""
        raise NotImplementedError

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait up to `timeout` seconds for queued alerts; True when all were handled."""
        return True

    def close(self) -> None:
        """Stop background work."""


class ThreadDispatcher(Dispatcher):
    """In-process delivery: one ChannelWorker per channel."""

    def __init__(self, channels: Iterable[Channel], policy: RetryPolicy | None = None,
                 max_queue: int = 100):
        policy = policy or RetryPolicy()
        self.channels = tuple(channels)
        self.workers = [ChannelWorker(c, policy, max_queue) for c in self.channels]

    def submit(self, alert: dict[str, Any]) -> None:
        """Queue one alert for every channel; never blocks."""
        for worker in self.workers:
            worker.submit(alert)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait up to `timeout` seconds for every channel's queue to drain."""
        deadline = time.monotonic() + timeout
        return all([worker.flush(deadline) for worker in self.workers])

    def close(self) -> None:
        """Stop every channel's thread."""
        for worker in self.workers:
            worker.close()


class _CeleryHandoff(Channel):
    """Publishes a channel's task; if the broker refuses, delivers the alert directly instead."""

    def __init__(self, channel: Channel, publish: Callable[[str, dict[str, Any]], Any]):
        self.name, self._channel, self._publish = channel.name, channel, publish
        self._broker = OutageLog("celery-broker")

    def send(self, alert: dict[str, Any]) -> None:
        """Queue the Celery task, or send directly when the broker is unavailable."""
        try:
            self._publish(self.name, alert)
        except Exception as exc:
            self._broker.failed(DeliveryError(f"publish failed ({type(exc).__name__})", retryable=True))
            self._channel.send(alert)
            return
        self._broker.delivered()


class CeleryDispatcher(ThreadDispatcher):
    """Delivery by Celery: one task per channel, published from a background thread.

    `publish(channel_name, alert)` queues the task, e.g. `deliver_alert.apply_async(...)`.
    """

    def __init__(self, channels: Iterable[Channel], publish: Callable[[str, dict[str, Any]], Any],
                 policy: RetryPolicy | None = None, max_queue: int = 100):
        channels = tuple(channels)
        super().__init__([_CeleryHandoff(c, publish) for c in channels], policy, max_queue)
        self.channels = channels  # the real channels, which a worker in this process delivers through


def celery_publisher(broker_url: str = "", app: Any = None) -> Callable[[str, dict[str, Any]], Any]:
    """publish(channel, alert): sends the delivery task by name through `app`.

    Without an app, a publish-only Celery app on `broker_url` is used: Celery's "current app"
    is per thread, so the project's app would not be found from our background thread.
    """
    if app is None:
        from celery import Celery

        app = Celery("infrastructure-alerts", broker=broker_url, set_as_current=False)
        app.conf.broker_connection_timeout = 2.0

    def publish(channel: str, alert: dict[str, Any]) -> Any:
        # argsrepr keeps the alert's text out of Celery's logs; the worker gets the full dict.
        return app.send_task(DELIVER_TASK, args=[channel, alert], argsrepr=repr([channel, "<alert>"]),
                             retry=True, retry_policy={"max_retries": 2, "interval_start": 0.2,
                                                       "interval_step": 0.5, "interval_max": 1.0})

    return publish
