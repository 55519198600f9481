"""What every probe returns, and the masking every message goes through."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

OK, WARN, FAIL, SKIP = "OK", "WARN", "FAIL", "SKIP"


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
    """A DSN or URL with its credentials replaced by ***, keeping scheme, host, port and path."""
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return "***"
    if not parts.scheme or not parts.hostname:
        return "***" if value else ""
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    credentials = "***@" if "@" in parts.netloc else ""
    return f"{parts.scheme}://{credentials}{host}{f':{port}' if port else ''}{parts.path}"


def redact(text: str, *secrets: str, limit: int = 200) -> str:
    """A server's answer on one line, cut to `limit`, with the given secrets and URL credentials masked."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    text = re.sub(r"(//)[^/@\s]+@", r"\1***@", text)  # any user:password@ or key@ in a URL
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"

