"""System checks name configuration that parses but will not do what the operator expects."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.test import override_settings

from infrastructure import checks
from infrastructure.sentry_config import init_sentry


@pytest.fixture
def configured():
    """Re-initialise with given overrides; restore the project's settings afterwards."""
    original = django_settings.SENTRY

    def apply(**overrides):
        init_sentry(original.with_overrides(**overrides))

    yield apply
    init_sentry(original)


def _ids() -> set[str]:
    return {message.id for message in checks.check_error_tracking()}


def test_email_alerts_without_recipients_warn(configured):
    """Email alerts on with no recipients is W001; with recipients it is silent."""
    configured(email_alerts_enabled=True, alert_email_recipients=())
    assert checks.W001 in _ids()
    configured(email_alerts_enabled=True, alert_email_recipients=("oncall@example.com",))
    assert checks.W001 not in _ids()


def test_production_without_dsn_warns(configured):
    """Production with events kept in the local inbox is W002."""
    configured(environment="production", dsn="")
    assert checks.W002 in _ids()


def test_full_tracing_in_production_warns(configured):
    """Tracing every production request is W004."""
    configured(environment="production", traces_sample_rate=1.0)
    assert checks.W004 in _ids()


@pytest.mark.parametrize("middleware", [
    [],
    ["django.middleware.common.CommonMiddleware", checks.MIDDLEWARE],
])
def test_missing_or_late_middleware_warns(configured, middleware):
    """The accounting middleware missing, or not first, is W003."""
    configured()
    with override_settings(MIDDLEWARE=middleware):
        assert checks.W003 in _ids()


def test_the_project_itself_passes_its_checks(configured):
    """The shipped settings with recipients configured raise no error-tracking check."""
    configured(alert_email_recipients=("oncall@example.com",))
    assert _ids() == set()
