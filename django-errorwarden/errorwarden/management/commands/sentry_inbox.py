"""`manage.py sentry_inbox`: read the local Sentry inbox (issues, one event, transactions, performance),
the delivery outbox (`--outbox`), the alert spool's deliveries (`--alerts`) and the beat monitors
(`--monitors`)."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from types import MappingProxyType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper

from errorwarden.alerting.alert_queue import AlertSpool
from errorwarden.delivery import OutboxOptions, OutboxStore
from errorwarden.event import timestamp
from errorwarden.local import InboxStore
from errorwarden.local.aggregates import Aggregates, Stat
from errorwarden.local.store import ID_PREFIX_MIN
from errorwarden.losses import is_loss
from errorwarden.runtime import require_runtime
from errorwarden.settings import Settings
from errorwarden.text import cut, for_json, for_terminal_line, when

_ISSUE_COLUMNS = (("COUNT", 7, ">"), ("KEPT", 5, ">"), ("LEVEL", 7, "<"), ("FIRST SEEN", 19, "<"),
                  ("LAST SEEN", 19, "<"), ("LAST EVENT", 12, "<"), ("TITLE", 50, "<"), ("CULPRIT", 40, "<"))
_TRANSACTION_COLUMNS = (("FINISHED", 19, "<"), ("DURATION", 10, ">"), ("STATUS", 10, "<"),
                        ("EVENT", 12, "<"), ("TRANSACTION", 60, "<"))
_LATENCY = (("AVG MS", 8, ">"), ("P50 MS", 8, ">"), ("P95 MS", 8, ">"), ("P99 MS", 8, ">"))
# Throughput per minute over the window, as Sentry's own TPM: readable at a laptop's traffic.
_ENDPOINT_COLUMNS = (("ENDPOINT", 40, "<"), ("REQUESTS", 8, ">"), ("REQ/MIN", 8, ">"), ("ERRORS", 7, ">"),
                     *_LATENCY, ("SLOW Q", 6, ">"), ("N+1", 5, ">"))
_SERVICE_COLUMNS = (("SERVICE", 40, "<"), ("CALLS", 8, ">"), ("FAILURES", 8, ">"), ("FAIL %", 7, ">"),
                    *_LATENCY)
_TASK_COLUMNS = (("TASK", 40, "<"), ("RUNS", 8, ">"), ("FAILURES", 8, ">"), ("FAIL %", 7, ">"), *_LATENCY)
_OUTBOX_COLUMNS = (("ID", 6, ">"), ("SPOOLED", 19, "<"), ("DUE", 19, "<"), ("TRIES", 5, ">"),
                   ("REASON", 14, "<"), ("SIZE", 9, ">"), ("WHAT", 70, "<"))
_ALERT_COLUMNS = (("FIRED", 19, "<"), ("CHANNEL", 8, "<"), ("OUTCOME", 16, "<"), ("TRIES", 5, ">"),
                  ("RULE", 19, "<"), ("TITLE", 50, "<"), ("DETAIL", 50, "<"))
_MONITOR_COLUMNS = (("MONITOR", 30, "<"), ("SCHEDULE", 20, "<"), ("STATUS", 15, "<"),
                    ("LAST CHECK-IN", 19, "<"), ("NEXT EXPECTED", 19, "<"), ("LAST RUN", 9, ">"),
                    ("RUNS (OLDEST FIRST)", 30, "<"))
_RUN_MARKS = MappingProxyType({"ok": "o", "error": "x", "missed": "!", "in_progress": ">"})
# What --outbox and --alerts do not combine with.
_ONLY_LIMIT = ("show", "transactions", "performance", "monitors")
_WINDOW = re.compile(r"^(\d+)([smh])$")
_UNIT = MappingProxyType({"s": 1, "m": 60, "h": 3600})


def _written(exc: BaseException) -> bool:
    """True when the error came from writing the command's output, not from reading a file."""
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code is OutputWrapper.write.__code__:
            return True
        tb = tb.tb_next
    return False


def _cell(value: Any, width: int, align: str) -> str:
    # Captured text (titles, culprits, transaction and endpoint names) shows its control and bidi
    # characters as escapes: nothing printed here can move the cursor, link or add a line.
    return f"{cut(for_terminal_line(str(value)), width):{align}{width}}"


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


def _size(count: float) -> str:
    """Bytes as '512 bytes', '3.1 KB' or '100.0 MB' (powers of 1024, as the outbox bounds are set)."""
    if count < 1024:
        return f"{int(count)} bytes"
    for unit in ("KB", "MB", "GB"):
        count /= 1024
        if count < 1024 or unit == "GB":
            break
    return f"{count:.1f} {unit}"


def _age(seconds: float) -> str:
    """A duration as HH:MM:SS (hours may exceed 24)."""
    minutes, secs = divmod(max(0, int(seconds)), 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}:{secs:02d}"


def _latency(stat: Stat) -> tuple[str, str, str, str]:
    return f"{stat.avg_ms:.1f}", f"{stat.p50_ms:.1f}", f"{stat.p95_ms:.1f}", f"{stat.p99_ms:.1f}"


def _depths(readings: list[tuple[float, str, int]]) -> str:
    latest: dict[str, tuple[float, int]] = {}
    highest: dict[str, int] = {}
    for at, queue, depth in readings:
        latest[queue] = (at, depth)
        highest[queue] = max(depth, highest.get(queue, depth))
    return "\n".join(f"  {for_terminal_line(queue):<40} {depth:>8} at {_when(at)}, highest {highest[queue]}"
                     for queue, (at, depth) in sorted(latest.items()))


def losses_line(losses: dict[tuple[str, str], int]) -> str:
    """The loss ledger's counts as saved in the inbox file, every process together, on one line."""
    if not losses:
        return "Losses: none recorded."
    parts = ", ".join(f"{kind} {reason} {count}" for (kind, reason), count in losses.items())
    # Failed attempts and spooled items are listed too (their reasons say so) but were not lost.
    lost = sum(count for key, count in losses.items() if is_loss(key))
    return (f"Losses: {lost} item(s) could not be kept ({parts}); the warnings are logged "
            "on errorwarden.losses.")


def _duration(transaction: dict[str, Any]) -> str:
    start, end = timestamp(transaction.get("start_timestamp")), timestamp(transaction.get("timestamp"))
    return "" if start is None or end is None else f"{(end - start) * 1000:.1f} ms"


class Command(BaseCommand):
    """List the local inbox's issues, show one event, list transactions, or clear it."""

    help = ("Read the local Sentry inbox (used when SENTRY_DSN is empty): issues grouped by "
            "fingerprint, one event as JSON, recent transactions, or clear it.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=20,
                            help="how many rows to list (default 20); with --performance, per table, "
                                 "saying how many it left out")
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--show", metavar="EVENT_ID",
                            help="print one event or transaction as JSON (a unique id prefix is enough)")
        action.add_argument("--transactions", action="store_true", help="list recent transactions")
        action.add_argument("--performance", action="store_true",
                            help="per endpoint, external service and Celery task: latency, throughput, "
                                 "errors, slow queries, N+1 and queue depth")
        action.add_argument("--monitors", action="store_true",
                            help="each celery beat monitor: schedule, status, last check-in, next expected "
                                 "run and its last runs (o ok, x error, ! missed, > running)")
        action.add_argument("--clear", action="store_true",
                            help="delete everything in the inbox (payloads, counts and recorded losses), "
                                 "its aggregates and its alert log")
        parser.add_argument("--window", default="1h",
                            help="with --performance: how far back, like 5m or 1h (default 1h)")
        spools = parser.add_mutually_exclusive_group()
        spools.add_argument("--outbox", action="store_true",
                            help="what waits in the delivery outbox for Sentry, oldest first (with --clear: "
                                 "delete it all)")
        spools.add_argument("--alerts", action="store_true",
                            help="the newest alert deliveries per channel and what became of them (with "
                                 "--clear: forget the finished ones)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["limit"] < 1:
            raise CommandError("--limit must be at least 1.")
        settings = require_runtime().settings
        if options["outbox"] or options["alerts"]:
            self._spools(settings, options)
            return
        store = InboxStore.from_settings(settings)
        try:
            if options["show"]:
                self._show(store, options["show"])
            elif options["transactions"]:
                self._transactions(store, options["limit"])
            elif options["monitors"]:
                self._monitors(settings, options["limit"])
            elif options["performance"]:
                self._performance(Aggregates.for_inbox(store.path), options["window"], options["limit"])
            elif options["clear"]:
                self._clear(store, AlertSpool(settings.alert_spool), settings.monitors_path)
            else:
                self._issues(store, options["limit"])
        except (sqlite3.Error, OSError) as exc:
            if _written(exc):  # stdout failed (a closed pipe: `| head`), not the inbox
                raise
            raise CommandError(f"Cannot read the local inbox at {store.path}: {exc}") from exc
        finally:
            store.close()

    def _spools(self, settings: Settings, options: dict[str, Any]) -> None:
        name = "--outbox" if options["outbox"] else "--alerts"
        extra = [f"--{option}" for option in _ONLY_LIMIT if options[option]]
        if extra:
            raise CommandError(f"{name} takes only --limit and --clear, not {', '.join(extra)}.")
        if options["outbox"]:
            outbox = OutboxOptions.from_settings(settings)
            path, bounds = outbox.outbox_path, (outbox.outbox_max_envelopes, outbox.outbox_max_bytes)
        else:
            path, bounds = settings.alert_spool, ()
        if not path.exists():  # reading must not create the file
            self.stdout.write(f"Nothing at {path}: " + ("nothing was ever spooled for Sentry." if bounds
                                                        else "no alert has fired on this host."))
            return
        try:
            if bounds:
                self._outbox(OutboxStore(path, *bounds), options["limit"], options["clear"])
            else:
                self._alerts(AlertSpool(path), options["limit"], options["clear"])
        except (sqlite3.Error, OSError) as exc:
            if _written(exc):
                raise
            raise CommandError(f"Cannot read {path}: {exc}") from exc

    def _outbox(self, store: OutboxStore, limit: int, clear: bool) -> None:
        try:
            if clear:
                self.stdout.write(f"Deleted {store.clear()} envelope(s) from the outbox {store.path}.")
                return
            stats, rows = store.stats(), store.rows(limit)
        finally:
            store.close()
        oldest = f"; oldest {_age(time.time() - stats['oldest'])} ago" if stats["oldest"] else ""
        self.stdout.write(f"Outbox {store.path}: {stats['envelopes']} envelopes, {_size(stats['bytes'])} "
                          f"(bounds {stats['max_envelopes']:,} / {_size(stats['max_bytes'])}){oldest}")
        self.stdout.write(f"Dropped for space since the file was created: {stats['dropped']} envelopes "
                          f"({_size(stats['dropped_bytes'])})")
        if not rows:
            return
        reasons = sorted(stats["reasons"].items(), key=lambda item: (-item[1], item[0]))
        self.stdout.write("Waiting because: " + ", ".join(f"{reason} ({count})" for reason, count in reasons))
        now = time.time()
        self.stdout.write(_table(_OUTBOX_COLUMNS, [
            (r["id"], _when(r["created"]), _when(r["not_before"]) if r["not_before"] > now else "now",
             r["attempts"], r["reason"], _size(r["size"]), r["summary"]) for r in rows]))

    def _alerts(self, spool: AlertSpool, limit: int, clear: bool) -> None:
        try:
            if clear:
                self.stdout.write(f"Deleted {spool.clear_finished()} finished alert row(s) from "
                                  f"{spool.path}; alerts still owed stay.")
                return
            rows, owed = spool.recent(limit), spool.pending()
        finally:
            spool.close()
        if not rows:
            self.stdout.write(f"No alert deliveries in {spool.path}.")
            return
        self.stdout.write(f"Alert deliveries in {spool.path}, newest first ({owed} still owed, times in "
                          "UTC):")
        self.stdout.write(_table(_ALERT_COLUMNS, [
            (_when(r["fired"]), r["channel"], r["outcome"], r["attempts"], r["rule"], r["title"], r["detail"])
            for r in rows]))

    def _issues(self, store: InboxStore, limit: int) -> None:
        issues, totals, losses = store.issues(limit=limit), store.totals("event"), store.losses()
        if not issues:
            self.stdout.write(f"No events in the local inbox at {store.path}.")
        else:
            rows = [(i["count"], i["kept"], i["level"], _when(i["first_seen"]), _when(i["last_seen"]),
                     i["last_event_id"][:12], i["title"], i["culprit"]) for i in issues]
            self.stdout.write(f"Issues in {store.path} ({totals['events']} events in {totals['issues']} "
                              f"issues, {totals['kept']} kept; times in UTC):")
            self.stdout.write(_table(_ISSUE_COLUMNS, rows))
            self.stdout.write("COUNT is every event captured; KEPT, the payloads stored (a storm keeps a "
                              "sample). Show one with: manage.py sentry_inbox --show <LAST EVENT>")
        self.stdout.write(losses_line(losses))

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
            endpoints, services = aggregates.endpoints(seconds), aggregates.services(seconds)
            tasks = aggregates.tasks(seconds)
            depths = aggregates.queue_depth(since=time.time() - seconds)
        finally:
            aggregates.close()
        self.stdout.write(f"Performance over the last {window} in {aggregates.path} (every process merged):")
        self.stdout.write("\nEndpoints:")
        self.stdout.write(_table(_ENDPOINT_COLUMNS, [
            (s.name, s.count, f"{s.rps * 60:.3g}", f"{s.error_rate:.1%}", *_latency(s), s.slow_queries,
             s.n_plus_one) for s in endpoints[:limit]]) if endpoints else "  none in this window")
        self._left_out(len(endpoints), limit, "endpoints")
        self.stdout.write("\nExternal services:")
        self.stdout.write(_table(_SERVICE_COLUMNS, [
            (s.name, s.count, s.failed, f"{s.error_rate:.1%}", *_latency(s)) for s in services[:limit]])
            if services else "  none in this window")
        self._left_out(len(services), limit, "external services")
        self.stdout.write("\nCelery tasks:")
        self.stdout.write(_table(_TASK_COLUMNS, [
            (s.name, s.count, s.failed, f"{s.error_rate:.1%}", *_latency(s)) for s in tasks[:limit]])
            if tasks else "  none in this window")
        self._left_out(len(tasks), limit, "Celery tasks")
        self.stdout.write("\nCelery queue depth (latest reading, highest in the window):")
        self.stdout.write(_depths(depths) or "  no readings in this window")

    def _monitors(self, settings: Settings, limit: int) -> None:
        from errorwarden.local.monitors import MonitorStore
        from errorwarden.monitors import overview

        watch = require_runtime().monitors
        if watch is None:
            self.stdout.write("Beat monitoring is off (SENTRY_MONITORS_ENABLED=false).")
            return
        history = MonitorStore(settings.monitors_path)
        try:
            rows = overview(watch, history, time.time())
        finally:
            history.close()
        if not rows:
            self.stdout.write("No beat entries in this process's Celery app and no check-ins on file.")
            return
        self.stdout.write(f"Beat monitors (check-ins in {history.path}, times in UTC):")
        self.stdout.write(_table(_MONITOR_COLUMNS, [
            (r["slug"], r["schedule"], r["status"],
             _when(r["last_checkin"]) if r["last_checkin"] else "never",
             _when(r["next_due"]) if r["next_due"] else "",
             f"{r['durations'][-1]:.2f}s" if r["durations"] else "",
             "".join(_RUN_MARKS.get(status, "?") for status, _, _ in r["strip"][-limit:])) for r in rows]))

    def _left_out(self, total: int, limit: int, what: str) -> None:
        """Say how many rows --limit left out of a table, and how to see them."""
        if total > limit:
            self.stdout.write(f"  ... {total - limit} more {what} in this window not shown "
                              f"({limit} of {total}); --limit {total} lists them all")

    def _clear(self, store: InboxStore, spool: AlertSpool, monitors_path: Any = None) -> None:
        from errorwarden.local.monitors import MonitorStore

        aggregates = Aggregates.for_inbox(store.path)
        monitors = MonitorStore(monitors_path) if monitors_path and monitors_path.exists() else None
        try:
            aggregates.clear()
            cleared_alerts = spool.clear_finished()  # alerts still owed stay queued
            if monitors is not None:  # check-ins, and the monitors' state when there is no Redis
                monitors.clear()
        finally:
            aggregates.close()
            spool.close()
            if monitors is not None:
                monitors.close()
        self.stdout.write(f"Deleted {store.clear()} item(s) from {store.path}, its performance figures, its "
                          f"check-ins and {cleared_alerts} finished alert row(s).")

    def _show(self, store: InboxStore, wanted: str) -> None:
        matches = store.event_ids(wanted) if len(wanted) >= ID_PREFIX_MIN else []
        if len(matches) > 1:
            raise CommandError(f"Event id prefix {wanted!r} is ambiguous: give more characters.")
        event = store.get(matches[0]) if matches else None
        if event is None:
            raise CommandError(f"No event {wanted!r} in the local inbox at {store.path} "
                               "(list them with: manage.py sentry_inbox).")
        # JSON escapes C0 controls itself; for_json escapes what it leaves raw (DEL, C1, bidi).
        self.stdout.write(for_json(json.dumps(event, indent=2, sort_keys=True, ensure_ascii=False)))
