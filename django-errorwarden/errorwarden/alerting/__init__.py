"""Alerting: rules over scrubbed events and request outcomes, shared counters, channels, delivery.

`build_engine(settings, scrub_text=...)` wires an AlertEngine from settings; the runtime
(errorwarden/runtime.py) owns the one the process uses.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from errorwarden.alerting.alert_queue import AlertSpool
from errorwarden.alerting.channels import Channel, load_channels
from errorwarden.alerting.counters import CounterStore, MemoryStore
from errorwarden.alerting.dispatch import Dispatcher, Publish, SpoolDispatcher, celery_publisher
from errorwarden.alerting.engine import AlertEngine
from errorwarden.alerting.failover import FailoverStore
from errorwarden.alerting.render import ScrubText
from errorwarden.alerting.retry import RetryPolicy
from errorwarden.losses import LossLedger
from errorwarden.settings import Settings

__all__ = ["AlertEngine", "build_dispatcher", "build_engine", "build_store", "retry_policy"]


def build_store(settings: Settings, *, key_prefix: str | None = None,
                min_backoff: float = 1.0) -> CounterStore:
    """Redis counters (falling back to memory while Redis is down) when REDIS_URL is set, else memory."""
    if not settings.redis_url:
        return MemoryStore()
    import redis

    from errorwarden.alerting.redis_counters import RedisStore, redis_client

    client = redis_client(settings.redis_url)
    prefix = key_prefix if key_prefix is not None else settings.redis_prefix
    shared = RedisStore(client, prefix)
    return FailoverStore(shared, MemoryStore(), ping=shared.ping, min_backoff=min_backoff,
                         errors=(redis.RedisError, OSError))


def retry_policy(settings: Settings) -> RetryPolicy:
    """The one retry policy for these settings (SENTRY_ALERT_RETRY_MAX_SECONDS caps its waits)."""
    return RetryPolicy(max_delay=settings.alert_retry_max_seconds)


def build_dispatcher(settings: Settings, *, channels: Iterable[Channel] | None = None,
                     policy: RetryPolicy | None = None, celery_app: Any = None,
                     publish: Publish | None = None, spool: AlertSpool | None = None,
                     losses: LossLedger | None = None) -> Dispatcher:
    """The durable spool and a thread per channel; they hand deliveries to Celery when
    CELERY_BROKER_URL is set (through the project's current Celery app, or `celery_app`)."""
    channels = load_channels(settings) if channels is None else list(channels)
    if publish is None and (celery_app is not None or settings.celery_broker_url):
        publish = celery_publisher(celery_app)
    spool = spool if spool is not None else AlertSpool(settings.alert_spool)
    policy = policy or retry_policy(settings)
    return SpoolDispatcher(channels, spool, policy, handoff=publish, losses=losses)


def build_engine(settings: Settings, *, scrub_text: ScrubText | None, clock: Callable[[], float] = time.time,
                 store: CounterStore | None = None, dispatcher: Dispatcher | None = None,
                 key_prefix: str | None = None, celery_app: Any = None,
                 losses: LossLedger | None = None, pins: Any = None) -> AlertEngine:
    """An AlertEngine for these settings; alert texts pass `scrub_text` once, when built; what its
    channels fail to deliver is counted in `losses` (the runtime's loss ledger); the events its
    alerts name are pinned in `pins` (delivery.sampler.Pins), so the transport keeps them."""
    if dispatcher is None:
        dispatcher = build_dispatcher(settings, celery_app=celery_app, losses=losses)
    store = store if store is not None else build_store(settings, key_prefix=key_prefix)
    return AlertEngine(settings, store, dispatcher, scrub_text=scrub_text, clock=clock, pins=pins)
