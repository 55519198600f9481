"""Django settings for the MueJam Library backend: the environment is read once, here."""

from pathlib import Path
from types import MappingProxyType
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

from infrastructure.sentry_config import init_sentry
from infrastructure.settings import EnvReader, load_settings, mask

BASE_DIR = Path(__file__).resolve().parent.parent
environ.Env.read_env(BASE_DIR / ".env", parse_comments=True)  # never overrides variables already set
_env = environ.Env()
_read = EnvReader(_env.ENVIRON)

SENTRY = load_settings(_env.ENVIRON)

SECRET_KEY = _read.raw("DJANGO_SECRET_KEY") or "dev-only-insecure-key-change-me"
DEBUG = _read.boolean("DJANGO_DEBUG", False)
ALLOWED_HOSTS = list(_read.items("DJANGO_ALLOWED_HOSTS")) or ["localhost", "127.0.0.1", "testserver"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "rest_framework",
    "infrastructure",
    "library",
]
MIDDLEWARE = [
    "infrastructure.middleware.ErrorTrackingMiddleware",
    "django.middleware.common.CommonMiddleware",
]
ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
TEMPLATES = [
    {"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True, "DIRS": []},
]


def _database(url: str, name: str = "DATABASE_URL") -> dict:
    if not url:
        (BASE_DIR / "var").mkdir(exist_ok=True)  # a fresh clone has no var/ yet
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "var" / "db.sqlite3"}
    allowed = ("use postgres://user:password@host:5432/name or sqlite:///path/to/db.sqlite3, "
               "or leave it unset for the SQLite default")
    try:
        config = environ.Env.db_url_config(url)
    except Exception:
        raise ImproperlyConfigured(f"{name}={mask(url)} is invalid: {allowed}.") from None
    if config.get("ENGINE") not in ("django.db.backends.postgresql", "django.db.backends.sqlite3"):
        raise ImproperlyConfigured(f"{name}={mask(url)} is not supported: {allowed}.")
    if config["ENGINE"].endswith("postgresql"):
        config.setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
    return config


DATABASES = {
    "default": _database(_read.raw("DATABASE_URL")),
    # The reporting replica; the demo points it at a closed port to show a connection failure.
    "replica": {**_database(_read.raw("REPLICA_DATABASE_URL") or "postgres://muejam@127.0.0.1:1/replica",
                            "REPLICA_DATABASE_URL"),
                "TEST": {"MIRROR": "default"}},
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
STATIC_URL = "static/"
TIME_ZONE = "UTC"

if SENTRY.redis_url:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": SENTRY.redis_url}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

REST_FRAMEWORK = {
    "EXCEPTION_HANDLER": "infrastructure.drf.exception_handler",
    "DEFAULT_AUTHENTICATION_CLASSES": ["library.auth.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_THROTTLE_RATES": {"book_detail": _read.raw("LIBRARY_BOOK_RATE") or "30/minute",
                               "reports": "10/minute",
                               "user": "1000/hour", "anon": "100/minute"},
    "UNAUTHENTICATED_USER": None,
}

# Email: Django's mail API carries the alert emails; any Django email backend works.
EMAIL_BACKEND = _read.raw("EMAIL_BACKEND") or "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = _read.raw("EMAIL_HOST", "localhost")
EMAIL_PORT = _read.integer("EMAIL_PORT", 25, 1, 65535)
EMAIL_HOST_USER = _read.raw("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = _read.raw("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = _read.boolean("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = _read.raw("DEFAULT_FROM_EMAIL") or "MueJam alerts <alerts@muejam.local>"

# Celery: with no broker the tasks run in-process, so the demo needs nothing installed.
CELERY_BROKER_URL = SENTRY.celery_broker_url or "memory://localhost/"
CELERY_TASK_ALWAYS_EAGER = not SENTRY.celery_broker_url
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# With `celery beat` running, queue depth reaches Sentry as the gauge metric celery.queue.depth.
CELERY_BEAT_SCHEDULE = {"queue-depth": {"task": "infrastructure.probe_queue_depth", "schedule": 60.0}}

# External services the library calls; the demo points them at loopback stand-ins.
S3_ENDPOINT_URL = _read.raw("S3_ENDPOINT_URL")
CLERK_API_URL = _read.raw("CLERK_API_URL") or "https://api.clerk.com"
RESEND_API_URL = _read.raw("RESEND_API_URL") or "https://api.resend.com"
# The endpoints configured above group and page as their services (an S3-compatible store on
# its own host is still 's3'); SENTRY_SERVICE_HOSTS entries win.
_configured = {urlsplit(url or "").netloc.lower(): name for name, url in
               (("s3", S3_ENDPOINT_URL), ("clerk", CLERK_API_URL), ("resend", RESEND_API_URL))}
_configured.pop("", None)  # unset, or not a URL with a host
SENTRY = SENTRY.with_overrides(service_hosts=MappingProxyType({**_configured, **SENTRY.service_hosts}))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(levelname)s %(name)s: %(message)s"}},
    "filters": {"scrub": {"()": "infrastructure.logfilter.ScrubLogFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["scrub"],
                             "level": _read.raw("LOG_LEVEL") or "WARNING"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    # INFO records of our own code become Sentry breadcrumbs; the console still shows WARNING and up.
    "loggers": {name: {"level": "INFO"} for name in ("library", "infrastructure", "config")},
}

init_sentry(SENTRY)
