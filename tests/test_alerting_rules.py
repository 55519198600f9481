"""Each alert rule fires on its trigger and stays silent under its threshold (fake clock, memory)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from errorwarden.alerting import build_engine
from errorwarden.alerting.counters import MemoryStore
from errorwarden.alerting.dispatch import Dispatcher
from errorwarden.alerting.rules import event_facts
from errorwarden.event import VERDICT
from errorwarden.grouping import Verdict
from errorwarden.runtime import build
from errorwarden.settings import Settings


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1_700_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


class Recorder(Dispatcher):
    """Keeps submitted alerts instead of delivering them."""

    def __init__(self) -> None:
        self.alerts: list[dict[str, Any]] = []

    def submit(self, alert: dict[str, Any], key: str = "", until: float = 0.0) -> bool:
        self.alerts.append(alert)
        return True


def error_event(fingerprint: str = "issue-1", category: str = "generic", kind: str = "",
                service: str = "", level: str = "error") -> tuple[dict[str, Any], dict[str, Any]]:
    """A scrubbed, classified event and its hint (holding the classifier's Verdict), as the pipeline
    passes them to the alerting step."""
    event = {"event_id": "a" * 32, "level": level, "fingerprint": [fingerprint],
             "transaction": "/api/books/{id}",
             "exception": {"values": [{"type": "OperationalError", "value": "could not connect"}]}}
    return event, {VERDICT: Verdict(category, kind, (fingerprint,), service=service)}


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sent() -> Recorder:
    return Recorder()


def engine_for(clock: Clock, sent: Recorder, **overrides: Any):
    """A memory-backed engine recording its alerts."""
    settings = Settings(**overrides)
    return build_engine(settings, scrub_text=str, clock=clock, store=MemoryStore(), dispatcher=sent)


@pytest.mark.parametrize(("errors", "alerts"), [(9, 0), (10, 1), (11, 1)])
def test_burst_fires_at_the_threshold_and_not_below(clock, sent, errors, alerts):
    """Ten errors of one issue within the window page once; nine do not."""
    engine = engine_for(clock, sent)
    for _ in range(errors):
        engine.observe_event(*error_event())
        clock.now += 1
    assert len(sent.alerts) == alerts
    if alerts:
        assert sent.alerts[0]["rule"] == "critical_burst" and sent.alerts[0]["occurrences"] == 10


def test_burst_counts_errors_that_straddle_a_bucket_boundary(clock, sent):
    """Five errors just before and five just after a 60 s boundary still fire (no fixed bucket)."""
    engine = engine_for(clock, sent)
    clock.now = 60 * 1_000_000 - 0.5
    for _ in range(5):
        engine.observe_event(*error_event())
    clock.now += 1.0
    for _ in range(5):
        engine.observe_event(*error_event())
    assert len(sent.alerts) == 1


def test_burst_ignores_errors_spread_wider_than_the_window(clock, sent):
    """Ten errors seven seconds apart (63 s) never have ten inside one 60 s window."""
    engine = engine_for(clock, sent)
    for _ in range(10):
        engine.observe_event(*error_event())
        clock.now += 7
    assert sent.alerts == []


def test_burst_counts_each_issue_apart(clock, sent):
    """Nine errors each of two issues are two quiet issues, not one loud one."""
    engine = engine_for(clock, sent)
    for _ in range(9):
        engine.observe_event(*error_event("issue-1"))
        engine.observe_event(*error_event("issue-2"))
    assert sent.alerts == []


def test_warnings_do_not_count_towards_a_burst(clock, sent):
    """Events below error level never page."""
    engine = engine_for(clock, sent)
    for _ in range(50):
        engine.observe_event(*error_event(level="warning"))
    assert sent.alerts == []


def test_cooldown_holds_back_repeats_and_the_next_alert_says_how_many(clock, sent):
    """Occurrences inside the cooldown are counted and reported as "N more since the last alert"."""
    engine = engine_for(clock, sent, alert_cooldown=300)
    for _ in range(10):
        engine.observe_event(*error_event())
    for _ in range(25):
        clock.now += 1
        engine.observe_event(*error_event())
    assert len(sent.alerts) == 1
    clock.now += 300
    for _ in range(10):
        engine.observe_event(*error_event())
    assert len(sent.alerts) == 2
    assert sent.alerts[1]["suppressed"] == 25


def test_database_connection_failure_pages_on_first_occurrence(clock, sent):
    """The first database connection error pages at once, and only once per cooldown."""
    engine = engine_for(clock, sent)
    engine.observe_event(*error_event("db-a", category="database", kind="connection"))
    engine.observe_event(*error_event("db-b", category="database", kind="connection"))
    assert [a["rule"] for a in sent.alerts] == ["database_connection"]
    assert sent.alerts[0]["severity"] == "critical"


def test_other_database_errors_follow_the_burst_rule(clock, sent):
    """A single database timeout is not a connection failure and does not page."""
    engine = engine_for(clock, sent)
    engine.observe_event(*error_event(category="database", kind="timeout"))
    assert sent.alerts == []


def test_external_service_failure_pages_once_per_service(clock, sent):
    """With the default threshold of 1, each failing service pages once per cooldown."""
    engine = engine_for(clock, sent)
    for service in ("s3", "clerk", "s3", "clerk", "resend"):
        engine.observe_event(*error_event(f"ext-{service}", category="external", service=service))
    assert [a["service"] for a in sent.alerts] == ["s3", "clerk", "resend"]
    assert {a["rule"] for a in sent.alerts} == {"external_service"}


def test_external_service_threshold_counts_occurrences_in_the_window(clock, sent):
    """With SENTRY_EXTERNAL_SERVICE_ALERT_THRESHOLD=3, the third failure in the window pages."""
    engine = engine_for(clock, sent, external_service_threshold=3)
    for expected in (0, 0, 1):
        engine.observe_event(*error_event(category="external", service="s3"))
        assert len(sent.alerts) == expected


@pytest.mark.parametrize(("requests", "failures", "alerts"), [
    (99, 1, 0),     # under the minimum volume: silent
    (4, 3, 0),      # 75% of 4 requests: still under the minimum volume
    (200, 2, 0),    # exactly 1%: not above the threshold
    (200, 4, 1),    # 2% of 200: fires
    (1000, 500, 1),  # a sustained breach is still one alert
])
def test_error_rate_needs_volume_and_a_share_above_the_threshold(clock, sent, requests, failures, alerts):
    """The error-rate rule fires only above the threshold with at least the minimum requests."""
    engine = engine_for(clock, sent)
    for i in range(requests):
        engine.observe_request(i >= requests - failures)  # failures last: judged on the whole window
    engine.flush_requests()
    assert len(sent.alerts) == alerts
    if alerts:
        assert sent.alerts[0]["rule"] == "error_rate" and sent.alerts[0]["status"] == "firing"


def test_error_rate_recovery_is_announced_once(clock, sent):
    """When the rate falls back under the threshold, exactly one recovery notice follows."""
    engine = engine_for(clock, sent)
    for i in range(200):
        engine.observe_request(i < 4)
    engine.flush_requests()
    for _ in range(3):
        for _ in range(200):
            engine.observe_request(False)
        engine.flush_requests()
        clock.now += 5
    assert [a["status"] for a in sent.alerts] == ["firing", "resolved"]
    assert sent.alerts[1]["severity"] == "resolved"


def test_error_rate_requests_outside_the_window_are_forgotten(clock, sent):
    """Failures that left the rolling window no longer count towards the rate."""
    engine = engine_for(clock, sent, error_rate_window=60)
    for i in range(100):
        engine.observe_request(i < 50)
    engine.flush_requests()
    assert len(sent.alerts) == 1
    clock.now += 120
    for _ in range(100):
        engine.observe_request(False)
    engine.flush_requests()
    assert [a["status"] for a in sent.alerts] == ["firing", "resolved"]


def test_the_category_comes_from_the_verdict_never_from_tags():
    """Alerting reads the classifier's Verdict; a tag claiming a category is only output for Sentry."""
    tagged = {"tags": {"error.category": "external", "service": "s3"}}
    assert (event_facts(tagged).category, event_facts(tagged).service) == ("", "")
    facts = event_facts({}, Verdict("external", "timeout", ("external",), service="s3"))
    assert (facts.category, facts.kind, facts.service) == ("external", "timeout", "s3")


@pytest.mark.parametrize("event", [
    {}, {"tags": 5}, {"exception": {"values": [None]}}, {"fingerprint": 3}, {"timestamp": "soon"},
    {"exception": "broken"}, {"level": None, "request": {"url": None}},
])
def test_malformed_events_are_read_with_defaults(clock, sent, event):
    """Malformed events give default facts (and page nobody) instead of an exception."""
    facts = event_facts(event)
    assert facts.error_type == "Message" and facts.timestamp is None and facts.category == ""
    engine = engine_for(clock, sent)
    engine.observe_event(event)
    assert sent.alerts == []


def test_a_failing_store_is_counted_and_never_reaches_the_caller(clock, sent):
    """A broken counter store raises in the engine; the pipeline and the runtime's guard count it,
    log it once per place, and hand the event and the request on untouched."""

    class Broken(MemoryStore):
        def hit(self, check, now):
            raise RuntimeError("boom")

        def rate(self, check, total, failed, now):
            raise RuntimeError("boom")

    engine = build_engine(Settings(), scrub_text=str, clock=clock, store=Broken(), dispatcher=sent)
    runtime = build(Settings(), alerts=engine)
    event, hint = error_event()
    assert runtime.before_send(event, hint) is not None
    for _ in range(250):  # two batches of 100 reach the store; 50 wait for the flush
        runtime.observe_request(True)
    runtime.flush(1)
    failures = runtime.stats.snapshot()["failures"]
    assert failures == {"alert:RuntimeError": 1, "observe_request:RuntimeError": 2,
                        "flush_alerts:RuntimeError": 1}
    assert sent.alerts == []


@pytest.mark.parametrize("timestamp", [
    datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC), datetime(2023, 11, 14, 22, 13, 20),
    "2023-11-14T22:13:20Z", "2023-11-14T22:13:20.000000", 1_700_000_000, 1_700_000_000.0,
])
def test_event_timestamps_are_read_as_utc_in_every_shape(timestamp):
    """Aware and naive datetimes, ISO strings and epoch numbers all mean the same UTC instant."""
    assert event_facts({"timestamp": timestamp}).timestamp == 1_700_000_000.0


def test_a_bogus_timestamp_does_not_lose_the_alert(clock, sent):
    """An event timestamp far outside the calendar still pages, with last seen left blank."""
    engine = engine_for(clock, sent, critical_error_threshold=1)
    event, hint = error_event()
    engine.observe_event({**event, "timestamp": 1e20}, hint)
    assert len(sent.alerts) == 1 and sent.alerts[0]["last_seen"] == ""
