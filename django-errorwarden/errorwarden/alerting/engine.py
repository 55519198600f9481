"""The alert engine: counts scrubbed events and requests, and hands fired alerts to a dispatcher.

Both entry points run on the caller's thread and never wait on delivery: `observe_event` (a
pipeline step) costs at most one counter-store call (one Redis round trip), and
`observe_request` only bumps two local integers, handing the batch to the store at most once
per `flush_seconds` or every `flush_requests` requests. Neither catches errors: the pipeline
and the runtime's guard count and log them, once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from errorwarden.alerting.counters import CountCheck, CounterStore, Hit, RateResult
from errorwarden.alerting.dispatch import Dispatcher
from errorwarden.alerting.render import ScrubText, build_alert, issue_link
from errorwarden.alerting.rules import (
    MONITOR_KINDS,
    EventFacts,
    EventRule,
    MonitorFinding,
    RegressionRule,
    digest,
    event_facts,
    event_rules,
    first_match,
    monitor_rule,
    rate_check,
)
from errorwarden.event import VERDICT

if TYPE_CHECKING:
    from errorwarden.settings import Settings


class _RequestTally:
    """Local request counts, handed over in batches so the request path skips the network."""

    def __init__(self, clock: Callable[[], float], every_seconds: float, every_requests: int):
        self._clock, self._seconds, self._requests = clock, every_seconds, every_requests
        self._lock = threading.Lock()
        self._total = self._failed = 0
        self._since = clock()

    def add(self, failed: bool) -> tuple[int, int] | None:
        """Count one request; return the batch when it is due for the store."""
        with self._lock:
            self._total += 1
            self._failed += failed
            if self._total < self._requests and self._clock() - self._since < self._seconds:
                return None
            return self._take()

    def take(self) -> tuple[int, int] | None:
        """The pending batch, if any, now."""
        with self._lock:
            return self._take() if self._total else None

    def _take(self) -> tuple[int, int]:
        batch = (self._total, self._failed)
        self._total = self._failed = 0
        self._since = self._clock()
        return batch


def _triage_for(settings: Settings) -> Any:
    """The triage store the "regression" rule reads, or None when the rule is off or there is no inbox."""
    if not (settings.regression_alerts_on and settings.local_inbox):
        return None
    from errorwarden.local.triage import TriageStore

    return TriageStore(settings.inbox_path)


class AlertEngine:
    """Applies the alert rules to events and requests; fired alerts go to the dispatcher."""

    def __init__(self, settings: Settings, store: CounterStore, dispatcher: Dispatcher, *,
                 scrub_text: ScrubText | None, clock: Callable[[], float] = time.time,
                 flush_seconds: float = 1.0, flush_requests: int = 100, pins: Any = None):
        self.settings, self.store, self.dispatcher = settings, store, dispatcher
        # The events an alert names (delivery.sampler.Pins): pinned while this step observes one,
        # so the storm sampler of the transport it goes to next keeps it for the alert's command.
        self.pins = pins
        self._scrub, self._clock = scrub_text, clock
        self._rules = event_rules(settings)
        self._rate = rate_check(settings)
        self._monitor = monitor_rule(settings)
        self._tally = _RequestTally(clock, flush_seconds, flush_requests)
        self._regressions = _triage_for(settings)
        self._regression = RegressionRule()

    def observe_event(self, event: Mapping[str, Any], hint: Mapping[str, Any] | None = None) -> None:
        """Count one scrubbed, classified event (a pipeline step); queue an alert if a rule fires."""
        if event.get("type") == "check_in":  # a beat run's check-in: the monitor rule judges runs
            return
        facts = event_facts(event, (hint or {}).get(VERDICT))
        match = first_match(self._rules, facts)
        if match is not None:
            rule, check = match
            now = self._clock()
            hit = self._hit(check, now)
            if hit.fired:
                self._pin(facts.event_id)
                self._submit(self._event_alert(rule, facts, hit, now), check.key, now, check.cooldown,
                             check.key)
        # After the counting rules, so a busy triage file can never cost a burst or outage alert.
        if self._regressions is not None:
            self._judge_regression(event, facts)

    def _judge_regression(self, event: Mapping[str, Any], facts: EventFacts) -> None:
        # The inbox's own grouping, so the issue is the one the dashboard resolved.
        from errorwarden.local.store import fingerprint_of
        from errorwarden.local.triage import issue_key

        fingerprint = fingerprint_of("event", dict(event))
        if not self._regressions.claim_regression(issue_key(fingerprint), str(event.get("release") or "")):
            return
        now = self._clock()
        self._pin(facts.event_id)
        link, command = issue_link(self.settings, facts.event_id)
        alert = build_alert(
            rule=self._regression.name, severity=self._regression.severity,
            title=self._regression.title(facts), error_type=facts.error_type, message=facts.message,
            occurrences=1, window=self.settings.critical_error_window, environment=self.settings.environment,
            release=str(event.get("release") or self.settings.release), endpoint=facts.endpoint,
            service=facts.service, first_seen=facts.timestamp or now, last_seen=facts.timestamp or now,
            event_id=facts.event_id, link=link, inbox_command=command, scrub=self._scrub)
        # Claimed once per resolution already; the key keeps a spool retry from doubling it.
        self.dispatcher.submit(alert, key=f"regression:{digest(tuple(fingerprint))}:{now}",
                               until=now + self.settings.alert_cooldown)

    def observe_monitor(self, finding: MonitorFinding) -> bool:
        """Count one finding about a beat monitor; queue a page if the rule fires. True when it fired."""
        check = self._monitor.check(finding)
        now = self._clock()
        hit = self._hit(check, now)
        if hit.fired:
            self._submit(self._monitor_alert(finding, hit, now), check.key, now, check.cooldown, check.key)
        return hit.fired

    def observe_request(self, failed: bool) -> None:
        """Count one finished request (failed: 5xx or unhandled exception)."""
        batch = self._tally.add(failed)
        if batch is not None:
            self.dispatcher.poke()  # deliver what an earlier process left, also in a forked worker
            self._judge_rate(*batch)

    def flush_requests(self) -> None:
        """Hand pending request counts to the store now and judge the error rate."""
        batch = self._tally.take()
        if batch is not None:
            self._judge_rate(*batch)

    def flush(self, timeout: float = 5.0) -> bool:
        """Judge pending requests, then wait up to `timeout` s for queued alerts; True when done."""
        self.flush_requests()
        return self.dispatcher.flush(timeout)

    def channel(self, name: str) -> Any:
        """The configured channel called `name` (a Celery worker delivers through it), or None."""
        return self.dispatcher.channel(name)

    def close(self) -> None:
        """Stop the dispatcher's background work."""
        self.dispatcher.close()

    def _pin(self, event_id: str) -> None:
        if self.pins is not None:
            self.pins.pin(event_id)

    def _hit(self, check: CountCheck, now: float) -> Hit:
        # Without a channel nothing can page, so the occurrence is counted (for the processes that
        # can) but fires nothing: a cooldown is spent only when a page was sent or handed on.
        if self.dispatcher.pages():
            return self.store.hit(check, now)
        return self.store.hit(check, now, claim=False)

    def _judge_rate(self, total: int, failed: int) -> None:
        now = self._clock()
        if not self.dispatcher.pages():
            self.store.rate(self._rate, total, failed, now, claim=False)  # counted, never fired
            return
        result = self.store.rate(self._rate, total, failed, now)
        if result.transition:
            alert = self._rate_alert(result, now)
            self._submit(alert, f"{self._rate.key}:{result.transition}", now, self._rate.cooldown,
                         self._rate.key)

    def _submit(self, alert: dict[str, Any], key: str, now: float, cooldown: float, store_key: str) -> None:
        # The store spent the cooldown when the rule fired; it stays spent only if a page goes out.
        # If the spool cannot take the alert, the cooldown is released so the next occurrence tries
        # again. If the spool refuses it because this host already paged for the key (another
        # process's claim, one counting in memory perhaps while this one counts in Redis), this fire
        # sent nothing: the store's cooldown becomes that page's, ending when its claim ends, so a
        # shared Redis does not hold every other process and host quiet for a page that never left.
        try:
            queued = self.dispatcher.submit(alert, key=key, until=now + cooldown)
        except Exception:
            self.store.release(store_key)
            raise
        if not queued:
            self.store.settle(store_key, self.dispatcher.claimed_until(key, now), now)

    def _event_alert(self, rule: EventRule, facts: EventFacts, hit: Hit, now: float) -> dict[str, Any]:
        link, command = issue_link(self.settings, facts.event_id)
        return build_alert(
            rule=rule.name, severity=rule.severity, title=rule.title(facts, hit),
            error_type=facts.error_type, message=facts.message, occurrences=round(hit.count),
            window=self.settings.critical_error_window, suppressed=hit.suppressed,
            environment=self.settings.environment, release=self.settings.release,
            endpoint=facts.endpoint, service=facts.service, first_seen=hit.first_seen or now,
            last_seen=facts.timestamp or now, event_id=facts.event_id, link=link, inbox_command=command,
            scrub=self._scrub,
        )

    def _monitor_alert(self, finding: MonitorFinding, hit: Hit, now: float) -> dict[str, Any]:
        severity, error_type, _ = MONITOR_KINDS[finding.kind]
        check = self._monitor.check(finding)
        return build_alert(
            rule=f"monitor_{finding.kind}", severity=severity, title=self._monitor.title(finding),
            error_type=error_type, message=f"{finding.slug}: {finding.message}", occurrences=round(hit.count),
            window=round(check.window) if finding.kind == "failed" else None, suppressed=hit.suppressed,
            environment=self.settings.environment, release=self.settings.release,
            endpoint=f"{finding.task} {finding.slug}" if finding.kind == "silent"
            else f"beat {finding.slug} ({finding.task})",
            first_seen=finding.since or hit.first_seen or now,
            last_seen=now, scrub=self._scrub,
        )

    def _rate_alert(self, result: RateResult, now: float) -> dict[str, Any]:
        share = result.failed / result.total if result.total else 0.0
        counts = (f"{share:.1%} of {round(result.total)} requests failed in the last "
                  f"{self._rate.window}s (threshold {self._rate.threshold:.1%})")
        recovered = result.transition == "recover"
        return build_alert(
            rule="error_rate", severity="resolved" if recovered else "critical",
            title="Error rate back under the threshold" if recovered else "High error rate",
            error_type="ErrorRate", message=counts, occurrences=round(result.failed),
            window=self._rate.window, environment=self.settings.environment,
            release=self.settings.release, first_seen=result.since, last_seen=now,
            status="resolved" if recovered else "firing", scrub=self._scrub,
        )
