"""A read-only JSON API of what the dashboard shows, for scripts and editor tools.

Under the dashboard's URLconf (`<mount>/api/…`) with the same access rule (DEBUG, else active
staff; 404 for everyone else), GET only, the same no-store/no-script headers, no cookie:

- `api/issues/?q=&window=&since=&limit=`: issues (the search syntax of the list page; `since`,
  an ISO 8601 moment, keeps issues first seen at or after it: "what broke since the deploy"),
  each with its triage status and the URLs of its latest event and its events.
- `api/issues/<event id>/events/?page=`: every event of that event's issue, newest first.
- `api/events/<event id>/`: one stored event as JSON (scrubbed before it was stored).
- `api/transactions/?limit=`: the newest stored transactions: name, duration, time, trace id.
- `api/performance/?window=5m|1h|6h`: endpoint, service and task figures.
- `api/losses/`: the loss ledger whole (every process's counts in the inbox file plus this
  process's unsaved ones): each kind, reason, count and fate (lost, failed or spooled).

A bad parameter is a 400 with a JSON `error` naming what is allowed. Every answer is ASCII JSON:
captured text's control and bidi characters arrive escaped (\u202e), never raw.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from typing import Any

from django.http import Http404, HttpRequest, JsonResponse
from django.urls import reverse

from errorwarden.dashboard import issues as issue_data
from errorwarden.dashboard import views
from errorwarden.dashboard.access import dashboard_view
from errorwarden.dashboard.performance import WINDOWS, BadParameter, choose
from errorwarden.local import fingerprint_of, search
from errorwarden.local.history import PAGE_SIZE
from errorwarden.local.triage import issue_key
from errorwarden.losses import FAILED, SPOOLED, whole

LIMIT_MAX = 1000


def _bad(message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=400)


def _whole(request: HttpRequest, name: str, default: int, high: int) -> int:
    raw = request.GET.get(name, "")
    if raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= high:
        raise BadParameter(f"{name} must be a whole number from 1 to {high}, not {raw!r}")
    return int(raw)


def _moment(raw: str) -> int:
    """An ISO 8601 moment (UTC when it names no zone) in whole epoch milliseconds (the inbox keeps
    times to the millisecond: an event of that millisecond counts as since)."""
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadParameter(f"since must be an ISO 8601 moment like 2026-01-31T12:00:00Z, "
                           f"not {raw!r}") from None
    return math.floor((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp() * 1000)


@dashboard_view
def issues(request: HttpRequest) -> JsonResponse:
    """Issues, newest first, optionally searched, windowed and cut to those new since a moment."""
    try:
        query = search.parse(request.GET.get("q", ""), request.GET.get("window", ""))
        limit = _whole(request, "limit", 100, LIMIT_MAX)
        since = _moment(request.GET["since"]) if request.GET.get("since") else None
    except (search.BadQuery, BadParameter) as exc:
        return _bad(str(exc))
    store, _, _ = views._sources()
    index = views._search_index(views.require_runtime().settings.inbox_path)
    found = search.as_rows(index.search(query)) if not query.empty else None
    rows = found if found is not None else store.issues(limit=issue_data.ISSUE_LIMIT * 5)
    keys = [r["fingerprint"] if isinstance(r["fingerprint"], str) else issue_key(r["fingerprint"])
            for r in rows]
    states = views._triage().states(keys)
    listed = []
    for row, key in zip(rows, keys, strict=True):
        state = states[key]
        if query.statuses and state.status not in query.statuses:
            continue
        first_seen = issue_data.epoch(row["first_seen"])  # ISO text or epoch seconds, as the store keeps it
        if since is not None and (first_seen is None or round(first_seen * 1000) < since):
            continue
        event_id = row["last_event_id"]
        linked = len(event_id) == 32
        listed.append({
            "issue": key, "title": row["title"], "culprit": row["culprit"], "level": row["level"],
            "count": row["count"], "first_seen": row["first_seen"], "last_seen": row["last_seen"],
            "status": state.status, "last_event_id": event_id,
            "page": reverse("errors_dashboard:issue", args=[event_id]) if linked else "",
            "events": reverse("errors_dashboard:api_issue_events", args=[event_id]) if linked else "",
        })
        if len(listed) >= limit:
            break
    return JsonResponse({"issues": listed, "searched": found is not None})


def _stored_event(event_id: str) -> dict[str, Any]:
    store, _, _ = views._sources()
    event = store.get(event_id)
    if event is None or event.get("type") == "transaction":
        raise Http404
    return event


@dashboard_view
def issue_events(request: HttpRequest, event_id: str) -> JsonResponse:
    """Every event of the issue this event belongs to, newest first, PAGE_SIZE a page."""
    event = _stored_event(event_id)
    try:
        page = _whole(request, "page", 1, 10_000_000)
    except BadParameter as exc:
        return _bad(str(exc))
    key = issue_key(fingerprint_of("event", event))
    history = views._history_reader(views.require_runtime().settings.inbox_path)
    total = history.count(key)
    first, last = history.releases(key)
    return JsonResponse({
        "issue": key, "fingerprint": fingerprint_of("event", event), "total": total, "page": page,
        "pages": max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1), "first_release": first, "last_release": last,
        "status": views._triage().state(key).status,
        "events": [{"event_id": e.event_id, "received": e.received, "release": e.release,
                    "environment": e.environment, "level": e.level, "user_id": e.user_id, "route": e.route}
                   for e in history.events(key, page)],
        "tags": [{"name": t["name"], "values": [{"value": v, "count": c} for v, c, _ in t["values"]]}
                 for t in history.tags(key)],
    })


@dashboard_view
def event(request: HttpRequest, event_id: str) -> JsonResponse:
    """One stored event as JSON."""
    # ensure_ascii (JsonResponse's default): control and bidi characters arrive as \uXXXX escapes.
    return JsonResponse(_stored_event(event_id))


@dashboard_view
def transactions(request: HttpRequest) -> JsonResponse:
    """The newest stored transactions: name, duration, time, trace id, span count."""
    try:
        limit = _whole(request, "limit", 50, LIMIT_MAX)
    except BadParameter as exc:
        return _bad(str(exc))
    store, _, _ = views._sources()
    found = []
    for item in store.events(limit=limit, type="transaction"):
        start, end = issue_data.epoch(item.get("start_timestamp")), issue_data.epoch(item.get("timestamp"))
        contexts = item.get("contexts") if isinstance(item.get("contexts"), dict) else {}
        trace = contexts.get("trace") if isinstance(contexts.get("trace"), dict) else {}
        found.append({"event_id": str(item.get("event_id") or ""),
                      "transaction": item.get("transaction") or "", "timestamp": end,
                      "duration_ms": round((end - start) * 1000, 3) if start and end else None,
                      "trace_id": trace.get("trace_id") or "", "spans": len(item.get("spans") or [])})
    return JsonResponse({"transactions": found})


def _stat(stat: Any) -> dict[str, Any]:
    return {"name": stat.name, "count": stat.count, "failed": stat.failed, "error_rate": stat.error_rate,
            "rpm": stat.rps * 60, "avg_ms": stat.avg_ms, "p50_ms": stat.p50_ms, "p95_ms": stat.p95_ms,
            "p99_ms": stat.p99_ms, "max_ms": stat.max_ms, "slow_queries": stat.slow_queries,
            "n_plus_one": stat.n_plus_one}


@dashboard_view
def performance(request: HttpRequest) -> JsonResponse:
    """Endpoint, service and task figures over a window (never-traced routes included, marked)."""
    try:
        window = choose("window", request.GET.get("window"), tuple(WINDOWS), "1h")
    except BadParameter as exc:
        return _bad(str(exc))
    _, aggregates, _ = views._sources()
    runtime = views.require_runtime()
    runtime.flush_aggregates()  # this process's last few seconds
    seconds = WINDOWS[window]
    never = runtime.traces_sampler.never_traced
    return JsonResponse({
        "window": window, "generated": time.time(),
        "endpoints": [{**_stat(s), "never_traced": never(s.name)} for s in aggregates.endpoints(seconds)],
        "services": [_stat(s) for s in aggregates.services(seconds)],
        "tasks": [_stat(s) for s in aggregates.tasks(seconds)],
    })


@dashboard_view
def losses(request: HttpRequest) -> JsonResponse:
    """What was dropped, spooled or failed, by kind and reason, largest first (errorwarden/losses.py)."""
    rows = [{"kind": kind, "reason": reason, "count": count, "fate": _fate(reason)}
            for kind, reason, count in whole(views.require_runtime())]
    return JsonResponse({"losses": rows, "lost": sum(r["count"] for r in rows if r["fate"] == "lost")})


def _fate(reason: str) -> str:
    return "failed" if reason.startswith(FAILED) else "spooled" if reason.startswith(SPOOLED) else "lost"
