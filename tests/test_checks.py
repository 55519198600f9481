"""System checks name configuration that parses but will not do what the operator expects."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import override_settings

from errorwarden import checks
from infrastructure.sentry_config import init_sentry

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def configured():
    """Re-initialise with given overrides; restore the project's settings afterwards."""
    original = django_settings.SENTRY

    def apply(**overrides):
        init_sentry(original.with_overrides(**overrides))

    yield apply
    init_sentry(original)


def _ids(deploy: bool = False) -> set[str]:
    from django.core.checks import run_checks

    return {m.id for m in run_checks(tags=[checks.TAG], include_deployment_checks=deploy)}


@pytest.mark.parametrize(("environment", "deploy", "warned"), [
    ("development", False, False),  # the spec's defaults must not nag on every command
    ("development", True, True),
    ("production", False, True),
    ("production", True, True),
])
def test_email_alerts_without_recipients_warn_in_production_or_under_deploy(configured, environment, deploy,
                                                                            warned):
    """Email alerts on with no recipients is W001 in production or under --deploy, silent otherwise."""
    configured(environment=environment, email_alerts_enabled=True, alert_email_recipients=())
    assert (checks.W001 in _ids(deploy)) is warned
    configured(environment=environment, email_alerts_enabled=True,
               alert_email_recipients=("oncall@example.com",))
    assert checks.W001 not in _ids(deploy)


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
    """The shipped settings raise no error-tracking check in development, --deploy aside."""
    configured()
    assert _ids() == set()


def test_a_development_command_prints_no_warning_and_check_deploy_does():
    """`manage.py sentry_inbox` in development prints no W001; `check --deploy` names it."""
    env = {**os.environ, "SENTRY_ENVIRONMENT": "development", "SENTRY_ALERT_EMAIL_RECIPIENTS": "",
           "SENTRY_EMAIL_ALERTS_ENABLED": "true"}
    quiet = subprocess.run([sys.executable, "manage.py", "sentry_inbox"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=60)
    assert quiet.returncode == 0 and "W001" not in quiet.stdout + quiet.stderr
    deploy = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--tag", checks.TAG], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=60)
    assert "errorwarden.W001" in deploy.stdout + deploy.stderr
