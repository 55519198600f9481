"""The /_errors/ pages: issues, one issue's latest event, performance, alerts, monitors (server-rendered)."""

from __future__ import annotations

import time
from functools import lru_cache
from pathlib import Path

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse

from errorwarden.alerting.alert_queue import AlertSpool
from errorwarden.dashboard import issues as issue_data
from errorwarden.dashboard import traces as trace_data
from errorwarden.dashboard.access import actor, dashboard_action, dashboard_view, form_token
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
from errorwarden.local import InboxStore, fingerprint_of, search
from errorwarden.local.aggregates import Aggregates
from errorwarden.local.extras import ExtrasStore
from errorwarden.local.history import PAGE_SIZE, IssueHistory
from errorwarden.local.monitors import MonitorStore
from errorwarden.local.traces import TraceReader
from errorwarden.local.triage import BadAction, TriageStore, issue_key
from errorwarden.losses import whole
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


@lru_cache(maxsize=4)
def _triage_store(path: Path) -> TriageStore:
    return TriageStore(path)


@lru_cache(maxsize=4)
def _history_reader(path: Path) -> IssueHistory:
    return IssueHistory(path)


@lru_cache(maxsize=4)
def _trace_reader(path: Path) -> TraceReader:
    return TraceReader(path)


def _traces() -> TraceReader:
    return _trace_reader(require_runtime().settings.inbox_path)


@lru_cache(maxsize=4)
def _extras_store(path: Path) -> ExtrasStore:
    return ExtrasStore(path)


def _extras() -> ExtrasStore:
    return _extras_store(require_runtime().settings.inbox_path)


@lru_cache(maxsize=4)
def _search_index(path: Path) -> search.SearchIndex:
    return search.SearchIndex(path)


def _triage() -> TriageStore:
    return _triage_store(require_runtime().settings.inbox_path)


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
    q, window = request.GET.get("q", "").strip(), request.GET.get("window", "")
    try:
        query = search.parse(q, window)
    except search.BadQuery as exc:
        return HttpResponseBadRequest(for_terminal_line(str(exc)), content_type="text/plain; charset=utf-8")
    found = None
    if q or window:  # the whole inbox, through the search index
        found = search.as_rows(_search_index(require_runtime().settings.inbox_path).search(query))
    recent_alerts = alerts.recent(issue_data.ALERTS_READ)
    listing = issue_data.issue_list(store, recent_alerts, time.time(), category, level, triage=_triage(),
                                    found=found, statuses=tuple(query.statuses),
                                    losses=whole(require_runtime()))
    return _page(request, "issues.html", {"section": "issues", "listing": listing, "category": category,
                                          "level": level, "q": q, "window": window,
                                          "windows": list(search.WINDOWS), "searched": found is not None})


@dashboard_view
def issue_detail(request: HttpRequest, event_id: str) -> HttpResponse:
    """One event as stored (already scrubbed): stack with source, request, user, tags, breadcrumbs."""
    store, _, _ = _sources()
    if len(event_id) < 32:
        return _by_prefix(request, store, event_id)
    event = store.get(event_id)
    if event is None or event.get("type") == "transaction":
        raise Http404
    raw_page = request.GET.get("page", "1")
    if not raw_page.isascii() or not raw_page.isdigit() or len(raw_page) > 9 or int(raw_page) < 1:
        problem = f"page must be a whole number from 1, not {raw_page!r}"
        return HttpResponseBadRequest(for_terminal_line(problem), content_type="text/plain; charset=utf-8")
    fingerprint = fingerprint_of("event", event)
    key = issue_key(fingerprint)
    triage = _triage()
    events = _history_reader(require_runtime().settings.inbox_path)
    total = events.count(key)
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    number = min(int(raw_page), pages)
    first_release, last_release = events.releases(key)
    trace_id = str(((event.get("contexts") or {}).get("trace") or {}).get("trace_id") or "")
    same_trace = _traces().of_trace(trace_id) if trace_id else []
    return _page(request, "issue.html", {
        "section": "issues", "event": event, "event_id": event_id, "detail": issue_data.event_detail(event),
        "issue": issue_data.issue_summary(store, event), "fingerprint": fingerprint,
        "state": triage.state(key), "history": triage.history(key, 20), "token": form_token(request),
        "events": events.events(key, number), "events_total": total, "page": number, "pages": pages,
        "page_newer": number - 1 if number > 1 else None,
        "page_older": number + 1 if number < pages else None,
        "around": events.neighbours(key, event_id), "tag_counts": events.tags(key),
        "first_release": first_release, "last_release": last_release, "trace_id": trace_id,
        "trace_transaction": next((t["event_id"] for t in same_trace if t["type"] == "transaction"), "")})


_AMBIGUOUS_SHOWN = 10


def _by_prefix(request: HttpRequest, store: InboxStore, prefix: str) -> HttpResponse:
    """An id prefix as `sentry_inbox` shows them (12 characters; --show takes 6 or more): a unique
    one redirects to the event's page, an ambiguous one is a 400 naming the ids it matches."""
    matches = store.event_ids(prefix, limit=_AMBIGUOUS_SHOWN + 1)
    if not matches:
        raise Http404
    if len(matches) > 1:
        shown = ", ".join(matches[:_AMBIGUOUS_SHOWN]) + (", ..." if len(matches) > _AMBIGUOUS_SHOWN else "")
        problem = f"Event id prefix {prefix!r} is ambiguous: give more characters. It matches {shown}"
        return HttpResponseBadRequest(for_terminal_line(problem), content_type="text/plain; charset=utf-8")
    event = store.get(matches[0])
    if event is None or event.get("type") == "transaction":
        raise Http404
    target = reverse("errors_dashboard:issue", args=[matches[0]])
    query = request.GET.urlencode()
    return HttpResponseRedirect(f"{target}?{query}" if query else target)


@dashboard_view
def transaction_detail(request: HttpRequest, event_id: str) -> HttpResponse:
    """One stored transaction: its span waterfall, slow queries and N+1 groups, services, and the
    errors of the same trace."""
    transaction = _traces().transaction(event_id)
    if transaction is None:
        raise Http404
    slow_ms = require_runtime().settings.slow_query_ms
    drawn = trace_data.waterfall(transaction, slow_ms)
    related = [t for t in _traces().of_trace(drawn["trace_id"]) if t["event_id"] != event_id]
    profiler_id, start, end, _ = trace_data.profile_window(transaction)
    return _page(request, "transaction.html", {
        "section": "performance", "event_id": event_id, "trace": drawn, "related": related,
        "logs": _extras().logs(drawn["trace_id"]),
        "profiled": _extras().has_profile(profiler_id, start, end) if start and end else False})


@dashboard_view
def transaction_profile(request: HttpRequest, event_id: str) -> HttpResponse:
    """The flame summary of one profiled transaction: its functions by self time."""
    transaction = _traces().transaction(event_id)
    if transaction is None:
        raise Http404
    profiler_id, start, end, thread_id = trace_data.profile_window(transaction)
    summary = _extras().flame(profiler_id, start or 0.0, end or 0.0, thread_id)
    if not summary["samples"]:
        raise Http404
    return _page(request, "profile.html", {"section": "performance", "event_id": event_id,
                                           "name": transaction.get("transaction") or "", "summary": summary})


def _whole(name: str, raw: str | None) -> int | None:
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError:
        raise BadAction(f"{name} must be a whole number, not {raw!r}") from None


@dashboard_action
def issue_triage(request: HttpRequest, event_id: str) -> HttpResponse:
    """Resolve, mute or reopen the issue this event belongs to; recorded with who and when."""
    store, _, _ = _sources()
    event = store.get(event_id)
    if event is None or event.get("type") == "transaction":
        raise Http404
    action = request.POST.get("action", "")
    try:
        hours = _whole("hours", request.POST.get("hours")) if request.POST.get("mute") == "hours" else None
        mute = request.POST.get("mute")
        events = _whole("events", request.POST.get("events")) if mute == "events" else None
        if action == "mute" and request.POST.get("mute") not in ("hours", "events", "forever"):
            raise BadAction(f"mute must be one of hours, events, forever, not {request.POST.get('mute')!r}")
        _triage().apply(issue_key(fingerprint_of("event", event)), action, actor(request), hours=hours,
                        events=events, release=str(event.get("release") or ""))
    except BadAction as exc:
        return HttpResponseBadRequest(for_terminal_line(str(exc)), content_type="text/plain; charset=utf-8")
    # Post/redirect/get: reloading the page never sends the form again.
    return HttpResponseRedirect(reverse("errors_dashboard:issue", args=[event_id]), status=303)


@dashboard_view
def performance_page(request: HttpRequest) -> HttpResponse:
    """Endpoints (sortable), external services and Celery tasks over a window, and queue depth."""
    _, aggregates, _ = _sources()
    try:
        window = choose("window", request.GET.get("window"), tuple(WINDOWS), DEFAULT_WINDOW)
        sort = choose("sort", request.GET.get("sort"), tuple(SORTS), DEFAULT_SORT)
        direction = choose("dir", request.GET.get("dir"), ("asc", "desc"), "desc")
        show_all = choose("all", request.GET.get("all"), ("0", "1"), "0") == "1"
    except BadParameter as exc:
        return HttpResponseBadRequest(for_terminal_line(str(exc)), content_type="text/plain; charset=utf-8")
    runtime = require_runtime()
    runtime.flush_aggregates()  # this process's last few seconds, so the page is current in-process
    slow_ms = runtime.settings.slow_query_ms
    context = performance(aggregates, window, sort, direction, slow_ms, time.time(),
                          never_traced=runtime.traces_sampler.never_traced, show_all=show_all)
    traced = _traces().endpoints()
    for row in context["endpoints"]:
        row.traces = traced.get(row.stat.name)
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
