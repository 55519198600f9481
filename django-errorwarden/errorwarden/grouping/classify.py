"""The classify-and-fingerprint pipeline step: one category, kind, fingerprint and tags per event."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache

from errorwarden import event as ev
from errorwarden.event import VERDICT, expand_fingerprint
from errorwarden.grouping.app_errors import app_verdict
from errorwarden.grouping.database import database_verdict
from errorwarden.grouping.external import ServiceMap, external_verdict
from errorwarden.grouping.sources import Facts, Verdict, clip
from errorwarden.grouping.user_rules import compile_rules

# The SDK's level for capture_exception and logger.error: the only level we replace, so an
# explicit warning/info/fatal chosen by a caller or a logger always stands.
SDK_DEFAULT_LEVEL = "error"


class Classifier:
    """Pipeline step: set the event's fingerprint, error.* tags and level from its exception.

    The Verdict is also left in the hint (event.VERDICT) for the alerting step. A failure
    here is the pipeline's to count: under its SKIP policy the event goes on ungrouped.
    """

    def __init__(self, service_hosts: Mapping[str, str], rules: Sequence[dict] = ()):
        self._services = ServiceMap(service_hosts)
        self._rules = compile_rules(rules)

    def __call__(self, event: dict, hint: dict) -> dict:
        """Classify and annotate the event in place; return it."""
        verdict = self.classify(event, hint)
        _apply(event, verdict)
        if isinstance(hint, dict):
            hint[VERDICT] = verdict
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
    # The one default identity (event.default_fingerprint), here with what the live exception
    # adds: the qualified type, the normalized text, the function with its class.
    if facts.is_message:
        return _generic_verdict(None, facts.group_text, None)
    return _generic_verdict(facts.type_name or "unknown", facts.group_text, facts.function)


@lru_cache(maxsize=4096)
def _generic_verdict(type_name: str | None, text: str, function: str | None) -> Verdict:
    # One Verdict per issue, made once: the parts are all it depends on (a Verdict is immutable).
    if type_name is None:
        tags = {"error.category": "generic", "error.kind": "message"}
        parts = ev.default_fingerprint({}, text=text, transaction=False)
        return Verdict("generic", "message", tuple(parts), tags)
    tags = {"error.category": "generic", "error.kind": "exception"}
    parts = ev.default_fingerprint({}, type_name=type_name, text=text, function=function, transaction=False)
    return Verdict("generic", "exception", tuple(parts), tags)


def _set_tags(event: dict, tags: dict[str, str]) -> None:
    current = event.get("tags")
    if isinstance(current, list):  # the protocol also allows [[key, value], ...]
        current[:] = [t for t in current if not (isinstance(t, list | tuple) and t and t[0] in tags)]
        current.extend([k, clip(v, 200)] for k, v in tags.items())
        return
    if not isinstance(current, dict):
        current = event["tags"] = {}
    for key, value in tags.items():
        current[key] = value if len(value) <= 200 else clip(value, 200)


def _apply(event: dict, verdict: Verdict) -> None:
    event["fingerprint"] = expand_fingerprint(event.get("fingerprint"), verdict.fingerprint)
    _set_tags(event, verdict.tags)
    if verdict.level and event.get("level", SDK_DEFAULT_LEVEL) == SDK_DEFAULT_LEVEL:
        event["level"] = verdict.level
