"""init_sentry and ErrorTracker: SDK set-up, the ignore list, and bad input that never raises."""

from __future__ import annotations

import warnings

import pytest
import requests
import sentry_sdk
from django.conf import settings as django_settings

from infrastructure.sentry_config import ErrorTracker, init_sentry


def test_init_emits_no_deprecation_warning_for_profiling_or_pii():
    """Profiling and data collection use 2.75's current options: start-up warns about nothing."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        init_sentry(django_settings.SENTRY.with_overrides(profiles_sample_rate=0.5))
    init_sentry(django_settings.SENTRY)
    assert [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)] == []


def test_the_client_is_configured_as_the_spec_asks(tracked):
    """Release, environment, 50 breadcrumbs, source context and the spec's integrations are on."""
    options = sentry_sdk.get_client().options
    assert options["release"] == "muejam-backend@1.0.0" and options["environment"] == "development"
    assert options["max_breadcrumbs"] == 50 and options["include_source_context"] is True
    installed = set(sentry_sdk.get_client().integrations)
    assert {"django", "celery", "redis", "logging", "boto3", "httpx", "stdlib"} <= installed


@pytest.mark.django_db(transaction=True)
def test_expected_errors_such_as_404_send_nothing(tracked, live_server):
    """A 404 is an answer, not a fault: neither a 404 response nor a captured Http404/NotFound is sent."""
    from django.http import Http404
    from rest_framework.exceptions import NotFound

    assert requests.get(f"{live_server.url}/api/books/999/", timeout=10).status_code == 404
    ErrorTracker.capture_exception(Http404("no such book"))
    ErrorTracker.capture_exception(NotFound())
    ErrorTracker.capture_message("marker")
    sentry_sdk.flush(timeout=5)
    assert [e.get("message") for e in tracked.events()] == ["marker"]
    assert tracked.runtime.stats.snapshot()["dropped"]["ignore"] == 2


def test_ignore_list_is_extended_by_settings(tracked):
    """SENTRY_IGNORE_ERRORS adds names: an ignored type is dropped, others still go out."""
    init_sentry(django_settings.SENTRY.with_overrides(dsn=tracked.dsn, ignore_errors=("KeyError",),
                                                      profiles_sample_rate=0.0))
    ErrorTracker.capture_exception(KeyError("x"))
    kept = ErrorTracker.capture_exception(ValueError("y"))
    sentry_sdk.flush(timeout=5)
    assert [e["event_id"] for e in tracked.events()] == [kept]


def test_an_unknown_level_falls_back_to_error_and_warns(tracked, caplog):
    """A capture inside an except block never raises on a bad level: it uses 'error' and logs why."""
    ErrorTracker.capture_message("odd level", level="catastrophic")
    sentry_sdk.flush(timeout=5)
    assert tracked.events()[-1]["level"] == "error"
    assert "catastrophic" in caplog.text and "fatal, error, warning, info, debug" in caplog.text
