"""Delivery you can trust: an outbox transport that spools what Sentry cannot take, and replays it."""

from errorwarden.delivery.options import OutboxOptions, outbox_transport_for
from errorwarden.delivery.outbox_store import OutboxStore, dsn_key
from errorwarden.delivery.sampler import StormSampler, represented

__all__ = ["OutboxOptions", "OutboxStore", "StormSampler", "dsn_key", "outbox_transport_for", "represented"]
