"""The alert rules: which events count towards which key, and what each alert says.

Each event is judged by exactly one counting rule, the first that matches in this order:
database connection failure, external service failure, critical burst. A database outage
therefore pages once as "database unreachable" instead of once per rule, and a storm of one
issue gives one alert per channel. The error-rate rule is fed by requests, not events.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from errorwarden import event as ev
from errorwarden.alerting.counters import CountCheck, Hit, RateCheck

if TYPE_CHECKING:
    from errorwarden.settings import Settings

_COUNTED_LEVELS = frozenset({"error", "fatal", "critical"})


_UNREAD = object()


class EventFacts:
    """What the rules and the alert text need from one scrubbed, classified event.

    The counting fields (fingerprint, category, kind, service, level) are read at once; the
    alert text's (error_type, message, endpoint, event_id, timestamp) when first asked, since
    most events page nobody and the text costs more to read than the counting.
    """

    __slots__ = (
        "_endpoint",
        "_error_type",
        "_event",
        "_event_id",
        "_message",
        "_timestamp",
        "category",
        "fingerprint",
        "kind",
        "level",
        "service",
    )

    def __init__(self, event: Mapping[str, Any], verdict: Any = None):
        self._event = event
        self._error_type = self._message = self._endpoint = self._event_id = self._timestamp = _UNREAD
        self.fingerprint: tuple[str, ...] = tuple(ev.issue_fingerprint(event, transaction=False))
        if verdict is None:
            self.category = self.kind = self.service = ""
        else:
            self.category = str(getattr(verdict, "category", "") or "")
            self.kind = str(getattr(verdict, "kind", "") or "")
            self.service = str(getattr(verdict, "service", "") or "")
        self.level: str = str(event.get("level") or "error").lower()

    @property
    def error_type(self) -> str:
        """The raised exception's type as recorded, or "Message"."""
        if self._error_type is _UNREAD:
            exc = ev.main_exception(self._event) or {}
            self._error_type = str(exc.get("type") or "") or "Message"
        return self._error_type

    @property
    def message(self) -> str:
        """What a person reads first (event.text)."""
        if self._message is _UNREAD:
            self._message = ev.text(self._event)
        return self._message

    @property
    def endpoint(self) -> str:
        """The transaction, else the request URL, without its query."""
        if self._endpoint is _UNREAD:
            request = self._event.get("request")
            request = request if isinstance(request, Mapping) else {}
            self._endpoint = str(self._event.get("transaction") or request.get("url") or "").split("?", 1)[0]
        return self._endpoint

    @property
    def event_id(self) -> str:
        """The event's id, or ''."""
        if self._event_id is _UNREAD:
            self._event_id = str(self._event.get("event_id") or "")
        return self._event_id

    @property
    def timestamp(self) -> float | None:
        """The event's time in seconds since the epoch, or None."""
        if self._timestamp is _UNREAD:
            self._timestamp = ev.timestamp(self._event.get("timestamp"))
        return self._timestamp


def event_facts(event: Mapping[str, Any], verdict: Any = None) -> EventFacts:
    """Read the facts the rules need; `verdict` is the classifier's (None when it did not run)."""
    return EventFacts(event, verdict)


def digest(parts: tuple[str, ...]) -> str:
    """A short, fixed-size key for an issue, so Redis keys stay small and carry no event text."""
    if type(parts) is tuple and sum(map(len, parts)) <= 4096:
        return _remembered_digest(parts)  # an issue's events repeat its key: hash it once
    return _digest(parts)


def _digest(parts: tuple[str, ...]) -> str:
    return hashlib.blake2b("\x1f".join(parts).encode("utf-8", "replace"), digest_size=12).hexdigest()


@lru_cache(maxsize=4096)
def _remembered_digest(parts: tuple[str, ...]) -> str:
    return _digest(parts)


class EventRule:
    """A rule fed by events: `check` returns the counting question, or None when not concerned."""

    name = "rule"
    severity = "critical"

    def check(self, facts: EventFacts) -> CountCheck | None:
        """The counting question for this event, or None when the rule does not apply."""
        raise NotImplementedError

    def title(self, facts: EventFacts, hit: Hit) -> str:
        """One line saying why the alert fired."""
        raise NotImplementedError


class DatabaseConnectionRule(EventRule):
    """The database cannot be reached: the first occurrence pages, one page per cooldown."""

    name, severity = "database_connection", "critical"

    def __init__(self, window: int, cooldown: int):
        self._window, self._cooldown = window, cooldown

    def check(self, facts: EventFacts) -> CountCheck | None:
        """Database connection errors, all counted under one key."""
        if facts.category != "database" or facts.kind != "connection":
            return None
        return CountCheck("db:connection", self._window, 1, self._cooldown)

    def title(self, facts: EventFacts, hit: Hit) -> str:
        """One line saying why the alert fired."""
        return "Database connection failure"


class ExternalServiceRule(EventRule):
    """An external service fails: per service, `threshold` failures within the window page."""

    name, severity = "external_service", "error"

    def __init__(self, threshold: int, window: int, cooldown: int):
        self._threshold, self._window, self._cooldown = threshold, window, cooldown

    def check(self, facts: EventFacts) -> CountCheck | None:
        """External-service errors, counted per service."""
        if facts.category != "external":
            return None
        service = facts.service or "unknown"
        return CountCheck(f"ext:{digest((service,))}", self._window, self._threshold, self._cooldown)

    def title(self, facts: EventFacts, hit: Hit) -> str:
        """One line saying why the alert fired."""
        service = facts.service or "an external service"
        if self._threshold <= 1:
            return f"External service failure: {service}"
        return f"External service failure: {service} failed {round(hit.count)} times in {self._window}s"


class CriticalBurstRule(EventRule):
    """One issue (fingerprint) seen `threshold` times within the window."""

    name, severity = "critical_burst", "critical"

    def __init__(self, threshold: int, window: int, cooldown: int):
        self._threshold, self._window, self._cooldown = threshold, window, cooldown
        self._checks: dict[tuple[str, ...], CountCheck] = {}  # an issue's question, asked once

    def check(self, facts: EventFacts) -> CountCheck | None:
        """Error and fatal events, counted per fingerprint."""
        if facts.level not in _COUNTED_LEVELS:
            return None
        check = self._checks.get(facts.fingerprint)
        if check is None:
            check = CountCheck(f"burst:{digest(facts.fingerprint)}", self._window, self._threshold,
                               self._cooldown)
            if len(self._checks) >= 4096:
                self._checks.clear()
            self._checks[facts.fingerprint] = check
        return check

    def title(self, facts: EventFacts, hit: Hit) -> str:
        """One line saying why the alert fired."""
        return f"Critical error burst: {round(hit.count)} occurrences in {self._window}s"


class RegressionRule:
    """An issue resolved in the local dashboard got a new event (or one of another release).

    Not a counting rule: the triage store decides, once per resolution (TriageStore.claim_regression),
    so it fires beside whichever counting rule also judges the event.
    """

    name, severity = "regression", "error"

    def title(self, facts: EventFacts) -> str:
        """One line saying why the alert fired."""
        return f"Regression: a resolved issue is back ({facts.error_type})"


def event_rules(settings: Settings) -> tuple[EventRule, ...]:
    """The event rules, most specific first, configured from settings."""
    window, cooldown = settings.critical_error_window, settings.alert_cooldown
    return (
        DatabaseConnectionRule(window, cooldown),
        ExternalServiceRule(settings.external_service_threshold, window, cooldown),
        CriticalBurstRule(settings.critical_error_threshold, window, cooldown),
    )


def rate_check(settings: Settings) -> RateCheck:
    """The error-rate question, configured from settings."""
    return RateCheck("rate:requests", settings.error_rate_window, settings.error_rate_threshold,
                     settings.error_rate_min_requests, settings.alert_cooldown)


def first_match(rules: tuple[EventRule, ...], facts: EventFacts) -> tuple[EventRule, CountCheck] | None:
    """The first rule concerned with this event and its counting question."""
    for rule in rules:
        check = rule.check(facts)
        if check is not None:
            return rule, check
    return None


@dataclass(frozen=True, slots=True)
class MonitorFinding:
    """Something wrong with one beat monitor's runs (errorwarden/monitors.py finds these).

    `kind` is "missed" (not started by its due time plus grace), "failed" (a run raised),
    "overlong" (a run went on past its maximum runtime) or "silent" (a watched endpoint or task
    with steady traffic got none for its window; `slug` is its name, `task` its kind).
    """

    kind: str
    slug: str
    task: str
    message: str
    since: float | None = None


MONITOR_KINDS = MappingProxyType({
    # kind: (severity, error type shown, title)
    "missed": ("critical", "MissedRun", "Scheduled task missed its run"),
    "failed": ("error", "FailedRun", "Scheduled task failed"),
    "overlong": ("error", "OverlongRun", "Scheduled task ran past its maximum"),
    "silent": ("critical", "WentSilent", "Steady traffic stopped"),
})


class MonitorRule:
    """Beat monitors: each (monitor, kind) pages once per cooldown; failures page at `threshold`
    failed runs within the failure window, missed and overlong runs at the first finding."""

    name = "monitor"

    def __init__(self, failure_threshold: int, failure_window: int, cooldown: int):
        self._threshold, self._window, self._cooldown = failure_threshold, failure_window, cooldown

    def check(self, finding: MonitorFinding) -> CountCheck:
        """The counting question for this finding: one key per monitor and kind."""
        key = f"mon:{finding.kind}:{digest((finding.slug,))}"
        if finding.kind == "failed":
            return CountCheck(key, self._window, self._threshold, self._cooldown)
        return CountCheck(key, self._cooldown, 1, self._cooldown)

    def title(self, finding: MonitorFinding) -> str:
        """One line saying why the alert fired."""
        return f"{MONITOR_KINDS[finding.kind][2]}: {finding.slug}"


def monitor_rule(settings: Settings) -> MonitorRule:
    """The monitor rule, configured from settings."""
    return MonitorRule(settings.monitor_failure_threshold, settings.monitor_failure_window,
                       settings.monitor_alert_cooldown)
