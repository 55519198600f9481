"""Who may see /_errors/: everyone while DEBUG is on, else only active staff users; 404 for the rest.

A 404, not a 403, so the dashboard's existence is not advertised. Staff are recognised through
`request.user` when Django's AuthenticationMiddleware sets it (a session-based project), else by
the project's own API authentication (REST framework's DEFAULT_AUTHENTICATION_CLASSES: here a
staff user's `Authorization: Bearer` token), so the dashboard needs no session and sets no cookie.
Every page also gets headers that keep it out of caches and forbid scripts, frames and outside
resources.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse

# No script may run, even if escaping ever failed; styles are inline, charts are inline SVG.
CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")


def can_view(request: HttpRequest) -> bool:
    """True while DEBUG is on, or for an active staff user (see the module docstring)."""
    if settings.DEBUG:
        return True
    user = getattr(request, "user", None) or _api_user(request)
    return bool(user is not None and getattr(user, "is_active", False) and getattr(user, "is_staff", False))


def _api_user(request: HttpRequest):
    """The user the project's REST framework authenticators find on this request, or None."""
    try:
        from rest_framework.request import Request
        from rest_framework.settings import api_settings
    except ImportError:
        return None
    authenticators = [cls() for cls in api_settings.DEFAULT_AUTHENTICATION_CLASSES]
    try:
        return Request(request, authenticators=authenticators).user
    except Exception:  # a bad or expired credential: no user, hence the 404
        return None


def dashboard_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Guard a dashboard view (GET/HEAD only) and give its response the dashboard's headers."""

    @wraps(view)
    def guarded(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not can_view(request) or request.method not in ("GET", "HEAD"):
            raise Http404
        response = view(request, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        response["Content-Security-Policy"] = CSP
        response["X-Content-Type-Options"] = "nosniff"
        response["Referrer-Policy"] = "no-referrer"
        response["X-Frame-Options"] = "DENY"
        return response

    return guarded
