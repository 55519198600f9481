"""What one demo run captured, read from each event as the pipeline hands it to the transport.

The demo's summary is about its own run whichever way events go (the local inbox or a Sentry
server), so it counts the events that leave `before_send`: already scrubbed and grouped, exactly
what the transport sends or stores.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import sentry_sdk

PLACEHOLDER = re.compile(r"\[(Filtered|card|ssn|iban|email|ip|jwt|token|password|[a-z_]+_key|"
                         r"github_token|slack_token|slack_webhook|private_key)\]")


def tag(event: dict, name: str) -> str:
    """One tag of an event, '-' when absent (tags may be a dict or a list of pairs)."""
    tags = event.get("tags") or {}
    if isinstance(tags, list):
        tags = dict(tags)
    return str(tags.get(name, "-"))


@dataclass
class Issue:
    """One fingerprint of this run: its category, level, event count and first event id."""

    fingerprint: tuple[str, ...]
    category: str
    level: str
    event_id: str
    count: int = 0


@dataclass
class Tally:
    """Events and transactions of this run, counted as they leave the pipeline."""

    issues: dict[tuple[str, ...], Issue] = field(default_factory=dict)
    event_ids: list[str] = field(default_factory=list)
    placeholders: Counter = field(default_factory=Counter)
    transactions: int = 0
    slow: int = 0
    n_plus_one: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def install(self) -> None:
        """Observe the current client's before_send and before_send_transaction (after our pipeline)."""
        options = sentry_sdk.get_client().options
        options["before_send"] = self._after(options["before_send"], self._event)
        options["before_send_transaction"] = self._after(options["before_send_transaction"],
                                                         self._transaction)

    @staticmethod
    def _after(step: Any, observe: Any) -> Any:
        def observed(event: dict, hint: dict) -> dict | None:
            result = step(event, hint) if step is not None else event
            if result is not None:
                observe(result)
            return result

        return observed

    def _event(self, event: dict) -> None:
        parts = event.get("fingerprint") or (event.get("message"),)
        fingerprint = tuple(str(part) for part in parts)
        found = Counter(m.group(0) for m in PLACEHOLDER.finditer(json.dumps(event, default=str)))
        with self._lock:
            issue = self.issues.setdefault(fingerprint, Issue(fingerprint, tag(event, "error.category"),
                                                              str(event.get("level", "error")),
                                                              str(event.get("event_id", ""))))
            issue.count += 1
            self.event_ids.append(str(event.get("event_id", "")))
            self.placeholders.update(found)

    def _transaction(self, event: dict) -> None:
        with self._lock:
            self.transactions += 1
            self.slow += tag(event, "db.slow_queries") not in ("-", "0")
            if tag(event, "db.n_plus_one") == "yes":
                self.n_plus_one.add(str(event.get("transaction", "?")))

    def by_category(self) -> list[Issue]:
        """Issues sorted by category, then the most frequent first."""
        with self._lock:
            return sorted(self.issues.values(), key=lambda i: (i.category, -i.count))
