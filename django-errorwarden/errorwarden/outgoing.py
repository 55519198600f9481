"""Every outgoing call to a known service, timed for the local aggregates, sampled or not.

sentry-sdk's spans exist only on sampled transactions, but the dashboard's per-service latency
and failure figures must count every call. urllib3 (under requests and botocore) and httpx are
wrapped once per process; a call is counted when its host maps to a service (s3, clerk, resend,
SENTRY_SERVICE_HOSTS), so Sentry's own transport, Redis and webhooks are not. Nested calls of one
logical request (urllib3 retries itself) are counted once, at the outermost.

A call made by an AWS SDK client (botocore, under boto3) is counted under the service id the SDK's
service model declares, hyphenated and lower case as sentry-sdk tags its spans (`s3`, `dynamodb`,
`secrets-manager`), whatever its host: every AWS endpoint matches `*.amazonaws.com`, and an
S3-compatible store and a DynamoDB Local may share one host.
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
# The AWS service id of the botocore API call running in this context, if any.
_aws_service: contextvars.ContextVar[str | None] = contextvars.ContextVar("infrastructure_aws", default=None)
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
    _wrap_botocore()


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
        service = None if _inside.get() else (_aws_service.get() or _service(str(self.host or ""), self.port))
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


def aws_service_id(client: Any) -> str | None:
    """An AWS SDK client's service id as sentry-sdk's boto3 spans tag it ('s3', 'dynamodb'), or None."""
    try:
        return str(client.meta.service_model.service_id.hyphenize()) or None
    except Exception:  # not a botocore client after all, or a model without an id
        return None


def _wrap_botocore() -> None:
    """Mark each botocore API call with its service id, for the urllib3 call made inside it.

    botocore has no process-wide hook for "a client is about to send" (its events belong to each
    session and client), so BaseClient._make_api_call is wrapped, the method sentry-sdk's own boto3
    integration wraps as well.
    """
    try:
        from botocore.client import BaseClient
    except ImportError:
        return
    original = BaseClient._make_api_call

    @wraps(original)
    def _make_api_call(self: Any, operation_name: str, api_params: Any) -> Any:
        token = _aws_service.set(aws_service_id(self))
        try:
            return original(self, operation_name, api_params)
        finally:
            _aws_service.reset(token)

    BaseClient._make_api_call = _make_api_call
