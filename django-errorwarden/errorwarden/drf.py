"""DRF exception handler: reports the handled API errors the spec groups (auth, rate limits, validation).

DRF turns these exceptions into 4xx answers, so Sentry never sees them unless we report them here.
Each is sent at warning level; the grouping step gives it its fingerprint.
"""

from __future__ import annotations

import sentry_sdk
from django.core.exceptions import ImproperlyConfigured
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied

try:
    from rest_framework import exceptions, throttling
    from rest_framework.views import exception_handler as drf_exception_handler
except ImportError:  # a project names this handler without DRF installed
    from errorwarden.envvars import install_hint

    raise ImproperlyConfigured("errorwarden.drf.exception_handler needs djangorestframework, which is not "
                               f"installed: {install_hint('drf')}") from None

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
            scope = throttle_scope(view, request)
            if scope:
                exc.scope = scope
        with sentry_sdk.new_scope() as scope:
            scope.set_level("warning")
            if view is not None:
                # DRF raises these from its own code, so the view is the in-app place they belong to.
                cls = type(view)
                scope.set_context("drf", {"view": f"{cls.__module__}.{cls.__qualname__}"})
            sentry_sdk.capture_exception(exc)
    return drf_exception_handler(exc, context)


def throttle_scope(view, request) -> str | None:
    """What the throttle that refused ``request`` counts by: 'user', 'ip' or its own scope.

    DRF's ``Throttled`` does not say which throttle failed, so each of the view's rate throttles
    is asked again, by DRF's own ``allow_request``, over a read-only view of its cache: the
    window is judged exactly as DRF judged it, and the request is not counted a second time.
    The user, anon and scoped throttles count per user when signed in and per client IP
    otherwise; any other throttle (an API-wide budget) is named by its scope. None when no
    throttle can be read.
    """
    try:
        for throttle in view.get_throttles():
            if isinstance(throttle, throttling.SimpleRateThrottle) and _would_refuse(throttle, view, request):
                if isinstance(throttle, throttling.AnonRateThrottle):
                    return "ip"
                if isinstance(throttle, (throttling.UserRateThrottle, throttling.ScopedRateThrottle)):
                    user = getattr(request, "user", None)
                    return "user" if getattr(user, "is_authenticated", False) else "ip"
                return str(throttle.scope or "api")
    except Exception:  # a custom throttle's failure must not turn a 429 into a 500
        return None
    return None


class _ReadOnlyCache:
    """A cache that answers reads from the real one and drops writes."""

    def __init__(self, cache):
        self._cache = cache

    def get(self, key, default=None):
        return self._cache.get(key, default)

    def set(self, *args, **kwargs) -> None:
        return None


def _would_refuse(throttle, view, request) -> bool:
    """True when ``throttle`` (a fresh instance from get_throttles) refuses one more request now."""
    throttle.cache = _ReadOnlyCache(throttle.cache)
    return not throttle.allow_request(request, view)
