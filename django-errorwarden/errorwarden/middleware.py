"""Request accounting: each request's outcome for the error-rate rule, its queries and its timing.

The outermost middleware, sync or async (Django picks the matching call per request stack): it
sees the final status, including 500s made from unhandled exceptions, brackets the request's
query statistics, and hands the route, duration and query findings to the local aggregates.
"""

from __future__ import annotations

import time
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction

from errorwarden.dashboard.mount import is_dashboard
from errorwarden.grouping.normalize import normalize_route
from errorwarden.runtime import Runtime, current_runtime

UNMATCHED = "<unmatched>"


def route_of(request: Any) -> str:
    """The route pattern the request matched, as traces name it ('/api/books/{pk}/')."""
    match = getattr(request, "resolver_match", None)
    if match is None or not match.route:
        return UNMATCHED
    return normalize_route("/" + match.route)


class ErrorTrackingMiddleware:
    """Outermost middleware: counts, times and accounts for every request (see the module docstring)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self._async = iscoroutinefunction(get_response)
        if self._async:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self._async:
            return self._acall(request)
        runtime = current_runtime()
        if runtime is None:
            return self.get_response(request)
        started, token, status = time.perf_counter(), runtime.queries.start(), 500
        try:
            response = self.get_response(request)
            status = response.status_code
            return response
        finally:
            _account(runtime, request, token, started, status)

    async def _acall(self, request):
        runtime = current_runtime()
        if runtime is None:
            return await self.get_response(request)
        started, token, status = time.perf_counter(), runtime.queries.start(), 500
        try:
            response = await self.get_response(request)
            status = response.status_code
            return response
        finally:
            _account(runtime, request, token, started, status)


def _account(runtime: Runtime, request: Any, token: Any, started: float, status: int) -> None:
    stats = runtime.queries.finish(token)
    failed = status >= 500
    runtime.observe_request(failed)
    if runtime.aggregates is not None and not is_dashboard(request):  # not the app's performance
        slow = stats.slow_count if stats is not None else 0
        repeated = len(stats.n_plus_one()) if stats is not None else 0
        runtime.stats.guard("aggregate_request", runtime.aggregates.observe_request, route_of(request),
                            (time.perf_counter() - started) * 1000.0, failed, slow, repeated)
