"""Errors the application raises on purpose: authentication, rate limiting, validation."""

from __future__ import annotations

import re
from functools import lru_cache

from errorwarden.grouping.sources import Facts, Verdict, class_names, clip, safe_attr

_PERMISSION = frozenset({
    "rest_framework.exceptions.PermissionDenied", "django.core.exceptions.PermissionDenied",
})
_AUTH_FAILED = frozenset({
    "rest_framework.exceptions.AuthenticationFailed", "rest_framework.exceptions.NotAuthenticated",
})
# Token libraries differ (PyJWT, python-jose, simplejwt, the app's own): match by name.
_TOKEN_NAMES = frozenset({
    "InvalidToken", "InvalidTokenError", "DecodeError", "ExpiredSignatureError",
    "InvalidSignatureError", "TokenError", "JWTError", "ExpiredTokenError",
})
_THROTTLED = frozenset({
    "rest_framework.exceptions.Throttled", "django_ratelimit.exceptions.Ratelimited",
    "Ratelimited", "RateLimited", "RateLimitExceeded",
})
_VALIDATION = frozenset({
    "rest_framework.exceptions.ValidationError", "django.core.exceptions.ValidationError",
})
_SCOPE_WORDS = re.compile(r"[a-z0-9]+")


def _is_token_error(exc: BaseException) -> bool:
    return _is_token_class(type(exc))


@lru_cache(maxsize=1024)
def _is_token_class(kind: type) -> bool:
    """Whether a class or one of its bases is a token library's error (by name; once per class)."""
    for cls in getattr(kind, "__mro__", ()):
        module = str(getattr(cls, "__module__", "") or "")
        name = getattr(cls, "__qualname__", "")
        if name in _TOKEN_NAMES or ("jwt" in module.split(".")[0] and name.endswith("Error")):
            return True
    return False


def auth_kind(chain: tuple[BaseException, ...]) -> str | None:
    """invalid_token, permission_denied or authentication_failed for the first exception."""
    exc = chain[0]
    if _is_token_error(exc):
        return "invalid_token"
    names = class_names(type(exc))
    if names & _PERMISSION:
        return "permission_denied"
    if not names & _AUTH_FAILED:
        return None
    # 'raise AuthenticationFailed(...) from jwt_error' is a bad token, said politely.
    return "invalid_token" if any(_is_token_error(e) for e in chain[1:]) else "authentication_failed"


def _answers_429(exc: BaseException) -> bool:
    """Whether the exception carries HTTP status 429 (a throttled class is known by _class_flags)."""
    codes = (safe_attr(exc, "status_code"), safe_attr(exc, "status"))
    return any(isinstance(code, int) and code == 429 for code in codes)


def rate_limit_kind(exc: BaseException) -> str:
    """user, ip or api from the exception's 'scope' attribute (DRF throttle scope names)."""
    scope = safe_attr(exc, "scope")
    words = set(_SCOPE_WORDS.findall(scope.lower())) if isinstance(scope, str) else set()
    if "user" in words:
        return "user"
    return "ip" if words & {"anon", "ip"} else "api"


def validation_kind(exc: BaseException) -> str:
    """'field' when errors are keyed by field, else 'non_field'."""
    detail = safe_attr(exc, "detail")
    if isinstance(detail, dict) or isinstance(safe_attr(exc, "error_dict"), dict):
        return "field"
    return "non_field"


@lru_cache(maxsize=1024)
def _class_flags(kind: type) -> tuple[bool, bool, bool]:
    """(throttled, maybe auth, validation) by the class alone: asked once per class."""
    names = class_names(kind)
    return (bool(names & _THROTTLED), _is_token_class(kind) or bool(names & (_PERMISSION | _AUTH_FAILED)),
            bool(names & _VALIDATION))


def app_verdict(chain: tuple[BaseException, ...], facts: Facts) -> Verdict | None:
    """Rate-limit, auth or validation verdict for the first exception of `chain`, if it is one."""
    exc = chain[0]
    throttled, auth, validation = _class_flags(type(exc))
    if throttled or _answers_429(exc):
        kind = rate_limit_kind(exc)
        return _verdict("rate_limit", kind, ("rate_limit", kind, facts.route))
    kind = auth_kind(chain) if auth else None
    if kind:
        return _verdict("auth", kind, ("auth", kind, facts.function))
    if validation:
        return _verdict("validation", validation_kind(exc), ("validation", facts.function))
    return None


def _verdict(category: str, kind: str, fingerprint: tuple[str, ...]) -> Verdict:
    tags = {"error.category": category, "error.kind": kind}
    return Verdict(category, kind, tuple(clip(p) for p in fingerprint), tags, "warning")
