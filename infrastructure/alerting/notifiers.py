"""Delivery channels: Slack through an incoming webhook, email through Django's mail API.

`send(alert)` makes one attempt. It returns on success or raises DeliveryError saying whether
another attempt can help; retrying is the dispatcher's job, so every channel retries on its own.
Error texts carry status codes and error types only: never the webhook URL, an address, a
password or the alert's content.
"""

from __future__ import annotations

import http.client
import logging
import smtplib
from collections.abc import Callable, Iterable
from typing import Any
from urllib.error import URLError

from infrastructure.alerting.render import TEXT_FIELDS, email_bodies, email_subject, slack_payload

logger = logging.getLogger("infrastructure.alerting")

ScrubText = Callable[[str], str]
WITHHELD = "[withheld: the scrubber is unavailable]"

# slack_sdk logs each failed attempt at ERROR and, unless its logger's level is above DEBUG, the
# webhook URL and body. Its logger is made outside logging's registry, so no dictConfig can
# re-attach it to handlers, and its level keeps even the URL message from being formatted.
_SDK_LOGGER = logging.Logger("infrastructure.alerting.slack_sdk", logging.CRITICAL + 1)
_SDK_LOGGER.propagate = False
_SDK_LOGGER.addHandler(logging.NullHandler())


class DeliveryError(Exception):
    """A failed attempt; `retryable` says whether trying again can help, `retry_after` when."""

    def __init__(self, reason: str, *, retryable: bool, retry_after: float | None = None):
        super().__init__(reason)
        self.retryable = retryable
        self.retry_after = retry_after


class Notifier:
    """A delivery channel: `send(alert)` delivers one alert or raises DeliveryError."""

    name = "notifier"

    def send(self, alert: dict[str, Any]) -> None:
        """Deliver one alert, or raise DeliveryError."""
        raise NotImplementedError


def scrub_alert(alert: dict[str, Any], scrub_text: ScrubText | None) -> dict[str, Any]:
    """A copy of the alert with its free texts passed through the scrubber (fail closed)."""
    if scrub_text is None:
        return alert
    clean = dict(alert)
    for name in TEXT_FIELDS:
        value = clean.get(name)
        if isinstance(value, str) and value:
            try:
                clean[name] = scrub_text(value)
            except Exception:
                clean[name] = WITHHELD
    return clean


def default_scrub_text(settings: Any = None) -> ScrubText:
    """The project scrubber's scrub_text, or a stand-in that withholds texts if it cannot load."""
    try:
        from infrastructure.scrubbing import Scrubber

        if settings is None:
            return Scrubber().scrub_text
        return Scrubber(extra_keys=settings.scrub_extra_keys, safe_keys=settings.scrub_safe_keys).scrub_text
    except Exception as exc:  # an import or configuration error must not stop paging
        logger.warning("Alert texts are withheld: the scrubber could not be loaded (%s).",
                       type(exc).__name__)
        return lambda text: WITHHELD


def _http_error(status: int, headers: Any, channel: str) -> DeliveryError:
    if status == 429:
        return DeliveryError(f"{channel}: HTTP 429 rate limited", retryable=True,
                             retry_after=_retry_after(headers))
    if status >= 500:
        return DeliveryError(f"{channel}: HTTP {status}", retryable=True, retry_after=_retry_after(headers))
    return DeliveryError(f"{channel}: HTTP {status} (not retried)", retryable=False)


def _retry_after(headers: Any) -> float | None:
    value = None
    for name in ("Retry-After", "retry-after"):
        value = value or (headers or {}).get(name)
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None  # an HTTP date: fall back to our own backoff


class SlackWebhookNotifier(Notifier):
    """Posts Block Kit alerts through slack_sdk's WebhookClient, one attempt per send."""

    name = "slack"

    def __init__(self, webhook_url: str = "", *, channel: str = "", client: Any = None,
                 timeout: float = 5.0, scrub_text: ScrubText | None = None):
        if client is None:
            from slack_sdk.webhook import WebhookClient

            # No retry handlers: the dispatcher owns retries, so attempts are counted in one place.
            client = WebhookClient(webhook_url, timeout=timeout, retry_handlers=[], logger=_SDK_LOGGER)
        self._client, self._channel, self._scrub = client, channel, scrub_text

    def send(self, alert: dict[str, Any]) -> None:
        """Post one alert; raise DeliveryError on a non-2xx answer or a network failure."""
        payload = slack_payload(scrub_alert(alert, self._scrub), self._channel)
        try:
            response = self._client.send_dict(payload)
        except (TimeoutError, URLError, http.client.HTTPException, OSError) as exc:
            # The exception text is dropped on purpose: urllib's can contain the webhook URL.
            raise DeliveryError(f"slack: {_network_reason(exc)}", retryable=True) from None
        if not 200 <= response.status_code < 300:
            raise _http_error(response.status_code, response.headers, "slack")


def _network_reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, TimeoutError):
        return "timed out"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    return type(reason).__name__


class DjangoEmailNotifier(Notifier):
    """Sends multipart (text + HTML) alert emails through Django's configured email backend."""

    name = "email"

    def __init__(self, recipients: Iterable[str], *, scrub_text: ScrubText | None = None,
                 timeout: float = 10.0, from_email: str | None = None):
        self._recipients = list(recipients)
        self._scrub, self._timeout, self._from = scrub_text, timeout, from_email

    def send(self, alert: dict[str, Any]) -> None:
        """Send one email to every recipient; raise DeliveryError when the server refuses or is down."""
        from django.conf import settings
        from django.core.mail import EmailMultiAlternatives, get_connection

        alert = scrub_alert(alert, self._scrub)
        text, body = email_bodies(alert)
        # An unset EMAIL_TIMEOUT means "block forever" to smtplib; a stuck server must not wedge us.
        timeout = getattr(settings, "EMAIL_TIMEOUT", None) or self._timeout
        message = EmailMultiAlternatives(email_subject(alert), text, self._from, self._recipients,
                                         connection=get_connection(timeout=timeout))
        message.attach_alternative(body, "text/html")
        try:
            message.send()
        except Exception as exc:
            raise _smtp_error(exc) from None


def _smtp_error(exc: BaseException) -> DeliveryError:
    """Classify an email failure: 4xx answers and network errors are worth a retry, 5xx are not."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _ in exc.recipients.values()})
        transient = all(400 <= c < 500 for c in codes)
        return DeliveryError(f"email: recipients refused ({codes})", retryable=transient)
    if isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code
        return DeliveryError(f"email: SMTP {code} ({type(exc).__name__})", retryable=400 <= code < 500)
    # SMTPException derives from OSError: only disconnects and socket errors are transient.
    transient = isinstance(exc, OSError) and not isinstance(exc, smtplib.SMTPException)
    if transient or isinstance(exc, smtplib.SMTPServerDisconnected):
        return DeliveryError(f"email: {_network_reason(exc)}", retryable=True)
    return DeliveryError(f"email: {type(exc).__name__} (not retried)", retryable=False)


def build_notifiers(settings: Any, scrub_text: ScrubText | None = None, *,
                    slack_client: Any = None, slack_timeout: float = 5.0) -> list[Notifier]:
    """The enabled channels for these settings, each scrubbing texts with `scrub_text`."""
    channels: list[Notifier] = []
    if settings.slack_alerts_enabled and (settings.slack_webhook_url or slack_client is not None):
        channels.append(SlackWebhookNotifier(settings.slack_webhook_url, channel=settings.slack_channel,
                                             client=slack_client, timeout=slack_timeout,
                                             scrub_text=scrub_text))
    if settings.email_alerts_enabled and settings.alert_email_recipients:
        channels.append(DjangoEmailNotifier(settings.alert_email_recipients, scrub_text=scrub_text))
    return channels
