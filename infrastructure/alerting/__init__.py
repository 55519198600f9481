"""Alerting: rules over scrubbed events and request outcomes, shared counters, delivery.

`build_engine(settings, scrub_text=...)` wires an AlertEngine from settings and makes it the
process's engine (`current_engine()`); `flush()` waits for its queued alerts and runs at exit.
"""

from __future__ import annotations

import atexit
import threading
import time
from collections.abc import Callable
from typing import Any

from infrastructure.alerting.counters import CounterStore, FailoverStore, MemoryStore
from infrastructure.alerting.dispatch import (
    CeleryDispatcher,
    Dispatcher,
    RetryPolicy,
    ThreadDispatcher,
    celery_publisher,
)
from infrastructure.alerting.engine import AlertEngine
from infrastructure.alerting.notifiers import ScrubText, build_notifiers, default_scrub_text

__all__ = ["AlertEngine", "build_dispatcher", "build_engine", "build_store", "current_engine", "flush"]

_lock = threading.Lock()
_engine: AlertEngine | None = None
_atexit_registered = False


def build_store(settings: Any, *, key_prefix: str | None = None, min_backoff: float = 1.0) -> CounterStore:
    """Redis counters (falling back to memory while Redis is down) when REDIS_URL is set, else memory."""
    if not settings.redis_url:
        return MemoryStore()
    import redis

    from infrastructure.alerting.redis_counters import RedisStore, redis_client

    client = redis_client(settings.redis_url)
    prefix = key_prefix if key_prefix is not None else f"muejam:alerts:{settings.environment}:"
    shared = RedisStore(client, prefix)
    return FailoverStore(shared, MemoryStore(), ping=shared.ping, min_backoff=min_backoff,
                         errors=(redis.RedisError, OSError))


def build_dispatcher(settings: Any, scrub_text: ScrubText | None, *, policy: RetryPolicy | None = None,
                     slack_client: Any = None, celery_app: Any = None,
                     publish: Callable[[str, dict[str, Any]], Any] | None = None) -> Dispatcher:
    """Celery delivery when CELERY_BROKER_URL is set (or an app or `publish` is given), else threads."""
    notifiers = build_notifiers(settings, scrub_text, slack_client=slack_client)
    if publish is None and (celery_app is not None or settings.celery_broker_url):
        publish = celery_publisher(settings.celery_broker_url, celery_app)
    if publish is not None:
        return CeleryDispatcher(notifiers, publish, policy)
    return ThreadDispatcher(notifiers, policy)


def build_engine(settings: Any, scrub_text: ScrubText | None = None, *,
                 clock: Callable[[], float] = time.time, store: CounterStore | None = None,
                 dispatcher: Dispatcher | None = None, key_prefix: str | None = None,
                 celery_app: Any = None, install: bool = True) -> AlertEngine:
    """An AlertEngine for these settings; with install=True it becomes the process's engine."""
    if scrub_text is None:
        scrub_text = default_scrub_text(settings)
    if dispatcher is None:
        dispatcher = build_dispatcher(settings, scrub_text, celery_app=celery_app)
    store = store if store is not None else build_store(settings, key_prefix=key_prefix)
    engine = AlertEngine(settings, store, dispatcher, clock=clock)
    if install:
        _install(engine)
    return engine


def _install(engine: AlertEngine) -> None:
    global _engine, _atexit_registered
    with _lock:
        previous, _engine = _engine, engine
        if not _atexit_registered:
            atexit.register(flush)
            _atexit_registered = True
    if previous is not None and previous is not engine:
        # Let the replaced engine finish what it queued, briefly, then stop its threads.
        previous.flush(1.0)
        previous.close()


def current_engine() -> AlertEngine | None:
    """The engine the last build_engine(install=True) made, if any."""
    return _engine


def flush(timeout: float = 5.0) -> bool:
    """Wait up to `timeout` seconds for the process engine's queued alerts; True when all were handled."""
    engine = _engine
    return True if engine is None else engine.flush(timeout)
