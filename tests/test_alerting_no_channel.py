"""A cooldown is spent only when a page was sent or handed on: not by a process with no channel.

The auditor's case: with REDIS_URL set, a burst of 12 identical errors in a process whose alert
channels are all off (or whose email channel has no recipient) left a cooldown key in Redis
although nothing was delivered, and the next process, with a channel, sent nothing for the same
burst. Here run 1 has no channel: the burst is counted and no cooldown key appears; run 2 has a
Slack channel (a loopback stand-in) and pages. Real Redis, real settings from the environment,
real store, dispatcher, spool and channels; the clock is injected so nothing sleeps.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from errorwarden.alerting import build_dispatcher, build_engine
from errorwarden.alerting.alert_queue import AlertSpool
from errorwarden.alerting.counters import MemoryStore
from errorwarden.settings import Settings, collect_settings
from tests.support.services import require_redis
from tests.support.slack import SlackStandIn

REDIS_URL = "redis://127.0.0.1:6379/9"
BURST = 12  # the critical-burst rule's default threshold is 10

NO_CHANNEL = {
    "all channels off": {"SENTRY_EMAIL_ALERTS_ENABLED": "false", "SENTRY_SLACK_ALERTS_ENABLED": "false"},
    "email on, no recipient": {"SENTRY_EMAIL_ALERTS_ENABLED": "true", "SENTRY_ALERT_EMAIL_RECIPIENTS": "",
                               "SENTRY_SLACK_ALERTS_ENABLED": "false"},
}


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def _settings(environ: dict[str, str]) -> Settings:
    problems: list = []
    settings = collect_settings(environ, problems)
    assert not problems, problems
    return settings


def _burst(engine, clock: Clock) -> None:
    for _ in range(BURST):
        clock.now += 0.1
        error = {"type": "LedgerError", "value": "could not reconcile"}
        engine.observe_event({"event_id": uuid.uuid4().hex, "level": "error", "fingerprint": ["audit-burst"],
                              "exception": {"values": [error]}})


def _burst_pages_once(engine, clock: Clock, slack: SlackStandIn) -> None:
    """Run a burst through an engine that has a Slack channel: exactly one page goes out."""
    try:
        _burst(engine, clock)
        assert engine.flush(10) and slack.wait_for(1)
    finally:
        engine.close()
    assert len(slack.accepted) == 1


@pytest.mark.redis
@pytest.mark.parametrize("no_channel", list(NO_CHANNEL))
def test_a_burst_with_no_channel_spends_no_cooldown_and_the_next_run_pages(tmp_path: Path, no_channel: str):
    require_redis()
    import redis

    app = f"auditcd{uuid.uuid4().hex[:8]}"
    base = {"APP_NAME": app, "REDIS_URL": REDIS_URL, "SENTRY_ENVIRONMENT": "development",
            "SENTRY_INBOX_PATH": str(tmp_path / "inbox.sqlite3"),
            "SENTRY_ALERT_SPOOL_PATH": str(tmp_path / "alerts.sqlite3")}
    client = redis.Redis.from_url(REDIS_URL)
    clock = Clock()
    try:
        quiet = _settings({**base, **NO_CHANNEL[no_channel]})
        assert quiet.redis_prefix == f"{app}:alerts:development:"
        run1 = build_engine(quiet, scrub_text=str, clock=clock)
        try:
            assert not run1.dispatcher.pages()
            _burst(run1, clock)
            assert run1.flush(10)
        finally:
            run1.close()
        assert list(client.scan_iter(f"{app}:alerts:development:cd:*")) == []
        counted = [k for k in client.scan_iter(f"{app}:alerts:development:w:burst:*")]
        assert len(counted) == 1, "run 1's occurrences still count for the processes that can page"
        assert AlertSpool(quiet.alert_spool).recent() == []  # what sentry_inbox --alerts lists

        with SlackStandIn() as slack:
            paging = _settings({**base, "SENTRY_EMAIL_ALERTS_ENABLED": "false",
                                "SENTRY_SLACK_ALERTS_ENABLED": "true", "SENTRY_SLACK_WEBHOOK_URL": slack.url})
            _burst_pages_once(build_engine(paging, scrub_text=str, clock=clock), clock, slack)
        [cooldown] = list(client.scan_iter(f"{app}:alerts:development:cd:burst:*"))
        assert float(client.get(cooldown)) > clock.now
    finally:
        for key in client.scan_iter(f"{app}:*"):
            client.delete(key)
        client.close()


def test_in_memory_a_burst_with_no_channel_leaves_the_cooldown_for_a_page(tmp_path: Path):
    """The same without Redis: a memory store that counted a burst while no channel was configured
    still lets the first page out once one is."""
    clock, store = Clock(), MemoryStore()
    quiet = _settings({"SENTRY_EMAIL_ALERTS_ENABLED": "true", "SENTRY_ALERT_EMAIL_RECIPIENTS": "",
                       "SENTRY_SLACK_ALERTS_ENABLED": "false",
                       "SENTRY_INBOX_PATH": str(tmp_path / "inbox.sqlite3")})
    run1 = build_engine(quiet, scrub_text=str, clock=clock, store=store)
    _burst(run1, clock)
    assert run1.flush(10)
    run1.close()
    with SlackStandIn() as slack:
        paging = quiet.with_overrides(slack_alerts_enabled=True, slack_webhook_url=slack.url)
        _burst_pages_once(build_engine(paging, scrub_text=str, clock=clock, store=store,
                                       dispatcher=build_dispatcher(paging)), clock, slack)
