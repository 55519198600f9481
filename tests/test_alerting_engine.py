"""The engine under load: storm control, flat memory, and a cheap request path."""

from __future__ import annotations

import gc
import tracemalloc
from typing import Any

from errorwarden.alerting import build_engine
from errorwarden.alerting.alert_queue import AlertSpool
from errorwarden.alerting.channels import Channel as ChannelBase
from errorwarden.alerting.counters import MemoryStore
from errorwarden.alerting.dispatch import SpoolDispatcher
from errorwarden.alerting.retry import RetryPolicy
from errorwarden.settings import Settings

FAST = RetryPolicy(attempts=3, base=0.01, max_delay=0.05, jitter=0.0)


def spooled(channels, policy=FAST):
    """Durable delivery on a spool of the test's own (in memory)."""
    return SpoolDispatcher(channels, AlertSpool(":memory:"), policy)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1_700_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


class Channel(ChannelBase):
    """A channel that records what it was asked to deliver."""

    def __init__(self, name: str):
        self.name = name
        self.delivered: list[dict[str, Any]] = []

    def send(self, alert: dict[str, Any]) -> None:
        self.delivered.append(alert)


class CountingStore(MemoryStore):
    """A memory store that counts calls, standing in for Redis round trips."""

    def __init__(self) -> None:
        super().__init__()
        self.hits = self.rates = 0

    def hit(self, check, now, *, claim=True):
        self.hits += 1
        return super().hit(check, now, claim=claim)

    def rate(self, check, total, failed, now, *, claim=True):
        self.rates += 1
        return super().rate(check, total, failed, now, claim=claim)


def storm_event(n: int) -> dict[str, Any]:
    """Events of one issue that differ in every per-event detail."""
    return {"event_id": f"{n:032x}", "level": "error", "fingerprint": ["storm"],
            "tags": [["error.category", "generic"]], "transaction": "/api/books/",
            "exception": {"values": [{"type": "KeyError", "value": f"missing key {n}"}]}}


def test_a_storm_of_one_issue_gives_one_alert_per_channel_and_flat_memory():
    """10,000 events of one issue in 10 s: one alert per channel, memory growth bounded."""
    clock = Clock()
    slack, email = Channel("slack"), Channel("email")
    dispatcher = spooled([slack, email], FAST)
    engine = build_engine(Settings(), scrub_text=str, clock=clock, store=MemoryStore(),
                          dispatcher=dispatcher)
    for n in range(100):  # warm up caches and interned strings before measuring
        engine.observe_event(storm_event(n))
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for n in range(10_000):
        clock.now += 0.001
        engine.observe_event(storm_event(n))
    gc.collect()
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert engine.flush(10)
    assert (len(slack.delivered), len(email.delivered)) == (1, 1)
    # Keeping anything per event would cost well over 10,000 x 32 bytes.
    assert grown < 64 * 1024, f"memory grew by {grown} bytes over 10,000 events"
    dispatcher.close()


def test_each_event_costs_at_most_one_store_call():
    """observe_event asks the counter store (one Redis round trip) once per counted event."""
    store = CountingStore()
    engine = build_engine(Settings(), scrub_text=str, clock=Clock(), store=store,
                          dispatcher=spooled([]))
    for n in range(50):
        engine.observe_event(storm_event(n))
    engine.observe_event({"level": "info", "message": "hello"})  # not counted by any rule
    assert store.hits == 50


def test_requests_reach_the_store_in_batches():
    """observe_request hands counts over per 100 requests (or per second), not per request."""
    clock, store = Clock(), CountingStore()
    engine = build_engine(Settings(), scrub_text=str, clock=clock, store=store,
                          dispatcher=spooled([]))
    for _ in range(1000):
        engine.observe_request(False)
    assert store.rates == 10
    engine.observe_request(False)
    clock.now += 1.5
    engine.observe_request(False)  # a second passed: the small batch goes now
    assert store.rates == 11


def test_flush_hands_over_pending_requests_and_waits_for_alerts():
    """engine.flush() judges the requests not yet handed over and waits for the resulting alert."""
    slack = Channel("slack")
    dispatcher = spooled([slack], FAST)
    engine = build_engine(Settings(error_rate_min_requests=10), scrub_text=str, clock=Clock(),
                          store=MemoryStore(), dispatcher=dispatcher)
    for i in range(20):
        engine.observe_request(i % 2 == 0)
    assert engine.flush(10)
    assert [a["rule"] for a in slack.delivered] == ["error_rate"]
    assert slack.delivered[0]["message"].startswith("50.0% of 20 requests failed")
    dispatcher.close()


def test_the_alert_carries_only_fields_from_the_scrubbed_event():
    """The alert is a flat JSON-safe dict: strings and numbers, nothing from outside the event."""
    channel = Channel("slack")
    dispatcher = spooled([channel], FAST)
    engine = build_engine(Settings(critical_error_threshold=1), scrub_text=str, clock=Clock(),
                          store=MemoryStore(), dispatcher=dispatcher)
    event = storm_event(7)
    event["request"] = {"url": "https://api.example.com/books/?token=[Filtered]", "headers": {"x": "y"}}
    event["transaction"] = ""
    engine.observe_event(event)
    assert engine.flush(10)
    alert = channel.delivered[0]
    assert alert["endpoint"] == "https://api.example.com/books/"  # the query string is not copied
    assert all(isinstance(v, str | int | type(None)) for v in alert.values())
    dispatcher.close()
