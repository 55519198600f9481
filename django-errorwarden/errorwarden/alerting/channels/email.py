"""E-mail through Django's mail API: multipart text and HTML, any Django email backend."""

from __future__ import annotations

import html
import smtplib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from errorwarden.alerting.channels import Channel, DeliveryError, network_reason
from errorwarden.alerting.render import details
from errorwarden.text import cut, for_email_header, for_html, for_terminal, for_terminal_line

if TYPE_CHECKING:
    from errorwarden.settings import Settings

SUBJECT_MAX = 150
ERROR_TYPE_MAX = 60  # a long class path must not push the environment out of the subject
# An unset EMAIL_TIMEOUT means "block forever" to smtplib; a stuck server must not wedge a sender.
FALLBACK_TIMEOUT = 10.0


def email_timeout(configured: float | None) -> float:
    """Seconds one alert e-mail may take, first set wins: `configured` (SENTRY_EMAIL_TIMEOUT_SECONDS,
    or a timeout given in code), Django's EMAIL_TIMEOUT, FALLBACK_TIMEOUT (10 s)."""
    if configured is not None:
        return float(configured)
    from django.conf import settings

    django_timeout = getattr(settings, "EMAIL_TIMEOUT", None)  # Django's own setting
    return float(django_timeout) if django_timeout else FALLBACK_TIMEOUT


def email_subject(alert: dict[str, Any]) -> str:
    """'[CRITICAL] Type: message (environment)' on one line, cut to SUBJECT_MAX characters."""
    error_type = cut(for_email_header(str(alert.get("error_type", ""))), ERROR_TYPE_MAX)
    prefix = for_email_header(f"[{str(alert.get('severity', 'error')).upper()}] {error_type}") + ": "
    suffix = f" ({for_email_header(str(alert.get('environment', '')))})" if alert.get("environment") else ""
    suffix = cut(suffix, 40)
    room = max(10, SUBJECT_MAX - len(prefix) - len(suffix))
    message = for_email_header(str(alert.get("message", "")) or str(alert.get("title", "")))
    return cut(prefix + cut(message, room) + suffix, SUBJECT_MAX)


def email_bodies(alert: dict[str, Any]) -> tuple[str, str]:
    """(plain text, HTML) bodies: captured values show their control and bidi characters as
    escapes in both (a plain-text mail may be read in a terminal), one line each but the message;
    every value is HTML-escaped in the HTML part."""
    rows = [("Alert", for_terminal_line(str(alert.get("title", "")))),
            ("Error", for_terminal_line(str(alert.get("error_type", "")))),
            ("Message", for_terminal(str(alert.get("message", "")))),
            *((name, for_terminal_line(value)) for name, value in details(alert))]
    link, command = str(alert.get("link", "")), str(alert.get("inbox_command", ""))
    label = str(alert.get("link_label") or "View in Sentry")
    # A multi-line message's further lines are indented: none can pass for a row of its own.
    text = "\n".join(f"{name}: {value}".replace("\n", "\n    ") for name, value in rows)
    cells = "".join(f"<tr><th align=\"left\">{html.escape(n)}</th><td>{for_html(v)}</td></tr>"
                    for n, v in rows)
    extra = ""
    if link:
        text += f"\n\n{label}: {link}"
        extra = f'<p><a href="{html.escape(link, quote=True)}">{html.escape(label)}</a></p>'
    elif command:
        text += f"\n\nInspect locally: {command}"
        extra = f"<p>Inspect locally: <code>{html.escape(command)}</code></p>"
    body = f"<html><body><table>{cells}</table>{extra}</body></html>"
    return text + "\n", body


def smtp_error(exc: BaseException) -> DeliveryError:
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
        # smtplib reports a read that timed out as a disconnect; the timeout is its context.
        cause = exc.__context__ if isinstance(exc.__context__, TimeoutError) else exc
        return DeliveryError(f"email: {network_reason(cause)}", retryable=True)
    return DeliveryError(f"email: {type(exc).__name__} (not retried)", retryable=False)


class EmailChannel(Channel):
    """Sends multipart (text + HTML) alert emails through Django's configured email backend."""

    name = "email"
    variables = ("SENTRY_EMAIL_ALERTS_ENABLED", "SENTRY_ALERT_EMAIL_RECIPIENTS",
                 "SENTRY_EMAIL_TIMEOUT_SECONDS")

    def __init__(self, recipients: Iterable[str], *, timeout: float | None = None,
                 from_email: str | None = None):
        self._recipients = list(recipients)
        self._timeout, self._from = timeout, from_email

    @property
    def timeout(self) -> float:
        """This channel's timeout per e-mail (email_timeout(): its own, else EMAIL_TIMEOUT, else 10 s)."""
        return email_timeout(self._timeout)

    @classmethod
    def from_settings(cls, settings: Settings) -> EmailChannel | None:
        """Configured from SENTRY_EMAIL_*; None when email alerts are off or have no recipients."""
        if not (settings.email_alerts_enabled and settings.alert_email_recipients):
            return None
        return cls(settings.alert_email_recipients, timeout=settings.email_timeout)

    def send(self, alert: dict[str, Any]) -> None:
        """Send one email to every recipient; raise DeliveryError when the server refuses or is down."""
        from django.core.mail import EmailMultiAlternatives, get_connection

        text, body = email_bodies(alert)
        message = EmailMultiAlternatives(email_subject(alert), text, self._from, self._recipients,
                                         connection=get_connection(timeout=self.timeout))
        message.attach_alternative(body, "text/html")
        try:
            message.send()
        except Exception as exc:
            raise smtp_error(exc) from None
