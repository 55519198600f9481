"""A sentry-sdk transport that files events and transactions into the local SQLite inbox."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from typing import Any

from sentry_sdk.envelope import Envelope, Item
from sentry_sdk.integrations.logging import ignore_logger
from sentry_sdk.transport import Transport

from errorwarden.local.monitors import MonitorStore
from errorwarden.local.store import InboxStore
from errorwarden.logs import OncePerInterval
from errorwarden.sdk import background_worker
from errorwarden.settings import Settings

logger = logging.getLogger(__name__)
# Our own "inbox is broken" warning must not become a Sentry event that tries the broken inbox again.
ignore_logger(__name__)

STORED_TYPES = frozenset({"event", "transaction"})  # sessions, profiles and logs are not issues
WARN_INTERVAL = 60.0  # seconds between two warnings about the same problem
BATCH_SIZE = 200  # items per SQLite transaction: one lock hand-off between processes per batch
# A batch that waited out busy_timeout (another process held the write lock that long: a loaded
# machine, a long cap trim) is tried again on this thread before it is dropped.
LOCKED_RETRIES = (0.1, 0.5, 1.0, 2.0)


class LocalInboxTransport(Transport):
    """Writes each event and transaction to an InboxStore off the request thread; never raises."""

    def __init__(self, options: dict[str, Any] | None = None, *, store: InboxStore, queue_size: int = 1000,
                 monitors: MonitorStore | None = None):
        super().__init__(options)
        self.store = store
        self.monitors = monitors  # check-ins of beat tasks go here (errorwarden/local/monitors.py)
        self.queue_size = queue_size
        self.dropped = 0
        self._warnings = OncePerInterval(WARN_INTERVAL)
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._writer = background_worker(queue_size=10)  # holds drain jobs; items wait in _pending
        self._lock = threading.Lock()
        self._pending: list[tuple[str, dict[str, Any]]] = []
        self._drain_queued = False

    @classmethod
    def for_store(cls, store: InboxStore, queue_size: int = 1000) -> LocalInboxTransport:
        """A ready instance for sentry_sdk.init(transport=...), writing to this store."""
        return cls(store=store, queue_size=queue_size)

    def capture_envelope(self, envelope: Envelope) -> None:
        """Queue the envelope's events and transactions for the inbox; never blocks on SQLite."""
        try:
            for item in envelope.items:
                if item.type in STORED_TYPES:
                    self._enqueue(item.type, _payload(item))
                elif item.type == "check_in" and self.monitors is not None:
                    self._file_checkin(_payload(item))
        except Exception as exc:  # the SDK calls us from request threads: never raise into it
            self._drop("bad-item", exc)

    def _enqueue(self, item_type: str, payload: dict[str, Any]) -> None:
        if self._pid != os.getpid():
            # A forked child must not write the parent's pending items a second time, nor wait
            # on a lock some parent thread held at fork time.
            self._reset()
        with self._lock:
            if len(self._pending) >= self.queue_size:
                overflow = True
            else:
                overflow = False
                self._pending.append((item_type, payload))
                schedule, self._drain_queued = not self._drain_queued, True
        if overflow:
            self._drop("overflow", RuntimeError(f"{self.queue_size} items already waiting"))
        elif schedule and not self._writer.submit(self._drain):
            with self._lock:
                self._drain_queued = False

    def _file_checkin(self, payload: dict[str, Any]) -> None:
        # Check-ins are few (one per beat run and end): each is one small write on the writer thread.
        def write() -> None:
            try:
                self.monitors.add_checkins([payload])
            except Exception as exc:
                self._drop("check-in write", exc)

        if self._pid != os.getpid():
            self._reset()
        if not self._writer.submit(write):
            self._drop("overflow", RuntimeError("the writer queue is full"))

    def _drain(self) -> None:
        # Everything queued since the last drain goes in a few transactions, so a burst of
        # errors costs one write lock per batch instead of one per event.
        with self._lock:
            batch, self._pending, self._drain_queued = self._pending, [], False
        for start in range(0, len(batch), BATCH_SIZE):
            chunk = batch[start:start + BATCH_SIZE]
            try:
                self._write(chunk)
            except Exception as exc:  # disk full, still locked after the retries, a directory in the way
                self._drop("write", exc, count=len(chunk))

    def _write(self, chunk: list[tuple[str, dict[str, Any]]]) -> None:
        for pause in (*LOCKED_RETRIES, None):
            try:
                self.store.add_many(chunk)
                return
            except sqlite3.OperationalError as exc:
                if pause is None or ("locked" not in str(exc) and "busy" not in str(exc)):
                    raise
                time.sleep(pause)

    def _drop(self, problem: str, exc: BaseException, count: int = 1) -> None:
        with self._lock:
            self.dropped += count
        held = self._warnings.due(problem, count)  # one warning per problem per minute, not per event
        if not held:
            logger.debug("local inbox %s: dropped %d item(s): %s", problem, count, exc)
            return
        logger.warning("Local Sentry inbox %s: dropped %d item(s) (%s: %s); further drops for the next "
                       "%d s are logged at debug level", self.store.path, held, problem, exc, WARN_INTERVAL)

    def flush(self, timeout: float, callback: Any | None = None) -> None:
        """Wait up to timeout seconds for queued items to reach SQLite."""
        self._writer.flush(timeout, callback)

    def kill(self) -> None:
        """Stop the writer thread once the items already queued are written."""
        self._writer.kill()

    def is_healthy(self) -> bool:
        """False while the write queue is full."""
        return len(self._pending) < self.queue_size


def _payload(item: Item) -> dict[str, Any]:
    payload = item.payload.json
    return payload if payload is not None else json.loads(item.get_bytes())


def transport_for(settings: Settings) -> LocalInboxTransport:
    """The local inbox transport for these settings (SENTRY_INBOX_PATH, SENTRY_INBOX_MAX_EVENTS)."""
    return LocalInboxTransport(store=InboxStore.from_settings(settings),
                               monitors=MonitorStore(settings.monitors_path))
