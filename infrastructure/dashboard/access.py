"""Who may see /_errors/: everyone while DEBUG is on, else only active staff users; 404 for the rest.

A 404, not a 403, so the dashboard's existence is not advertised. Staff are recognised through
`request.user`, which Django's AuthenticationMiddleware sets when the project installs it; this
project does not yet, so with DEBUG off the dashboard answers 404 to every visitor. Every page
also gets headers that keep it out of caches and forbid scripts, frames and outside resources.
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
    """True while DEBUG is on, or for an active staff user set on the request by auth middleware."""
    if settings.DEBUG:
        return True
    user = getattr(request, "user", None)
    return bool(user is not None and getattr(user, "is_active", False) and getattr(user, "is_staff", False))


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
