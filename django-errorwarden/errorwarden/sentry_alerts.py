"""The spec's alerting face: SlackNotifier, EmailNotifier and flush().

    from errorwarden.sentry_alerts import SlackNotifier
    SlackNotifier().send_error_notification(error_message="...", error_type="TestError")

`send_error_notification` sends synchronously with a bounded retry (returning within about
10 s) and never raises. Rule-driven alerts go through the runtime's AlertEngine, which delivers
off the request path; `flush()` waits for those.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from errorwarden.alerting.channels import Channel
from errorwarden.alerting.channels.email import EmailChannel, email_timeout
from errorwarden.alerting.channels.slack import SlackChannel
from errorwarden.alerting.render import build_alert
from errorwarden.alerting.retry import OutageLog, RetryPolicy, send_now
from errorwarden.runtime import current_runtime
from errorwarden.settings import Settings

__all__ = ["EmailNotifier", "SlackNotifier", "flush"]

logger = logging.getLogger("errorwarden.alerting")

# Synchronous sends must return promptly: no new attempt starts after 6 s, and each attempt is
# bounded by its channel's timeout, at most SYNC_ATTEMPT_MAX, so a call returns within about 10 s.
SYNC_POLICY = RetryPolicy(attempts=4, base=0.5, max_delay=4.0, jitter=0.25, budget=6.0)
SYNC_ATTEMPT_MAX = 4.0


class _SpecNotifier:
    """Shared shape of the spec's notifiers: one synchronous, bounded, never-raising send."""

    channel = "notifier"

    def __init__(self, settings: Settings | None = None, *, policy: RetryPolicy | None = None):
        runtime = current_runtime()
        self.settings = settings if settings is not None else (runtime.settings if runtime else None)
        self._scrub = runtime.scrubber.scrub_text if runtime else None
        self._policy = policy or SYNC_POLICY

    @property
    def enabled(self) -> bool:
        """True when this channel is switched on and configured."""
        return self.settings is not None and self._channel() is not None

    def _channel(self) -> Channel | None:
        raise NotImplementedError

    def send_error_notification(self, error_message: str, error_type: str, error_count: int = 1,
                                sentry_url: str | None = None) -> bool:
        """Send one alert now; True when delivered, False when disabled or failed. Never raises."""
        try:
            if self.settings is None or self._scrub is None:
                # The texts must be scrubbed, and only the runtime has the configured scrubber.
                logger.error("%s notification not sent: init_sentry() has not run.", self.channel)
                return False
            channel = self._channel()
            if channel is None:
                return False
            alert = build_alert(
                rule="manual", severity="error", title=f"{error_type} reported ({error_count}x)",
                error_type=str(error_type), message=str(error_message), occurrences=int(error_count),
                environment=self.settings.environment, release=self.settings.release,
                last_seen=time.time(), link=sentry_url or "", scrub=self._scrub,
            )
            runtime = current_runtime()
            outage = (runtime.outage(f"sync:{self.channel}", self.channel) if runtime is not None
                      else OutageLog(self.channel))
            return send_now(channel, alert, self._policy, outage)
        except Exception as exc:
            logger.error("%s notification failed (%s).", self.channel, type(exc).__name__)
            return False


class SlackNotifier(_SpecNotifier):
    """Posts an alert to the configured Slack webhook (SENTRY_SLACK_*)."""

    channel = "slack"

    def __init__(self, settings: Settings | None = None, *, client: Any = None, timeout: float = 3.0,
                 policy: RetryPolicy | None = None):
        super().__init__(settings, policy=policy)
        self._client, self._timeout = client, timeout

    def _channel(self) -> Channel | None:
        s = self.settings
        if not (s.slack_alerts_enabled and (s.slack_webhook_url or self._client is not None)):
            return None
        return SlackChannel(s.slack_webhook_url, channel=s.slack_channel, client=self._client,
                            timeout=self._timeout)


class EmailNotifier(_SpecNotifier):
    """Emails an alert to SENTRY_ALERT_EMAIL_RECIPIENTS through Django's email backend."""

    channel = "email"

    def __init__(self, settings: Settings | None = None, *, timeout: float | None = None,
                 policy: RetryPolicy | None = None):
        super().__init__(settings, policy=policy)
        self._timeout = timeout

    def _channel(self) -> Channel | None:
        s = self.settings
        if not (s.email_alerts_enabled and s.alert_email_recipients):
            return None
        # `timeout` given here wins; else the alert e-mail timeout (SENTRY_EMAIL_TIMEOUT_SECONDS,
        # else Django's EMAIL_TIMEOUT, else 10 s), capped at SYNC_ATTEMPT_MAX for this synchronous face.
        timeout = self._timeout if self._timeout is not None else \
            min(email_timeout(s.email_timeout), SYNC_ATTEMPT_MAX)
        return EmailChannel(s.alert_email_recipients, timeout=timeout)


def flush(timeout: float = 5.0) -> bool:
    """Wait up to `timeout` seconds for queued alerts to be delivered; True when all were handled."""
    runtime = current_runtime()
    return True if runtime is None else runtime.flush(timeout)
