"""The outbox's knobs, read from a settings-like object, and the transport factory for sentry_sdk.init."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

OUTBOX_FILE = "sentry_outbox.sqlite3"


@dataclass(frozen=True)
class OutboxOptions:
    """How the outbox transport spools, retries and samples; each field may come from settings."""

    outbox_path: Path | None = None  # default: beside the local inbox, var/sentry_outbox.sqlite3
    outbox_max_envelopes: int = 10_000
    outbox_max_bytes: int = 100 * 1024 * 1024
    outbox_timeout: float = 10.0  # one HTTP request to Sentry, connect to last byte
    outbox_retry_first: float = 1.0  # backoff after the first failure, doubling ...
    outbox_retry_max: float = 60.0  # ... up to this
    outbox_poll: float = 30.0  # how often rows that are not due yet (leased, held) are looked at again
    outbox_max_hold: float = 600.0  # rate limits longer than this drop items, as the SDK does
    outbox_lease: float = 60.0  # a claimed row is no other process's for this long
    outbox_batch: int = 50  # replayed envelopes in the SDK's queue at once (it holds 100)
    outbox_pending_max: int = 1000  # envelopes in memory waiting for the spool writer
    outbox_start_delay: float = 1.0  # a new process looks for rows left by others after this
    storm_keep: int = 10  # spooled events kept per issue and window ...
    storm_window: float = 60.0  # ... of this many seconds; the rest are counted
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
    def from_settings(cls, settings: Any, **overrides: Any) -> OutboxOptions:
        """Each field from overrides, else the settings attribute of the same name, else its default."""
        values = {}
        for field in fields(cls):
            if field.name in overrides:
                values[field.name] = overrides.pop(field.name)
            elif getattr(settings, field.name, None) is not None:
                values[field.name] = getattr(settings, field.name)
        if overrides:
            raise TypeError(f"unknown outbox option(s): {', '.join(sorted(overrides))}")
        options = cls(**values)
        if options.outbox_path is None:
            inbox = getattr(settings, "inbox_path", None)
            folder = Path(inbox).parent if inbox else Path("var")
            options = cls(**{**values, "outbox_path": folder / OUTBOX_FILE})
        return options


def transport_for(settings: Any, client_options: dict[str, Any] | None = None, *, losses: Any = None,
                  **overrides: Any):
    """An OutboxTransport for settings.dsn, ready for sentry_sdk.init(transport=...).

    client_options are sentry-sdk options the transport reads (transport_queue_size, proxies,
    ca_certs ...); the SDK's defaults fill the rest. losses: the runtime's LossLedger (a new one when
    not given). overrides set OutboxOptions fields by name.
    """
    from sentry_sdk.consts import DEFAULT_OPTIONS

    from errorwarden.delivery.transport import OutboxTransport

    dsn = getattr(settings, "dsn", "")
    if not dsn:
        raise ValueError("the outbox transport needs a DSN; without one, use the local inbox transport")
    options = {**DEFAULT_OPTIONS, **(client_options or {}), "dsn": dsn}
    return OutboxTransport(options, OutboxOptions.from_settings(settings, **overrides), losses=losses)
