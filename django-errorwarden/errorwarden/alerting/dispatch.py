"""Alert delivery off the request path: the durable spool, one worker thread per channel, or Celery.

A fired alert is first written to the spool (errorwarden/alerting/alert_queue.py); only then is its
cooldown spent. A dispatcher without a channel (none enabled, or none with a recipient) cannot
page: `pages()` says so, and the engine then counts without firing, so no cooldown is spent.
Each channel's worker thread takes due deliveries from the spool and makes one attempt each; a
failure that a retry can help is scheduled again by the one RetryPolicy (backoff
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
from typing import Any

from errorwarden.alerting.alert_queue import DELIVERED, LOST, QUEUED, AlertSpool, Delivery
from errorwarden.alerting.channels import Channel
from errorwarden.alerting.retry import KIND, OutageLog, RetryPolicy, attempt, reason_of
from errorwarden.losses import LossLedger

# The Celery task's registered name; errorwarden/tasks.py registers it, we publish by name.
DELIVER_TASK = "errorwarden.deliver_alert"
# publish(channel, alert, deadline, delivery=<alert id>): the id lets the worker record the outcome.
Publish = Callable[..., Any]


class ChannelWorker:
    """One channel's thread: takes due deliveries from the spool, one attempt each, reschedules."""

    def __init__(self, channel: Channel, spool: AlertSpool, policy: RetryPolicy, *,
                 handoff: Publish | None = None, clock: Callable[[], float] = time.time, poll: float = 2.0,
                 losses: LossLedger | None = None):
        self.losses = losses if losses is not None else LossLedger()
        self.channel, self.spool, self.policy = channel, spool, policy
        self.outage = OutageLog(channel.name, self.losses)
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
                self.losses.failed(KIND, "spool", 1, f"the alert spool {self.spool.path} failed "
                                                     f"({type(exc).__name__}); retrying", level=logging.ERROR)
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
        next_at = self.policy.next_attempt(delivery.attempts, error, now, delivery.deadline)
        if next_at is not None:
            self.spool.retry_at(delivery.id, next_at, reason_of(error))
            self.losses.spooled(KIND, self.channel.name, 1, "kept in the alert spool for another attempt")
            return
        reason = reason_of(error) if not error.retryable else f"{reason_of(error)}; its cooldown ended"
        self.spool.finish(delivery.id, LOST, now, reason)
        self.outage.lost(delivery.title, delivery.attempts, reason)

    def _hand_off(self, delivery: Delivery) -> bool:
        try:
            self._handoff(self.channel.name, delivery.alert, delivery.deadline, delivery=delivery.alert_id)
        except Exception as exc:  # the broker is down: this thread delivers the alert itself
            self.losses.failed(KIND, "handoff", 1, f"the Celery broker refused an alert "
                                                   f"({type(exc).__name__}); delivering it from this process")
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

    def pages(self) -> bool:
        """True when a fired alert can go out: sent, or handed on, through at least one channel."""
        return True

    def submit(self, alert: dict[str, Any], key: str = "", until: float = 0.0) -> bool:
        """Queue one alert for every channel; False when this host already fired `key`."""
        raise NotImplementedError

    def claimed_until(self, key: str, now: float) -> float | None:
        """When this host's claim on `key` (the page that went out for it) ends, or None."""
        return None

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
                 handoff: Publish | None = None, clock: Callable[[], float] = time.time,
                 losses: LossLedger | None = None):
        self.channels, self.spool, self._clock = tuple(channels), spool, clock
        self.losses = losses if losses is not None else LossLedger()
        policy = policy or RetryPolicy()
        self.workers = [ChannelWorker(c, spool, policy, handoff=handoff, clock=clock, losses=self.losses)
                        for c in self.channels]
        if self.channels and spool.pending():
            self.poke()  # a previous process left alerts behind

    def pages(self) -> bool:
        """True when at least one channel is configured (load_channels leaves out a channel that is
        off or has no recipient or webhook)."""
        return bool(self.channels)

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

    def claimed_until(self, key: str, now: float) -> float | None:
        """When the spool's claim on `key` ends, or None when no claim runs."""
        return self.spool.claims(now).get(key)

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

    def publish(channel: str, alert: dict[str, Any], deadline: float, delivery: str | None = None) -> Any:
        # argsrepr keeps the alert's text out of Celery's logs; the worker gets the full dict.
        # `delivery` (the spool's alert id) lets the worker write the outcome back to this host's spool.
        return app.send_task(DELIVER_TASK, args=[channel, alert, deadline],
                             kwargs={"delivery": delivery} if delivery else {},
                             argsrepr=repr([channel, "<alert>", deadline]), retry=True,
                             retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5,
                                           "interval_max": 1.0})

    return publish
