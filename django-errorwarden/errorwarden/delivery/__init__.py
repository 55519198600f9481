"""Delivery you can trust: an outbox transport that spools what Sentry cannot take, and replays it."""

from errorwarden.delivery.options import OutboxOptions, transport_for
from errorwarden.delivery.sampler import StormSampler, represented
from errorwarden.delivery.spool import OutboxStore, dsn_key

__all__ = ["OutboxOptions", "OutboxStore", "StormSampler", "dsn_key", "represented", "transport_for"]
