"""The outbox's knobs, taken from the settings, and the transport factory for sentry_sdk.init."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from errorwarden.settings import Settings


@dataclass(frozen=True)
class OutboxOptions:
    """How the outbox transport spools, retries and samples.

    The first six fields are the operator's: required here, they come from the settings
    (`from_settings`), whose table in errorwarden/settings.py holds each one's variable and
    default. The rest are the outbox's internal pacing, not in the settings table; their one
    default is here, and a Settings subclass that declares a field of the same name sets it (the
    reliability suite's, tests/reliability/settings.py, shortens the retries that way).
    """

    outbox_path: Path  # SENTRY_OUTBOX_PATH, else sentry_outbox.sqlite3 beside the inbox
    outbox_max_envelopes: int  # SENTRY_OUTBOX_MAX_ENVELOPES
    outbox_max_bytes: int  # SENTRY_OUTBOX_MAX_MB in bytes
    outbox_timeout: float  # SENTRY_TRANSPORT_TIMEOUT_SECONDS: one HTTP request, connect to last byte
    storm_keep: int  # SENTRY_STORM_KEEP: spooled events kept per issue and window ...
    storm_window: float  # SENTRY_STORM_WINDOW_SECONDS: ... of this many seconds; the rest are counted
    outbox_retry_first: float = 1.0  # backoff after the first failure, doubling ...
    outbox_retry_max: float = 60.0  # ... up to this
    outbox_poll: float = 30.0  # how often rows that are not due yet (leased, held) are looked at again
    outbox_max_hold: float = 600.0  # rate limits longer than this drop items, as the SDK does
    outbox_lease: float = 60.0  # a claimed row is no other process's for this long
    outbox_batch: int = 50  # replayed envelopes in the SDK's queue at once (it holds 100)
    outbox_pending_max: int = 1000  # envelopes in memory waiting for the spool writer
    outbox_start_delay: float = 1.0  # a new process looks for rows left by others after this
    storm_max_issues: int = 1000

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if field.name != "outbox_path" and not (isinstance(value, int | float) and value > 0):
                raise ValueError(f"{field.name} must be a positive number, not {value!r}")
        if self.outbox_retry_first > self.outbox_retry_max:
            raise ValueError(f"outbox_retry_first ({self.outbox_retry_first}) must not exceed "
                             f"outbox_retry_max ({self.outbox_retry_max})")

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> OutboxOptions:
        """The settings' values for the operator's knobs; `overrides` set any field by name (tests)."""
        known = {field.name for field in fields(cls)}
        unknown = set(overrides) - known
        if unknown:
            raise TypeError(f"unknown outbox option(s): {', '.join(sorted(unknown))}")
        values: dict[str, Any] = dict(
            outbox_path=settings.outbox_spool, outbox_max_envelopes=settings.outbox_max_envelopes,
            outbox_max_bytes=settings.outbox_max_bytes, outbox_timeout=settings.outbox_timeout,
            storm_keep=settings.storm_keep, storm_window=settings.storm_window)
        declared = {field.name for field in fields(settings)} & known  # a subclass's own fields
        values.update({name: getattr(settings, name) for name in declared - set(values)})
        return cls(**{**values, **overrides})


def outbox_transport_for(settings: Settings, client_options: dict[str, Any] | None = None, *,
                  losses: Any = None, pins: Any = None, **overrides: Any):
    """An OutboxTransport for settings.dsn, ready for sentry_sdk.init(transport=...).

    client_options are sentry-sdk options the transport reads (transport_queue_size, proxies,
    ca_certs ...); the SDK's defaults fill the rest. losses: the runtime's LossLedger (a new one when
    not given); pins: the runtime's Pins (events an alert names, kept in a storm). overrides set
    OutboxOptions fields by name.
    """
    from sentry_sdk.consts import DEFAULT_OPTIONS

    from errorwarden.delivery.transport import OutboxTransport

    if not settings.dsn:
        raise ValueError("the outbox transport needs a DSN; without one, use the local inbox transport")
    options = {**DEFAULT_OPTIONS, **(client_options or {}), "dsn": settings.dsn}
    return OutboxTransport(options, OutboxOptions.from_settings(settings, **overrides), losses=losses,
                           pins=pins)
