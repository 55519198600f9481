"""The outbox thread: writes spooled envelopes in batches and replays the spool when Sentry accepts."""

from __future__ import annotations

import os
import threading
import time
from typing import TYPE_CHECKING

import sentry_sdk
from sentry_sdk.envelope import Envelope

from errorwarden.delivery.durable import KIND
from errorwarden.delivery.jobs import Job, categories

if TYPE_CHECKING:
    from errorwarden.delivery.transport import OutboxTransport


class Replayer:
    """One daemon thread per transport and process; it exits when nothing is left for its DSN."""

    def __init__(self, transport: OutboxTransport):
        self.transport = transport
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._stopped = False

    def start(self, delay: float = 0.0) -> None:
        """Make sure the thread runs in this process (a forked child starts its own)."""
        with self._lock:
            alive = self._thread is not None and self._pid == os.getpid() and self._thread.is_alive()
            if self._stopped or alive:
                return
            self._thread = threading.Thread(target=self._main, args=(delay,), name="sentry-outbox",
                                            daemon=True)
            self._pid = os.getpid()
            self._thread.start()

    def stop(self) -> None:
        """Stop after the current step (kill() has already made the memory durable)."""
        self._stopped = True
        with self.transport.cond:
            self.transport.cond.notify_all()

    def _main(self, delay: float) -> None:
        t = self.transport
        if delay:
            with t.cond:
                t.cond.wait(delay)
        while not self._stopped and not self._superseded():
            try:
                wait = self.step()
            except Exception as exc:  # a locked or broken spool file: try again later, never die
                self._complain(exc)
                wait = t.outbox.outbox_poll
            if self._idle(wait):
                return
            with t.cond:
                if not t.pending and not self._stopped:
                    t.cond.wait(t.outbox.outbox_poll if wait is None else min(wait, t.outbox.outbox_poll))

    def _complain(self, exc: Exception) -> None:
        # The type only: an exception's message may carry what the outbox holds (never logged).
        t = self.transport
        t.losses.failed(KIND, "replay", 1, f"a replay step on {t.store.path} failed ({type(exc).__name__}); "
                                           f"retrying in {t.outbox.outbox_poll:.0f} s")

    def _idle(self, wait: float | None) -> bool:
        """Leave the thread when there is nothing to write, hold or replay (start() brings it back)."""
        if wait is not None:
            return False
        with self._lock, self.transport.cond:
            if self.transport.pending:
                return False
            self._thread = None
            return True

    def _superseded(self) -> bool:
        """True when init ran again and another outbox transport took over this process.

        Its rows stay in the spool for the next process with that DSN (tests re-initialise often;
        production once).
        """
        current = getattr(sentry_sdk.get_client(), "transport", None)
        return current is not self.transport and type(current) is type(self.transport)

    def step(self) -> float | None:
        """Write what waits in memory, then replay; return seconds until the next step, None when idle."""
        t = self.transport
        batch = t.take_pending()
        if batch:
            t.write(batch)
        t.write([(env, "storm_summary", 0.0) for env in t.sampler.due()])
        waits = [t.outbox.storm_window] if t.sampler.holding() else []
        replay = self._replay()
        waits += [] if replay is None else [replay]
        return min(waits) if waits else None

    def _in_flight(self) -> int:
        with self.transport.cond:
            return sum(1 for job in self.transport.jobs.values() if job.row_id is not None)

    def _replay(self) -> float | None:
        """Claim due rows and queue them on the SDK's sender; a single probe while backing off."""
        t, now = self.transport, time.time()
        if self._stopped:
            return None
        if t.backoff.active():
            return t.backoff.remaining()
        if (limit_end := t.limit_end(None)) > now:
            return limit_end - now
        in_flight = self._in_flight()
        room = 1 - in_flight if t.backoff.failures else t.outbox.outbox_batch - in_flight
        if room <= 0:
            return t.outbox.outbox_poll  # a finished job wakes the thread earlier
        rows = t.store.claim(t.key, room, t.outbox.outbox_lease)
        if not rows:
            if in_flight:
                return t.outbox.outbox_poll
            due = t.store.next_due(t.key)
            return None if due is None else min(max(due - now, 0.05), t.outbox.outbox_poll)
        # A full send queue (fresh events first) gives rows back: look again a little later.
        return 0.0 if self._queue(rows) else min(1.0, t.outbox.outbox_poll)

    def _queue(self, rows: list) -> bool:
        """Queue claimed rows on the SDK's sender; False when some had to be given back."""
        t, give_back, broken = self.transport, [], []
        for row in rows:
            try:
                envelope = Envelope.deserialize(row.body)
            except Exception:
                broken.append(row)
                continue
            if not t.submit(Job(envelope, row.id)):
                give_back.append(row.id)
        t.store.release(give_back)
        t.store.delete([row.id for row in broken])
        t.losses.lost(KIND, "corrupt", len(broken), "a spooled envelope could not be read back")
        t.report_lost("internal_sdk_error", categories=[c for row in broken for c in categories(row.summary)])
        return not give_back
