"""S3, Clerk and Resend stand-ins that answer 503, wired into the app's settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings as django_settings

from library.demo import standins


@contextmanager
def unavailable_services(settings) -> Iterator[dict[str, str]]:
    """Point the library's S3, Clerk and Resend URLs at loopback 503 stand-ins.

    ``settings`` is pytest-django's fixture (restored after the test). Yields the service map
    with the stand-ins' hosts added, to pass as ``service_hosts`` to the error tracker.
    """
    stubs = {name: standins.unavailable_service() for name in ("s3", "clerk", "resend")}
    try:
        settings.S3_ENDPOINT_URL, settings.CLERK_API_URL = stubs["s3"].url, stubs["clerk"].url
        settings.RESEND_API_URL = stubs["resend"].url
        yield {**django_settings.SENTRY.service_hosts,
               **{stub.url.split("//", 1)[1]: name for name, stub in stubs.items()}}
    finally:
        for stub in stubs.values():
            stub.stop()
