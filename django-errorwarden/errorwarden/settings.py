"""Every variable the error-tracking system reads, declared once, parsed once at start-up.

Each field of `Settings` names its environment variable, parser, default and doc line
(errorwarden/envvars.py). `load_settings(environ)` reads them all from one mapping and
reports every bad variable at once; nothing here reads `os.environ` behind a caller's back.
"""

from __future__ import annotations

import difflib
import importlib.util
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from errorwarden.envvars import (
    Invalid,
    Problem,
    SettingsError,
    allows,
    boolean,
    collect,
    env,
    frozen_map,
    install_hint,
    integer,
    is_loopback,
    items,
    mask,
    matching,
    number,
    split_url,
    url,
    variables,
)

__all__ = ["DEFAULT_SERVICE_HOSTS", "Settings", "SettingsError", "load_settings", "mask"]



def default_inbox() -> Path:
    """Beside the project that runs, not beside this package (which may live in site-packages and
    be shared by several projects on one host): var/ in the directory the process runs in when
    its settings are made (the project root under manage.py, gunicorn and celery), not when this
    module is imported."""
    return Path.cwd() / "var" / "sentry_inbox.sqlite3"


def default_scrub_cache() -> Path | None:
    """Where hyperscan's compiled scrub prefilter is kept: the user's cache directory (XDG's
    $XDG_CACHE_HOME, else ~/.cache) when the settings are made, as Path.home() reads $HOME;
    None (no cache) for a user without a home (no $HOME and no passwd entry)."""
    import os

    base = os.environ.get("XDG_CACHE_HOME", "")
    if os.path.isabs(base):
        return Path(base) / "errorwarden"
    try:
        return Path.home() / ".cache" / "errorwarden"
    except (RuntimeError, KeyError):
        return None


# AWS's own hosts; a project adds its providers (SENTRY_SERVICE_HOSTS, or with_overrides at start-up).
DEFAULT_SERVICE_HOSTS: Mapping[str, str] = MappingProxyType({
    "*.amazonaws.com": "s3",
})
DEFAULT_CHANNELS = ("errorwarden.alerting.channels.slack.SlackChannel",
                    "errorwarden.alerting.channels.email.EmailChannel")
_SPEC_PLACEHOLDER_DSN = "https://your-sentry-dsn@sentry.io/project-id"
_DSN_ALLOWED = "a Sentry DSN like https://<public_key>@<host>/<project_id>, or empty for the local inbox"
_KEYS = "comma-separated key names (letters, digits, '_', '-', '.')"


@allows(_DSN_ALLOWED)
def _dsn(raw: str) -> str:
    parts = split_url(raw)
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid(_DSN_ALLOWED)
    if not parts.username:
        raise Invalid(_DSN_ALLOWED, "the public key before '@' is missing")
    project = parts.path.rstrip("/").rsplit("/", 1)[-1]
    if not (project.isascii() and project.isdigit()):
        hint = f"the project id {project!r} must be a number"
        if raw == _SPEC_PLACEHOLDER_DSN:
            hint += (" (this is the spec's placeholder: copy your project's DSN from Sentry's "
                     "Client Keys page)")
        raise Invalid(_DSN_ALLOWED, hint)
    return raw


@allows("an https:// URL (plain http only for loopback hosts)")
def _webhook(raw: str) -> str:
    parts = split_url(raw)
    host = (parts.hostname or "") if parts else ""
    if parts is not None and host and (parts.scheme == "https" or
                                       (parts.scheme == "http" and is_loopback(host))):
        return raw
    raise Invalid("an https:// URL (plain http only for loopback hosts)")


@allows("comma-separated host=service pairs, e.g. storage.example.com=s3")
def _service_hosts(raw: str) -> Mapping[str, str]:
    hosts = dict(DEFAULT_SERVICE_HOSTS)
    for item in (i.strip() for i in raw.split(",") if i.strip()):
        host, sep, service = item.partition("=")
        if not sep or not host.strip() or not re.fullmatch(r"[a-z0-9_-]{1,40}", service.strip()):
            raise Invalid(f"comma-separated host=service pairs, e.g. storage.example.com=s3 "
                          f"({item!r} is not)")
        hosts[host.strip().lower()] = service.strip()
    return frozen_map(hosts)


@allows("a JSON list of rule objects")
def _rules(raw: str) -> tuple[dict[str, Any], ...]:
    try:
        rules = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise Invalid(f"a JSON list of rule objects ({exc})") from None
    if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
        raise Invalid("a JSON list of rule objects")
    return tuple(rules)


@allows("the base URL of your Sentry, e.g. https://sentry.io")
def _base_url(raw: str) -> str:
    parts = split_url(raw)
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid("the base URL of your Sentry, e.g. https://sentry.io")
    return raw.rstrip("/")


@allows("comma-separated pattern=rate pairs, e.g. /api/payments/*=1.0,/api/health*=0 (rates 0 to 1)")
def _sample_rules(raw: str) -> tuple[tuple[str, float], ...]:
    rules = []
    for item in (i.strip() for i in raw.split(",") if i.strip()):
        pattern, sep, rate = item.rpartition("=")
        pattern = pattern.strip()
        if not sep or not pattern.startswith(("/", "*")):
            raise Invalid(f"comma-separated pattern=rate pairs whose pattern starts with / or * ({item!r} "
                          "is not)")
        try:
            value = float(rate)
        except ValueError:
            value = -1.0
        if not 0.0 <= value <= 1.0:
            raise Invalid(f"a rate from 0 to 1 after each pattern ({item!r} is not)")
        rules.append((pattern, value))
    return tuple(rules)


@allows("an http(s) URL using {event_id}, {event_uuid}, {project}, {org}, {issue_id}")
def _issue_template(raw: str) -> str:
    from django.core.exceptions import ImproperlyConfigured

    from errorwarden.issue_links import validate_template

    try:
        return validate_template(raw, org="-")  # SENTRY_ORG is checked with the other fields
    except ImproperlyConfigured as exc:  # its text starts with the variable and value: keep the reason
        reason = str(exc).removeprefix(f"SENTRY_ISSUE_URL_TEMPLATE={raw!r} ").removeprefix("is invalid: ")
        raise Invalid(reason.rstrip(".")) from None


_MONITOR_KEYS = frozenset({"grace", "max_runtime", "enabled"})
_MONITORS_ALLOWED = ('a JSON object of beat entry name to {"grace": s, "max_runtime": s, "enabled": bool}, '
                     'e.g. {"nightly-report": {"max_runtime": 3600}}')


@allows(_MONITORS_ALLOWED)
def _monitors(raw: str) -> Mapping[str, Mapping[str, Any]]:
    try:
        found = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise Invalid(_MONITORS_ALLOWED, str(exc)) from None
    if not isinstance(found, dict):
        raise Invalid(_MONITORS_ALLOWED)
    checked: dict[str, Mapping[str, Any]] = {}
    for name, options in found.items():
        if not isinstance(options, dict) or not set(options) <= _MONITOR_KEYS:
            raise Invalid(_MONITORS_ALLOWED, f"{name!r} has keys outside grace, max_runtime, enabled")
        for key in ("grace", "max_runtime"):
            value = options.get(key, 1)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 1 <= value <= 604_800:
                raise Invalid(_MONITORS_ALLOWED, f"{name!r}: {key} must be 1 to 604800 seconds")
        if not isinstance(options.get("enabled", True), bool):
            raise Invalid(_MONITORS_ALLOWED, f"{name!r}: enabled must be true or false")
        checked[str(name)] = frozen_map(options)
    return frozen_map(checked)


_SILENCE_ALLOWED = ("comma-separated name=minutes pairs (an endpoint's route or a task's name, then the "
                    "silent minutes, 1 to 60), e.g. /api/loans/=10")


@allows(_SILENCE_ALLOWED)
def _silence(raw: str) -> tuple[tuple[str, int], ...]:
    watched = []
    for item in (i.strip() for i in raw.split(",") if i.strip()):
        name, sep, minutes = item.rpartition("=")
        if not sep or not name.strip() or not minutes.strip().isdigit() or not 1 <= int(minutes) <= 60:
            raise Invalid(_SILENCE_ALLOWED, f"{item!r} is not")
        watched.append((name.strip(), int(minutes)))
    return tuple(watched)


_SCRUB_ENGINE = matching(r"auto|hyperscan|re2|python", "one of auto, hyperscan, re2, python")
_SERVER_TYPE = matching(r"auto|sentry|bugsink|glitchtip", "one of auto, sentry, bugsink, glitchtip")
_SWITCH = matching(r"auto|on|off", "one of auto, on, off")
_DOTTED = matching(r"[A-Za-z_][\w.]*", "a dotted path")
_KEY = matching(r"[\w.-]+", "a key name")
_ENVIRONMENT = matching(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}",
                        "letters, digits, '.', '_' or '-' (e.g. development, staging, production), "
                        "at most 64 characters")
_VERSION = matching(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}", "a version like 1.0.0 (letters, digits, '.', '_', "
                    "'+', '-')")
# A release's package part: Sentry refuses '/', white space and '@' in it; the keys of the alert
# counters in Redis carry it too, so two projects on one Redis never share counters.
_NAME = matching(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}",
                 "letters, digits, '.', '_' or '-' (e.g. shop), at most 64 characters")
_CHANNEL = matching(r"[#@]?[a-z0-9][a-z0-9._-]{0,79}",
                    "a Slack channel like #engineering-alerts (lower case, no spaces)")
_ORG = matching(r"[a-z0-9_-]{0,64}", "a Sentry organization slug (lower case letters, digits, '-', '_')")
_EMAIL = matching(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?",
                  "an email address")
_EXCEPTIONS = items(_DOTTED, "comma-separated exception class names or dotted paths")
_RECIPIENTS = items(_EMAIL, "comma-separated email addresses like oncall@example.com")


@allows("a file path")
def _path(raw: str) -> Path:
    return Path(raw)


_CACHE_DIR_ALLOWED = "a directory path, or off"


@allows(_CACHE_DIR_ALLOWED)
def _cache_dir(raw: str) -> Path | None:
    if raw.lower() == "off":
        return None
    path = Path(raw).expanduser()
    if path.exists() and not path.is_dir():
        raise Invalid(_CACHE_DIR_ALLOWED, "it exists and is not a directory: name a directory, or off")
    return path


@dataclass(frozen=True)
class Settings:
    """Everything the error-tracking system reads from the environment, validated."""

    # --- the spec's variables
    dsn: str = env("SENTRY_DSN", "", _dsn, "Where events go; empty keeps them in the local inbox",
                   secret=True, example="https://<public_key>@o1.ingest.sentry.io/<project_id>")
    environment: str = env("SENTRY_ENVIRONMENT", "development", _ENVIRONMENT,
                           "Deployment environment (development, staging, production)")
    traces_sample_rate: float = env("SENTRY_TRACES_SAMPLE_RATE", 0.1, number(0.0, 1.0),
                                    "Share of requests and tasks traced")
    traces_sample_rules: tuple[tuple[str, float], ...] = env(
        "SENTRY_TRACES_SAMPLE_RULES", (), _sample_rules,
        "Per-route trace rates, first match wins, before the never-traced health/static defaults",
        example="/api/payments/*=1.0,/api/health*=0")
    profiles_sample_rate: float = env("SENTRY_PROFILES_SAMPLE_RATE", 0.1, number(0.0, 1.0),
                                      "Share of sessions profiled (trace lifecycle)")
    app_version: str = env("APP_VERSION", "1.0.0", _VERSION, "Release is <APP_NAME>@<APP_VERSION>")
    app_name: str = env("APP_NAME", "", _NAME,
                        "Names the release and this project's alert keys in Redis (empty: the package of "
                        "DJANGO_SETTINGS_MODULE, e.g. shop for shop.settings)")
    critical_error_threshold: int = env("SENTRY_CRITICAL_ERROR_THRESHOLD", 10, integer(),
                                        "Errors of one issue within the burst window that page")
    error_rate_threshold: float = env("SENTRY_ERROR_RATE_THRESHOLD", 0.01, number(0.0, 1.0, low_open=True),
                                      "Share of failed requests within the window that pages")
    email_alerts_enabled: bool = env("SENTRY_EMAIL_ALERTS_ENABLED", True, boolean, "Send alerts by email")
    alert_email_recipients: tuple[str, ...] = env("SENTRY_ALERT_EMAIL_RECIPIENTS", (), _RECIPIENTS,
                                                  "Who gets alert emails",
                                                  example="oncall@example.com,engineering@example.com")
    slack_alerts_enabled: bool = env("SENTRY_SLACK_ALERTS_ENABLED", False, boolean, "Send alerts to Slack")
    slack_webhook_url: str = env("SENTRY_SLACK_WEBHOOK_URL", "", _webhook,
                                 "Slack incoming webhook; required when Slack alerts are on", secret=True,
                                 show_path=False, example="https://hooks.slack.com/services/T000/B000/XXXX")
    slack_channel: str = env("SENTRY_SLACK_CHANNEL", "#engineering-alerts", _CHANNEL,
                             "Channel named in the Slack message")
    # --- alert tuning
    critical_error_window: int = env("SENTRY_CRITICAL_ERROR_WINDOW_SECONDS", 60, integer(1, 86_400),
                                     "Window of the burst rule, seconds")
    error_rate_window: int = env("SENTRY_ERROR_RATE_WINDOW_SECONDS", 300, integer(1, 86_400),
                                 "Window of the error-rate rule, seconds")
    error_rate_min_requests: int = env("SENTRY_ERROR_RATE_MIN_REQUESTS", 100, integer(),
                                       "No error-rate alert below this many requests in the window")
    alert_cooldown: int = env("SENTRY_ALERT_COOLDOWN_SECONDS", 300, integer(1, 86_400),
                              "One alert per rule and issue per cooldown, seconds")
    alert_retry_max_seconds: float = env("SENTRY_ALERT_RETRY_MAX_SECONDS", 60.0, number(0.1, 3600.0),
                                         "Longest wait between two delivery attempts of an alert "
                                         "(jittered backoff from 1 s; retries stop when the cooldown ends)")
    email_timeout: float | None = env("SENTRY_EMAIL_TIMEOUT_SECONDS", None, number(0.5, 300.0),
                                      "One alert e-mail may take this long (connect to last reply); "
                                      "empty: Django's EMAIL_TIMEOUT, else 10 (docs/alerting.md)")
    external_service_threshold: int = env("SENTRY_EXTERNAL_SERVICE_ALERT_THRESHOLD", 1, integer(),
                                          "Failures of one service within the burst window that page")
    regression_alerts: str = env("SENTRY_REGRESSION_ALERTS", "auto", _SWITCH,
                                 "Alert once when an issue resolved in the local dashboard comes back; "
                                 "auto: on except in development")
    alert_channels: tuple[str, ...] = env("SENTRY_ALERT_CHANNELS", DEFAULT_CHANNELS,
                                          items(_DOTTED, "comma-separated dotted paths of channel classes"),
                                          "Alert channel backends (docs/alerting.md)")
    sentry_org: str = env("SENTRY_ORG", "", _ORG, "With SENTRY_DSN: alerts link to the issue in Sentry")
    sentry_url: str = env("SENTRY_URL", "https://sentry.io", _base_url, "Your Sentry's web address")
    issue_url_template: str = env("SENTRY_ISSUE_URL_TEMPLATE", "", _issue_template,
                                  "Alert links; empty: a link that fits the DSN's server (docs/alerting.md)",
                                  example="https://sentry.example.com/organizations/{org}/issues/?query={event_id}")
    server_type: str = env("SENTRY_SERVER_TYPE", "auto", _SERVER_TYPE,
                           "What kind of server the DSN names, for alert links (sentry.io is always SaaS)")
    # --- scheduled work (Celery beat monitors, docs/operations.md)
    monitors_enabled: bool = env("SENTRY_MONITORS_ENABLED", True, boolean,
                                 "Check-ins for every beat task, and pages when one is missed, fails or "
                                 "runs too long")
    monitor_grace: int = env("SENTRY_MONITOR_GRACE_SECONDS", 60, integer(1, 604_800),
                             "A run not started this long after it was due is missed")
    monitor_max_runtime: int = env("SENTRY_MONITOR_MAX_RUNTIME_SECONDS", 1800, integer(1, 604_800),
                                   "A run still going after this many seconds is overlong")
    monitor_overrides: Mapping[str, Mapping[str, Any]] = env(
        "SENTRY_MONITORS", {}, _monitors, "Per beat entry grace, max_runtime or enabled",
        example='{"nightly-report":{"max_runtime":3600}}')
    monitor_check_seconds: float = env("SENTRY_MONITOR_CHECK_SECONDS", 30.0, number(0.1, 3600.0),
                                       "How often each process looks for missed and overlong runs")
    monitor_failure_threshold: int = env("SENTRY_MONITOR_FAILURE_THRESHOLD", 1, integer(1, 10_000),
                                         "Failed runs of one monitor within the failure window that page")
    monitor_failure_window: int = env("SENTRY_MONITOR_FAILURE_WINDOW_SECONDS", 3600, integer(1, 604_800),
                                      "Window of the monitor failure rule, seconds")
    monitor_alert_cooldown: int = env("SENTRY_MONITOR_ALERT_COOLDOWN_SECONDS", 3600, integer(1, 604_800),
                                      "One page per monitor and finding per cooldown, seconds")
    silence_watch: tuple[tuple[str, int], ...] = env(
        "SENTRY_SILENCE_WATCH", (), _silence, "Endpoints or tasks that page when steady traffic stops for "
        "this many minutes", example="/api/loans/=10,library.tasks.send_reminders=15")
    silence_steady_minutes: int = env("SENTRY_SILENCE_STEADY_MINUTES", 60, integer(1, 300),
                                      "Minutes of steady traffic before a silence counts")
    silence_min_per_minute: int = env("SENTRY_SILENCE_MIN_PER_MINUTE", 1, integer(1, 1_000_000),
                                      "Requests or runs each of those minutes must have had")
    # --- scrubbing, grouping, performance
    ignore_errors: tuple[str, ...] = env("SENTRY_IGNORE_ERRORS", (), _EXCEPTIONS, "More exceptions to drop",
                                         example="myapp.errors.Expected")
    scrub_extra_keys: tuple[str, ...] = env("SENTRY_SCRUB_EXTRA_KEYS", (), items(_KEY, _KEYS),
                                            "More key names to scrub", example="loyalty_number")
    scrub_engine: str = env("SENTRY_SCRUB_ENGINE", "auto", _SCRUB_ENGINE,
                            "Which prefilter the scrubber uses: auto takes hyperscan, else google-re2, "
                            "else the pure-Python path (docs/scrubbing.md)")
    scrub_cache_dir: Path | None = env("SENTRY_SCRUB_CACHE_DIR", default_scrub_cache, _cache_dir,
                                       "Where the compiled hyperscan prefilter is kept, so only the "
                                       "first process on a machine compiles it (default "
                                       "$XDG_CACHE_HOME/errorwarden, else ~/.cache/errorwarden); off: "
                                       "compile in every process")
    scrub_safe_keys: tuple[str, ...] = env("SENTRY_SCRUB_SAFE_KEYS", (), items(_KEY, _KEYS),
                                           "Key names that must survive scrubbing", example="token_count")
    service_hosts: Mapping[str, str] = env("SENTRY_SERVICE_HOSTS", dict(DEFAULT_SERVICE_HOSTS),
                                           _service_hosts, "host=service pairs added to the service map",
                                           example="storage.example.com=s3")
    measure_outgoing: bool = env("SENTRY_MEASURE_OUTGOING", True, boolean,
                                 "With the local inbox: time every call to a known service for the "
                                 "dashboard by wrapping urllib3's and httpx's send methods; false leaves "
                                 "both libraries untouched")
    grouping_rules: tuple[dict[str, Any], ...] = env("SENTRY_GROUPING_RULES", (), _rules,
                                                     "Grouping rules tried before the built-in ones "
                                                     "(docs/grouping.md)")
    slow_query_ms: int = env("SENTRY_SLOW_QUERY_MS", 100, integer(1, 600_000),
                             "A statement slower than this many milliseconds is a slow query")
    n_plus_one_threshold: int = env("SENTRY_N_PLUS_ONE_THRESHOLD", 5, integer(2, 10_000),
                                    "Repeats of one SELECT shape in a request that make an N+1")
    inbox_path: Path = env("SENTRY_INBOX_PATH", default_inbox, _path,
                           "The local inbox file (default var/sentry_inbox.sqlite3 in the directory "
                           "the process starts in)")
    inbox_max_events: int = env("SENTRY_INBOX_MAX_EVENTS", 10_000, integer(10, 10_000_000),
                                "Events and transactions the local inbox keeps")
    alert_spool_path: Path | None = env("SENTRY_ALERT_SPOOL_PATH", None, _path,
                                        "The durable alert queue shared by this host's processes "
                                        "(default sentry_alerts.sqlite3 beside the inbox)")
    # --- delivery to Sentry (the outbox)
    outbox_path: Path | None = env("SENTRY_OUTBOX_PATH", None, _path,
                                   "Where envelopes Sentry could not take wait (default "
                                   "sentry_outbox.sqlite3 beside the inbox)")
    outbox_max_envelopes: int = env("SENTRY_OUTBOX_MAX_ENVELOPES", 10_000, integer(1, 10_000_000),
                                    "The outbox holds at most this many envelopes (oldest dropped first)")
    outbox_max_mb: int = env("SENTRY_OUTBOX_MAX_MB", 100, integer(1, 100_000),
                             "The outbox holds at most this many megabytes (oldest dropped first)")
    outbox_timeout: float = env("SENTRY_TRANSPORT_TIMEOUT_SECONDS", 10.0, number(0.5, 60.0),
                                "One HTTP request to Sentry may take this long before it is spooled")
    storm_keep: int = env("SENTRY_STORM_KEEP", 10, integer(1, 10_000),
                          "Events kept per issue and storm window (outbox, local inbox); all are counted")
    storm_window: float = env("SENTRY_STORM_WINDOW_SECONDS", 60.0, number(1.0, 3600.0),
                              "The storm sampling window")
    shutdown_timeout: float = env("SENTRY_SHUTDOWN_TIMEOUT_SECONDS", 2.0, number(0.0, 60.0),
                                  "At exit, sending may take this long; what is left is spooled")
    # --- shared services
    redis_url: str = env("REDIS_URL", "", url(("redis", "rediss", "unix")),
                         "Shares alert counters across processes", secret=True,
                         example="redis://127.0.0.1:6379/0")
    celery_broker_url: str = env("CELERY_BROKER_URL", "", url(("redis", "rediss", "amqp", "amqps", "pyamqp",
                                                                "memory")),
                                 "Alert delivery through Celery; empty: in-process threads", secret=True,
                                 example="amqp://guest:guest@127.0.0.1:5672//")

    @property
    def release(self) -> str:
        """The release name Sentry groups deploys by."""
        return f"{self.app_name or 'django'}@{self.app_version}"

    @property
    def alert_spool(self) -> Path:
        """Where fired alerts wait for delivery (SENTRY_ALERT_SPOOL_PATH, else beside the inbox)."""
        return self.alert_spool_path or self.inbox_path.with_name("sentry_alerts.sqlite3")

    @property
    def redis_prefix(self) -> str:
        """The prefix of every key this project keeps in Redis (alert counters, cooldowns, beat
        monitor state): `<APP_NAME>:alerts:<SENTRY_ENVIRONMENT>:`, so two projects or two
        environments sharing one Redis never share a counter."""
        return f"{self.app_name}:alerts:{self.environment}:"

    @property
    def outbox_spool(self) -> Path:
        """Where envelopes Sentry could not take wait (SENTRY_OUTBOX_PATH, else beside the inbox)."""
        return self.outbox_path or self.inbox_path.with_name("sentry_outbox.sqlite3")

    @property
    def monitors_path(self) -> Path:
        """The local check-in history and monitor state (sentry_monitors.sqlite3 beside the inbox)."""
        return self.inbox_path.with_name("sentry_monitors.sqlite3")

    @property
    def outbox_max_bytes(self) -> int:
        """SENTRY_OUTBOX_MAX_MB in bytes, as the outbox reads it."""
        return self.outbox_max_mb * 1024 * 1024

    @property
    def regression_alerts_on(self) -> bool:
        """Whether the "regression" rule fires (SENTRY_REGRESSION_ALERTS; auto: outside development)."""
        if self.regression_alerts == "auto":
            return self.environment != "development"
        return self.regression_alerts == "on"

    @property
    def local_inbox(self) -> bool:
        """True when events go to the local SQLite inbox instead of a Sentry server."""
        return self.dsn == ""

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with some fields changed (tests and the demo use this)."""
        return replace(self, **changes)


def collect_settings(environ: Mapping[str, str], problems: list[Problem]) -> Settings:
    """Settings from `environ`; every bad variable is added to `problems` (and keeps its default)."""
    settings = Settings(**collect(Settings, environ, problems))
    if "{org}" in settings.issue_url_template and not settings.sentry_org:
        problems.append(Problem("SENTRY_ISSUE_URL_TEMPLATE", repr(settings.issue_url_template),
                                "a template whose placeholders are known", "it uses {org}: set SENTRY_ORG"))
    if settings.slack_alerts_enabled and not settings.slack_webhook_url and \
            not any(p.name == "SENTRY_SLACK_WEBHOOK_URL" for p in problems):
        shown = repr(str(environ.get("SENTRY_SLACK_ALERTS_ENABLED", "")).strip())
        problems.append(Problem("SENTRY_SLACK_ALERTS_ENABLED", shown, "Slack alerts need a webhook",
                                "SENTRY_SLACK_WEBHOOK_URL is empty: set the webhook URL or disable "
                                "Slack alerts"))
    if not settings.app_name:
        settings = replace(settings, app_name=_project_name(environ))
    for variable, module, extra in _needs_extras(settings):
        if importlib.util.find_spec(module) is None:
            shown = repr(str(environ.get(variable, "")).strip())
            problems.append(Problem(variable, shown, f"needs {module}, which is not installed",
                                    install_hint(extra)))
    return settings


def _project_name(environ: Mapping[str, str]) -> str:
    """APP_NAME's fallback: DJANGO_SETTINGS_MODULE's package ('shop.settings' -> 'shop'), else 'django'."""
    package = str(environ.get("DJANGO_SETTINGS_MODULE") or "").split(".")[0]
    return package if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", package) else "django"


def _needs_extras(settings: Settings) -> list[tuple[str, str, str]]:
    """(variable, module, extra) for each configured feature that needs an optional library."""
    wanted = []
    if settings.slack_alerts_enabled:
        wanted.append(("SENTRY_SLACK_ALERTS_ENABLED", "slack_sdk", "slack"))
    if settings.redis_url:
        wanted.append(("REDIS_URL", "redis", "redis"))
    if settings.celery_broker_url:
        wanted.append(("CELERY_BROKER_URL", "celery", "celery"))
    if settings.scrub_engine in ("re2", "hyperscan"):
        wanted.append(("SENTRY_SCRUB_ENGINE", settings.scrub_engine, "fast"))
    return wanted


# Where the variable table is: the wheel ships no docs, so a message names the page, not a path.
VARIABLE_TABLE = "the variable table is the Configuration page of django-errorwarden's documentation"
# SENTRY_* variables other tools read, so a check does not call them misspelt: sentry-sdk itself
# (sentry_sdk 2.76's os.environ reads: client.py, scope.py, utils.py, spotlight.py, transport.py)
# and Sentry's command-line tool (docs.sentry.io/cli/configuration; SENTRY_LOAD_DOTENV: its 1.24.0
# release notes), which a deploy job may run with the app's environment.
SENTRY_SDK_VARIABLES = frozenset({
    "SENTRY_DSN", "SENTRY_RELEASE", "SENTRY_ENVIRONMENT", "SENTRY_DEBUG", "SENTRY_KEEP_ALIVE",
    "SENTRY_USE_ENVIRONMENT", "SENTRY_TRACE", "SENTRY_BAGGAGE", "SENTRY_SPOTLIGHT",
    "SENTRY_SPOTLIGHT_ON_ERROR", "SENTRY_SPOTLIGHT_MIDDLEWARE", "SENTRY_PRINT_ENVELOPES",
})
SENTRY_CLI_VARIABLES = frozenset({
    "SENTRY_AUTH_TOKEN", "SENTRY_API_KEY", "SENTRY_URL", "SENTRY_ORG", "SENTRY_PROJECT",
    "SENTRY_LOAD_DOTENV",
})


def variable_names() -> frozenset[str]:
    """The names of every variable errorwarden reads (the Settings table)."""
    return frozenset(var.name for _, var in variables(Settings))


def closest_name(name: str, known: frozenset[str] | set[str]) -> str | None:
    """The known name `name` most likely misspells (difflib), or None when none is close.

    The shared SENTRY_ prefix is left out of the comparison, or every SENTRY_ name would look alike.
    """
    def core(text: str) -> str:
        return text.upper().removeprefix("SENTRY_")

    cores: dict[str, str] = {}
    for candidate in sorted(known):
        cores.setdefault(core(candidate), candidate)
    match = difflib.get_close_matches(core(name), list(cores), n=1)
    return cores[match[0]] if match else None


def unread_sentry_variables(environ: Mapping[str, str]) -> list[tuple[str, str | None]]:
    """Each SENTRY_* variable in `environ` that neither errorwarden, sentry-sdk nor sentry-cli reads,
    sorted, with the known name it most likely misspells (None when none is close)."""
    ours = variable_names()
    known = ours | SENTRY_SDK_VARIABLES | SENTRY_CLI_VARIABLES
    return [(name, closest_name(name, known)) for name in sorted(environ)
            if name.startswith("SENTRY_") and name not in known]


def merged_environ(overrides: Any, environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` under a project's ERROR_TRACKING dict (its values win), as one mapping of strings.

    Keys are the variables' names (SENTRY_DSN, ...); values may be strings, numbers, booleans or
    lists of strings (joined by commas). Anything else is refused naming the key and what is allowed.
    """
    if not isinstance(overrides, Mapping):
        raise SettingsError([Problem("ERROR_TRACKING", type(overrides).__name__, "a dict of variable names "
                                     "to values", "e.g. {'SENTRY_ENVIRONMENT': 'staging'}")])
    known = variable_names()
    problems: list[Problem | str] = []
    merged = dict(environ)
    for key, value in overrides.items():
        if key not in known:
            guess = closest_name(str(key), known)
            meant = f"; did you mean {guess}?" if guess else "."
            problems.append(f"ERROR_TRACKING[{key!r}] is not a variable errorwarden reads{meant} "
                            f"Hint: {VARIABLE_TABLE}.")
        elif isinstance(value, bool):
            merged[key] = "true" if value else "false"
        elif isinstance(value, (str, int, float)):
            merged[key] = str(value)
        elif isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            merged[key] = ",".join(value)
        else:
            problems.append(Problem(f"ERROR_TRACKING[{key!r}]", type(value).__name__,
                                    "a string, number, boolean or list of strings"))
    if problems:
        raise SettingsError(problems)
    return merged


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Parse and validate `environ`; SettingsError (an ImproperlyConfigured) lists every bad variable."""
    problems: list[Problem] = []
    settings = collect_settings(environ, problems)
    if problems:
        raise SettingsError(problems)
    return settings
