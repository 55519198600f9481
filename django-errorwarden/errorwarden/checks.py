"""Django system checks: configuration that parses but will not do what the operator expects.

One small function per check, registered under the `errorwarden` tag. Checks about how
production behaves (alert recipients, a DSN, the trace rate) stay quiet in development and run
with `manage.py check --deploy`, or on every command when SENTRY_ENVIRONMENT is production.

    E001  init_sentry() was never called
    W001  email alerts enabled without recipients          (production / --deploy)
    W002  no Sentry DSN: events stay in the local inbox     (production / --deploy)
    W003  ErrorTrackingMiddleware missing or not first
    W004  every request traced                              (production / --deploy)
    W005  a log handler prints or mails records without the scrub filter
    W006  a SENTRY_* environment variable nothing reads (a misspelling, silently ignored otherwise)
    W007  alerts on, counted per process (no REDIS_URL)     (production / --deploy)
"""

from __future__ import annotations

import os

from django.conf import settings as django_settings
from django.core.checks import Error, Warning, register

from errorwarden.runtime import current_runtime

TAG = "errorwarden"
E001, W001, W002, W003, W004, W005, W006, W007 = (
    f"errorwarden.{code}" for code in ("E001", "W001", "W002", "W003", "W004", "W005", "W006", "W007"))
MIDDLEWARE = "errorwarden.middleware.ErrorTrackingMiddleware"


@register(TAG)
def check_initialised(app_configs=None, **kwargs):
    """E001: init_sentry() must have run by the time Django checks."""
    if current_runtime() is None:
        return [Error("Error tracking is not initialised.", id=E001,
                      hint="Call errorwarden.sentry_config.init_sentry() at the end of settings.py.")]
    return []


@register(TAG)
def check_middleware(app_configs=None, **kwargs):
    """W003: the middleware must be first, or errors of earlier middleware escape the error rate."""
    middleware = list(getattr(django_settings, "MIDDLEWARE", []))
    if MIDDLEWARE not in middleware:
        return [Warning(f"{MIDDLEWARE} is not in MIDDLEWARE: the error-rate alert sees no requests.",
                        id=W003, hint="Add it first in MIDDLEWARE.")]
    if middleware[0] != MIDDLEWARE:
        return [Warning(f"{MIDDLEWARE} is not first in MIDDLEWARE: errors in earlier middleware "
                        "escape the error-rate count.", id=W003, hint="Move it to the top.")]
    return []


@register(TAG)
def check_log_handlers(app_configs=None, **kwargs):
    """W005: a handler without the scrub filter prints or mails what Sentry would only see scrubbed.

    Django's own handlers count: `console` on the `django` logger prints tracebacks under DEBUG and
    `mail_admins` mails them with the request when DEBUG is off.
    """
    from errorwarden.logfilter import unscrubbed_handlers

    found = unscrubbed_handlers()
    if not found:
        return []
    named = ", ".join(f"{type(handler).__name__} {handler.name or '(unnamed)'!r} on logger {logger!r}"
                      for logger, handler in found)
    return [Warning(f"{len(found)} log handler(s) print or send records unscrubbed: {named}.", id=W005,
                    hint='Set LOGGING_CONFIG = "errorwarden.logfilter.configure_logging" in settings.py '
                         "(it scrubs Django's default handlers and every LOGGING handler), or put "
                         "errorwarden.logfilter.ScrubLogFilter on the handler.")]


@register(TAG)
def check_unread_variables(app_configs=None, **kwargs):
    """W006: a SENTRY_* variable that neither errorwarden nor sentry-sdk (nor sentry-cli) reads.

    Its value changes nothing, so a misspelt name (SENTRY_TRACE_SAMPLE_RATE) would leave the
    default in force without a word.
    """
    from errorwarden.settings import VARIABLE_TABLE, unread_sentry_variables

    found = []
    for name, guess in unread_sentry_variables(os.environ):
        meant = f"Did you mean {guess}? " if guess else ""
        found.append(Warning(f"{name} is set, but neither errorwarden nor sentry-sdk reads it: it changes "
                             "nothing.", id=W006,
                             hint=f"{meant}Rename or unset it; {VARIABLE_TABLE}."))
    return found


def _recipients(s) -> list:
    """W001: email alerts on with nobody to send them to."""
    if s.email_alerts_enabled and not s.alert_email_recipients:
        return [Warning("Email alerts are enabled but SENTRY_ALERT_EMAIL_RECIPIENTS is empty.", id=W001,
                        hint="Set comma-separated recipients or SENTRY_EMAIL_ALERTS_ENABLED=false.")]
    return []


def _dsn(s) -> list:
    """W002: no DSN, so nothing reaches Sentry."""
    if s.local_inbox:
        return [Warning("SENTRY_DSN is empty: events stay in the local inbox.", id=W002,
                        hint="Set SENTRY_DSN to your project's DSN.")]
    return []


def _trace_rate(s) -> list:
    """W004: every request traced."""
    if s.traces_sample_rate >= 1.0:
        return [Warning("SENTRY_TRACES_SAMPLE_RATE=1.0 traces every request.", id=W004,
                        hint="A rate such as 0.1 keeps the cost low.")]
    return []


def _shared_counts(s) -> list:
    """W007: alerts on, but their counters live in each process: with several web or worker
    processes a burst spread over them may never reach its threshold in any one."""
    if (s.email_alerts_enabled or s.slack_alerts_enabled) and not s.redis_url:
        return [Warning("Alerts are enabled but REDIS_URL is empty: each process counts bursts and error "
                        "rates on its own, so a burst spread over several worker processes may never page.",
                        id=W007, hint="Set REDIS_URL (a database of its own) when more than one process "
                                      "serves or works; one process alone needs none.")]
    return []


PRODUCTION_CHECKS = (_recipients, _dsn, _trace_rate, _shared_counts)


def _production_checks(deploy: bool) -> list:
    """The production checks, on every command in production and only under --deploy elsewhere."""
    runtime = current_runtime()
    if runtime is None or (runtime.settings.environment == "production") == deploy:
        return []
    return [found for check in PRODUCTION_CHECKS for found in check(runtime.settings)]


@register(TAG)
def check_production(app_configs=None, **kwargs):
    """W001, W002, W004, W007 on every command when SENTRY_ENVIRONMENT is production."""
    return _production_checks(deploy=False)


@register(TAG, deploy=True)
def check_deploy(app_configs=None, **kwargs):
    """W001, W002, W004, W007 under `check --deploy` in any other environment."""
    return _production_checks(deploy=True)
