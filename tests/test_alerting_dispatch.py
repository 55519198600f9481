"""Delivery: bounded retries honouring Retry-After, independent channels, outages logged once."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pytest
from django.test import override_settings

from infrastructure.alerting.channels import Channel, DeliveryError
from infrastructure.alerting.channels.email import EmailChannel
from infrastructure.alerting.channels.slack import SlackChannel
from infrastructure.alerting.dispatch import ChannelWorker, OutageLog, RetryPolicy, ThreadDispatcher, deliver
from infrastructure.alerting.render import build_alert
from tests.support.slack import HANG, SERVER_ERROR, SlackStandIn
from tests.support.smtp import free_port, smtp_server, smtp_settings

FAST = RetryPolicy(attempts=5, base=0.01, factor=2.0, max_delay=0.05, budget=30.0, jitter=0.0)


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


@pytest.mark.parametrize(("errors", "delivered", "waits"), [
    ([], True, []),
    ([retryable(), retryable()], True, [1.0, 2.0]),
    ([retryable(after=30)], True, [30.0]),              # Retry-After longer than the backoff wins
    ([retryable(after=0.5), retryable()], True, [1.0, 2.0]),  # ...but never shortens it
    ([PERMANENT], False, []),                           # other 4xx: give up at once
    ([retryable()] * 5, False, [1.0, 2.0, 4.0, 8.0]),  # attempts are bounded
    ([retryable(after=500)], False, []),                # a wait beyond the budget gives up
])
def test_deliver_retries_with_bounded_backoff_honouring_retry_after(errors, delivered, waits):
    """Retryable failures wait base*2^n or Retry-After if longer, within attempts and budget."""
    policy = RetryPolicy(attempts=5, base=1.0, factor=2.0, max_delay=60.0, budget=300.0, jitter=0.0)
    asked: list[float] = []
    notifier = Scripted(*errors)
    result = deliver(notifier, alert(), policy, OutageLog("test"), lambda s: asked.append(s) or False,
                     monotonic=lambda: 0.0)
    assert (result, asked) == (delivered, waits)
    assert len(notifier.delivered) == int(delivered)


def test_slack_down_then_back_delivers_exactly_once_and_logs_the_outage_once(caplog):
    """Two 500s then ok: the alert arrives once; one 'failing' and one 'recovered' log line."""
    with SlackStandIn() as slack, caplog.at_level(logging.WARNING, "infrastructure.alerting"):
        slack.answer(SERVER_ERROR, SERVER_ERROR)
        dispatcher = ThreadDispatcher([SlackChannel(slack.url, timeout=2.0)], FAST)
        dispatcher.submit(alert())
        assert dispatcher.flush(10)
        assert (len(slack.received), len(slack.accepted)) == (3, 1)
        dispatcher.close()
    messages = [r.getMessage() for r in caplog.records]
    assert sum("is failing" in m for m in messages) == 1
    assert sum("recovered after 2 failed attempts" in m for m in messages) == 1
    assert not any(slack.url in m or "T0TEST" in m for m in messages)


def test_a_hanging_slack_never_delays_email():
    """While Slack hangs, the email channel's own worker delivers to the SMTP server."""
    with SlackStandIn(default=HANG) as slack, smtp_server() as smtp, \
            override_settings(**smtp_settings(smtp.port)):
        dispatcher = ThreadDispatcher([SlackChannel(slack.url, timeout=30.0),
                                       EmailChannel(["oncall@example.com"])], FAST)
        dispatcher.submit(alert())
        assert smtp.recorder.wait_for(1)
        assert slack.wait_for(accepted=0, received=1)
        assert slack.accepted == [], "Slack is still hanging while the email has arrived"
        slack.release()
        dispatcher.close()


def test_smtp_refusing_is_logged_once_and_slack_still_gets_every_alert(caplog):
    """Three alerts with a refusing SMTP server: one log line for email, three Slack messages."""
    with SlackStandIn() as slack, smtp_server(refuse="550 5.7.1 relaying denied") as smtp, \
            override_settings(**smtp_settings(smtp.port)), \
            caplog.at_level(logging.WARNING, "infrastructure.alerting"):
        dispatcher = ThreadDispatcher([EmailChannel(["oncall@example.com"]),
                                       SlackChannel(slack.url, timeout=2.0)], FAST)
        for n in range(3):
            dispatcher.submit(alert(n))
        assert dispatcher.flush(20)
        assert len(slack.accepted) == 3 and smtp.recorder.refused == 3
        dispatcher.close()
    failing = [r.getMessage() for r in caplog.records if "is failing" in r.getMessage()]
    assert len(failing) == 1 and "email" in failing[0] and "oncall@example.com" not in failing[0]


def test_a_full_queue_drops_the_oldest_and_counts_it():
    """With a stuck channel and room for two, the oldest waiting alerts make way for new ones."""
    gate = threading.Event()
    notifier = Scripted(gate=gate)
    worker = ChannelWorker(notifier, FAST, max_queue=2)
    worker.submit(alert(0))
    while notifier.attempts == 0:  # alert 0 is now in flight, held by the gate
        time.sleep(0.01)
    for n in range(1, 5):
        worker.submit(alert(n))
    gate.set()
    assert worker.flush(time.monotonic() + 10)
    assert [a["title"] for a in notifier.delivered] == ["alert 0", "alert 3", "alert 4"]
    assert worker.dropped == 2
    worker.close()


def test_flush_reports_false_while_a_channel_is_stuck_and_true_once_it_drains():
    """flush(timeout) says whether everything queued was handled."""
    gate = threading.Event()
    dispatcher = ThreadDispatcher([Scripted(gate=gate)], FAST)
    dispatcher.submit(alert())
    assert dispatcher.flush(0.05) is False
    gate.set()
    assert dispatcher.flush(10) is True
    dispatcher.close()


def test_a_channel_that_gives_up_moves_on_to_the_next_alert():
    """A permanent failure drops that alert only; the next one is delivered."""
    notifier = Scripted(PERMANENT)
    dispatcher = ThreadDispatcher([notifier], FAST)
    dispatcher.submit(alert(1))
    dispatcher.submit(alert(2))
    assert dispatcher.flush(10)
    assert [a["title"] for a in notifier.delivered] == ["alert 2"]
    dispatcher.close()


def test_a_closed_worker_starts_again_on_the_next_alert():
    """close() stops the thread; submitting afterwards starts a new one, so a reused engine still delivers."""
    notifier = Scripted()
    dispatcher = ThreadDispatcher([notifier], FAST)
    dispatcher.submit(alert(1))
    assert dispatcher.flush(10)
    dispatcher.close()
    dispatcher.submit(alert(2))
    assert dispatcher.flush(10)
    assert [a["title"] for a in notifier.delivered] == ["alert 1", "alert 2"]
    dispatcher.close()


def test_an_email_channel_stuck_retrying_never_delays_slack(caplog):
    """With SMTP down and email waiting out a long backoff, Slack still delivers every alert."""
    patient = RetryPolicy(attempts=5, base=30.0, max_delay=60.0, budget=300.0, jitter=0.0)
    email = EmailChannel(["oncall@example.com"])
    with SlackStandIn() as slack, override_settings(**smtp_settings(free_port())), \
            caplog.at_level(logging.WARNING, "infrastructure.alerting"):
        dispatcher = ThreadDispatcher([email, SlackChannel(slack.url, timeout=2.0)], patient)
        for n in range(3):
            dispatcher.submit(alert(n))
        assert slack.wait_for(accepted=3)
        assert dispatcher.flush(0.01) is False, "email is still waiting to retry"
        dispatcher.close()
    failing = [r.getMessage() for r in caplog.records if "is failing" in r.getMessage()]
    assert len(failing) == 1 and failing[0].startswith("Alert channel email is failing")
