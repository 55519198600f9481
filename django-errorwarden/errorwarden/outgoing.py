"""Every outgoing call to a known service, timed for the local aggregates, sampled or not.

sentry-sdk's spans exist only on sampled transactions, but the dashboard's per-service latency
and failure figures must count every call. urllib3 (under requests and botocore) and httpx are
wrapped once per process; a call is counted when its host maps to a service (s3, clerk, resend,
SENTRY_SERVICE_HOSTS), so Sentry's own transport, Redis and webhooks are not. Nested calls of one
logical request (urllib3 retries itself) are counted once, at the outermost.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from errorwarden.grouping.external import ServiceMap

_inside: contextvars.ContextVar[bool] = contextvars.ContextVar("infrastructure_outgoing", default=False)
_installed = False
_map: ServiceMap | None = None


def install(hosts: Any) -> None:
    """Wrap urllib3 and httpx (once) and count calls to the services these hosts map to."""
    global _installed, _map
    _map = ServiceMap(hosts)
    if _installed:
        return
    _installed = True
    _wrap_urllib3()
    _wrap_httpx()


def _service(host: str, port: int | None) -> str | None:
    services = _map
    return services.lookup(host.lower(), port)[0] if services is not None and host else None


@contextmanager
def _counted(service: str) -> Iterator[dict[str, bool]]:
    """Time one outermost call; the caller sets outcome['failed'] = False on a good answer."""
    token, started, outcome = _inside.set(True), time.perf_counter(), {"failed": True}
    try:
        yield outcome
    finally:
        _inside.reset(token)
        from errorwarden.runtime import observe_service

        observe_service(service, (time.perf_counter() - started) * 1000.0, outcome["failed"])


def _wrap_urllib3() -> None:
    try:
        from urllib3.connectionpool import HTTPConnectionPool
    except ImportError:
        return
    original = HTTPConnectionPool.urlopen

    @wraps(original)
    def urlopen(self: Any, *args: Any, **kwargs: Any) -> Any:
        service = None if _inside.get() else _service(str(self.host or ""), self.port)
        if service is None:
            return original(self, *args, **kwargs)
        with _counted(service) as outcome:
            response = original(self, *args, **kwargs)
            outcome["failed"] = getattr(response, "status", 0) >= 500
            return response

    HTTPConnectionPool.urlopen = urlopen


def _wrap_httpx() -> None:
    try:
        import httpx
    except ImportError:
        return
    sync_send, async_send = httpx.Client.send, httpx.AsyncClient.send

    def service_of(request: Any) -> str | None:
        parts = urlsplit(str(request.url))
        return None if _inside.get() else _service(parts.hostname or "", parts.port)

    @wraps(sync_send)
    def send(self: Any, request: Any, **kwargs: Any) -> Any:
        service = service_of(request)
        if service is None:
            return sync_send(self, request, **kwargs)
        with _counted(service) as outcome:
            response = sync_send(self, request, **kwargs)
            outcome["failed"] = response.status_code >= 500
            return response

    @wraps(async_send)
    async def asend(self: Any, request: Any, **kwargs: Any) -> Any:
        service = service_of(request)
        if service is None:
            return await async_send(self, request, **kwargs)
        with _counted(service) as outcome:
            response = await async_send(self, request, **kwargs)
            outcome["failed"] = response.status_code >= 500
            return response

    httpx.Client.send, httpx.AsyncClient.send = send, asend
