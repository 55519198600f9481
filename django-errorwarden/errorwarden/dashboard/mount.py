"""Where the project mounted the dashboard: found from its URLconf, never assumed.

The project includes `errorwarden.dashboard.urls` wherever it likes; its own requests are not the
application's performance (never traced, not in the local figures). A request is the dashboard's
when it resolved into the dashboard's namespace; before resolving (the traces sampler) the mount
point is reversed once from the URLconf, and forgotten when ROOT_URLCONF changes.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

NAMESPACE = "errors_dashboard"


def is_dashboard(request: Any) -> bool:
    """True when the request resolved to one of the dashboard's views."""
    match = getattr(request, "resolver_match", None)
    return match is not None and NAMESPACE in (getattr(match, "namespaces", None) or ())


@lru_cache(maxsize=1)
def dashboard_prefix() -> str | None:
    """The path the dashboard is mounted at ('/_errors/'), or None when the URLconf has none."""
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse(f"{NAMESPACE}:issues")
    except NoReverseMatch:
        return None
