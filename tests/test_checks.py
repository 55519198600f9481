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


def test_alerts_counted_per_process_warn_in_production(configured):
    """Alerts on without REDIS_URL is W007 in production (a burst over several workers may never
    page); with Redis, or with no alert channel, nothing."""
    configured(environment="production", email_alerts_enabled=True, alert_email_recipients=("a@example.com",),
               redis_url="")
    assert checks.W007 in _ids()
    configured(environment="production", email_alerts_enabled=True, alert_email_recipients=("a@example.com",),
               redis_url="redis://127.0.0.1:6379/8")
    assert checks.W007 not in _ids()
    configured(environment="production", email_alerts_enabled=False, slack_alerts_enabled=False, redis_url="")
    assert checks.W007 not in _ids()
    configured(environment="development", email_alerts_enabled=True, redis_url="")
    assert checks.W007 not in _ids() and checks.W007 in _ids(deploy=True)


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


# --- W006: SENTRY_* variables nothing reads -------------------------------------------------------


def _env_without_sentry(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SENTRY_")}
    env.update(SENTRY_DSN="", SENTRY_PROFILES_SAMPLE_RATE="0", **extra)
    return env


def test_a_misspelt_variable_is_a_warning_naming_the_variable_it_misspells(tmp_path):
    """`manage.py check` (any command that runs the checks) names each SENTRY_* variable neither
    errorwarden nor sentry-sdk reads, with the closest name; the ones sentry-sdk or sentry-cli read,
    and errorwarden's own, are not named."""
    env = _env_without_sentry(SENTRY_INBOX_PATH=str(tmp_path / "inbox.sqlite3"),
                              SENTRY_TRACE_SAMPLE_RATE="2", SENTRY_SLACK_ENABLED="true", SENTRY_ZZQX="1",
                              SENTRY_DEBUG="false", SENTRY_RELEASE="r1", SENTRY_AUTH_TOKEN="sntrys_x")
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out  # a warning: the command still runs
    assert ("(errorwarden.W006) SENTRY_TRACE_SAMPLE_RATE is set, but neither errorwarden nor sentry-sdk "
            "reads it: it changes nothing.") in out
    assert "HINT: Did you mean SENTRY_TRACES_SAMPLE_RATE? Rename or unset it" in out
    assert "(errorwarden.W006) SENTRY_SLACK_ENABLED is set" in out
    assert "HINT: Did you mean SENTRY_SLACK_ALERTS_ENABLED?" in out
    assert "(errorwarden.W006) SENTRY_ZZQX is set" in out
    assert "Did you mean" not in out.split("SENTRY_ZZQX")[1]  # nothing is close: no guess
    assert out.count("errorwarden.W006") == 3, out
    assert "docs/configuration.md" not in out  # the wheel ships no docs: the page is named instead
    assert "Configuration page of django-errorwarden's documentation" in out


def test_known_variables_raise_no_w006(monkeypatch):
    """errorwarden's own variables and sentry-sdk's are read: no warning."""
    for name in [n for n in os.environ if n.startswith("SENTRY_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SENTRY_TRACES_SAMPLE_RATE", "0.1")
    monkeypatch.setenv("SENTRY_SPOTLIGHT", "")
    assert checks.W006 not in _ids()
    monkeypatch.setenv("SENTRY_TRACES_RATE", "0.1")
    assert checks.W006 in _ids()


def test_the_sentry_sdk_list_covers_what_the_installed_sdk_reads():
    """Every SENTRY_* name the installed sentry_sdk reads from os.environ is in SENTRY_SDK_VARIABLES, so
    an upgrade that adds one fails here instead of warning about a variable the SDK reads."""
    import re

    import sentry_sdk

    from errorwarden.settings import SENTRY_SDK_VARIABLES

    reads = re.compile(r"""(?:environ\.get|getenv|environ\[)\(?\s*["'](SENTRY_[A-Z0-9_]+)["']""")
    read = set()
    for path in Path(sentry_sdk.__file__).parent.rglob("*.py"):
        read.update(reads.findall(path.read_text(encoding="utf-8")))
    assert read and read <= SENTRY_SDK_VARIABLES, sorted(read - SENTRY_SDK_VARIABLES)
