"""What a transaction page shows: the span waterfall, the slow queries and N+1 groups, the services."""

from __future__ import annotations

from typing import Any

from errorwarden.dashboard.issues import epoch, moment

SPAN_LIMIT = 1000  # sentry-sdk sends at most 1000 spans per transaction


def _findings(transaction: dict[str, Any]) -> dict[str, Any]:
    contexts = transaction.get("contexts") if isinstance(transaction.get("contexts"), dict) else {}
    trace = contexts.get("trace") if isinstance(contexts.get("trace"), dict) else {}
    data = trace.get("data") if isinstance(trace.get("data"), dict) else {}
    found = data.get("db_performance")
    return found if isinstance(found, dict) else {}


def waterfall(transaction: dict[str, Any], slow_ms: float) -> dict[str, Any]:
    """Spans in start order with offset and duration (ms) and bar geometry (percent of the
    transaction), each marked slow (a db span at or over slow_ms), N+1 (its SQL is a repeated
    shape the query wrapper reported) and with the external service it went to."""
    start, end = epoch(transaction.get("start_timestamp")), epoch(transaction.get("timestamp"))
    total_ms = max(((end or 0) - (start or 0)) * 1000.0, 0.001) if start and end else 0.001
    findings = _findings(transaction)
    n_plus_one = [g for g in findings.get("n_plus_one") or [] if isinstance(g, dict)]
    repeated = {str(g.get("sql") or "")[:500]: index for index, g in enumerate(n_plus_one)}
    spans = []
    for span in (transaction.get("spans") or [])[:SPAN_LIMIT]:
        if not isinstance(span, dict):
            continue
        s, e = epoch(span.get("start_timestamp")), epoch(span.get("timestamp"))
        if s is None or start is None:
            continue
        offset = (s - start) * 1000.0
        duration = max(((e or s) - s) * 1000.0, 0.0)
        data = span.get("data") if isinstance(span.get("data"), dict) else {}
        op, description = str(span.get("op") or ""), str(span.get("description") or "")
        group = repeated.get(description[:500]) if op.startswith("db") else None
        spans.append({
            "op": op, "description": description, "offset_ms": offset, "duration_ms": duration,
            "left": min(max(offset / total_ms * 100.0, 0.0), 100.0),
            "width": min(max(duration / total_ms * 100.0, 0.3), 100.0),
            "slow": op.startswith("db") and duration >= slow_ms, "n_plus_one": group is not None,
            "group": (group or 0) + 1, "service": str(data.get("service") or ""),
            "status": span.get("status") or "",
        })
    spans.sort(key=lambda row: row["offset_ms"])
    contexts = transaction.get("contexts") if isinstance(transaction.get("contexts"), dict) else {}
    trace = contexts.get("trace") if isinstance(contexts.get("trace"), dict) else {}
    return {
        "name": str(transaction.get("transaction") or "<unnamed transaction>"), "spans": spans,
        "duration_ms": total_ms, "at": moment(transaction.get("start_timestamp")),
        "trace_id": str(trace.get("trace_id") or ""), "status": str(trace.get("status") or ""),
        "op": str(trace.get("op") or ""), "queries": findings.get("queries"),
        "total_ms": findings.get("total_ms"),
        "slow": [q for q in findings.get("slow") or [] if isinstance(q, dict)],
        "n_plus_one": [{**g, "group": i + 1} for i, g in enumerate(n_plus_one)],
        "services": sorted({row["service"] for row in spans if row["service"]}),
    }


def profile_window(transaction: dict[str, Any]) -> tuple[str, float | None, float | None, str]:
    """What to read of the profile: the profiler id, the transaction's start and end (epoch
    seconds) and the thread it ran on ('' when unknown)."""
    contexts = transaction.get("contexts") if isinstance(transaction.get("contexts"), dict) else {}
    profile = contexts.get("profile") if isinstance(contexts.get("profile"), dict) else {}
    trace = contexts.get("trace") if isinstance(contexts.get("trace"), dict) else {}
    data = trace.get("data") if isinstance(trace.get("data"), dict) else {}
    return (str(profile.get("profiler_id") or ""), epoch(transaction.get("start_timestamp")),
            epoch(transaction.get("timestamp")), str(data.get("thread.id") or ""))
