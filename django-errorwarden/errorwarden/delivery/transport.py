"""sentry-sdk's HTTP transport with an outbox: what Sentry cannot take now is spooled and replayed.

The SDK's own HttpTransport drops an envelope on a 5xx, a refused connection, a timeout, a full
queue (100 items) or a shutdown that outlasts `shutdown_timeout`. This transport holds one
(errorwarden.sdk.SdkHttp, the app's only door to sentry-sdk's internals) for its HTTP code,
rate-limit parsing, send thread and client reports, and changes what happens to the envelope:

    2xx                     delivered
    429 / rate limits       held in the spool until the limit ends (up to outbox_max_hold)
    5xx, network, timeout   spooled; the process backs off (1 s doubling to outbox_retry_max)
                            and sends new envelopes straight to the spool until a retry succeeds
    413 and other 4xx       lost (Sentry will never take it), counted and logged
    queue full, flush timed out, shutdown   spooled

Everything on its way to the spool passes the StormSampler. A background thread writes the spool
in batches and replays it (oldest first, through the SDK's own sender) whenever Sentry accepts.
Everything the outbox loses, spools or fails to send is counted in the runtime's loss ledger (kind
"outbox", errorwarden/losses.py), which logs each reason at most once a minute. What it loses is
also counted for sentry-sdk's client reports (record_lost_event): spool full -> cache_overflow,
memory full -> queue_overflow, a spool write or internal failure or a spooled envelope that cannot
be read back -> internal_sdk_error, so the server's "dropped" figures include the outbox's.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from sentry_sdk.envelope import Envelope, Item
from sentry_sdk.transport import Transport

from errorwarden.delivery.durable import KIND, SpoolWriter
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
from errorwarden.delivery.outbox_store import OutboxStore, dsn_key
from errorwarden.delivery.pacing import Backoff
from errorwarden.delivery.replay import Replayer
from errorwarden.delivery.sampler import Pins, StormSampler
from errorwarden.logs import quiet_own_loggers
from errorwarden.losses import LossLedger
from errorwarden.sdk import SdkHttp
from errorwarden.settings import mask

LOGGER_NAME = "errorwarden.delivery"
logger = logging.getLogger(LOGGER_NAME)

class OutboxTransport(SpoolWriter, Transport):
    """A transport that never loses an envelope it could keep: see the module docstring."""

    def __init__(self, options: dict[str, Any], outbox: OutboxOptions, store: OutboxStore | None = None,
                 losses: LossLedger | None = None, pins: Pins | None = None):
        quiet_own_loggers()  # the outbox's own warnings must never become events that need the outbox
        super().__init__(options)
        # The SDK's client reports come back through capture_envelope: no knocking while backing off.
        self.http = SdkHttp(options, outbox.outbox_timeout, route=self.capture_envelope)
        self.outbox = outbox
        self.store = store or OutboxStore(outbox.outbox_path, outbox.outbox_max_envelopes,
                                          outbox.outbox_max_bytes)
        self.key = dsn_key(options["dsn"])
        self.where = mask(options["dsn"])
        self.backoff = Backoff(outbox.outbox_retry_first, outbox.outbox_retry_max)
        self.losses = losses if losses is not None else LossLedger()
        self.pins = pins  # events an alert names: the storm sampler keeps them
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
                                    self.outbox.storm_max_issues, pins=self.pins)
        self._limit_logged_until = 0.0

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
            self.losses.lost(KIND, "internal", 1, f"{type(exc).__name__} in the outbox transport")
            self.report_lost("internal_sdk_error", [envelope])

    def record_lost_event(self, reason: str, data_category: Any = None, item: Item | None = None, *,
                          quantity: int = 1) -> None:
        """Count a loss for the next client report (the SDK's client calls this for its own drops)."""
        self.http.record_lost_event(reason, data_category, item, quantity=quantity)

    def report_lost(self, reason: str, envelopes: list[Envelope] = (), categories: list[str] = ()) -> None:
        """Count the outbox's own losses for sentry-sdk's client reports; never raises.

        envelopes: lost whole (each item counted, transactions with their spans); categories: one
        lost item each, by data category, where only the spool's summary of the row is left.
        """
        try:
            for envelope in envelopes:
                for item in envelope.items:
                    if item.type not in NOT_SPOOLED:
                        self.http.record_lost_event(reason, item=item)
            for category in categories:
                self.http.record_lost_event(reason, category)
        except Exception as exc:
            logger.debug("counting a loss for the client report failed (%s)", type(exc).__name__)

    def submit(self, job: Job) -> bool:
        """Put a job in the SDK's send queue; False when the queue is full."""
        with self.cond:
            self.jobs[id(job)] = job
        if self.http.submit(lambda: self._run(job)):
            return True
        with self.cond:
            self.jobs.pop(id(job), None)
        return False

    def hold(self, envelope: Envelope, reason: str, not_before: float = 0.0) -> None:
        """Hand an envelope to the spool writer, through the storm sampler."""
        kept = self.sampler.admit(envelope)
        lost = []
        with self.cond:
            for env in kept:
                if len(self.pending) < self.outbox.outbox_pending_max:
                    self.pending.append((env, reason, not_before))
                else:
                    lost.append(env)
            self.cond.notify_all()
        self.losses.lost(KIND, "memory", len(lost),
                         f"{self.outbox.outbox_pending_max} envelopes already wait for the spool writer")
        self.report_lost("queue_overflow", lost)
        self.replayer.start()

    def take_pending(self) -> list[tuple[Envelope, str, float]]:
        """Everything waiting in memory for the spool writer, handed over (the list is emptied)."""
        with self.cond:
            batch, self.pending = self.pending, []
        return batch

    def limit_end(self, category: str | None) -> float:
        """When Sentry's rate limit on this data category (or on all) ends, epoch seconds; 0.0 if none."""
        return self.http.limit_end(category)

    def _all_limited(self, envelope: Envelope) -> float | None:
        """The time every item's rate limit ends, when all are limited and the wait is short enough."""
        if not self.http.limited():
            return None
        now, ends = time.time(), [self.limit_end(item.data_category) for item in envelope.items]
        if ends and min(ends) > now and max(ends) - now <= self.outbox.outbox_max_hold:
            return max(ends)
        return None

    # -- the SDK's sender thread --------------------------------------------------------------

    def _run(self, job: Job) -> None:
        with job.lock:
            cancelled = job.state != QUEUED  # flush() or kill() spooled it meanwhile
            job.state = job.state if cancelled else RUNNING
        if cancelled:
            # Forget it too: a cancelled job left in `jobs` counted as in flight for ever, and while
            # backing off (room for one probe) the replay never sent again.
            with self.cond:
                self.jobs.pop(id(job), None)
                self.cond.notify_all()
            return
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
        self.http.flush_client_reports()

    def _send_once(self, envelope: Envelope) -> tuple[str, str, list[Item], float]:
        """Send once through the SDK; return (outcome, why, items held for a rate limit, limit end)."""
        now, held, rest, until = time.time(), [], [], 0.0
        for item in envelope.items:
            end = self.limit_end(item.data_category)
            if now < end <= now + self.outbox.outbox_max_hold and item.type not in NOT_SPOOLED:
                held.append(item)
                until = max(until, end)
            else:
                rest.append(item)  # a longer limit: the SDK drops the item and reports it
        if not rest:
            return HELD, "", held, until  # nothing sent: every item waits for a limit
        answer = self.http.send(Envelope(headers=envelope.headers, items=rest))
        if answer is None:  # the SDK dropped every item (rate limits longer than outbox_max_hold)
            return SENT, "", held, until
        status = answer.status
        if status is None or status >= 500:
            outcome = RETRY
        elif status == 429:
            outcome = LIMITED
        else:
            outcome = SENT if 200 <= status < 300 else REJECTED  # 413 and other 4xx: the SDK counted it
        return outcome, answer.why, held, until

    def settle(self, job: Job, outcome: str, why: str, spooled_row: int | None) -> None:
        """Act on one send's outcome: forget, spool, release or delete the job's row."""
        if outcome == SENT:
            self._recovered()
        elif outcome == RETRY and why != "outage":
            self._failed(why)
        elif outcome == LIMITED:
            self._limited()
        elif outcome == REJECTED and any(item.type not in NOT_SPOOLED for item in job.envelope.items):
            self.losses.lost(KIND, "rejected", 1,
                             f"Sentry at {self.where} refused it ({why}); a retry cannot help")
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
            return self.limit_end(None) or max(self.limit_end("error"), self.limit_end("transaction"))
        return time.time() + self.backoff.remaining()

    def _failed(self, why: str) -> None:
        self.losses.failed(KIND, "send", 1, f"Sentry at {self.where} did not take it ({why}); it is spooled")
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
        until = self.limit_end(None) or self.limit_end("error")
        if until > self._limit_logged_until:
            self._limit_logged_until = until
            logger.warning("Sentry at %s rate-limits this project for %.0f s: holding envelopes in %s "
                           "until then", self.where, max(0.0, until - time.time()), self.store.path)

    def flush(self, timeout: float, callback: Any | None = None) -> None:
        """Send for up to timeout seconds; then make whatever is still waiting durable in the spool."""
        self.http.flush(timeout, callback)
        self.persist(running=True)

    def kill(self) -> None:
        """Shut down: spool everything not delivered (in flight too), stop the threads."""
        self._closed = True
        self.persist(running=True)
        self.replayer.stop()
        self.losses.report()
        self.http.kill()

    def is_healthy(self) -> bool:
        """False while rate-limited, while the queue is full, and while backing off after a failure."""
        return self.http.is_healthy() and not self.backoff.active()
