"""Preparing the demo's tracking (local inbox, alert channels) and printing what it captured."""

from __future__ import annotations

import re
from collections import Counter

import sentry_sdk
from django.conf import settings
from django.core import mail

from infrastructure.local import InboxStore
from infrastructure.runtime import Runtime, require_runtime
from infrastructure.sentry_alerts import flush as flush_alerts
from infrastructure.sentry_config import init_sentry

_PLACEHOLDER = re.compile(r"\[(Filtered|card|ssn|iban|email|ip|jwt|token|password|[a-z_]+_key|"
                          r"github_token|slack_token|slack_webhook|private_key)\]")


def prepare(stubs: dict, keep_inbox: bool) -> Runtime:
    """Re-initialise tracking for the demo: its stand-in services, email alerts kept in memory."""
    hosts = {**settings.SENTRY.service_hosts,
             **{stub.url.split("//", 1)[1]: name for name, stub in stubs.items()}}
    demo = settings.SENTRY.with_overrides(
        dsn="", service_hosts=hosts, traces_sample_rate=1.0, profiles_sample_rate=0.0,
        email_alerts_enabled=True, alert_email_recipients=("oncall@example.com",),
        slack_alerts_enabled=False, error_rate_min_requests=100,
    )
    # Alert emails are rendered and sent through Django's mail API into memory, so the demo needs
    # no SMTP server; `make demo` prints them below.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    init_sentry(demo)
    runtime = require_runtime()
    if not keep_inbox:
        InboxStore.from_settings(demo).clear()
    return runtime


def summary(runtime: Runtime, outcome, elapsed: float) -> str:
    """A readable report: traffic, issues by category, scrubbing, alerts, where to look next."""
    sentry_sdk.flush(timeout=10)
    runtime.alerts.flush_requests()
    flush_alerts(10)
    store = InboxStore.from_settings(runtime.settings)
    events = store.events(type="event")
    lines = [_traffic(outcome, elapsed), "", "Issues in the local inbox, by category:"]
    lines += _issues(store, events)
    lines += ["", "Scrubbed before anything was stored (placeholders in stored events):"]
    lines += _scrubbed(events, runtime)
    lines += ["", "Alerts sent (email, rendered from scrubbed events):"]
    lines += [f"  {m.subject}" for m in getattr(mail, "outbox", [])] or ["  none"]
    lines += ["", "Performance:", *_performance(store)]
    lines += ["", "Look next:",
              "  .venv/bin/python manage.py sentry_inbox                 # issues, grouped",
              "  .venv/bin/python manage.py sentry_inbox --show <EVENT>  # one event as JSON",
              "  .venv/bin/python manage.py sentry_inbox --transactions  # traced requests"]
    return "\n".join(lines)


def _traffic(outcome, elapsed: float) -> str:
    failed = sum(n for (_, status), n in outcome.statuses.items() if status >= 500)
    rejected = sum(n for (_, status), n in outcome.statuses.items() if 400 <= status < 500)
    return (f"\n{outcome.requests} requests in {elapsed:.1f}s: {failed} server errors, "
            f"{rejected} rejected (4xx), {outcome.requests - failed - rejected} ok.")


def _tag(event: dict, name: str) -> str:
    tags = event.get("tags") or {}
    if isinstance(tags, list):
        tags = dict(tags)
    return str(tags.get(name, "-"))


def _issues(store: InboxStore, events: list[dict]) -> list[str]:
    category = {}
    for event in events:
        category[tuple(event.get("fingerprint") or ())] = _tag(event, "error.category")
    rows = []
    for issue in store.issues(limit=100):
        fingerprint = tuple(issue["fingerprint"]) if isinstance(issue["fingerprint"], list) else ()
        rows.append((category.get(fingerprint, "-"), issue))
    rows.sort(key=lambda row: (row[0], -row[1]["count"]))
    lines = [f"  {'category':<11} {'count':>5}  {'level':<8} fingerprint"]
    for name, issue in rows:
        shown = " / ".join(issue["fingerprint"]) if isinstance(issue["fingerprint"], list) else issue["title"]
        lines.append(f"  {name:<11} {issue['count']:>5}  {issue['level']:<8} {shown[:90]}")
    lines.append(f"  {len(rows)} issues from {len(events)} events")
    return lines


def _scrubbed(events: list[dict], runtime: Runtime) -> list[str]:
    import json

    found = Counter(m.group(0) for e in events for m in _PLACEHOLDER.finditer(json.dumps(e)))
    lines = [f"  {name:<18} x{count}" for name, count in found.most_common()] or ["  nothing"]
    dropped = runtime.stats.snapshot()["dropped"]
    if dropped:
        lines.append(f"  dropped by the pipeline: {dict(dropped)}")
    return lines


def _performance(store: InboxStore) -> list[str]:
    transactions = store.events(type="transaction")
    slow = sum(1 for t in transactions if _tag(t, "db.slow_queries") not in ("-", "0"))
    n_plus_one = sorted({t.get("transaction", "?") for t in transactions
                         if _tag(t, "db.n_plus_one") == "yes"})
    return [f"  {len(transactions)} transactions traced; {slow} with slow queries "
            f"(>{settings.SENTRY.slow_query_ms} ms); N+1 detected on: {', '.join(n_plus_one) or 'none'}"]
