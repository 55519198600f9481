"""The /_errors/ pages: issues, one issue's latest event, performance, alerts, monitors (server-rendered)."""

from __future__ import annotations

import time
from functools import lru_cache
from pathlib import Path

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render

from errorwarden.alerting.spool import AlertSpool
from errorwarden.dashboard import issues as issue_data
from errorwarden.dashboard.access import dashboard_view
from errorwarden.dashboard.monitors import monitor_rows
from errorwarden.dashboard.performance import (
    DEFAULT_SORT,
    DEFAULT_WINDOW,
    SORTS,
    WINDOWS,
    BadParameter,
    choose,
    performance,
)
from errorwarden.local import InboxStore
from errorwarden.local.aggregates import Aggregates
from errorwarden.local.monitors import MonitorStore
from errorwarden.runtime import require_runtime
from errorwarden.text import for_html_page, for_terminal_line


@lru_cache(maxsize=4)
def _store(path: Path, max_events: int) -> InboxStore:
    return InboxStore(path, max_events)


@lru_cache(maxsize=4)
def _aggregates(path: Path) -> Aggregates:
    return Aggregates.for_inbox(path)


@lru_cache(maxsize=4)
def _monitor_store(path: Path) -> MonitorStore:
    return MonitorStore(path)


@lru_cache(maxsize=4)
def _alert_spool(path: Path) -> AlertSpool:
    return AlertSpool(path)


def _sources() -> tuple[InboxStore, Aggregates, AlertSpool]:
    """One reader of each per path and process; the paths follow the runtime's settings."""
    settings = require_runtime().settings
    return (_store(settings.inbox_path, settings.inbox_max_events), _aggregates(settings.inbox_path),
            _alert_spool(settings.alert_spool))


def _page(request: HttpRequest, template: str, context: dict) -> HttpResponse:
    settings = require_runtime().settings
    response = render(request, f"errors_dashboard/{template}", {
        **context, "inbox_path": settings.inbox_path, "sends_to_sentry": bool(settings.dsn),
        "slow_ms": settings.slow_query_ms})
    # Django escaped the markup; control and bidi characters in the captured text it shows (an
    # RLO that reverses a title) become visible escapes, in every field at once.
    response.content = for_html_page(response.content.decode(response.charset)).encode(response.charset)
    return response


@dashboard_view
def issue_list(request: HttpRequest) -> HttpResponse:
    """Issues with category, count, per-minute sparkline, first/last seen and last alert; filterable."""
    store, _, alerts = _sources()
    category, level = request.GET.get("category", ""), request.GET.get("level", "")
    recent_alerts = alerts.recent(issue_data.ALERTS_READ)
    listing = issue_data.issue_list(store, recent_alerts, time.time(), category, level)
    return _page(request, "issues.html", {"section": "issues", "listing": listing, "category": category,
                                          "level": level})


@dashboard_view
def issue_detail(request: HttpRequest, event_id: str) -> HttpResponse:
    """One event as stored (already scrubbed): stack with source, request, user, tags, breadcrumbs."""
    store, _, _ = _sources()
    event = store.get(event_id)
    if event is None or event.get("type") == "transaction":
        raise Http404
    return _page(request, "issue.html", {"section": "issues", "event": event, "event_id": event_id,
                                         "detail": issue_data.event_detail(event),
                                         "issue": issue_data.issue_summary(store, event)})


@dashboard_view
def performance_page(request: HttpRequest) -> HttpResponse:
    """Endpoints (sortable), external services and Celery tasks over a window, and queue depth."""
    _, aggregates, _ = _sources()
    try:
        window = choose("window", request.GET.get("window"), tuple(WINDOWS), DEFAULT_WINDOW)
        sort = choose("sort", request.GET.get("sort"), tuple(SORTS), DEFAULT_SORT)
        direction = choose("dir", request.GET.get("dir"), ("asc", "desc"), "desc")
    except BadParameter as exc:
        return HttpResponseBadRequest(for_terminal_line(str(exc)), content_type="text/plain; charset=utf-8")
    runtime = require_runtime()
    runtime.flush_aggregates()  # this process's last few seconds, so the page is current in-process
    slow_ms = runtime.settings.slow_query_ms
    context = performance(aggregates, window, sort, direction, slow_ms, time.time())
    return _page(request, "performance.html", {"section": "performance", **context})


@dashboard_view
def alert_list(request: HttpRequest) -> HttpResponse:
    """What fired, on which channel, and whether it was delivered (with attempts)."""
    store, _, alerts = _sources()
    rows = alerts.recent(200)
    for row in rows:
        row["fired_at"] = issue_data.moment(row["fired"])
        row["updated_at"] = issue_data.moment(row["updated"])
        row["event_id"] = row["event_id"].replace("-", "").lower()
        row["in_inbox"] = bool(row["event_id"]) and store.get(row["event_id"]) is not None
    return _page(request, "alerts.html", {"section": "alerts", "alerts": rows})


@dashboard_view
def monitor_list(request: HttpRequest) -> HttpResponse:
    """Each beat monitor: schedule, status, last check-ins as a strip, next expected run, durations."""
    runtime = require_runtime()
    watch = runtime.monitors
    rows = monitor_rows(watch, _monitor_store(runtime.settings.monitors_path), time.time()) if watch else []
    shared = bool(runtime.settings.redis_url)
    return _page(request, "monitors.html", {"section": "monitors", "monitors": rows,
                                            "enabled": watch is not None, "shared": shared})
