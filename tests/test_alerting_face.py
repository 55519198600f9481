"""The spec's face: SlackNotifier's snippet verbatim, EmailNotifier, flush() and the runtime's engine."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sentry_sdk
from django.test import override_settings

from errorwarden.alerting.retry import RetryPolicy
from errorwarden.runtime import current_runtime
from errorwarden.settings import Settings
from infrastructure.sentry_alerts import EmailNotifier, SlackNotifier, flush
from tests.support.slack import BAD_REQUEST, HANG, SERVER_ERROR, SlackStandIn
from tests.support.smtp import smtp_server, smtp_settings

# Verbatim from the spec (../shared/seeds/000_3816f1d9f38f0d38.txt), "Test Slack Integration".
SPEC_SNIPPET = """
from infrastructure.sentry_alerts import SlackNotifier

notifier = SlackNotifier()
notifier.send_error_notification(
    error_message='Test error notification',
    error_type='TestError',
    error_count=1,
    sentry_url='https://sentry.io/issues/123456'
)
"""
QUICK = RetryPolicy(attempts=3, base=0.01, max_delay=0.05, budget=5.0, jitter=0.0)


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as stand_in:
        yield stand_in


@pytest.fixture
def process_settings(slack: SlackStandIn, error_tracking) -> Settings:
    """The process re-initialised with Slack pointing at the stand-in, for this test only."""
    return error_tracking(slack_alerts_enabled=True, slack_webhook_url=slack.url,
                          slack_channel="#engineering-alerts", scrub_extra_keys=("loyalty",),
                          alert_email_recipients=("oncall@example.com",)).settings


def test_the_spec_snippet_posts_to_slack(process_settings, slack):
    """The spec's "Test Slack Integration" snippet, run verbatim, posts one Block Kit message."""
    namespace: dict = {}
    exec(SPEC_SNIPPET, namespace)
    assert len(slack.accepted) == 1
    body = slack.accepted[0]
    assert body["channel"] == "#engineering-alerts"
    assert body["blocks"][0]["text"]["text"] == "[ERROR] TestError"
    blocks = body["attachments"][0]["blocks"]
    assert "Test error notification" in blocks[0]["text"]["text"]
    assert blocks[-1]["elements"][0]["url"] == "https://sentry.io/issues/123456"


@pytest.mark.parametrize(("replies", "result", "attempts"), [
    ([], True, 1),
    ([SERVER_ERROR], True, 2),      # retried, then delivered
    ([BAD_REQUEST], False, 1),      # a 4xx is not retried
    ([SERVER_ERROR] * 3, False, 3),  # bounded: gives up after the policy's attempts
])
def test_send_error_notification_reports_delivery_and_never_raises(process_settings, slack, replies,
                                                                    result, attempts):
    """True when delivered, False when it failed, after a bounded number of attempts."""
    slack.answer(*replies)
    notifier = SlackNotifier(policy=QUICK)
    assert notifier.send_error_notification("boom", "TestError") is result
    assert len(slack.received) == attempts


def test_a_hanging_slack_returns_false_within_the_budget(process_settings, slack):
    """A webhook that never answers times out and gives False, not an exception."""
    slack.default = HANG
    notifier = SlackNotifier(timeout=0.2, policy=RetryPolicy(attempts=2, base=0.01, budget=2.0, jitter=0))
    assert notifier.send_error_notification("boom", "TestError") is False


def test_disabled_channels_return_false_without_sending(slack):
    """With Slack and email off, nothing is sent and both report False."""
    settings = Settings(slack_alerts_enabled=False, email_alerts_enabled=False)
    assert SlackNotifier(settings).send_error_notification("boom", "TestError") is False
    assert EmailNotifier(settings).send_error_notification("boom", "TestError") is False
    assert slack.received == []


def test_texts_passed_to_the_spec_api_pass_the_runtimes_scrubber(process_settings, slack):
    """The runtime's scrubber, with its configured extra keys, cleans the caller's texts."""
    notifier = SlackNotifier()
    assert notifier.send_error_notification("loyalty=LY-99812 password=hunter2 rejected", "AuthError")
    sent = str(slack.accepted[0])
    assert "LY-99812" not in sent and "hunter2" not in sent and "[Filtered]" in sent


def test_email_notifier_sends_through_django_smtp(process_settings):
    """EmailNotifier delivers a multipart email to the configured recipients over real SMTP."""
    with smtp_server() as server, override_settings(**smtp_settings(server.port)):
        assert EmailNotifier().send_error_notification("disk full", "OSError", error_count=3)
        assert server.recorder.wait_for(1)
    message = server.messages[0]
    assert message.rcpt_tos == ["oncall@example.com"]
    assert message.message["Subject"] == "[ERROR] OSError: disk full (development)"


def _external_failure() -> None:
    from botocore.exceptions import ClientError

    error = ClientError({"Error": {"Code": "SlowDown", "Message": "Please reduce your request rate"}},
                        "PutObject")
    sentry_sdk.capture_exception(error)


def test_flush_waits_for_the_runtimes_alerts(process_settings, slack):
    """An event through the SDK reaches the runtime's engine; flush() returns once it is delivered."""
    _external_failure()
    assert flush(10) is True
    assert len(slack.accepted) == 1
    assert "External service failure: aws" in str(slack.accepted[0])  # botocore's service, no host


def test_re_initialising_feeds_the_new_engine_and_closes_the_old(process_settings, slack, error_tracking):
    """After init_sentry() runs again, before_send feeds the new runtime's engine, not the closed one.

    (The old public configure() installed a second engine beside the one before_send fed.)
    """
    first = current_runtime()
    second = error_tracking(slack_alerts_enabled=True, slack_webhook_url=slack.url,
                            alert_email_recipients=())
    assert current_runtime() is second and second.alerts is not first.alerts
    assert all(w._stop.is_set() for w in first.alerts.dispatcher.workers)  # the old engine was closed
    _external_failure()
    assert second.flush(10) is True
    assert len(slack.accepted) == 1
