"""A sentry-sdk transport that files events and transactions into the local SQLite inbox.

On the capturing thread each event or transaction is counted against its issue in memory (a dict
increment under one lock) and the storm sampler (IssueWindows, SPREAD: the first events of each
window, a spread after them and the newest) decides whether its payload is kept. A writer thread
of the transport's own writes, in one transaction, what gathered meanwhile: the counts, the kept
payloads and the loss ledger's new counts. So the counts are exact whatever is kept, and the
writer's work grows with what is kept, not with what is captured. What cannot be kept (a full
queue, a failed write, an unreadable item) is counted in the loss ledger by reason.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from typing import Any

from sentry_sdk.envelope import Envelope, Item
from sentry_sdk.transport import Transport

# A module reference: delivery.sampler imports local.store, so either package may be imported first.
from errorwarden.delivery import sampler as storm
from errorwarden.local.monitors import MonitorStore
from errorwarden.local.store import InboxStore, Tally, key_of, row_of
from errorwarden.losses import LossLedger
from errorwarden.settings import Settings

KIND = "inbox"  # this transport's kind in the loss ledger
STORED_TYPES = frozenset({"event", "transaction"})  # sessions, profiles and logs are not issues
LINGER = 0.2  # seconds the writer lets a batch gather after it is woken (not when flushing)
MAX_CELLS = 100_000  # issue and minute counts held in memory while the inbox cannot be written
# A batch that waited out busy_timeout (another process held the write lock that long: a loaded
# machine, a long trim) is tried again on the writer thread before it is given up.
LOCKED_RETRIES = (0.1, 0.5, 1.0, 2.0)
RETRY_FIRST, RETRY_MAX = 1.0, 30.0  # after a failed write, the counts wait this long (doubling) to retry
STOP_WAIT = 2.0  # seconds kill() waits for the writer's last write


class LocalInboxTransport(Transport):
    """Counts every event and transaction, keeps a sample of their payloads in an InboxStore off the
    request thread, and never raises into the SDK."""

    def __init__(self, options: dict[str, Any] | None = None, *, store: InboxStore, queue_size: int = 1000,
                 keep: int = 10, window: float = 60.0, max_issues: int = 1000,
                 losses: LossLedger | None = None, linger: float = LINGER,
                 monitors: MonitorStore | None = None, pins: storm.Pins | None = None):
        super().__init__(options)
        if queue_size < 1 or linger < 0:
            raise ValueError(f"queue_size must be at least 1 and linger at least 0, not {queue_size} "
                             f"and {linger}")
        self.store = store
        self.monitors = monitors  # check-ins of beat tasks go here (errorwarden/local/monitors.py)
        self.queue_size, self.linger = queue_size, linger
        self.losses = losses if losses is not None else LossLedger()
        self.pins = pins  # events an alert names (their "Inspect locally" command): always kept
        self._sampling = (keep, window, max_issues)
        storm.IssueWindows(keep, window, max_issues, policy=storm.SPREAD)  # bad settings fail here
        self._reset()

    def _reset(self) -> None:
        # Also in a forked child: the parent's counts, payloads and writer thread are the parent's.
        self._pid = os.getpid()
        self._cond = threading.Condition(threading.Lock())
        self._tally = Tally()
        self._pending: list[tuple[str, dict[str, Any], str, float]] = []  # kept: type, payload, key, when
        self._checkins: list[dict[str, Any]] = []  # beat check-ins for the monitors store
        self._sampler = storm.IssueWindows(*self._sampling, policy=storm.SPREAD)
        self._thread: threading.Thread | None = None
        self._awake = False  # the writer is running or about to: a capture need not wake it
        self._asked = self._done = 0  # flush generations asked for and written
        self._stopping = False
        self._retry_at = 0.0  # after a failed write: when the held counts are tried again
        self._retry_delay = RETRY_FIRST

    @classmethod
    def for_store(cls, store: InboxStore, queue_size: int = 1000, **options: Any) -> LocalInboxTransport:
        """A ready instance for sentry_sdk.init(transport=...), writing to this store."""
        return cls(store=store, queue_size=queue_size, **options)

    @property
    def dropped(self) -> int:
        """Items this process could not keep (the loss ledger's inbox entries)."""
        return self.losses.total(KIND)

    # -- the capturing thread -------------------------------------------------------------------

    def capture_envelope(self, envelope: Envelope) -> None:
        """Count the envelope's events and transactions and queue the sampled ones; never blocks on
        SQLite and never raises."""
        if self._pid != os.getpid():
            self._reset()
        for item in envelope.items:
            if item.type == "check_in" and self.monitors is not None:
                try:
                    self._file_checkin(_payload(item))
                except Exception as exc:
                    self._lose("unreadable", 1, f"{type(exc).__name__} while reading a check-in")
                continue
            if item.type not in STORED_TYPES:
                continue
            try:
                self._capture(item.type, _payload(item))
            except Exception as exc:  # the SDK calls us from request threads: never raise into it
                self._lose("unreadable", 1, f"{type(exc).__name__} while reading an envelope item")

    def _capture(self, item_type: str, payload: dict[str, Any]) -> None:
        key, now = key_of(item_type, payload), time.time()
        entry = (item_type, payload, key, now)
        pinned = self.pins is not None and item_type == "event" and self.pins.take(payload.get("event_id"))
        decision = self._sampler.admit((item_type, key), entry, now=now, pinned=pinned)
        queued = [held.carrier for held in decision.released]
        if decision.kept:
            queued.append(entry)
        with self._cond:
            counted = len(self._tally) < MAX_CELLS or (item_type, key) in self._tally.issues
            if counted:
                self._tally.add(item_type, key, now, payload)
            room = max(0, self.queue_size - len(self._pending))
            self._pending.extend(queued[:room])
            self._wake()
        if not counted:
            self._lose("counts_full", 1, f"{MAX_CELLS} counts already wait for the inbox {self.store.path}")
        if len(queued) > room:
            self._lose("queue_full", len(queued) - room, f"{self.queue_size} payloads already wait for the "
                       f"writer of {self.store.path}; their events are counted")

    def _file_checkin(self, payload: dict[str, Any]) -> None:
        # Check-ins are few (one per beat run and end): they go with the writer's next batch.
        with self._cond:
            if len(self._checkins) >= self.queue_size:
                full = True
            else:
                full = False
                self._checkins.append(payload)
            self._wake()
        if full:
            self._lose("queue_full", 1, f"{self.queue_size} check-ins already wait for the writer")

    def _wake(self) -> None:
        """Start or wake the writer (the caller holds self._cond)."""
        if self._thread is None or not self._thread.is_alive():
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="sentry-local-inbox", daemon=True)
            self._awake = True
            self._thread.start()
        elif not self._awake:
            self._awake = True
            self._cond.notify_all()

    def _lose(self, reason: str, count: int, explain: str) -> None:
        self.losses.lost(KIND, reason, count, explain)
        with self._cond:
            self._wake()  # the ledger's new count goes into the file with the next write

    # -- the writer thread ----------------------------------------------------------------------

    def _ready(self) -> tuple[bool, bool]:
        """(work to do now, a flush or stop asked for it); the caller holds self._cond."""
        flushing = self._stopping or self._asked > self._done
        if flushing or self._pending or self._checkins:
            return True, flushing
        due = self._sampler.next_due()
        now = time.time()
        if due is not None and due <= now:
            return True, False
        return self._tally.events > 0 and time.monotonic() >= self._retry_at, False

    def _wait_for(self) -> float:
        due = self._sampler.next_due()
        waits = [] if due is None else [max(0.0, due - time.time()) + 0.01]
        if self._tally.events:
            waits.append(max(0.0, self._retry_at - time.monotonic()))
        return min(waits) if waits else 3600.0

    def _run(self) -> None:
        while True:
            with self._cond:
                ready, flushing = self._ready()
                while not ready:
                    self._awake = False
                    self._cond.wait(self._wait_for())
                    ready, flushing = self._ready()
                self._awake = True
            if not flushing and self.linger:
                time.sleep(self.linger)  # let a burst gather into one transaction
            with self._cond:
                asked, stopping = self._asked, self._stopping
                flushing = stopping or asked > self._done  # a flush asked during the linger counts too
                batch, self._pending = self._pending, []
                checkins, self._checkins = self._checkins, []
                tally, self._tally = self._tally, Tally()
            self._write_checkins(checkins)
            written = self._write_batch(batch, tally, everything=flushing)
            with self._cond:
                self._done = max(self._done, asked)
                self._cond.notify_all()
                if stopping and (not written or not (self._pending or self._tally.events)):
                    self._thread = None  # what a failed last write leaves waits for a capture to restart
                    return

    def _write_checkins(self, checkins: list[dict[str, Any]]) -> None:
        if not checkins or self.monitors is None:
            return
        try:
            self.monitors.add_checkins(checkins)
        except Exception as exc:  # the monitors' own file: its failure never holds up the inbox
            self.losses.lost(KIND, "write_failed", len(checkins),
                             f"writing check-ins failed ({type(exc).__name__})")

    def _write_batch(self, batch: list[tuple[str, dict[str, Any], str, float]], tally: Tally,
                     everything: bool) -> bool:
        """Write one batch with the held samples due; False when the write failed."""
        batch = batch + [held.carrier for held in self._sampler.due(everything)]
        rows = []
        for item_type, payload, key, when in batch:
            try:
                rows.append(row_of(item_type, payload, key, when))
            except Exception as exc:  # a value json cannot encode even with default=str
                self._lose("unreadable", 1, f"{type(exc).__name__} while encoding a payload")
        losses = self.losses.take_unsaved()
        if not (rows or tally.events or losses):
            return True
        try:
            self._write(rows, tally, losses)
        except Exception as exc:  # disk full, still locked after the retries, a directory in the way
            self.losses.put_back(losses)
            with self._cond:
                tally.merge(self._tally)  # the counts wait for the next write
                self._tally = tally
                self._retry_at = time.monotonic() + self._retry_delay
                self._retry_delay = min(RETRY_MAX, self._retry_delay * 2)
            self.losses.lost(KIND, "write_failed", len(rows), f"writing {self.store.path} failed "
                             f"({type(exc).__name__}); the counts are kept in memory and tried again")
            return False
        self._retry_at, self._retry_delay = 0.0, RETRY_FIRST
        return True

    def _write(self, rows: list[tuple[Any, ...]], tally: Tally, losses: dict[tuple[str, str], int]) -> None:
        for pause in (*LOCKED_RETRIES, None):
            try:
                self.store.write(rows, tally, losses)
                return
            except sqlite3.OperationalError as exc:
                if pause is None or ("locked" not in str(exc) and "busy" not in str(exc)):
                    raise
                time.sleep(pause)

    # -- the SDK's controls ---------------------------------------------------------------------

    def flush(self, timeout: float, callback: Any | None = None) -> None:
        """Write the counts, the queued payloads and every held sample; wait up to timeout seconds."""
        if self._pid != os.getpid():
            self._reset()
        deadline = time.monotonic() + timeout
        with self._cond:
            if self._thread is None and not (self._pending or self._checkins or self._tally.events
                                             or self._sampler.holding()):
                return
            self._asked += 1
            asked = self._asked
            self._wake()
            self._cond.notify_all()
            while self._done < asked and (remaining := deadline - time.monotonic()) > 0:
                self._cond.wait(remaining)

    def kill(self) -> None:
        """Write what is held and stop the writer thread (a later capture starts it again)."""
        if self._pid != os.getpid():
            self._reset()  # a forked child's inherited lock and thread are the parent's
        with self._cond:
            thread = self._thread
            if thread is None:
                return
            self._stopping = True
            self._cond.notify_all()
        thread.join(STOP_WAIT)
        self.losses.report()

    def is_healthy(self) -> bool:
        """False while the payload queue is full."""
        return len(self._pending) < self.queue_size


def _payload(item: Item) -> dict[str, Any]:
    payload = item.payload.json
    return payload if payload is not None else json.loads(item.get_bytes())


def inbox_transport_for(settings: Settings, losses: LossLedger | None = None,
                        pins: storm.Pins | None = None) -> LocalInboxTransport:
    """The local inbox transport for these settings (SENTRY_INBOX_PATH, SENTRY_INBOX_MAX_EVENTS,
    SENTRY_STORM_KEEP, SENTRY_STORM_WINDOW_SECONDS), counting its losses in this ledger and
    keeping the events an alert names (pins)."""
    return LocalInboxTransport(store=InboxStore.from_settings(settings), keep=settings.storm_keep,
                               window=settings.storm_window, losses=losses,
                               monitors=MonitorStore(settings.monitors_path), pins=pins)
