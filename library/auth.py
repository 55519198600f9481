"""Bearer-token authentication with Django-signed tokens (the demo's stand-in for Clerk JWTs)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core import signing
from rest_framework import authentication, exceptions

SALT = "library.auth"


class InvalidToken(exceptions.AuthenticationFailed):
    """The bearer token is malformed, expired or forged."""

    default_code = "invalid_token"


def issue_token(username: str) -> str:
    """A signed token for a user (the demo hands these out)."""
    return signing.dumps({"user": username}, salt=SALT)


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """Reads `Authorization: Bearer <token>`; a bad token is an InvalidToken error."""

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        try:
            data = signing.loads(token, salt=SALT, max_age=3600)
        except signing.BadSignature:
            raise InvalidToken("Invalid or expired token.") from None
        user = get_user_model().objects.filter(username=data.get("user")).first()
        if user is None:
            raise exceptions.AuthenticationFailed("Unknown user.")
        return user, token

    def authenticate_header(self, request) -> str:
        return "Bearer"
