"""The app wired to page on-call: a real SMTP server (aiosmtpd) and a loopback Slack stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings as django_settings
from django.test import override_settings

from infrastructure.sentry_alerts import flush
from infrastructure.sentry_config import init_sentry
from tests.support.slack import SlackStandIn
from tests.support.smtp import smtp_server, smtp_settings


@contextmanager
def paging(rx, **overrides) -> Iterator[tuple]:
    """The app wired to the receiver, a real SMTP server and a Slack stand-in; restored afterwards."""
    original = django_settings.SENTRY
    with SlackStandIn() as slack, smtp_server() as smtp, override_settings(**smtp_settings(smtp.port)):
        runtime = init_sentry(original.with_overrides(
            dsn=rx.dsn, traces_sample_rate=0.0, profiles_sample_rate=0.0,
            email_alerts_enabled=True, alert_email_recipients=("oncall@example.com",),
            slack_alerts_enabled=True, slack_webhook_url=slack.url, **overrides))
        try:
            yield runtime, smtp, slack
        finally:
            flush(10)
            init_sentry(original)
