"""The outbox transport's durable side: write what waits in memory, queued or in flight, to the spool."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from sentry_sdk.envelope import Envelope

from errorwarden.delivery.jobs import CANCELLED, NOT_SPOOLED, QUEUED, RUNNING, Job, categories, describe
from errorwarden.delivery.outbox_store import Spooled
from errorwarden.event import timestamp

logger = logging.getLogger("errorwarden.delivery")
KIND = "outbox"  # the outbox's kind in the loss ledger
# Why an envelope went to the spool, as the ledger counts it (spooled:<why>); any other why (a
# failed send's answer) is counted as send_failed.
SPOOL_REASONS = frozenset({"outage", "rate_limited", "queue_full", "shutdown", "in_flight", "storm_summary"})


def captured_at(envelope: Envelope) -> float | None:
    """When the envelope's event or transaction happened (the outbox drops the oldest first)."""
    for item in envelope.items:
        payload = item.payload.json if item.type in ("event", "transaction") else None
        if isinstance(payload, dict):
            return timestamp(payload.get("timestamp"))
    return None


class SpoolWriter:
    """Mixin of OutboxTransport: it owns cond, jobs, pending, sampler, store, key, losses, spooled and
    report_lost."""

    def persist(self, extra: list[tuple[Envelope, str, float]] = (), running: bool = False) -> None:
        """Write everything waiting in memory to the spool now (queued jobs too; running ones if asked)."""
        with self.cond:
            jobs, waiting, self.pending = list(self.jobs.values()), self.pending, []
        release, items = [], [*waiting, *extra]
        for job in jobs:
            with job.lock:
                if job.state == QUEUED:
                    job.state = CANCELLED
                    if job.row_id is None:
                        items.append((job.envelope, "shutdown", 0.0))
                    else:
                        release.append(job.row_id)
                elif job.state == RUNNING and running:
                    self._persist_running(job, release)
        items.extend((env, "storm_summary", 0.0) for env in self.sampler.due(everything=True))
        self.write(items)
        self._safely(self.store.release, release)

    def _persist_running(self, job: Job, release: list[int]) -> None:
        """A send still in flight: make it durable too (a duplicate event id is dropped by Sentry)."""
        if job.row_id is not None:
            release.append(job.row_id)
        elif job.spooled_row is None:
            ids = self.write([(job.envelope, "in_flight", 0.0)])
            job.spooled_row = ids[0] if ids else None

    def write(self, items: list[tuple[Envelope, str, float]]) -> list[int]:
        """Serialize and spool (envelope, reason, not_before) items; count what does not fit."""
        spooled = []
        for envelope, reason, not_before in items:
            kept = [item for item in envelope.items if item.type not in NOT_SPOOLED]
            if kept:
                env = Envelope(headers=envelope.headers, items=kept)
                spooled.append(Spooled(env.serialize(), reason, describe(env), not_before, captured_at(env)))
        if not spooled:
            return []
        evicted: list[str] = []
        try:
            ids, dropped = self.store.add_many(self.key, spooled, evicted=evicted)
        except Exception as exc:  # disk full, a lock held past the timeout, a directory in the way
            self.losses.lost(KIND, "spool_write", len(spooled), f"writing {self.store.path} failed: "
                                                          f"{type(exc).__name__}")
            lost = [category for row in spooled for category in categories(row.summary)]
            self.report_lost("internal_sdk_error", categories=lost)
            return []
        self.spooled += len(ids)
        why = Counter(row.reason if row.reason in SPOOL_REASONS else "send_failed" for row in spooled)
        for reason, n in why.items():
            self.losses.spooled(KIND, reason, n, f"kept in {self.store.path} for a later attempt")
        self.losses.lost(KIND, "space", dropped, f"the outbox {self.store.path} is full (at most "
                                           f"{self.store.max_envelopes} envelopes and {self.store.max_bytes} "
                                           "bytes): the oldest were dropped")
        # Sentry's name for an offline cache that had to drop: its client reports say "cache_overflow".
        self.report_lost("cache_overflow", categories=[c for summary in evicted for c in categories(summary)])
        return ids

    def _safely(self, action: Any, *args: Any) -> None:
        try:
            action(*args)
        except Exception as exc:
            logger.warning("Sentry outbox %s: %s failed (%s)", self.store.path, action.__name__,
                           type(exc).__name__)
