"""`manage.py sentry_inbox`: read the local Sentry inbox (issues, one event, transactions, performance)."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from infrastructure.alerting.spool import AlertSpool
from infrastructure.event import timestamp
from infrastructure.local import InboxStore
from infrastructure.local.aggregates import Aggregates, Stat
from infrastructure.runtime import require_runtime
from infrastructure.text import cut, when

_ISSUE_COLUMNS = (("COUNT", 6, ">"), ("LEVEL", 7, "<"), ("FIRST SEEN", 19, "<"), ("LAST SEEN", 19, "<"),
                  ("LAST EVENT", 12, "<"), ("TITLE", 50, "<"), ("CULPRIT", 40, "<"))
_TRANSACTION_COLUMNS = (("FINISHED", 19, "<"), ("DURATION", 10, ">"), ("STATUS", 10, "<"),
                        ("EVENT", 12, "<"), ("TRANSACTION", 60, "<"))
_LATENCY = (("AVG MS", 8, ">"), ("P95 MS", 8, ">"), ("P99 MS", 8, ">"))
_ENDPOINT_COLUMNS = (("ENDPOINT", 40, "<"), ("REQUESTS", 8, ">"), ("RPS", 8, ">"), ("ERRORS", 7, ">"),
                     *_LATENCY, ("SLOW Q", 6, ">"), ("N+1", 5, ">"))
_SERVICE_COLUMNS = (("SERVICE", 40, "<"), ("CALLS", 8, ">"), ("FAILURES", 8, ">"), ("FAIL %", 7, ">"),
                    *_LATENCY)
_TASK_COLUMNS = (("TASK", 40, "<"), ("RUNS", 8, ">"), ("FAILURES", 8, ">"), ("FAIL %", 7, ">"), *_LATENCY)
_WINDOW = re.compile(r"^(\d+)([smh])$")
_UNIT = {"s": 1, "m": 60, "h": 3600}


def _cell(value: Any, width: int, align: str) -> str:
    return f"{cut(str(value), width):{align}{width}}"


def _table(columns: tuple[tuple[str, int, str], ...], rows: list[tuple[Any, ...]]) -> str:
    lines = ["  ".join(_cell(name, width, align) for name, width, align in columns)]
    for row in rows:
        lines.append("  ".join(_cell(v, w, a) for v, (_, w, a) in zip(row, columns, strict=True)))
    return "\n".join(line.rstrip() for line in lines)


def _when(value: Any) -> str:
    """A received or SDK timestamp (ISO string or epoch seconds) as 'YYYY-MM-DD HH:MM:SS' UTC."""
    return when(timestamp(value), "%Y-%m-%d %H:%M:%S") or str(value or "")


def _window(text: str, retention: int) -> int:
    """A window like 90s, 5m or 1h in seconds; CommandError naming what is allowed otherwise."""
    match = _WINDOW.match(text.strip().lower())
    seconds = int(match.group(1)) * _UNIT[match.group(2)] if match else 0
    if not 0 < seconds <= retention:
        raise CommandError(f"--window must be a duration like 90s, 5m or 1h, at most {retention // 3600}h "
                           f"(the retention), not {text!r}.")
    return seconds


def _latency(stat: Stat) -> tuple[str, str, str]:
    return f"{stat.avg_ms:.1f}", f"{stat.p95_ms:.1f}", f"{stat.p99_ms:.1f}"


def _depths(readings: list[tuple[float, str, int]]) -> str:
    latest: dict[str, tuple[float, int]] = {}
    highest: dict[str, int] = {}
    for at, queue, depth in readings:
        latest[queue] = (at, depth)
        highest[queue] = max(depth, highest.get(queue, depth))
    return "\n".join(f"  {queue:<40} {depth:>8} at {_when(at)}, highest {highest[queue]}"
                     for queue, (at, depth) in sorted(latest.items()))


def _duration(transaction: dict[str, Any]) -> str:
    start, end = timestamp(transaction.get("start_timestamp")), timestamp(transaction.get("timestamp"))
    return "" if start is None or end is None else f"{(end - start) * 1000:.1f} ms"


class Command(BaseCommand):
    """List the local inbox's issues, show one event, list transactions, or clear it."""

    help = ("Read the local Sentry inbox (used when SENTRY_DSN is empty): issues grouped by "
            "fingerprint, one event as JSON, recent transactions, or clear it.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=20, help="how many rows to list (default 20)")
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--show", metavar="EVENT_ID",
                            help="print one event or transaction as JSON (a unique id prefix is enough)")
        action.add_argument("--transactions", action="store_true", help="list recent transactions")
        action.add_argument("--performance", action="store_true",
                            help="per endpoint, external service and Celery task: latency, throughput, "
                                 "errors, slow queries, N+1 and queue depth")
        action.add_argument("--clear", action="store_true",
                            help="delete everything in the inbox, its aggregates and its alert log")
        parser.add_argument("--window", default="1h",
                            help="with --performance: how far back, like 5m or 1h (default 1h)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["limit"] < 1:
            raise CommandError("--limit must be at least 1.")
        settings = require_runtime().settings
        store = InboxStore.from_settings(settings)
        try:
            if options["show"]:
                self._show(store, options["show"])
            elif options["transactions"]:
                self._transactions(store, options["limit"])
            elif options["performance"]:
                self._performance(Aggregates.for_inbox(store.path), options["window"], options["limit"])
            elif options["clear"]:
                self._clear(store, AlertSpool(settings.alert_spool))
            else:
                self._issues(store, options["limit"])
        except (sqlite3.Error, OSError) as exc:
            raise CommandError(f"Cannot read the local inbox at {store.path}: {exc}") from exc
        finally:
            store.close()

    def _issues(self, store: InboxStore, limit: int) -> None:
        issues = store.issues(limit=limit)
        if not issues:
            self.stdout.write(f"No events in the local inbox at {store.path}.")
            return
        rows = [(i["count"], i["level"], _when(i["first_seen"]), _when(i["last_seen"]),
                 i["last_event_id"][:12], i["title"], i["culprit"]) for i in issues]
        self.stdout.write(f"Issues in {store.path} ({store.count('event')} events, times in UTC):")
        self.stdout.write(_table(_ISSUE_COLUMNS, rows))
        self.stdout.write("Show one with: manage.py sentry_inbox --show <LAST EVENT>")

    def _transactions(self, store: InboxStore, limit: int) -> None:
        transactions = store.events(limit=limit, type="transaction")
        if not transactions:
            self.stdout.write(f"No transactions in the local inbox at {store.path}.")
            return
        rows = [(_when(t.get("timestamp")), _duration(t),
                 (t.get("contexts") or {}).get("trace", {}).get("status", ""),
                 str(t.get("event_id", ""))[:12], t.get("transaction", "")) for t in transactions]
        self.stdout.write(f"Recent transactions in {store.path} (times in UTC):")
        self.stdout.write(_table(_TRANSACTION_COLUMNS, rows))

    def _performance(self, aggregates: Aggregates, window: str, limit: int) -> None:
        seconds = _window(window, aggregates.retention)
        try:
            endpoints, services = aggregates.endpoints(seconds)[:limit], aggregates.services(seconds)[:limit]
            tasks = aggregates.tasks(seconds)[:limit]
            depths = aggregates.queue_depth(since=time.time() - seconds)
        finally:
            aggregates.close()
        self.stdout.write(f"Performance over the last {window} in {aggregates.path} (every process merged):")
        self.stdout.write("\nEndpoints:")
        self.stdout.write(_table(_ENDPOINT_COLUMNS, [
            (s.name, s.count, f"{s.rps:.3g}", f"{s.error_rate:.1%}", *_latency(s), s.slow_queries,
             s.n_plus_one) for s in endpoints]) if endpoints else "  none in this window")
        self.stdout.write("\nExternal services:")
        self.stdout.write(_table(_SERVICE_COLUMNS, [
            (s.name, s.count, s.failed, f"{s.error_rate:.1%}", *_latency(s)) for s in services])
            if services else "  none in this window")
        self.stdout.write("\nCelery tasks:")
        self.stdout.write(_table(_TASK_COLUMNS, [
            (s.name, s.count, s.failed, f"{s.error_rate:.1%}", *_latency(s)) for s in tasks])
            if tasks else "  none in this window")
        self.stdout.write("\nCelery queue depth (latest reading, highest in the window):")
        self.stdout.write(_depths(depths) or "  no readings in this window")

    def _clear(self, store: InboxStore, spool: AlertSpool) -> None:
        aggregates = Aggregates.for_inbox(store.path)
        try:
            aggregates.clear()
            cleared_alerts = spool.clear_finished()  # alerts still owed stay queued
        finally:
            aggregates.close()
            spool.close()
        self.stdout.write(f"Deleted {store.clear()} item(s) from {store.path}, its performance figures and "
                          f"{cleared_alerts} finished alert row(s).")

    def _show(self, store: InboxStore, wanted: str) -> None:
        matches = store.event_ids(wanted) if len(wanted) >= 6 else []
        if len(matches) > 1:
            raise CommandError(f"Event id prefix {wanted!r} is ambiguous: give more characters.")
        event = store.get(matches[0]) if matches else None
        if event is None:
            raise CommandError(f"No event {wanted!r} in the local inbox at {store.path} "
                               "(list them with: manage.py sentry_inbox).")
        self.stdout.write(json.dumps(event, indent=2, sort_keys=True, ensure_ascii=False))
