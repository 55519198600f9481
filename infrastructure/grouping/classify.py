"""The classify-and-fingerprint pipeline step: one category, kind, fingerprint and tags per event."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from infrastructure.grouping.app_errors import app_verdict
from infrastructure.grouping.database import database_verdict
from infrastructure.grouping.external import ServiceMap, external_verdict
from infrastructure.grouping.rules import compile_rules
from infrastructure.grouping.sources import Facts, Verdict, clip, is_default_fingerprint

log = logging.getLogger(__name__)

# The SDK's level for capture_exception and logger.error: the only level we replace, so an
# explicit warning/info/fatal chosen by a caller or a logger always stands.
SDK_DEFAULT_LEVEL = "error"


class Classifier:
    """Pipeline step: set the event's fingerprint, error.* tags and level from its exception."""

    def __init__(self, service_hosts: Mapping[str, str], rules: Sequence[dict] = ()):
        self._services = ServiceMap(service_hosts)
        self._rules = compile_rules(rules)

    def __call__(self, event: dict, hint: dict) -> dict:
        """Classify and annotate the event in place; return it (never None, never raises)."""
        try:
            if isinstance(event, dict):
                _apply(event, self.classify(event, hint if isinstance(hint, dict) else {}))
        except Exception:
            # Grouping is an improvement, not a gate: the event still goes out as it was.
            log.debug("grouping: classification skipped", exc_info=True)
        return event

    def classify(self, event: dict, hint: dict) -> Verdict:
        """The verdict for one event without changing it."""
        facts = Facts(event, hint)
        for rule in self._rules:
            if rule.matches(facts):
                return rule.verdict(facts)
        return self._builtin(facts)

    def _builtin(self, facts: Facts) -> Verdict:
        # The raised exception speaks first; its causes only when it is not itself recognised
        # (a view turning an IntegrityError into a ValidationError is a validation error).
        for i, exc in enumerate(facts.chain):
            chain = facts.chain[i:]
            verdict = (app_verdict(chain, facts) or database_verdict(chain, facts)
                       or external_verdict(exc, self._services))
            if verdict is not None:
                return verdict
        return _generic(facts)


def _generic(facts: Facts) -> Verdict:
    if facts.is_message:
        tags = {"error.category": "generic", "error.kind": "message"}
        return Verdict("generic", "message", ("message", facts.group_text), tags)
    tags = {"error.category": "generic", "error.kind": "exception"}
    parts = ("generic", facts.type_name or "unknown", facts.group_text, facts.function)
    return Verdict("generic", "exception", parts, tags)


def merged_fingerprint(current: Any, ours: tuple[str, ...]) -> list[str] | None:
    """Ours when the event has none; the caller's when it set one, '{{ default }}' expanded."""
    if not isinstance(current, list | tuple) or not current:
        return list(ours)
    if not any(is_default_fingerprint(p) for p in current):
        return None
    merged: list[str] = []
    for part in current:
        merged.extend(ours if is_default_fingerprint(part) else (part,))
    return merged


def _set_tags(event: dict, tags: dict[str, str]) -> None:
    current = event.get("tags")
    if isinstance(current, list):  # the protocol also allows [[key, value], ...]
        current[:] = [t for t in current if not (isinstance(t, list | tuple) and t and t[0] in tags)]
        current.extend([k, clip(v, 200)] for k, v in tags.items())
        return
    if not isinstance(current, dict):
        current = event["tags"] = {}
    current.update((k, clip(v, 200)) for k, v in tags.items())


def _apply(event: dict, verdict: Verdict) -> None:
    fingerprint = merged_fingerprint(event.get("fingerprint"), verdict.fingerprint)
    if fingerprint is not None:
        event["fingerprint"] = fingerprint
    _set_tags(event, verdict.tags)
    if verdict.level and event.get("level", SDK_DEFAULT_LEVEL) == SDK_DEFAULT_LEVEL:
        event["level"] = verdict.level
