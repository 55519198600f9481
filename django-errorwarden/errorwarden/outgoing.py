"""Every outgoing call to a known service, timed for the local aggregates, sampled or not.

sentry-sdk's spans exist only on sampled transactions, but the dashboard's per-service latency
and failure figures must count every call. urllib3 (under requests and botocore) and httpx are
wrapped by the runtime that measures them (with the local inbox and SENTRY_MEASURE_OUTGOING on)
and unwrapped by `runtime.reset()`; a call is counted when its host maps to a service (s3, clerk,
resend, SENTRY_SERVICE_HOSTS), so Sentry's own transport, Redis and webhooks are not. Nested calls
of one logical request (urllib3 retries itself) are counted once, at the outermost.

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

_inside: contextvars.ContextVar[bool] = contextvars.ContextVar("errorwarden_outgoing", default=False)
# The AWS service id of the botocore API call running in this context, if any.
_aws_service: contextvars.ContextVar[str | None] = contextvars.ContextVar("errorwarden_aws", default=None)


class OutgoingCalls:
    """The wrappers of urllib3's and httpx's send methods for one set of service hosts.

    `install()` puts them in place and `remove()` puts the originals back, so the registry
    (runtime.install/reset) owns the patch; nothing is patched by importing this module. If
    another library wrapped the same method on top of ours, ours cannot be taken out of its
    chain: it is switched off instead and passes every call straight through.
    """

    def __init__(self, hosts: Any) -> None:
        self._map = ServiceMap(hosts)
        self._active = False
        self._patched: list[tuple[Any, str, Any, Any]] = []  # (owner, name, original, ours)

    def install(self) -> None:
        """Wrap urllib3 and httpx (those installed); a second call changes nothing."""
        if self._patched:
            return
        self._active = True
        self._wrap_urllib3()
        self._wrap_httpx()
        self._wrap_botocore()

    def remove(self) -> None:
        """Put the original methods back (or switch ours off where someone wrapped over them)."""
        self._active = False
        for owner, name, original, ours in reversed(self._patched):
            if vars(owner).get(name) is not ours:
                continue
            if original is None:  # the method was inherited: ours only shadowed it
                delattr(owner, name)
            else:
                setattr(owner, name, original)
        self._patched.clear()

    def _patch(self, owner: Any, name: str, ours: Any) -> None:
        self._patched.append((owner, name, vars(owner).get(name), ours))
        setattr(owner, name, ours)

    def _service(self, host: str, port: int | None) -> str | None:
        if not self._active or _inside.get() or not host:
            return None
        return _aws_service.get() or self._map.lookup(host.lower(), port)[0]

    def _wrap_urllib3(self) -> None:
        try:
            from urllib3.connectionpool import HTTPConnectionPool
        except ImportError:
            return
        original, service_of = HTTPConnectionPool.urlopen, self._service

        @wraps(original)
        def urlopen(pool: Any, *args: Any, **kwargs: Any) -> Any:
            service = service_of(str(pool.host or ""), pool.port)
            if service is None:
                return original(pool, *args, **kwargs)
            with _counted(service) as outcome:
                response = original(pool, *args, **kwargs)
                outcome["failed"] = getattr(response, "status", 0) >= 500
                return response

        self._patch(HTTPConnectionPool, "urlopen", urlopen)

    def _wrap_httpx(self) -> None:
        try:
            import httpx
        except ImportError:
            return
        sync_send, async_send, lookup = httpx.Client.send, httpx.AsyncClient.send, self._service

        def service_of(request: Any) -> str | None:
            parts = urlsplit(str(request.url))
            return lookup(parts.hostname or "", parts.port)

        @wraps(sync_send)
        def send(client: Any, request: Any, **kwargs: Any) -> Any:
            service = service_of(request)
            if service is None:
                return sync_send(client, request, **kwargs)
            with _counted(service) as outcome:
                response = sync_send(client, request, **kwargs)
                outcome["failed"] = response.status_code >= 500
                return response

        @wraps(async_send)
        async def asend(client: Any, request: Any, **kwargs: Any) -> Any:
            service = service_of(request)
            if service is None:
                return await async_send(client, request, **kwargs)
            with _counted(service) as outcome:
                response = await async_send(client, request, **kwargs)
                outcome["failed"] = response.status_code >= 500
                return response

        self._patch(httpx.Client, "send", send)
        self._patch(httpx.AsyncClient, "send", asend)

    def _wrap_botocore(self) -> None:
        """Mark each botocore API call with its service id, for the urllib3 call made inside it.

        botocore has no process-wide hook for "a client is about to send" (its events belong to each
        session and client), so BaseClient._make_api_call is wrapped, the method sentry-sdk's own
        boto3 integration wraps as well.
        """
        try:
            from botocore.client import BaseClient
        except ImportError:
            return
        original = BaseClient._make_api_call

        @wraps(original)
        def _make_api_call(client: Any, operation_name: str, api_params: Any) -> Any:
            token = _aws_service.set(aws_service_id(client))
            try:
                return original(client, operation_name, api_params)
            finally:
                _aws_service.reset(token)

        self._patch(BaseClient, "_make_api_call", _make_api_call)


def aws_service_id(client: Any) -> str | None:
    """An AWS SDK client's service id as sentry-sdk's boto3 spans tag it ('s3', 'dynamodb'), or None."""
    try:
        return str(client.meta.service_model.service_id.hyphenize()) or None
    except Exception:  # not a botocore client after all, or a model without an id
        return None


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
