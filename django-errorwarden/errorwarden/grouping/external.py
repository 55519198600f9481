"""External service errors (requests, httpx, botocore): which service, and how it failed."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from errorwarden.grouping.sources import (
    Verdict,
    class_names,
    clip,
    frame_local,
    get_path,
    safe_attr,
    traceback_frames,
    url_host,
)

_REQUESTS = "requests.exceptions.RequestException"
_HTTPX = "httpx.HTTPError"
_BOTO = frozenset({"botocore.exceptions.BotoCoreError", "botocore.exceptions.ClientError"})
_TIMEOUTS = frozenset({
    "requests.exceptions.Timeout", "httpx.TimeoutException",
    "botocore.exceptions.ConnectTimeoutError", "botocore.exceptions.ReadTimeoutError",
})
_CONNECTIONS = frozenset({
    "requests.exceptions.ConnectionError", "httpx.NetworkError", "httpx.ProxyError",
    "httpx.RemoteProtocolError", "botocore.exceptions.ConnectionError",
    "botocore.exceptions.HTTPClientError",
})
_BOTO_CLIENT = "botocore.client.BaseClient"


class ServiceMap:
    """Host -> service name: exact hosts first, then wildcard patterns, most specific first."""

    def __init__(self, hosts: Mapping[str, str]):
        if not isinstance(hosts, Mapping):
            raise ImproperlyConfigured("SENTRY_SERVICE_HOSTS: expected a host -> service mapping")
        self._exact: dict[str, str] = {}
        wild: list[tuple[int, re.Pattern, str]] = []
        for pattern, service in hosts.items():
            if not isinstance(pattern, str) or not isinstance(service, str) or not service:
                raise ImproperlyConfigured(
                    f"SENTRY_SERVICE_HOSTS: {pattern!r}={service!r} must map a host to a name"
                )
            host = pattern.strip().lower()
            if any(c in host for c in "*?["):
                wild.append((len(host), re.compile(fnmatch.translate(host)), service))
            else:
                self._exact[host] = service
        self._wild = [(rx, service) for _, rx, service in sorted(wild, key=lambda w: -w[0])]

    def lookup(self, host: str, port: int | None = None) -> tuple[str | None, bool]:
        """(service, matched an exact host) for a host; (None, False) when nothing matches."""
        if not host:
            return None, False
        for key in ((f"{host}:{port}",) if port else ()) + (host,):
            if key in self._exact:
                return self._exact[key], True
        for rx, service in self._wild:
            if rx.match(host):
                return service, False
        return None, False

    def service_for_url(self, url: Any) -> str:
        """The configured service of a URL's host, else the host itself, else 'unknown'."""
        host, port = url_host(url)
        service, _ = self.lookup(host, port)
        return service or host or "unknown"


def _status_kind(status: Any) -> str:
    if isinstance(status, int) and 500 <= status <= 599:
        return "http_5xx"
    if isinstance(status, int) and 400 <= status <= 499:
        return "http_4xx"
    return "http_error"


def _http_kind(exc: BaseException, names: frozenset[str]) -> str:
    if names & _TIMEOUTS:
        return "timeout"
    if names & _CONNECTIONS:
        return "connection"
    if "requests.exceptions.HTTPError" in names or "httpx.HTTPStatusError" in names:
        return _status_kind(safe_attr(safe_attr(exc, "response"), "status_code"))
    return "request_error"


def _http_url(exc: BaseException) -> Any:
    # httpx raises RuntimeError from .request when it was never set: safe_attr absorbs it.
    for owner in (safe_attr(exc, "request"), safe_attr(safe_attr(exc, "response"), "request")):
        url = safe_attr(owner, "url")
        if url:
            return url
    return safe_attr(safe_attr(exc, "response"), "url")


def _boto_client(exc: BaseException) -> Any:
    # ClientError carries no endpoint: the client that raised it is 'self' in botocore's frames.
    for frame in traceback_frames(exc):
        candidate = frame_local(frame, "self")
        if candidate is not None and _BOTO_CLIENT in class_names(type(candidate)):
            return candidate
    return None


def _boto_service(exc: BaseException, services: ServiceMap) -> str:
    client = _boto_client(exc)
    meta = safe_attr(client, "meta")
    endpoint = get_path(safe_attr(exc, "kwargs"), "endpoint_url") or safe_attr(meta, "endpoint_url")
    host, port = url_host(endpoint) if endpoint else ("", None)
    mapped, exact = services.lookup(host, port)
    # An exact host in the map is an explicit choice; a wildcard like *.amazonaws.com is not
    # as precise as the client's own service name (s3, ses, sqs share that domain).
    name = safe_attr(safe_attr(meta, "service_model"), "service_name")
    if exact:
        return mapped
    return (name if isinstance(name, str) and name else None) or mapped or host or "aws"


def _boto_kind(exc: BaseException, names: frozenset[str]) -> str:
    if names & (_TIMEOUTS | _CONNECTIONS):
        return _http_kind(exc, names)
    status = get_path(safe_attr(exc, "response"), "ResponseMetadata", "HTTPStatusCode")
    return "http_5xx" if isinstance(status, int) and status >= 500 else "client_error"


def external_verdict(exc: BaseException, services: ServiceMap) -> Verdict | None:
    """['external', service, kind] for requests, httpx and botocore errors."""
    names = class_names(type(exc))
    if _REQUESTS in names or _HTTPX in names:
        kind, service = _http_kind(exc, names), services.service_for_url(_http_url(exc))
    elif names & _BOTO:
        kind, service = _boto_kind(exc, names), _boto_service(exc, services)
    else:
        return None
    service = clip(str(service), 100)
    tags = {"error.category": "external", "error.kind": kind, "service": service}
    return Verdict("external", kind, ("external", service, kind), tags, service=service)
