"""Django settings for the MueJam Library backend: the environment is read once, here."""

import os
from pathlib import Path
from types import MappingProxyType
from urllib.parse import urlsplit

from config.env import ProjectEnv
from errorwarden.envvars import SettingsError, collect, read_dotenv
from errorwarden.settings import collect_settings
from infrastructure.sentry_config import init_sentry

BASE_DIR = Path(__file__).resolve().parent.parent
read_dotenv(BASE_DIR / ".env", os.environ)  # never overrides variables already set

# Both tables in one pass, so an operator sees every bad variable at once (manage.py, wsgi.py
# and asgi.py print the lines without a traceback).
_problems: list = []
# MueJam's own name for its release and alert keys, unless the environment names another.
SENTRY = collect_settings({**os.environ, "APP_NAME": os.environ.get("APP_NAME") or "muejam-backend"},
                          _problems)
ENV = ProjectEnv(**collect(ProjectEnv, os.environ, _problems))
if _problems:
    raise SettingsError(_problems)

SECRET_KEY = ENV.secret_key
DEBUG = ENV.debug
ALLOWED_HOSTS = list(ENV.allowed_hosts)

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "rest_framework",
    "errorwarden",
    "library",
]
MIDDLEWARE = [
    "errorwarden.middleware.ErrorTrackingMiddleware",
    "django.middleware.common.CommonMiddleware",
]
ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
TEMPLATES = [
    {"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True, "DIRS": []},
]


if ENV.database is None:
    (BASE_DIR / "var").mkdir(exist_ok=True)  # a fresh clone has no var/ yet
DATABASES = {
    "default": ENV.database or {"ENGINE": "django.db.backends.sqlite3",
                                "NAME": BASE_DIR / "var" / "db.sqlite3"},
    # The reporting replica; the demo points it at a closed port to show a connection failure.
    "replica": {**(ENV.replica or {"ENGINE": "django.db.backends.postgresql", "NAME": "replica",
                                   "USER": "muejam", "HOST": "127.0.0.1", "PORT": 1,
                                   "OPTIONS": {"connect_timeout": 5}}),
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
    "EXCEPTION_HANDLER": "errorwarden.drf.exception_handler",
    "DEFAULT_AUTHENTICATION_CLASSES": ["library.auth.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_THROTTLE_RATES": {"book_detail": ENV.library_book_rate,
                               "reports": "10/minute",
                               "user": "1000/hour", "anon": "100/minute"},
    "UNAUTHENTICATED_USER": None,
}

# Email: Django's mail API carries the alert emails; any Django email backend works.
EMAIL_BACKEND = ENV.email_backend
EMAIL_HOST = ENV.email_host
EMAIL_PORT = ENV.email_port
EMAIL_HOST_USER = ENV.email_host_user
EMAIL_HOST_PASSWORD = ENV.email_host_password
EMAIL_USE_TLS = ENV.email_use_tls
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = ENV.default_from_email

# Celery: with no broker the tasks run in-process, so the demo needs nothing installed.
CELERY_BROKER_URL = SENTRY.celery_broker_url or "memory://localhost/"
CELERY_TASK_ALWAYS_EAGER = not SENTRY.celery_broker_url
CELERY_TASK_DEFAULT_QUEUE = ENV.celery_task_default_queue
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# With `celery beat` running, queue depth reaches Sentry as the gauge metric celery.queue.depth.
CELERY_BEAT_SCHEDULE = {"queue-depth": {"task": "errorwarden.probe_queue_depth", "schedule": 60.0}}

# External services the library calls; the demo points them at loopback stand-ins.
S3_ENDPOINT_URL = ENV.s3_endpoint_url
CLERK_API_URL = ENV.clerk_api_url
RESEND_API_URL = ENV.resend_api_url
# The endpoints configured above group and page as their services (an S3-compatible store on
# its own host is still 's3'); SENTRY_SERVICE_HOSTS entries win.
_configured = {urlsplit(url or "").netloc.lower(): name for name, url in
               (("s3", S3_ENDPOINT_URL), ("clerk", CLERK_API_URL), ("resend", RESEND_API_URL))}
_configured.pop("", None)  # unset, or not a URL with a host
SENTRY = SENTRY.with_overrides(service_hosts=MappingProxyType({**_configured, **SENTRY.service_hosts}))

# Applies LOGGING, then puts the scrub filter on every handler, Django's own `console` (DEBUG) and
# `mail_admins` (DEBUG off, ADMINS set) included: no handler prints or mails an unscrubbed copy.
LOGGING_CONFIG = "errorwarden.logfilter.configure_logging"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # LineFormatter: a record's further lines (a traceback) are marked "  | ", so captured text
    # cannot print a line that passes for a record; give it to any handler added here.
    "formatters": {"plain": {"class": "errorwarden.logfilter.LineFormatter",
                             "format": "%(levelname)s %(name)s: %(message)s"}},
    "filters": {"scrub": {"()": "errorwarden.logfilter.ScrubLogFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["scrub"],
                             "level": ENV.log_level.upper()}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    # INFO records of our own code become Sentry breadcrumbs; the console still shows WARNING and up.
    "loggers": {name: {"level": "INFO"} for name in ("library", "errorwarden", "config")},
}

init_sentry(SENTRY)
