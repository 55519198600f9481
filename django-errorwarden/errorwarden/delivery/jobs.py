"""One envelope on its way through the SDK's sender, and the outcomes of one attempt."""

from __future__ import annotations

import threading

from sentry_sdk.envelope import Envelope, Item

from errorwarden.local.store import title_of

SENT, RETRY, LIMITED, REJECTED, HELD = "sent", "retry", "limited", "rejected", "held"
QUEUED, RUNNING, CANCELLED, DONE = "queued", "running", "cancelled", "done"
NOT_SPOOLED = frozenset({"client_report"})  # rebuilt by the SDK from its counters anyway


class Job:
    """One envelope in the SDK's send queue: fresh (row_id None) or replayed from the spool."""

    __slots__ = ("envelope", "lock", "row_id", "spooled_row", "state")

    def __init__(self, envelope: Envelope, row_id: int | None = None):
        self.envelope, self.row_id = envelope, row_id
        self.lock = threading.Lock()
        self.state = QUEUED
        self.spooled_row: int | None = None  # a running fresh job that flush() made durable


def describe(envelope: Envelope) -> str:
    """A short, already-scrubbed label for a spooled envelope: item types, event id, title."""
    types = ",".join(item.type or "?" for item in envelope.items)
    for item in envelope.items:
        payload = item.get_event() or item.get_transaction_event()
        if payload is not None:
            return f"{types} {str(payload.get('event_id', ''))[:12]} {title_of(item.type, payload)}"[:300]
    return types


def categories(summary: str) -> list[str]:
    """The data categories of a spooled envelope, from its summary (which starts with its item types)."""
    types = summary.split(" ", 1)[0].split(",") if summary else []
    return [Item(b"", type=t).data_category for t in types if t and t not in NOT_SPOOLED]
