"""Django system checks: configuration that parses but will not do what the operator expects."""

from __future__ import annotations

from django.conf import settings as django_settings
from django.core.checks import Error, Tags, Warning, register

from infrastructure.runtime import current_runtime

E001 = "infrastructure.E001"  # init_sentry() was never called
W001 = "infrastructure.W001"  # email alerts enabled without recipients
W002 = "infrastructure.W002"  # no Sentry DSN: events stay in the local inbox
W003 = "infrastructure.W003"  # middleware missing: the error-rate rule sees no requests
W004 = "infrastructure.W004"  # production traffic traced at 100%
MIDDLEWARE = "infrastructure.middleware.ErrorTrackingMiddleware"


@register(Tags.compatibility)
def check_error_tracking(app_configs=None, **kwargs):
    """Report error-tracking configuration mistakes with a hint each."""
    runtime = current_runtime()
    if runtime is None:
        return [Error("Error tracking is not initialised.", id=E001,
                      hint="Call infrastructure.sentry_config.init_sentry() at the end of settings.py.")]
    s = runtime.settings
    found = []
    if s.email_alerts_enabled and not s.alert_email_recipients:
        found.append(Warning("Email alerts are enabled but SENTRY_ALERT_EMAIL_RECIPIENTS is empty.",
                             id=W001,
                             hint="Set comma-separated recipients or SENTRY_EMAIL_ALERTS_ENABLED=false."))
    if s.local_inbox and s.environment == "production":
        found.append(Warning("SENTRY_DSN is empty in production: events stay in the local inbox.",
                             id=W002, hint="Set SENTRY_DSN to your project's DSN."))
    middleware = getattr(django_settings, "MIDDLEWARE", [])
    if MIDDLEWARE not in middleware:
        found.append(Warning(f"{MIDDLEWARE} is not in MIDDLEWARE: the error-rate alert sees no requests.",
                             id=W003, hint="Add it first in MIDDLEWARE."))
    elif middleware[0] != MIDDLEWARE:
        found.append(Warning(f"{MIDDLEWARE} is not first in MIDDLEWARE: errors in earlier middleware "
                             "escape the error-rate count.", id=W003, hint="Move it to the top."))
    if s.environment == "production" and s.traces_sample_rate >= 1.0:
        found.append(Warning("SENTRY_TRACES_SAMPLE_RATE=1.0 in production traces every request.",
                             id=W004, hint="A rate such as 0.1 keeps the cost low."))
    return found
