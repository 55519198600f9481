"""Delivery you can trust: an outbox transport that spools what Sentry cannot take, and replays it."""

from infrastructure.delivery.options import OutboxOptions, transport_for
from infrastructure.delivery.sampler import StormSampler, represented
from infrastructure.delivery.spool import OutboxStore, dsn_key

__all__ = ["OutboxOptions", "OutboxStore", "StormSampler", "dsn_key", "represented", "transport_for"]
