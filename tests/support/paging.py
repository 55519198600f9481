"""The app wired to page on-call: a real SMTP server (aiosmtpd) and a loopback Slack stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.test import override_settings

from infrastructure.sentry_alerts import flush
from tests.support.fixtures import tracking
from tests.support.slack import SlackStandIn
from tests.support.smtp import smtp_server, smtp_settings


@contextmanager
def paging(rx, **overrides) -> Iterator[tuple]:
    """The app wired to the receiver, a real SMTP server and a Slack stand-in; restored afterwards."""
    with SlackStandIn() as slack, smtp_server() as smtp, override_settings(**smtp_settings(smtp.port)), \
            tracking(dsn=rx.dsn, traces_sample_rate=0.0, profiles_sample_rate=0.0,
                     email_alerts_enabled=True, alert_email_recipients=("oncall@example.com",),
                     slack_alerts_enabled=True, slack_webhook_url=slack.url, **overrides) as runtime:
        try:
            yield runtime, smtp, slack
        finally:
            flush(10)
