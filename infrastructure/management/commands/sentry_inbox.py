"""`manage.py sentry_inbox`: read the local Sentry inbox (issues, one event, transactions)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from infrastructure.event import timestamp
from infrastructure.local import InboxStore
from infrastructure.runtime import require_runtime
from infrastructure.text import cut, when

_ISSUE_COLUMNS = (("COUNT", 6, ">"), ("LEVEL", 7, "<"), ("FIRST SEEN", 19, "<"), ("LAST SEEN", 19, "<"),
                  ("LAST EVENT", 12, "<"), ("TITLE", 50, "<"), ("CULPRIT", 40, "<"))
_TRANSACTION_COLUMNS = (("FINISHED", 19, "<"), ("DURATION", 10, ">"), ("STATUS", 10, "<"),
                        ("EVENT", 12, "<"), ("TRANSACTION", 60, "<"))


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
        action.add_argument("--clear", action="store_true", help="delete everything in the inbox")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["limit"] < 1:
            raise CommandError("--limit must be at least 1.")
        store = InboxStore.from_settings(require_runtime().settings)
        try:
            if options["show"]:
                self._show(store, options["show"])
            elif options["transactions"]:
                self._transactions(store, options["limit"])
            elif options["clear"]:
                self.stdout.write(f"Deleted {store.clear()} item(s) from {store.path}.")
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

    def _show(self, store: InboxStore, wanted: str) -> None:
        matches = store.event_ids(wanted) if len(wanted) >= 6 else []
        if len(matches) > 1:
            raise CommandError(f"Event id prefix {wanted!r} is ambiguous: give more characters.")
        event = store.get(matches[0]) if matches else None
        if event is None:
            raise CommandError(f"No event {wanted!r} in the local inbox at {store.path} "
                               "(list them with: manage.py sentry_inbox).")
        self.stdout.write(json.dumps(event, indent=2, sort_keys=True, ensure_ascii=False))
