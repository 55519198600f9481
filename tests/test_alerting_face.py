"""The spec's face: SlackNotifier's snippet verbatim, EmailNotifier, flush() and the process engine."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import override_settings

from infrastructure import alerting
from infrastructure import settings as settings_module
from infrastructure.alerting.dispatch import RetryPolicy
from infrastructure.sentry_alerts import EmailNotifier, SlackNotifier, configure, flush, get_engine
from infrastructure.settings import Settings
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
def process_settings(slack: SlackStandIn) -> Iterator[Settings]:
    """get_settings() returns Slack-enabled settings pointing at the stand-in, for this test only."""
    saved_settings, saved_engine = settings_module._current, alerting._engine
    current = Settings(slack_alerts_enabled=True, slack_webhook_url=slack.url,
                       slack_channel="#engineering-alerts", alert_email_recipients=("oncall@example.com",))
    settings_module.set_settings(current)
    yield current
    settings_module._current, alerting._engine = saved_settings, saved_engine


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


def test_texts_passed_to_the_spec_api_are_scrubbed(process_settings, slack):
    """The injected scrub_text cleans the caller's message before it leaves the process."""
    notifier = SlackNotifier(scrub_text=lambda text: text.replace("s3cr3t", "[Filtered]"))
    assert notifier.send_error_notification("token=s3cr3t rejected", "AuthError")
    assert "s3cr3t" not in str(slack.accepted[0]) and "[Filtered]" in str(slack.accepted[0])


def test_the_default_scrubber_is_the_projects(process_settings, slack):
    """Without an injected scrubber, the project's Scrubber cleans the message."""
    SlackNotifier().send_error_notification("login failed password=hunter2", "AuthError")
    assert "hunter2" not in str(slack.accepted[0])


def test_email_notifier_sends_through_django_smtp(process_settings):
    """EmailNotifier delivers a multipart email to the configured recipients over real SMTP."""
    with smtp_server() as server, override_settings(**smtp_settings(server.port)):
        assert EmailNotifier().send_error_notification("disk full", "OSError", error_count=3)
        assert server.recorder.wait_for(1)
    message = server.messages[0]
    assert message.rcpt_tos == ["oncall@example.com"]
    assert message.message["Subject"] == "[ERROR] OSError: disk full (development)"


def test_flush_waits_for_the_process_engines_alerts(process_settings, slack):
    """configure() installs the process engine; flush() returns True once its alerts are delivered."""
    engine = configure(process_settings.with_overrides(alert_email_recipients=()), scrub_text=str)
    assert get_engine() is engine
    event = {"level": "error", "tags": {"error.category": "external", "service": "s3"},
             "exception": {"values": [{"type": "ClientError", "value": "SlowDown"}]}}
    engine.observe_event(event)
    assert flush(10) is True
    assert len(slack.accepted) == 1
    assert "External service failure: s3" in str(slack.accepted[0])
    engine.close()


def test_get_engine_builds_one_from_settings_when_none_exists(process_settings):
    """get_engine() without configure() builds the engine from get_settings() once."""
    alerting._engine = None
    first = get_engine()
    assert get_engine() is first and first.settings is process_settings
    first.close()
