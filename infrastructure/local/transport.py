"""A sentry-sdk transport that files events and transactions into the local SQLite inbox."""

from __future__ import annotations

import json
import logging
from functools import partial
from typing import Any

from sentry_sdk.envelope import Envelope, Item
from sentry_sdk.integrations.logging import ignore_logger
from sentry_sdk.transport import Transport
from sentry_sdk.worker import BackgroundWorker

from infrastructure.local.store import InboxStore
from infrastructure.settings import Settings

logger = logging.getLogger(__name__)
# Our own "inbox is broken" warning must not become a Sentry event that tries the broken inbox again.
ignore_logger(__name__)

STORED_TYPES = frozenset({"event", "transaction"})  # sessions, profiles and logs are not issues


class LocalInboxTransport(Transport):
    """Writes each event and transaction to an InboxStore off the request thread; never raises."""

    def __init__(self, options: dict[str, Any] | None = None, *, store: InboxStore | None = None,
                 queue_size: int = 1000):
        super().__init__(options)
        self.store = store if store is not None else InboxStore.from_settings()
        self.dropped = 0
        self._worker = BackgroundWorker(queue_size)
        self._failing = False

    @classmethod
    def for_store(cls, store: InboxStore, queue_size: int = 1000) -> LocalInboxTransport:
        """A ready instance for sentry_sdk.init(transport=...), writing to this store."""
        return cls(store=store, queue_size=queue_size)

    def capture_envelope(self, envelope: Envelope) -> None:
        """Queue the envelope's events and transactions for the inbox."""
        try:
            for item in envelope.items:
                if item.type in STORED_TYPES:
                    self._submit(item)
        except Exception as exc:  # the SDK calls us from request threads: never raise into it
            self._drop(exc)

    def _submit(self, item: Item) -> None:
        payload = item.payload.json
        if payload is None:
            payload = json.loads(item.get_bytes())
        # The SQLite write (and its busy wait) happens on the worker, not the request thread.
        if not self._worker.submit(partial(self._write, item.type, payload)):
            self._drop(RuntimeError(f"write queue full ({item.type} dropped)"))

    def _write(self, item_type: str, payload: dict[str, Any]) -> None:
        try:
            self.store.add(item_type, payload)
        except Exception as exc:  # disk full, locked past busy_timeout, a directory in the way ...
            self._drop(exc)
        else:
            self._failing = False

    def _drop(self, exc: BaseException) -> None:
        self.dropped += 1
        if self._failing:
            logger.debug("local inbox still failing: %s", exc)
            return
        self._failing = True  # one warning per outage, not one per event
        logger.warning("Local Sentry inbox %s is not writable, dropping events until it recovers: %s",
                       self.store.path, exc)

    def flush(self, timeout: float, callback: Any | None = None) -> None:
        """Wait up to timeout seconds for queued items to reach SQLite."""
        self._worker.flush(timeout, callback)

    def kill(self) -> None:
        """Stop the writer thread once the items already queued are written."""
        self._worker.kill()

    def is_healthy(self) -> bool:
        """False while the write queue is full."""
        return not self._worker.full()


def transport_for(settings: Settings) -> LocalInboxTransport:
    """The local inbox transport for these settings (SENTRY_INBOX_PATH, SENTRY_INBOX_MAX_EVENTS)."""
    return LocalInboxTransport(store=InboxStore.from_settings(settings))
