"""sentry-sdk's HTTP transport with an outbox: what Sentry cannot take now is spooled and replayed.

The SDK's own HttpTransport drops an envelope on a 5xx, a refused connection, a timeout, a full
queue (100 items) or a shutdown that outlasts `shutdown_timeout`. This subclass keeps its HTTP
code, rate-limit parsing and client reports, and changes what happens to the envelope:

    2xx                     delivered
    429 / rate limits       held in the spool until the limit ends (up to outbox_max_hold)
    5xx, network, timeout   spooled; the process backs off (1 s doubling to outbox_retry_max)
                            and sends new envelopes straight to the spool until a retry succeeds
    413 and other 4xx       lost (Sentry will never take it), counted and logged
    queue full, flush timed out, shutdown   spooled

Everything on its way to the spool passes the StormSampler. A background thread writes the spool
in batches and replays it (oldest first, through the SDK's own sender) whenever Sentry accepts.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import UTC
from typing import Any

import urllib3
from sentry_sdk.envelope import Envelope, Item
from sentry_sdk.integrations.logging import ignore_logger
from sentry_sdk.transport import HttpTransport

from errorwarden.delivery.durable import SpoolWriter
from errorwarden.delivery.jobs import (
    DONE,
    HELD,
    LIMITED,
    NOT_SPOOLED,
    QUEUED,
    REJECTED,
    RETRY,
    RUNNING,
    SENT,
    Job,
)
from errorwarden.delivery.options import OutboxOptions
from errorwarden.delivery.pacing import Backoff, LossLog
from errorwarden.delivery.replay import Replayer
from errorwarden.delivery.sampler import StormSampler
from errorwarden.delivery.spool import OutboxStore, dsn_key
from errorwarden.settings import mask

LOGGER_NAME = "errorwarden.delivery"
logger = logging.getLogger(LOGGER_NAME)
ignore_logger(LOGGER_NAME)  # the outbox's own warnings must never become events that need the outbox

class OutboxTransport(SpoolWriter, HttpTransport):
    """An HttpTransport that never loses an envelope it could keep: see the module docstring."""

    def __init__(self, options: dict[str, Any], outbox: OutboxOptions, store: OutboxStore | None = None):
        self.TIMEOUT = outbox.outbox_timeout  # read by the SDK when it builds the pool below
        super().__init__(options)
        self.outbox = outbox
        self.store = store or OutboxStore(outbox.outbox_path, outbox.outbox_max_envelopes,
                                          outbox.outbox_max_bytes)
        self.key = dsn_key(options["dsn"])
        self.where = mask(options["dsn"])
        self.backoff = Backoff(outbox.outbox_retry_first, outbox.outbox_retry_max)
        self.losses = LossLog(logger)
        self._result = threading.local()
        self._closed = False
        self.spooled = 0  # envelopes this process wrote to the spool
        self._reset()
        self.replayer = Replayer(self)
        if self.store.path.exists():  # rows a previous process left: replay them soon
            self.replayer.start(delay=outbox.outbox_start_delay)

    def _reset(self) -> None:
        self._pid = os.getpid()
        self.cond = threading.Condition()
        self.jobs: dict[int, Job] = {}
        self.pending: list[tuple[Envelope, str, float]] = []
        self.sampler = StormSampler(self.outbox.storm_keep, self.outbox.storm_window,
                                    self.outbox.storm_max_issues)
        self._limit_logged_until = 0.0

    def _get_pool_options(self) -> dict[str, Any]:
        options = super()._get_pool_options()
        # No urllib3 retries: each one logged a warning (hundreds a minute in an outage), and the
        # outbox retries with backoff itself.
        options["retries"] = urllib3.Retry(total=0, redirect=0, raise_on_status=False)
        return options

    # -- the request thread -------------------------------------------------------------------

    def capture_envelope(self, envelope: Envelope) -> None:
        """Queue the envelope for sending, or for the spool when sending cannot work now; never raises."""
        try:
            if self._pid != os.getpid():
                self._reset()  # forked: the parent's queue and lock are not ours
            if self._closed:
                self.persist([(envelope, "shutdown", 0.0)])
            elif self.backoff.active():
                self.hold(envelope, "outage")
            elif (until := self._all_limited(envelope)) is not None:
                self.hold(envelope, "rate_limited", until)
            elif not self.submit(Job(envelope)):
                self.hold(envelope, "queue_full")
        except Exception as exc:  # called from request threads: never raise into them
            self.losses.lost("internal", 1, f"{type(exc).__name__} in the outbox transport")

    def submit(self, job: Job) -> bool:
        """Put a job in the SDK's send queue; False when the queue is full."""
        with self.cond:
            self.jobs[id(job)] = job
        if self._worker.submit(lambda: self._run(job)):
            return True
        with self.cond:
            self.jobs.pop(id(job), None)
        return False

    def hold(self, envelope: Envelope, reason: str, not_before: float = 0.0) -> None:
        """Hand an envelope to the spool writer, through the storm sampler."""
        kept = self.sampler.admit(envelope)
        lost = 0
        with self.cond:
            for env in kept:
                if len(self.pending) < self.outbox.outbox_pending_max:
                    self.pending.append((env, reason, not_before))
                else:
                    lost += 1
            self.cond.notify_all()
        self.losses.lost("memory", lost, f"{self.outbox.outbox_pending_max} envelopes already wait "
                                         "for the spool writer")
        self.replayer.start()

    def _limit_end(self, category: Any) -> float:
        ends = [self._disabled_until.get(c) for c in (category, None)]
        return max((end.astimezone(UTC).timestamp() for end in ends if end is not None), default=0.0)

    def _all_limited(self, envelope: Envelope) -> float | None:
        """The time every item's rate limit ends, when all are limited and the wait is short enough."""
        if not self._disabled_until:
            return None
        now, ends = time.time(), [self._limit_end(item.data_category) for item in envelope.items]
        if ends and min(ends) > now and max(ends) - now <= self.outbox.outbox_max_hold:
            return max(ends)
        return None

    # -- the SDK's sender thread --------------------------------------------------------------

    def _run(self, job: Job) -> None:
        with job.lock:
            if job.state != QUEUED:
                return  # flush() or kill() spooled it meanwhile
            job.state = RUNNING
        try:
            if self.backoff.active():  # queued before the failure: do not knock again, keep it
                outcome, why, held, until = RETRY, "outage", [], 0.0
            else:
                outcome, why, held, until = self._send_once(job.envelope)
        except Exception as exc:
            outcome, why, held, until = REJECTED, f"{type(exc).__name__} while preparing it", [], 0.0
        with self.cond:
            self.jobs.pop(id(job), None)
            self.cond.notify_all()
        with job.lock:
            job.state, spooled_row = DONE, job.spooled_row
        if held:
            self.hold(Envelope(headers=job.envelope.headers, items=held), "rate_limited", until)
        self.settle(job, outcome, why, spooled_row)
        self._flush_client_reports()

    def _send_once(self, envelope: Envelope) -> tuple[str, str, list[Item], float]:
        """Send once through the SDK; return (outcome, why, items held for a rate limit, limit end)."""
        now, held, rest, until = time.time(), [], [], 0.0
        for item in envelope.items:
            end = self._limit_end(item.data_category)
            if now < end <= now + self.outbox.outbox_max_hold and item.type not in NOT_SPOOLED:
                held.append(item)
                until = max(until, end)
            else:
                rest.append(item)  # a longer limit: the SDK drops the item and reports it
        self._result.outcome, self._result.why = HELD, ""  # nothing sent: every item waits for a limit
        if rest:
            self._result.outcome = SENT  # unless _send_request says otherwise (or the SDK drops all)
            self._send_envelope(Envelope(headers=envelope.headers, items=rest))
        return self._result.outcome, self._result.why, held, until

    def _send_request(self, body: bytes, headers: dict[str, str], endpoint_type: Any,
                      envelope: Envelope | None = None) -> None:
        """The SDK's _send_request, except that retryable failures are kept instead of lost."""
        self._update_headers(headers)
        try:
            response = self._request("POST", endpoint_type, body, headers)
        except Exception as exc:
            reason = getattr(exc, "reason", None) or exc  # urllib3's MaxRetryError wraps the cause
            self._result.outcome, self._result.why = RETRY, type(reason).__name__
            return
        try:
            status = response.status
            if status == 429 or status >= 500:
                self._update_rate_limits(response)
                self._result.outcome = LIMITED if status == 429 else RETRY
                self._result.why = f"HTTP {status}"
            else:
                self._handle_response(response=response, envelope=envelope)  # 2xx, 413, other 4xx
                self._result.outcome = SENT if 200 <= status < 300 else REJECTED
                self._result.why = f"HTTP {status}"
        finally:
            response.close()

    def settle(self, job: Job, outcome: str, why: str, spooled_row: int | None) -> None:
        """Act on one send's outcome: forget, spool, release or delete the job's row."""
        if outcome == SENT:
            self._recovered()
        elif outcome == RETRY and why != "outage":
            self._failed(why)
        elif outcome == LIMITED:
            self._limited()
        elif outcome == REJECTED and any(item.type not in NOT_SPOOLED for item in job.envelope.items):
            self.losses.lost("rejected", 1, f"Sentry at {self.where} refused it ({why}); a retry cannot help")
        row = job.row_id if job.row_id is not None else spooled_row
        if outcome in (SENT, REJECTED, HELD):
            if row is not None:
                self._safely(self.store.delete, [row])
        elif row is not None:
            self._safely(self.store.release, [row], self._due_after(outcome))
        else:
            self.hold(job.envelope, "rate_limited" if outcome == LIMITED else why, self._due_after(outcome))

    def _due_after(self, outcome: str) -> float:
        if outcome == LIMITED:
            return self._limit_end(None) or max(self._limit_end("error"), self._limit_end("transaction"))
        return time.time() + self.backoff.remaining()

    def _failed(self, why: str) -> None:
        delay = self.backoff.failed()
        if self.backoff.failures == 1:
            logger.warning("Sentry at %s is not taking envelopes (%s): spooling them to %s and retrying in "
                           "%.1f s, backing off up to %.1f s", self.where, why, self.store.path, delay,
                           self.backoff.cap)

    def _recovered(self) -> None:
        if self.backoff.succeeded():
            logger.warning("Sentry at %s takes envelopes again; replaying the %d in %s", self.where,
                           self.store.pending(self.key), self.store.path)

    def _limited(self) -> None:
        until = self._limit_end(None) or self._limit_end("error")
        if until > self._limit_logged_until:
            self._limit_logged_until = until
            logger.warning("Sentry at %s rate-limits this project for %.0f s: holding envelopes in %s "
                           "until then", self.where, max(0.0, until - time.time()), self.store.path)

    def flush(self, timeout: float, callback: Any | None = None) -> None:
        """Send for up to timeout seconds; then make whatever is still waiting durable in the spool."""
        super().flush(timeout, callback)
        self.persist(running=True)

    def kill(self) -> None:
        """Shut down: spool everything not delivered (in flight too), stop the threads."""
        self._closed = True
        self.persist(running=True)
        self.replayer.stop()
        self.losses.report()
        super().kill()

    def is_healthy(self) -> bool:
        """False while rate-limited, while the queue is full, and while backing off after a failure."""
        return super().is_healthy() and not self.backoff.active()
