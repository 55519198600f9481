"""Alert channels: backends chosen by dotted path in SENTRY_ALERT_CHANNELS, like Django's mail backends.

A channel is a small class: `from_settings(settings)` returns an instance, or None when the
channel is switched off or not configured, reading only the settings rows its `variables` names
(like a Django backend's settings: the docs' channel tables and `variables_of()` come from
there, and tests/test_alerting_channels.py holds from_settings to them); `send(alert)` makes
one attempt and either returns
(delivered) or raises DeliveryError saying whether another attempt can help. Retrying is the
dispatcher's job, so every channel retries the same way. Adding a channel (a generic webhook,
PagerDuty ...) is one module with one such class and its path added to SENTRY_ALERT_CHANNELS.

Error texts carry status codes and error types only: never a webhook URL, an address, a
password or the alert's content.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.utils.module_loading import import_string

from errorwarden.envvars import Problem, SettingsError, Var
from errorwarden.envvars import variables as declared_variables

if TYPE_CHECKING:
    from errorwarden.settings import Settings


class DeliveryError(Exception):
    """A failed attempt; `retryable` says whether trying again can help, `retry_after` when."""

    def __init__(self, reason: str, *, retryable: bool, retry_after: float | None = None):
        super().__init__(reason)
        self.retryable = retryable
        self.retry_after = retry_after


class Channel:
    """Base of alert channels: one attempt per `send`, configured from the settings."""

    name = "channel"
    # The environment variables (rows of errorwarden.settings.Settings) from_settings reads. A
    # channel configured from Django's settings instead (tests/support/webhook_channel.py) names none.
    variables: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> Channel | None:
        """An instance configured from settings, or None when this channel is off."""
        raise NotImplementedError

    def send(self, alert: dict[str, Any]) -> None:
        """Deliver one already-scrubbed alert, or raise DeliveryError."""
        raise NotImplementedError


def channel_class(path: str) -> type[Channel]:
    """Import one channel class; SettingsError naming SENTRY_ALERT_CHANNELS when it is not one."""
    try:
        found = import_string(path)
    except ImportError:
        found = None
    if not (isinstance(found, type) and issubclass(found, Channel)):
        raise SettingsError([Problem("SENTRY_ALERT_CHANNELS", repr(path),
                                     "dotted paths of errorwarden.alerting.channels.Channel subclasses")])
    unknown = [name for name in found.variables if name not in _settings_rows()]
    if unknown:
        raise SettingsError([Problem("SENTRY_ALERT_CHANNELS", repr(path), "channels whose `variables` are "
                                     "settings rows", f"{', '.join(unknown)} is not one")])
    return found


def _settings_rows() -> dict[str, tuple[str, Var]]:
    """Each variable of the settings table by name: (Settings field name, its row)."""
    from errorwarden.settings import Settings

    return {var.name: (field.name, var) for field, var in declared_variables(Settings)}


def variables_of(channel: type[Channel]) -> list[tuple[str, Var]]:
    """The rows a channel reads, as (Settings field name, Var) in its declared order."""
    rows = _settings_rows()
    return [rows[name] for name in channel.variables]


def load_channels(settings: Settings, paths: Iterable[str] | None = None) -> list[Channel]:
    """The enabled channels among SENTRY_ALERT_CHANNELS (or `paths`), in their order."""
    channels = []
    for path in settings.alert_channels if paths is None else paths:
        channel = channel_class(path).from_settings(settings)
        if channel is not None:
            channels.append(channel)
    return channels


def http_error(status: int, headers: Any, channel: str) -> DeliveryError:
    """429 and 5xx are worth another attempt (after Retry-After when given); other answers are not."""
    if status == 429:
        return DeliveryError(f"{channel}: HTTP 429 rate limited", retryable=True,
                             retry_after=retry_after(headers))
    if status >= 500:
        return DeliveryError(f"{channel}: HTTP {status}", retryable=True, retry_after=retry_after(headers))
    return DeliveryError(f"{channel}: HTTP {status} (not retried)", retryable=False)


def retry_after(headers: Any) -> float | None:
    """Seconds from a Retry-After header, or None (also for an HTTP date: our backoff applies)."""
    value = None
    for name in ("Retry-After", "retry-after"):
        value = value or (headers or {}).get(name)
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


def network_reason(exc: BaseException) -> str:
    """A short, secret-free reason for a network failure."""
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, TimeoutError):
        return "timed out"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    return type(reason).__name__
