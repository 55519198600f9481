"""One immutable, validated settings object built from the environment, once, at start-up."""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$"
)
_ENVIRONMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_CHANNEL = re.compile(r"^[#@]?[a-z0-9][a-z0-9._-]{0,79}$")
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}$")

DEFAULT_SERVICE_HOSTS: Mapping[str, str] = {
    "*.amazonaws.com": "s3",
    "api.clerk.com": "clerk",
    "api.resend.com": "resend",
}


def _bad(name: str, value: str, allowed: str, secret: bool = False) -> ImproperlyConfigured:
    shown = mask(value) if secret else repr(value)
    return ImproperlyConfigured(f"{name}={shown} is invalid: {allowed}.")


def mask(value: str) -> str:
    """Show a secret's shape without its content: the scheme and, past credentials, the host."""
    parts = _split(value) if "://" in value else None
    if parts is None or not parts.scheme:
        return "'***'" if value else "''"
    # Without '@' a DSN's key would sit where the host is, so the host is shown only after one.
    host = parts.hostname if "@" in parts.netloc else None
    return f"'{parts.scheme}://***@{host}/***'" if host else f"'{parts.scheme}://***'"


def _split(value: str):
    """urlsplit, or None for a URL it cannot parse (e.g. an unclosed IPv6 bracket)."""
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises ValueError on a malformed port
        return parts
    except ValueError:
        return None


class EnvReader:
    """Reads typed values from one mapping, naming the variable in every error."""

    def __init__(self, environ: Mapping[str, str]):
        self._env = environ

    def raw(self, name: str, default: str = "") -> str:
        return str(self._env.get(name, default)).strip()

    def string(self, name: str, default: str, pattern: re.Pattern | None = None,
               allowed: str = "") -> str:
        value = self.raw(name, default)
        if pattern is not None and not pattern.match(value):
            raise _bad(name, value, allowed)
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value = self.raw(name)
        if value == "":
            return default
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise _bad(name, value, "use one of true/false, 1/0, yes/no, on/off (any case)")

    def number(self, name: str, default: float, low: float, high: float,
               low_open: bool = False) -> float:
        value = self.raw(name)
        if value == "":
            return default
        bracket = "(" if low_open else "["
        allowed = f"a number in {bracket}{low:g}, {high:g}]"
        try:
            number = float(value)
        except ValueError:
            raise _bad(name, value, allowed) from None
        if number != number or number > high or number < low or (low_open and number == low):
            raise _bad(name, value, allowed)
        return number

    def integer(self, name: str, default: int, low: int = 1, high: int = 10**9) -> int:
        value = self.raw(name)
        if value == "":
            return default
        allowed = f"a whole number from {low} to {high}"
        try:
            number = int(value)
        except ValueError:
            raise _bad(name, value, allowed) from None
        if not low <= number <= high:
            raise _bad(name, value, allowed)
        return number

    def items(self, name: str, check: Callable[[str], bool] | None = None,
              allowed: str = "") -> tuple[str, ...]:
        values = tuple(v.strip() for v in self.raw(name).split(",") if v.strip())
        for v in values:
            if check is not None and not check(v):
                raise _bad(name, v, allowed)
        return values


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _validate_dsn(value: str) -> str:
    if value == "":
        return value
    allowed = ("a Sentry DSN like https://<public_key>@<host>/<project_id>, "
               "or empty for the local inbox")
    parts = _split(value)
    project = parts.path.rstrip("/").rsplit("/", 1)[-1] if parts else ""
    ok = parts is not None and parts.scheme in ("http", "https") and parts.username and parts.hostname
    if not (ok and project.isascii() and project.isdigit()):
        raise _bad("SENTRY_DSN", value, allowed, secret=True)
    return value


def _validate_webhook(value: str, enabled: bool) -> str:
    name = "SENTRY_SLACK_WEBHOOK_URL"
    if value == "":
        if enabled:
            raise ImproperlyConfigured(
                "SENTRY_SLACK_ALERTS_ENABLED is true but SENTRY_SLACK_WEBHOOK_URL is empty: "
                "set the webhook URL or disable Slack alerts."
            )
        return value
    parts = _split(value)
    host = (parts.hostname or "") if parts else ""
    if parts is not None and host and (parts.scheme == "https" or
                                       (parts.scheme == "http" and _is_loopback(host))):
        return value
    raise _bad(name, value, "an https:// URL (plain http only for loopback hosts)", secret=True)


def _parse_service_hosts(raw: str) -> dict[str, str]:
    hosts = dict(DEFAULT_SERVICE_HOSTS)
    for item in (i.strip() for i in raw.split(",") if i.strip()):
        host, sep, service = item.partition("=")
        if not sep or not host.strip() or not re.match(r"^[a-z0-9_-]{1,40}$", service.strip()):
            raise _bad("SENTRY_SERVICE_HOSTS", item,
                       "comma-separated host=service pairs, e.g. storage.example.com=s3")
        hosts[host.strip().lower()] = service.strip()
    return hosts


def _parse_rules(raw: str) -> tuple[dict[str, Any], ...]:
    if raw == "":
        return ()
    try:
        rules = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise _bad("SENTRY_GROUPING_RULES", raw[:80], f"a JSON list of rule objects ({exc})") from None
    if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
        raise _bad("SENTRY_GROUPING_RULES", raw[:80], "a JSON list of rule objects")
    return tuple(rules)


@dataclass(frozen=True)
class Settings:
    """Everything the error-tracking system reads from the environment, validated."""

    dsn: str = field(default="", repr=False)
    environment: str = "development"
    traces_sample_rate: float = 0.1
    profiles_sample_rate: float = 0.1
    app_version: str = "1.0.0"
    critical_error_threshold: int = 10
    critical_error_window: int = 60
    error_rate_threshold: float = 0.01
    error_rate_window: int = 300
    error_rate_min_requests: int = 100
    alert_cooldown: int = 300
    external_service_threshold: int = 1
    email_alerts_enabled: bool = True
    alert_email_recipients: tuple[str, ...] = ()
    slack_alerts_enabled: bool = False
    slack_webhook_url: str = field(default="", repr=False)
    slack_channel: str = "#engineering-alerts"
    sentry_org: str = ""
    sentry_url: str = "https://sentry.io"
    ignore_errors: tuple[str, ...] = ()
    scrub_extra_keys: tuple[str, ...] = ()
    scrub_safe_keys: tuple[str, ...] = ()
    service_hosts: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType(dict(DEFAULT_SERVICE_HOSTS)))
    grouping_rules: tuple[dict[str, Any], ...] = ()
    slow_query_ms: int = 100
    n_plus_one_threshold: int = 5
    inbox_path: Path = BASE_DIR / "var" / "sentry_inbox.sqlite3"
    inbox_max_events: int = 10_000
    redis_url: str = field(default="", repr=False)
    celery_broker_url: str = field(default="", repr=False)

    @property
    def release(self) -> str:
        """The release name Sentry groups deploys by."""
        return f"muejam-backend@{self.app_version}"

    @property
    def local_inbox(self) -> bool:
        """True when events go to the local SQLite inbox instead of a Sentry server."""
        return self.dsn == ""

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with some fields changed (tests and the demo use this)."""
        return replace(self, **changes)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Parse and validate the environment; raise ImproperlyConfigured naming the bad variable."""
    r = EnvReader(os.environ if environ is None else environ)
    slack_enabled = r.boolean("SENTRY_SLACK_ALERTS_ENABLED", False)
    inbox = r.raw("SENTRY_INBOX_PATH")
    return Settings(
        dsn=_validate_dsn(r.raw("SENTRY_DSN")),
        environment=r.string("SENTRY_ENVIRONMENT", "development", _ENVIRONMENT,
                             "letters, digits, '.', '_' or '-' (e.g. development, staging, "
                             "production), at most 64 characters"),
        traces_sample_rate=r.number("SENTRY_TRACES_SAMPLE_RATE", 0.1, 0.0, 1.0),
        profiles_sample_rate=r.number("SENTRY_PROFILES_SAMPLE_RATE", 0.1, 0.0, 1.0),
        app_version=r.string("APP_VERSION", "1.0.0", _VERSION,
                             "a version like 1.0.0 (letters, digits, '.', '_', '+', '-')"),
        critical_error_threshold=r.integer("SENTRY_CRITICAL_ERROR_THRESHOLD", 10),
        critical_error_window=r.integer("SENTRY_CRITICAL_ERROR_WINDOW_SECONDS", 60, 1, 86_400),
        error_rate_threshold=r.number("SENTRY_ERROR_RATE_THRESHOLD", 0.01, 0.0, 1.0, low_open=True),
        error_rate_window=r.integer("SENTRY_ERROR_RATE_WINDOW_SECONDS", 300, 1, 86_400),
        error_rate_min_requests=r.integer("SENTRY_ERROR_RATE_MIN_REQUESTS", 100),
        alert_cooldown=r.integer("SENTRY_ALERT_COOLDOWN_SECONDS", 300, 1, 86_400),
        external_service_threshold=r.integer("SENTRY_EXTERNAL_SERVICE_ALERT_THRESHOLD", 1),
        email_alerts_enabled=r.boolean("SENTRY_EMAIL_ALERTS_ENABLED", True),
        alert_email_recipients=r.items("SENTRY_ALERT_EMAIL_RECIPIENTS", lambda v: bool(_EMAIL.match(v)),
                                       "comma-separated email addresses like oncall@example.com"),
        slack_alerts_enabled=slack_enabled,
        slack_webhook_url=_validate_webhook(r.raw("SENTRY_SLACK_WEBHOOK_URL"), slack_enabled),
        slack_channel=r.string("SENTRY_SLACK_CHANNEL", "#engineering-alerts", _CHANNEL,
                               "a Slack channel like #engineering-alerts (lower case, no spaces)"),
        sentry_org=r.string("SENTRY_ORG", "", re.compile(r"^[a-z0-9_-]{0,64}$"),
                            "a Sentry organization slug (lower case letters, digits, '-', '_')"),
        sentry_url=_validate_sentry_url(r.raw("SENTRY_URL", "https://sentry.io")),
        ignore_errors=r.items("SENTRY_IGNORE_ERRORS",
                              lambda v: bool(re.match(r"^[A-Za-z_][\w.]*$", v)),
                              "comma-separated exception class names or dotted paths"),
        scrub_extra_keys=r.items("SENTRY_SCRUB_EXTRA_KEYS", lambda v: bool(re.match(r"^[\w.-]+$", v)),
                                 "comma-separated key names (letters, digits, '_', '-', '.')"),
        scrub_safe_keys=r.items("SENTRY_SCRUB_SAFE_KEYS", lambda v: bool(re.match(r"^[\w.-]+$", v)),
                                "comma-separated key names (letters, digits, '_', '-', '.')"),
        service_hosts=MappingProxyType(_parse_service_hosts(r.raw("SENTRY_SERVICE_HOSTS"))),
        grouping_rules=_parse_rules(r.raw("SENTRY_GROUPING_RULES")),
        slow_query_ms=r.integer("SENTRY_SLOW_QUERY_MS", 100, 1, 600_000),
        n_plus_one_threshold=r.integer("SENTRY_N_PLUS_ONE_THRESHOLD", 5, 2, 10_000),
        inbox_path=Path(inbox) if inbox else BASE_DIR / "var" / "sentry_inbox.sqlite3",
        inbox_max_events=r.integer("SENTRY_INBOX_MAX_EVENTS", 10_000, 10, 10_000_000),
        redis_url=_validate_url("REDIS_URL", r.raw("REDIS_URL"), ("redis", "rediss", "unix")),
        celery_broker_url=_validate_url("CELERY_BROKER_URL", r.raw("CELERY_BROKER_URL"),
                                        ("redis", "rediss", "amqp", "amqps", "pyamqp", "memory")),
    )


def _validate_sentry_url(value: str) -> str:
    parts = _split(value)
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise _bad("SENTRY_URL", value, "the base URL of your Sentry, e.g. https://sentry.io")
    return value.rstrip("/")


def _validate_url(name: str, value: str, schemes: tuple[str, ...]) -> str:
    parts = _split(value) if value else None
    if value and (parts is None or parts.scheme not in schemes):
        raise _bad(name, value, f"a URL with scheme {', '.join(schemes)}", secret=True)
    return value


_current: Settings | None = None


def get_settings() -> Settings:
    """The settings in force: those init_sentry() was given, else parsed from the environment."""
    global _current
    if _current is None:
        _current = load_settings()
    return _current


def set_settings(settings: Settings) -> None:
    """Install settings for the process (init_sentry and tests)."""
    global _current
    _current = settings
