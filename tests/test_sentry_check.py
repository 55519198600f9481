"""`manage.py sentry_check` proves the integration the way the spec's Getting Started asks."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from infrastructure.local import InboxStore
from infrastructure.sentry_config import init_sentry
from tests.support.slack import SlackStandIn


@pytest.fixture
def local_inbox(tmp_path, error_tracking):
    """The process re-initialised on a fresh local inbox file."""
    return error_tracking(dsn="", inbox_path=tmp_path / "inbox.sqlite3", profiles_sample_rate=0.0)


def test_the_test_event_lands_in_the_local_inbox(local_inbox):
    """The command's test event is stored and the command says how to look at it."""
    out = StringIO()
    call_command("sentry_check", stdout=out)
    event_id = out.getvalue().split("Test event stored: ")[1].split()[0]
    stored = InboxStore.from_settings(local_inbox.settings).get(event_id)
    assert stored["message"] == "sentry_check: test event"
    assert f"sentry_inbox --show {event_id}" in out.getvalue()


def test_alerts_flag_sends_through_the_enabled_channels(local_inbox):
    """--alerts sends the test notification to Slack and reports email as disabled without recipients."""
    with SlackStandIn() as slack:
        init_sentry(local_inbox.settings.with_overrides(
            slack_alerts_enabled=True, slack_webhook_url=slack.url, alert_email_recipients=()))
        out = StringIO()
        call_command("sentry_check", "--alerts", stdout=out)
        assert slack.wait_for(1)
    assert "Slack alerts: delivered" in out.getvalue()
    assert "Email alerts: disabled" in out.getvalue()
    assert "SentryCheck" in str(slack.accepted[0])
