"""Delivery: the one retry policy, the durable spool, independent channels, losses named at once."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pytest
from django.test import override_settings

from errorwarden.alerting.alert_queue import AlertSpool
from errorwarden.alerting.channels import Channel, DeliveryError
from errorwarden.alerting.channels.email import EmailChannel
from errorwarden.alerting.channels.slack import SlackChannel
from errorwarden.alerting.dispatch import SpoolDispatcher
from errorwarden.alerting.render import build_alert
from errorwarden.alerting.retry import OutageLog, RetryPolicy, send_now
from tests.support.slack import HANG, SERVER_ERROR, SlackStandIn
from tests.support.smtp import free_port, smtp_server, smtp_settings

FAST = RetryPolicy(base=0.01, max_delay=0.05, jitter=0.0)


def alert(n: int = 0) -> dict[str, Any]:
    """A small firing alert, numbered."""
    return build_alert(rule="critical_burst", severity="critical", title=f"alert {n}", error_type="E",
                       message=f"message {n}", environment="test", scrub=None)


class Scripted(Channel):
    """Fails with the scripted errors, then succeeds; records what it delivered."""

    def __init__(self, *errors: DeliveryError, name: str = "scripted", gate: threading.Event | None = None):
        self.name, self._errors, self._gate = name, list(errors), gate
        self.delivered: list[dict[str, Any]] = []
        self.attempts = 0

    def send(self, alert: dict[str, Any]) -> None:
        self.attempts += 1
        if self._gate is not None:
            self._gate.wait(10)
        if self._errors:
            raise self._errors.pop(0)
        self.delivered.append(alert)


def retryable(after: float | None = None) -> DeliveryError:
    return DeliveryError("try again", retryable=True, retry_after=after)


PERMANENT = DeliveryError("no", retryable=False)


def dispatcher(*channels: Channel, spool: AlertSpool | None = None, policy: RetryPolicy = FAST):
    return SpoolDispatcher(channels, spool or AlertSpool(":memory:"), policy)


def submit(d: SpoolDispatcher, n: int = 0, key: str | None = None, cooldown: float = 60.0) -> bool:
    return d.submit(alert(n), key=key or f"key-{n}", until=time.time() + cooldown)


@pytest.mark.parametrize(("attempt", "retry_after", "expected"), [
    (1, None, 1.0), (2, None, 2.0), (3, None, 4.0), (7, None, 60.0),  # exponential, capped
    (1, 30.0, 30.0),  # a longer Retry-After wins
    (3, 0.5, 4.0),    # ...but never shortens the backoff
])
def test_the_one_policy_backs_off_exponentially_and_honours_retry_after(attempt, retry_after, expected):
    """RetryPolicy.wait is tenacity's exponential backoff (here without jitter), never under Retry-After."""
    assert RetryPolicy(base=1.0, max_delay=60.0, jitter=0.0).wait(attempt, retry_after) == expected


def test_jitter_spreads_processes_that_failed_together():
    """With jitter, two waits for the same attempt differ, and stay within [backoff, backoff + jitter]."""
    waits = {RetryPolicy(base=1.0, jitter=1.0).wait(2) for _ in range(20)}
    assert len(waits) > 1 and all(2.0 <= w <= 3.0 for w in waits)


@pytest.mark.parametrize(("errors", "delivered", "attempts"), [
    ([], True, 1),
    ([retryable(), retryable()], True, 3),
    ([PERMANENT], False, 1),                 # a failure no retry can help: give up at once
    ([retryable()] * 5, False, 4),          # bounded by the policy's attempts
])
def test_a_synchronous_send_retries_within_its_bounds(errors, delivered, attempts):
    """The spec's synchronous send (tenacity's Retrying) delivers, or gives up within its attempts."""
    channel = Scripted(*errors)
    waits: list[float] = []
    policy = RetryPolicy(attempts=4, base=0.01, jitter=0.0, budget=60.0)
    assert send_now(channel, alert(), policy, OutageLog("test"), sleep=waits.append) is delivered
    assert channel.attempts == attempts and len(waits) == (attempts - 1 if delivered or errors[0] is not
                                                           PERMANENT else 0)


def test_slack_down_then_back_delivers_exactly_once_and_logs_the_outage_once(caplog):
    """Two 500s then ok: the alert arrives once; one 'failing' and one 'recovered' log line."""
    with SlackStandIn() as slack, caplog.at_level(logging.WARNING, "errorwarden.alerting"):
        slack.answer(SERVER_ERROR, SERVER_ERROR)
        d = dispatcher(SlackChannel(slack.url, timeout=2.0))
        submit(d)
        assert d.flush(10)
        assert (len(slack.received), len(slack.accepted)) == (3, 1)
        d.close()
    messages = [r.getMessage() for r in caplog.records]
    # The loss ledger logs the failed attempts once per interval: both fall in the first.
    assert sum("is failing" in m for m in messages) == 1
    assert sum("recovered after 2 failed attempts" in m for m in messages) == 1
    assert d.losses.totals("alert") == {("alert", "failed:slack"): 2, ("alert", "spooled:slack"): 2}
    assert not any(slack.url in m for m in messages)


def test_an_outage_shorter_than_the_cooldown_loses_nothing():
    """Twenty retryable failures in a row: the channel keeps trying while the cooldown runs, then delivers."""
    channel = Scripted(*[retryable()] * 20)
    d = dispatcher(channel)
    submit(d, cooldown=60.0)
    assert d.flush(20)
    assert len(channel.delivered) == 1 and channel.attempts == 21
    assert d.spool.deliveries()[0]["status"] == "delivered"
    d.close()


def test_an_outage_longer_than_the_cooldown_names_the_lost_alert_at_once(caplog):
    """When the cooldown ends before the channel comes back, the loss is logged once, with the title."""
    channel = Scripted(*[retryable()] * 1000)
    d = dispatcher(channel)
    with caplog.at_level(logging.ERROR, "errorwarden.alerting"):
        submit(d, n=7, cooldown=0.3)
        assert d.flush(10)
    lost = [r.getMessage() for r in caplog.records if "NOT delivered" in r.getMessage()]
    assert len(lost) == 1 and "'alert 7'" in lost[0] and "cooldown ended" in lost[0]
    assert d.spool.deliveries()[0]["status"] == "lost" and channel.delivered == []
    d.close()


def test_alerts_left_by_a_process_are_delivered_by_the_next(tmp_path):
    """A process that exits with an alert still failing leaves it in the spool; the next process's
    worker delivers it without any new alert firing."""
    path = tmp_path / "alerts.sqlite3"
    first = dispatcher(Scripted(*[retryable()] * 1000, name="slack"), spool=AlertSpool(path))
    submit(first, n=3)
    assert first.flush(0.2) is False
    first.close()
    survivor = Scripted(name="slack")
    second = dispatcher(survivor, spool=AlertSpool(path))  # a new process on the same host
    assert second.flush(10)
    assert [a["title"] for a in survivor.delivered] == ["alert 3"]
    second.close()


def test_two_processes_firing_the_same_key_page_once_per_host(tmp_path):
    """Two engines counting in memory (Redis away) both fire one key: the host's claim lets one through."""
    path = tmp_path / "alerts.sqlite3"
    delivered = Scripted(name="slack")
    first, second = (dispatcher(delivered, spool=AlertSpool(path)) for _ in range(2))
    assert submit(first, key="burst:db") is True
    assert submit(second, key="burst:db") is False
    assert first.flush(10) and second.flush(10)
    assert len(delivered.delivered) == 1
    first.close()
    second.close()


def test_a_hanging_slack_never_delays_email():
    """While Slack hangs, the email channel's own worker delivers to the SMTP server."""
    with SlackStandIn(default=HANG) as slack, smtp_server() as smtp, \
            override_settings(**smtp_settings(smtp.port)):
        d = dispatcher(SlackChannel(slack.url, timeout=30.0), EmailChannel(["oncall@example.com"]))
        submit(d)
        assert smtp.recorder.wait_for(1)
        assert slack.wait_for(accepted=0, received=1)
        assert slack.accepted == [], "Slack is still hanging while the email has arrived"
        slack.release()
        d.close()


def test_smtp_refusing_loses_each_email_by_name_and_slack_still_gets_every_alert(caplog):
    """Three alerts with a refusing SMTP server: three named losses for email, three Slack messages."""
    with SlackStandIn() as slack, smtp_server(refuse="550 5.7.1 relaying denied") as smtp, \
            override_settings(**smtp_settings(smtp.port)), \
            caplog.at_level(logging.WARNING, "errorwarden.alerting"):
        d = dispatcher(EmailChannel(["oncall@example.com"]), SlackChannel(slack.url, timeout=2.0))
        for n in range(3):
            submit(d, n)
        assert d.flush(20)
        assert len(slack.accepted) == 3 and smtp.recorder.refused == 3
        d.close()
    messages = [r.getMessage() for r in caplog.records]
    failing = [m for m in messages if "is failing" in m]
    assert len(failing) == 1 and "email" in failing[0] and "oncall@example.com" not in failing[0]
    assert sorted(m.split("'")[1] for m in messages if "NOT delivered to email" in m) == [
        "alert 0", "alert 1", "alert 2"]


def test_flush_reports_false_while_a_channel_is_stuck_and_true_once_it_drains():
    """flush(timeout) says whether everything queued was handled."""
    gate = threading.Event()
    d = dispatcher(Scripted(gate=gate))
    submit(d)
    assert d.flush(0.05) is False
    gate.set()
    assert d.flush(10) is True
    d.close()


def test_a_channel_that_gives_up_moves_on_to_the_next_alert():
    """A permanent failure loses that alert only; the next one is delivered."""
    channel = Scripted(PERMANENT)
    d = dispatcher(channel)
    submit(d, 1)
    assert d.flush(10)
    submit(d, 2)
    assert d.flush(10)
    assert [a["title"] for a in channel.delivered] == ["alert 2"]
    d.close()


def test_a_closed_worker_starts_again_on_the_next_alert():
    """close() stops the thread; submitting afterwards starts a new one, so a reused engine still delivers."""
    channel = Scripted()
    d = dispatcher(channel)
    submit(d, 1)
    assert d.flush(10)
    d.close()
    submit(d, 2)
    assert d.flush(10)
    assert [a["title"] for a in channel.delivered] == ["alert 1", "alert 2"]
    d.close()


def test_an_email_channel_stuck_retrying_never_delays_slack(caplog):
    """With SMTP down and email waiting out a long backoff, Slack still delivers every alert."""
    patient = RetryPolicy(base=30.0, max_delay=60.0, jitter=0.0)
    with SlackStandIn() as slack, override_settings(**smtp_settings(free_port())), \
            caplog.at_level(logging.WARNING, "errorwarden.alerting"):
        d = dispatcher(EmailChannel(["oncall@example.com"]), SlackChannel(slack.url, timeout=2.0),
                       policy=patient)
        for n in range(3):
            submit(d, n, cooldown=300.0)
        assert slack.wait_for(accepted=3)
        assert d.flush(0.01) is False, "email is still waiting to retry"
        d.close()
    failing = [r.getMessage() for r in caplog.records if "is failing" in r.getMessage()]
    assert len(failing) == 1 and "(failed:email): Alert channel email is failing" in failing[0]


@pytest.mark.parametrize("limit", [0.5, 60.0])
def test_the_settings_bound_the_wait_between_two_attempts(tmp_path, limit):
    """SENTRY_ALERT_RETRY_MAX_SECONDS caps every channel worker's backoff, however many attempts failed."""
    from errorwarden.alerting import build_dispatcher
    from errorwarden.settings import Settings

    d = build_dispatcher(Settings(alert_retry_max_seconds=limit), channels=[Scripted(name="slack")],
                         spool=AlertSpool(tmp_path / "alerts.sqlite3"))
    waits = [d.workers[0].policy.wait(attempt) for attempt in range(1, 12)]
    assert max(waits) <= limit and waits[-1] == limit  # 2**10 s: capped
    d.close()


def test_alerting_log_lines_never_become_sentry_events(caplog):
    """A lost alert is logged on the console only: sentry-sdk's logging integration takes no event
    from alerting's logger (it would count towards the very rules it reports on), but still from others."""
    import sentry_sdk
    from sentry_sdk.integrations.logging import LoggingIntegration

    from errorwarden.alerting.retry import log_lost
    from tests.support.fixtures import isolated_client

    events: list[dict[str, Any]] = []

    def keep(event: dict[str, Any], hint: dict[str, Any]) -> None:
        events.append(event)

    with isolated_client(dsn="http://public@127.0.0.1:9/1", before_send=keep,
                         integrations=[LoggingIntegration(event_level=logging.ERROR)]), \
            caplog.at_level(logging.ERROR):
        sentry_sdk.get_isolation_scope().fingerprint = ["a request's", "issue"]
        log_lost("slack", "Database connection failure", 16, "slack: HTTP 500; its cooldown ended")
        logging.getLogger("errorwarden.elsewhere").error("an error of another module")
    assert [e.get("logger") for e in events] == ["errorwarden.elsewhere"]
    assert "'Database connection failure' was NOT delivered to slack" in caplog.text


@pytest.mark.parametrize(("after", "delivered"), [
    pytest.param(None, 1, id="backoff-past-the-cooldown-still-tries-at-its-end"),
    pytest.param(30.0, 0, id="retry-after-past-the-cooldown-is-honoured-and-lost"),
])
def test_the_last_attempt_comes_at_the_end_of_the_cooldown(caplog, after, delivered):
    """When the next backoff would overshoot the cooldown, one last attempt is made as it ends, so an
    outage that ends before the cooldown loses nothing; a Retry-After past the cooldown is obeyed instead."""
    # Attempts at 0, 0.1, 0.3, 0.7 and 1.5 s fail; the next backoff (1.6 s) would end past the 2 s cooldown.
    channel = Scripted(*[retryable(after)] * 5)
    d = dispatcher(channel, policy=RetryPolicy(base=0.1, max_delay=10.0, jitter=0.0))
    with caplog.at_level(logging.ERROR, "errorwarden.alerting"):
        submit(d, cooldown=2.0)
        assert d.flush(10)
    assert len(channel.delivered) == delivered
    assert channel.attempts == (6 if delivered else 1)
    assert ("NOT delivered" in caplog.text) is not bool(delivered)
    d.close()


@pytest.mark.parametrize(("error", "now", "expected"), [
    pytest.param(retryable(), 0.0, 1.0, id="backoff-within-the-cooldown"),
    pytest.param(retryable(), 99.5, 100.0, id="a-last-attempt-as-the-cooldown-ends"),
    pytest.param(retryable(), 100.0, None, id="cooldown-over"),
    pytest.param(retryable(after=150.0), 0.0, None, id="retry-after-past-the-deadline-is-obeyed"),
    pytest.param(PERMANENT, 0.0, None, id="not-retryable"),
])
def test_next_attempt_keeps_one_attempt_for_the_end_of_the_cooldown(error, now, expected):
    """The policy schedules within the alert's deadline (100 here), with a last attempt at it; the
    spool workers and the Celery task both ask it."""
    policy = RetryPolicy(base=1.0, max_delay=60.0, jitter=0.0)
    assert policy.next_attempt(1, error, now, deadline=100.0) == expected
