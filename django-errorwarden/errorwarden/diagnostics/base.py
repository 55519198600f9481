"""What every probe returns, and the masking every message goes through."""

from __future__ import annotations

import re
from dataclasses import dataclass

from errorwarden.envvars import masked_url, split_url
from errorwarden.text import cut

OK, WARN, FAIL, SKIPPED = "OK", "WARN", "FAIL", "SKIP"  # SKIPPED: not applicable here


@dataclass(frozen=True)
class Check:
    """The outcome of one probe."""

    name: str
    status: str
    message: str
    fix: str = ""

    @property
    def failed(self) -> bool:
        """True for FAIL, the only status that makes sentry_check exit non-zero."""
        return self.status == FAIL


def mask_dsn(value: str) -> str:
    """A DSN or URL with its credentials replaced by ***, keeping scheme, host, port and path.

    A URL without credentials (a Redis or broker URL of a trusted network) is shown as it is, but for
    its query, which may hold one (redis://host:6379/0?password=...).
    """
    parts = split_url(value) if value else None
    if parts is not None and parts.scheme and parts.hostname and "@" not in parts.netloc:
        return parts._replace(query="***" if parts.query else "", fragment="").geturl()
    return masked_url(value)


def redact(text: str, *secrets: str, limit: int = 200) -> str:
    """A server's answer on one line, cut to `limit`, with the given secrets and URL credentials masked."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    text = re.sub(r"(//)[^/@\s]+@", r"\1***@", text)  # any user:password@ or key@ in a URL
    return cut(" ".join(text.split()), limit)

