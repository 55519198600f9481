"""Who may see /_errors/: everyone while DEBUG is on, else only active staff users; 404 for the rest.

A 404, not a 403, so the dashboard's existence is not advertised. Staff are recognised through
`request.user` when Django's AuthenticationMiddleware sets it (a session-based project), else by
the project's own API authentication (REST framework's DEFAULT_AUTHENTICATION_CLASSES: here a
staff user's `Authorization: Bearer` token), so the dashboard needs no session and sets no cookie.
Every page also gets headers that keep it out of caches and forbid scripts, frames and outside
resources.

State changes (triage: resolve, mute, reopen) are POST forms under the same access rule. Django's
CsrfViewMiddleware needs a CSRF cookie or a session, and the dashboard sets no cookie and needs
no session, so each form carries its own token instead: the acting principal (the staff user's
pk and session-auth hash, or "debug" while DEBUG lets everyone in) signed with SECRET_KEY through
django.core.signing and time-stamped. Another site cannot read the page (same-origin policy) and
cannot make the signature, so it cannot forge the form; a staff user's token is worthless to
anyone else; a stale page's token expires. Origin and Sec-Fetch-Site, when the browser sends
them, must name this site too (CSRF_TRUSTED_ORIGINS counts), as CsrfViewMiddleware checks Origin.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt

# No script may run, even if escaping ever failed; styles are inline, charts are inline SVG.
CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")
_TOKEN_SALT = "errorwarden.dashboard.triage"
TOKEN_MAX_AGE = 12 * 3600  # seconds a page's forms stay good


def can_view(request: HttpRequest) -> bool:
    """True while DEBUG is on, or for an active staff user (see the module docstring)."""
    if settings.DEBUG:
        return True
    return _staff(request) is not None


def _staff(request: HttpRequest):
    """The active staff user making this request, or None."""
    user = getattr(request, "user", None)
    if user is None or not getattr(user, "is_authenticated", False):
        user = _api_user(request)
    staff = user is not None and getattr(user, "is_active", False) and getattr(user, "is_staff", False)
    return user if staff else None


def actor(request: HttpRequest) -> str:
    """Who a triage change is recorded under: the staff user's name, else who DEBUG let in."""
    user = _staff(request)
    if user is not None:
        return str(user.get_username())
    return "anonymous (DEBUG on)"


def _principal(request: HttpRequest) -> str:
    """What a form token is bound to: the staff user and their credentials' hash, or DEBUG's visitor.

    A password change (get_session_auth_hash) invalidates the tokens the old password's pages held.
    """
    user = _staff(request)
    if user is None:
        return "debug"
    auth_hash = user.get_session_auth_hash() if hasattr(user, "get_session_auth_hash") else ""
    return f"user:{user.pk}:{auth_hash}"


def form_token(request: HttpRequest) -> str:
    """A per-form CSRF token: the principal signed with SECRET_KEY and a timestamp; no cookie, no session."""
    principal = hashlib.blake2b(_principal(request).encode(), digest_size=16).hexdigest()
    return signing.TimestampSigner(salt=_TOKEN_SALT).sign(principal)


def token_problem(request: HttpRequest) -> str | None:
    """Why this POST must be refused (a CSRF check), or None when its token and origin are good."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        return f"the form was sent from another site (Sec-Fetch-Site: {site})"
    origin = request.headers.get("Origin")
    if origin is not None and origin != "null":
        expected = f"{request.scheme}://{request.get_host()}"
        if origin != expected and origin not in getattr(settings, "CSRF_TRUSTED_ORIGINS", ()):
            return "the form was sent from another origin"
    token = request.POST.get("token", "")
    try:
        signed = signing.TimestampSigner(salt=_TOKEN_SALT).unsign(token, max_age=TOKEN_MAX_AGE)
    except signing.SignatureExpired:
        return "the page was too old; reload it and try again"
    except signing.BadSignature:
        return "the form's token is missing or wrong; reload the page and try again"
    principal = hashlib.blake2b(_principal(request).encode(), digest_size=16).hexdigest()
    if not constant_time_compare(signed, principal):
        return "the form was made for someone else; reload the page and try again"
    return None


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
        return _headers(view(request, *args, **kwargs))

    return guarded


def dashboard_action(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Guard a state-changing view: POST only, same access rule as the pages, and the per-form token.

    csrf_exempt only tells a project's CsrfViewMiddleware (which would want its cookie) that this
    view checks CSRF itself: token_problem above, before the view runs.
    """

    @wraps(view)
    def guarded(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not can_view(request) or request.method != "POST":
            raise Http404
        problem = token_problem(request)
        if problem is not None:
            return _headers(HttpResponse(f"Refused: {problem}.", status=403,
                                         content_type="text/plain; charset=utf-8"))
        return _headers(view(request, *args, **kwargs))

    return csrf_exempt(guarded)


def _headers(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    response["Content-Security-Policy"] = CSP
    response["X-Content-Type-Options"] = "nosniff"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Frame-Options"] = "DENY"
    return response
