"""Preparing the demo's tracking (where events go, alert channels) and printing what it captured."""

from __future__ import annotations

from django.conf import settings
from django.core import mail

from errorwarden.diagnostics import mask_dsn
from errorwarden.issue_links import issue_link_for
from errorwarden.local import InboxStore
from errorwarden.runtime import Runtime, require_runtime
from errorwarden.text import for_terminal, for_terminal_line
from infrastructure.sentry_alerts import flush as flush_alerts
from infrastructure.sentry_config import init_sentry
from library.demo.tally import Tally

DASHBOARD = "http://127.0.0.1:8000/_errors/"


def prepare(stubs: dict, keep_inbox: bool = True) -> Runtime:
    """Re-initialise tracking for the demo: the configured DSN (or the local inbox), its stand-in
    services, every request traced, email alerts kept in memory; `keep_inbox=False` empties the inbox."""
    hosts = {**settings.SENTRY.service_hosts,
             **{stub.url.split("//", 1)[1]: name for name, stub in stubs.items()}}
    demo = settings.SENTRY.with_overrides(
        service_hosts=hosts, traces_sample_rate=1.0, profiles_sample_rate=0.0,
        email_alerts_enabled=True, alert_email_recipients=("oncall@example.com",),
        slack_alerts_enabled=False, error_rate_min_requests=100,
    )
    # Alert emails are rendered and sent through Django's mail API into memory, so the demo needs
    # no SMTP server; the summary prints their subjects.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    init_sentry(demo)
    runtime = require_runtime()
    if demo.local_inbox and not keep_inbox:
        InboxStore.from_settings(demo).clear()
    return runtime


def destination(runtime: Runtime) -> str:
    """One line saying where this run's events go, with the DSN's key masked."""
    s = runtime.settings
    if s.local_inbox:
        return (f"Events go to the local inbox {s.inbox_path} (SENTRY_DSN is empty): nothing leaves "
                "this machine.")
    return f"Events go to the Sentry server at {mask_dsn(s.dsn)} (SENTRY_DSN)."


def summary(runtime: Runtime, tally: Tally, outcome, elapsed: float) -> str:
    """A readable report: traffic, issues by category, scrubbing, alerts, where to look next."""
    import sentry_sdk

    sentry_sdk.flush(timeout=10)
    runtime.alerts.flush_requests()
    flush_alerts(10)
    local = runtime.settings.local_inbox
    lines = [_traffic(outcome, elapsed), "",
             "Issues in the local inbox, by category:" if local else "Issues sent to Sentry, by category:"]
    lines += _issues(tally)
    lines += _stored(runtime, tally) if local else _delivery(runtime)
    lines += ["", "Scrubbed before anything left the process (placeholders in this run's events):"]
    lines += _scrubbed(runtime, tally)
    lines += ["", "Alerts sent (email, rendered from scrubbed events):"]
    cooldown = runtime.settings.alert_cooldown
    lines += [f"  {for_terminal_line(m.subject)}" for m in getattr(mail, "outbox", [])] or [
        f"  none (an alert already sent within SENTRY_ALERT_COOLDOWN_SECONDS={cooldown} is not sent again)"]
    lines += ["", "Performance:", _performance(tally)]
    lines += ["", "Look next:", *(_local_next() if local else _sentry_next(runtime, tally))]
    # Subjects and fingerprints are captured text: one line each, escapes for what could act.
    return for_terminal("\n".join(lines))


def _traffic(outcome, elapsed: float) -> str:
    failed = sum(n for (_, status), n in outcome.statuses.items() if status >= 500)
    rejected = sum(n for (_, status), n in outcome.statuses.items() if 400 <= status < 500)
    return (f"\n{outcome.requests} requests in {elapsed:.1f}s: {failed} server errors, "
            f"{rejected} rejected (4xx), {outcome.requests - failed - rejected} ok.")


def _issues(tally: Tally) -> list[str]:
    issues = tally.by_category()
    lines = [f"  {'category':<11} {'count':>5}  {'level':<8} fingerprint"]
    for issue in issues:
        lines.append(f"  {issue.category:<11} {issue.count:>5}  {issue.level:<8} "
                     f"{for_terminal_line(' / '.join(issue.fingerprint))[:90]}")
    lines.append(f"  {len(issues)} issues from {len(tally.event_ids)} events")
    return lines


def _stored(runtime: Runtime, tally: Tally) -> list[str]:
    store = InboxStore.from_settings(runtime.settings)
    stored = sum(1 for event_id in tally.event_ids if store.get(event_id) is not None)
    counted = store.totals("event")["events"]
    return [f"  {stored} of them stored in {runtime.settings.inbox_path}, which counts {counted} events in "
            "all (a storm keeps a sample of each issue's payloads, and counts every event)"]


def _delivery(runtime: Runtime) -> list[str]:
    transport = runtime.transport
    waiting = transport.store.pending(transport.key) if transport.store.path.exists() else 0
    refused = runtime.losses.total("outbox")  # what the outbox lost (the loss ledger, kind outbox)
    if not waiting and not refused:
        return [f"  the server at {mask_dsn(runtime.settings.dsn)} took every envelope"]
    lines = []
    if waiting:
        lines.append(f"  {waiting} envelope(s) wait in the outbox {transport.store.path}: the server did not "
                     "take them yet; they are sent when it does (docs/operations.md)")
    if refused:
        lines.append(f"  {refused} envelope(s) were refused by the server: run "
                     "`.venv/bin/python manage.py sentry_check` for the reason and the fix")
    return lines


def _scrubbed(runtime: Runtime, tally: Tally) -> list[str]:
    lines = [f"  {name:<18} x{count}" for name, count in tally.placeholders.most_common()] or ["  nothing"]
    dropped = runtime.stats.snapshot()["dropped"]
    if dropped:
        lines.append(f"  dropped by the pipeline: {dict(dropped)}")
    return lines


def _performance(tally: Tally) -> str:
    found = ", ".join(sorted(tally.n_plus_one)) or "none"
    return (f"  {tally.transactions} transactions traced; {tally.slow} with slow queries "
            f"(>{settings.SENTRY.slow_query_ms} ms); N+1 detected on: {found}")


def _local_next() -> list[str]:
    return [f"  make dashboard    then open {DASHBOARD}   # issues, events, performance, alerts",
            "  .venv/bin/python manage.py sentry_inbox                 # issues, grouped",
            "  .venv/bin/python manage.py sentry_inbox --show <EVENT>  # one event as JSON",
            "  .venv/bin/python manage.py sentry_inbox --transactions  # traced requests",
            "  .venv/bin/python manage.py sentry_inbox --performance   # slowest endpoints"]


def _sentry_next(runtime: Runtime, tally: Tally) -> list[str]:
    lines = [f"  In Sentry ({mask_dsn(runtime.settings.dsn)}), one event of each category:"]
    seen: set[str] = set()
    for issue in tally.by_category():
        if issue.category in seen:
            continue
        seen.add(issue.category)
        link = issue_link_for(runtime.settings, issue.event_id) or f"search for event {issue.event_id}"
        lines.append(f"  {issue.category:<11} {link}")
    lines.append("  .venv/bin/python manage.py sentry_check   # proves delivery, Slack, email, the worker")
    return lines
