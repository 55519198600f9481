"""The Django project's own variables, declared the same way as the error-tracking ones.

config/settings.py reads both tables from one environment in one pass, so every bad variable of
either is reported at once (errorwarden/envvars.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from errorwarden.envvars import Invalid, allows, boolean, env, integer, items, matching, split_url

DB_ALLOWED = ("postgres://user:password@host:5432/name or sqlite:///path/to/db.sqlite3, "
              "or unset for the SQLite default")
_ENGINES = ("django.db.backends.postgresql", "django.db.backends.sqlite3")


@allows(DB_ALLOWED)
def database_url(raw: str) -> dict[str, Any]:
    """A Django DATABASES entry from a postgres:// or sqlite:// URL."""
    import dj_database_url

    try:
        config = dj_database_url.parse(raw)
    except Exception:  # ParseError, or ValueError for an unknown scheme
        raise Invalid(DB_ALLOWED) from None
    if config.get("ENGINE") not in _ENGINES:
        raise Invalid(DB_ALLOWED, "only PostgreSQL and SQLite are supported")
    if config["ENGINE"].endswith("postgresql"):
        config.setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
    return config


@allows("an http:// or https:// URL")
def _service_url(raw: str) -> str:
    parts = split_url(raw)
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid("an http:// or https:// URL")
    return raw.rstrip("/")


_DOTTED = matching(r"[A-Za-z_][\w.]*", "a dotted path to a Django email backend")
_RATE = matching(r"\d{1,6}/(?:s|sec|second|m|min|minute|h|hour|d|day)",
                 "a DRF rate like 30/minute (per second, minute, hour or day)")
_LEVEL = matching(r"(?i:debug|info|warning|error|critical)", "one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
_QUEUE = matching(r"[\w.:-]{1,200}", "a queue name (letters, digits, '_', '.', ':', '-')")
_HOSTS = items(matching(r"[\w.*:\[\]-]+", "a host name"), "comma-separated host names")


@dataclass(frozen=True)
class ProjectEnv:
    """Django's own settings taken from the environment."""

    secret_key: str = env("DJANGO_SECRET_KEY", "dev-only-insecure-key-change-me", str,
                          "Django's SECRET_KEY; set it in production", allowed="any text", secret=True)
    debug: bool = env("DJANGO_DEBUG", False, boolean, "Django's DEBUG")
    allowed_hosts: tuple[str, ...] = env("DJANGO_ALLOWED_HOSTS", ("localhost", "127.0.0.1", "testserver"),
                                         _HOSTS, "Django's ALLOWED_HOSTS")
    database: dict[str, Any] | None = env("DATABASE_URL", None, database_url,
                                          "The database; unset: SQLite in var/db.sqlite3", secret=True,
                                          example="postgres://user:password@127.0.0.1:5432/muejam")
    replica: dict[str, Any] | None = env("REPLICA_DATABASE_URL", None, database_url,
                                         "The demo's reporting replica; unset: a closed port on purpose",
                                         secret=True)
    log_level: str = env("LOG_LEVEL", "WARNING", _LEVEL,
                         "Console log level (INFO records still become breadcrumbs)")
    email_backend: str = env("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend", _DOTTED,
                             "Any Django email backend")
    email_host: str = env("EMAIL_HOST", "localhost", str, "SMTP host", allowed="a host name")
    email_port: int = env("EMAIL_PORT", 25, integer(1, 65535), "SMTP port")
    email_host_user: str = env("EMAIL_HOST_USER", "", str, "SMTP user", allowed="any text")
    email_host_password: str = env("EMAIL_HOST_PASSWORD", "", str, "SMTP password", allowed="any text",
                                   secret=True)
    email_use_tls: bool = env("EMAIL_USE_TLS", False, boolean, "SMTP STARTTLS")
    default_from_email: str = env("DEFAULT_FROM_EMAIL", "MueJam alerts <alerts@muejam.local>", str,
                                  "Sender of alert emails", allowed="an address, optionally with a name")
    s3_endpoint_url: str = env("S3_ENDPOINT_URL", "", _service_url,
                               "An S3-compatible store; unset: AWS (its host joins the service map as s3)")
    clerk_api_url: str = env("CLERK_API_URL", "https://api.clerk.com", _service_url, "Clerk's API")
    resend_api_url: str = env("RESEND_API_URL", "https://api.resend.com", _service_url, "Resend's API")
    celery_task_default_queue: str = env("CELERY_TASK_DEFAULT_QUEUE", "celery", _QUEUE,
                                         "The queue Celery tasks (alert delivery included) go to "
                                         "unless routed")
    library_book_rate: str = env("LIBRARY_BOOK_RATE", "30/minute", _RATE,
                                 "Per-client rate limit of /api/books/<pk>/")
