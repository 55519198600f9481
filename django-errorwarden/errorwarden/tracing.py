"""What gets traced, and which service each outgoing call's span went to.

`TracesSampler` is sentry-sdk's traces_sampler: an incoming trace's decision is followed (a
Celery task continues its parent's); otherwise the first of SENTRY_TRACES_SAMPLE_RULES whose
pattern matches the request path or its route pattern gives the rate; health checks, probes,
static and media files and the local dashboard are never traced; anything else gets
SENTRY_TRACES_SAMPLE_RATE. `SpanServices` (a before_send_transaction step) names the logical
service on every outgoing span: an AWS SDK (boto3) span by the service id sentry-sdk tagged it with
(`aws.service_id`: s3, dynamodb, sqs ...), an HTTP span by the configured host map (s3, clerk,
resend, SENTRY_SERVICE_HOSTS), else its host.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from errorwarden.grouping.external import ServiceMap
from errorwarden.grouping.normalize import normalize_route

# Never traced unless a rule says otherwise: probes and files say nothing about the app's speed.
NEVER_TRACED = ("/health", "/health/*", "*/health/*", "/healthz*", "/readyz*", "/livez*", "*/ready",
                "*/ready/", "*/live", "*/live/", "/static/*", "/media/*", "/favicon.ico", "/robots.txt")
_SPAN_URL_KEYS = ("url", "http.url", "aws.request.url")


def _compile(pattern: str) -> re.Pattern:
    return re.compile(fnmatch.translate(pattern))


class TracesSampler:
    """sentry-sdk's traces_sampler from a base rate and (pattern, rate) rules; see the module docstring."""

    def __init__(self, base: float, rules: Sequence[tuple[str, float]] = (),
                 never: Sequence[str] = NEVER_TRACED):
        self.base = base
        self._rules = [(_compile(p), rate, "{" in p or "<" in p) for p, rate in rules]
        self._never = [_compile(p) for p in never]
        self._routes_needed = any(needs for _, _, needs in self._rules)

    def __call__(self, context: Mapping[str, Any]) -> float:
        """The probability of tracing this request or task."""
        parent = context.get("parent_sampled")
        if parent is not None:
            return 1.0 if parent else 0.0
        path = _path(context)
        if path is None:  # a task or script without a parent trace
            return self.base
        route = _route(path) if self._routes_needed else None
        for pattern, rate, _ in self._rules:
            if pattern.match(path) or (route is not None and pattern.match(route)):
                return rate
        if any(pattern.match(path) for pattern in self._never):
            return 0.0
        dashboard = _dashboard_prefix()  # wherever the project mounted it
        if dashboard and path.startswith(dashboard):
            return 0.0
        return self.base


    def never_traced(self, path: str) -> bool:
        """True when a request to this path (or route pattern) is never traced whatever the base rate:
        a rule gives it 0, or it is a probe, a file or the dashboard with no rule saying otherwise."""
        for pattern, rate, _ in self._rules:
            if pattern.match(path):
                return rate == 0.0
        if any(pattern.match(path) for pattern in self._never):
            return True
        dashboard = _dashboard_prefix()
        return bool(dashboard and path.startswith(dashboard))


def _dashboard_prefix() -> str | None:
    from errorwarden.dashboard.mount import dashboard_prefix

    try:
        return dashboard_prefix()
    except Exception:  # a URLconf that does not import yet: the view will say so, not the sampler
        return None


def _path(context: Mapping[str, Any]) -> str | None:
    environ = context.get("wsgi_environ")
    if isinstance(environ, Mapping):
        return str(environ.get("PATH_INFO") or "/")
    scope = context.get("asgi_scope")
    if isinstance(scope, Mapping) and scope.get("type") in ("http", "websocket"):
        return str(scope.get("path") or "/")
    return None


@lru_cache(maxsize=2048)
def _route(path: str) -> str | None:
    """The route pattern Django resolves a path to ('/api/books/{pk}/'), or None."""
    from django.urls import Resolver404, resolve

    try:
        match = resolve(path)
    except (Resolver404, Exception):
        return None
    return normalize_route("/" + match.route) if match.route else None


class SpanServices:
    """before_send_transaction step: outgoing HTTP and AWS spans get their logical service."""

    def __init__(self, hosts: Mapping[str, str]):
        self._services = ServiceMap(hosts)

    def __call__(self, event: dict, hint: dict) -> dict:
        """Add `service` to each outgoing span's data and tags; return the event."""
        for span in event.get("spans") or ():
            if not isinstance(span, dict):
                continue
            data = span.get("data") if isinstance(span.get("data"), dict) else {}
            service = _aws_service(span, data)
            if service is None and str(span.get("op") or "").startswith("http.client"):
                url = next((data[k] for k in _SPAN_URL_KEYS if isinstance(data.get(k), str)), None)
                if url is None:
                    url = _url_in(str(span.get("description") or ""))
                service = self._services.service_for_url(url) if url else None
            if service:
                span["data"] = {**data, "service": service}
                span["tags"] = {**(span.get("tags") or {}), "service": service}
        return event


def _aws_service(span: dict, data: dict) -> str | None:
    """The AWS service id sentry-sdk's boto3 integration put on the span ('s3', 'dynamodb'), if any.

    The tag is the SDK model's service id, hyphenated (botocore's ServiceId.hyphenize()); the data's
    rpc.service holds it as modelled ('S3', 'DynamoDB', 'Secrets Manager').
    """
    tags = span.get("tags") if isinstance(span.get("tags"), dict) else {}
    found = tags.get("aws.service_id")
    if isinstance(found, str) and found:
        return found.lower()
    modelled = data.get("rpc.service")
    system = data.get("rpc.system.name", data.get("rpc.system"))
    if isinstance(modelled, str) and modelled and system == "aws-api":
        return "-".join(modelled.lower().split())
    return None


def _url_in(description: str) -> str | None:
    """The URL of an 'GET https://host/path' span description."""
    for word in description.split():
        if word.startswith(("http://", "https://")):
            return word
    return None
