"""A cooldown is spent only by a page that went out: processes with and without Redis on one host.

Host 1 runs one process counting in memory (no REDIS_URL, or Redis away) and one counting in a real
Redis; both share the host's alert spool. Host 2 counts in the same Redis with a spool of its own.
Every alert goes to a loopback Slack stand-in. The clock is injected, so the cooldown passes
without sleeping.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from errorwarden.alerting import build_engine, build_store, retry_policy
from errorwarden.alerting.alert_queue import AlertSpool
from errorwarden.alerting.channels import load_channels
from errorwarden.alerting.counters import MemoryStore
from errorwarden.alerting.dispatch import SpoolDispatcher
from errorwarden.settings import Settings
from tests.support.services import require_redis
from tests.support.slack import SlackStandIn

REDIS_URL = "redis://127.0.0.1:6379/15"
COOLDOWN = 300.0


class Clock:
    """The time every engine, dispatcher and spool of the test reads."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def _event() -> dict:
    return {"event_id": uuid.uuid4().hex, "level": "error", "fingerprint": ["ledger-reconcile"],
            "exception": {"values": [{"type": "LedgerError", "value": "could not reconcile the ledger"}]}}


@pytest.mark.redis
def test_a_refused_fire_takes_the_host_pages_cooldown_not_a_fresh_one(tmp_path: Path):
    """The Redis process's fire on host 1 is refused (the memory process already paged there): Redis
    keeps that page's cooldown, so host 2 stays quiet while it runs and pages as soon as it ends,
    not a whole cooldown after a fire that sent nothing."""
    require_redis()
    import redis

    prefix, clock = f"test-cooldown:{uuid.uuid4().hex}:", Clock()
    client = redis.Redis.from_url(REDIS_URL)
    with SlackStandIn() as slack:
        settings = Settings(slack_alerts_enabled=True, slack_webhook_url=slack.url,
                            email_alerts_enabled=False, critical_error_threshold=3,
                            alert_cooldown=int(COOLDOWN), redis_url=REDIS_URL)

        def engine(host_spool: Path, shared: bool):
            store = build_store(settings, key_prefix=prefix) if shared else MemoryStore()
            dispatcher = SpoolDispatcher(load_channels(settings), AlertSpool(host_spool),
                                         retry_policy(settings), clock=clock)
            return build_engine(settings, scrub_text=str, clock=clock, store=store, dispatcher=dispatcher)

        host1, host2 = tmp_path / "host1-alerts.sqlite3", tmp_path / "host2-alerts.sqlite3"
        memory, shared, other_host = engine(host1, False), engine(host1, True), engine(host2, True)
        engines = (memory, shared, other_host)
        try:
            started = clock.now
            for _ in range(3):
                memory.observe_event(_event())          # host 1 without Redis pages
            assert memory.flush(10) and len(slack.accepted) == 1

            clock.now = started + 10
            for _ in range(3):
                shared.observe_event(_event())          # host 1 with Redis: fires, refused by the claim
            assert shared.flush(10) and len(slack.accepted) == 1
            [cooldown_key] = list(client.scan_iter(f"{prefix}cd:*"))
            assert float(client.get(cooldown_key)) == pytest.approx(started + COOLDOWN, abs=0.01)

            clock.now = started + 20
            for _ in range(3):
                other_host.observe_event(_event())      # the page that went out still holds the fleet
            assert other_host.flush(10) and len(slack.accepted) == 1

            clock.now = started + COOLDOWN + 5          # that page's cooldown is over
            for _ in range(3):
                other_host.observe_event(_event())
            assert other_host.flush(10) and slack.wait_for(2)
            assert len(slack.accepted) == 2
        finally:
            for each in engines:
                each.close()
            for key in client.scan_iter(f"{prefix}*"):
                client.delete(key)


def test_a_refused_fire_in_memory_keeps_the_claims_end(tmp_path: Path):
    """The same rule without Redis: two memory processes on one host; the second's refused fire
    leaves its own cooldown ending with the first's page, so it pages again right after."""
    clock = Clock()
    with SlackStandIn() as slack:
        settings = Settings(slack_alerts_enabled=True, slack_webhook_url=slack.url,
                            email_alerts_enabled=False, critical_error_threshold=3,
                            alert_cooldown=int(COOLDOWN))
        spool = tmp_path / "alerts.sqlite3"
        first, second = (build_engine(settings, scrub_text=str, clock=clock, store=MemoryStore(),
                                      dispatcher=SpoolDispatcher(load_channels(settings), AlertSpool(spool),
                                                                 retry_policy(settings), clock=clock))
                         for _ in range(2))
        try:
            started = clock.now
            for _ in range(3):
                first.observe_event(_event())
            clock.now = started + 100
            for _ in range(3):
                second.observe_event(_event())          # refused: host 1 paged 100 s ago
            assert first.flush(10) and second.flush(10) and len(slack.accepted) == 1
            clock.now = started + COOLDOWN + 1
            for _ in range(3):
                second.observe_event(_event())          # 201 s into what would be its own cooldown
            assert second.flush(10) and slack.wait_for(2)
        finally:
            first.close()
            second.close()
