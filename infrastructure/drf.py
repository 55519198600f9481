"""DRF exception handler: reports the handled API errors the spec groups (auth, rate limits, validation).

DRF turns these exceptions into 4xx answers, so Sentry never sees them unless we report them here.
Each is sent at warning level; the grouping step gives it its fingerprint.
"""

from __future__ import annotations

import sentry_sdk
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler

REPORTED = (
    DjangoPermissionDenied,
    exceptions.AuthenticationFailed,
    exceptions.NotAuthenticated,
    exceptions.PermissionDenied,
    exceptions.Throttled,
    exceptions.ValidationError,
)


def exception_handler(exc, context):
    """Report auth, throttling and validation errors, then answer as DRF would."""
    if isinstance(exc, REPORTED):
        view = context.get("view")
        request = context.get("request")
        if isinstance(exc, exceptions.Throttled) and not hasattr(exc, "scope"):
            # DRF's throttles key by user when signed in and by client IP otherwise.
            user = getattr(request, "user", None)
            exc.scope = "user" if getattr(user, "is_authenticated", False) else "ip"
        with sentry_sdk.new_scope() as scope:
            scope.set_level("warning")
            if view is not None:
                # DRF raises these from its own code, so the view is the in-app place they belong to.
                cls = type(view)
                scope.set_context("drf", {"view": f"{cls.__module__}.{cls.__qualname__}"})
            sentry_sdk.capture_exception(exc)
    return drf_exception_handler(exc, context)
