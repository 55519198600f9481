"""The spec's alerting face: SlackNotifier, EmailNotifier, flush(), and the process's AlertEngine.

    from infrastructure.sentry_alerts import SlackNotifier
    SlackNotifier().send_error_notification(error_message="...", error_type="TestError")

`send_error_notification` sends synchronously with a bounded retry (returning within about
10 s) and never raises. Rule-driven alerts go through the engine (`get_engine()` / `configure()`), which
delivers off the request path.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from infrastructure.alerting import AlertEngine, build_engine, current_engine
from infrastructure.alerting import flush as _flush_engine
from infrastructure.alerting.dispatch import OutageLog, RetryPolicy, deliver
from infrastructure.alerting.notifiers import (
    DjangoEmailNotifier,
    Notifier,
    ScrubText,
    SlackWebhookNotifier,
    default_scrub_text,
)
from infrastructure.alerting.render import build_alert
from infrastructure.settings import Settings, get_settings

__all__ = ["EmailNotifier", "SlackNotifier", "configure", "flush", "get_engine"]

logger = logging.getLogger("infrastructure.alerting")

# Synchronous sends must return promptly: no new attempt starts after 6 s, and each attempt is
# bounded by its channel's timeout (3-4 s), so a call returns within about 10 s.
SYNC_POLICY = RetryPolicy(attempts=4, base=0.5, max_delay=4.0, budget=6.0)
_outages: dict[str, OutageLog] = {}


def _sleep(seconds: float) -> bool:
    time.sleep(seconds)
    return False


class _SpecNotifier:
    """Shared shape of the spec's notifiers: one synchronous, bounded, never-raising send."""

    channel = "notifier"

    def __init__(self, settings: Settings | None = None, *, scrub_text: ScrubText | None = None,
                 policy: RetryPolicy | None = None):
        self.settings = settings or get_settings()
        self._scrub = scrub_text
        self._policy = policy or SYNC_POLICY

    @property
    def enabled(self) -> bool:
        """True when this channel is switched on and configured."""
        raise NotImplementedError

    def _notifier(self, scrub_text: ScrubText) -> Notifier:
        raise NotImplementedError

    def send_error_notification(self, error_message: str, error_type: str, error_count: int = 1,
                                sentry_url: str | None = None) -> bool:
        """Send one alert now; True when delivered, False when disabled or failed. Never raises."""
        try:
            if not self.enabled:
                return False
            scrub = self._scrub or default_scrub_text(self.settings)
            alert = build_alert(
                rule="manual", severity="error", title=f"{error_type} reported ({error_count}x)",
                error_type=str(error_type), message=str(error_message), occurrences=int(error_count),
                environment=self.settings.environment, release=self.settings.release,
                last_seen=time.time(), link=sentry_url or "",
            )
            outage = _outages.setdefault(self.channel, OutageLog(self.channel))
            return deliver(self._notifier(scrub), alert, self._policy, outage, _sleep)
        except Exception as exc:
            logger.error("%s notification failed (%s).", self.channel, type(exc).__name__)
            return False


class SlackNotifier(_SpecNotifier):
    """Posts an alert to the configured Slack webhook (SENTRY_SLACK_*)."""

    channel = "slack"

    def __init__(self, settings: Settings | None = None, *, client: Any = None, timeout: float = 3.0,
                 scrub_text: ScrubText | None = None, policy: RetryPolicy | None = None):
        super().__init__(settings, scrub_text=scrub_text, policy=policy)
        self._client, self._timeout = client, timeout

    @property
    def enabled(self) -> bool:
        """True when Slack alerts are enabled and a webhook is configured."""
        return self.settings.slack_alerts_enabled and bool(self.settings.slack_webhook_url or self._client)

    def _notifier(self, scrub_text: ScrubText) -> Notifier:
        return SlackWebhookNotifier(self.settings.slack_webhook_url, channel=self.settings.slack_channel,
                                    client=self._client, timeout=self._timeout, scrub_text=scrub_text)


class EmailNotifier(_SpecNotifier):
    """Emails an alert to SENTRY_ALERT_EMAIL_RECIPIENTS through Django's email backend."""

    channel = "email"

    def __init__(self, settings: Settings | None = None, *, timeout: float = 4.0,
                 scrub_text: ScrubText | None = None, policy: RetryPolicy | None = None):
        super().__init__(settings, scrub_text=scrub_text, policy=policy)
        self._timeout = timeout

    @property
    def enabled(self) -> bool:
        """True when email alerts are enabled and there is at least one recipient."""
        return self.settings.email_alerts_enabled and bool(self.settings.alert_email_recipients)

    def _notifier(self, scrub_text: ScrubText) -> Notifier:
        return DjangoEmailNotifier(self.settings.alert_email_recipients, scrub_text=scrub_text,
                                   timeout=self._timeout)


def configure(settings: Settings | None = None, **options: Any) -> AlertEngine:
    """Build the process's AlertEngine from settings (default: get_settings()) and install it.

    `options` go to `infrastructure.alerting.build_engine` (scrub_text, clock, store, dispatcher,
    key_prefix, celery_app).
    """
    settings = settings or get_settings()
    return build_engine(settings, **options)


def get_engine() -> AlertEngine:
    """The process's AlertEngine, built from get_settings() on first use."""
    return current_engine() or configure()


def flush(timeout: float = 5.0) -> bool:
    """Wait up to `timeout` seconds for queued alerts to be delivered; True when all were handled."""
    return _flush_engine(timeout)
