"""`.env.example` documents every variable and, copied as it is, starts the project with the defaults."""

from __future__ import annotations

import re
from pathlib import Path

import environ
import pytest

from infrastructure.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
SPEC_VARIABLES = (
    "SENTRY_DSN", "SENTRY_ENVIRONMENT", "SENTRY_TRACES_SAMPLE_RATE", "SENTRY_PROFILES_SAMPLE_RATE",
    "APP_VERSION", "SENTRY_CRITICAL_ERROR_THRESHOLD", "SENTRY_ERROR_RATE_THRESHOLD",
    "SENTRY_EMAIL_ALERTS_ENABLED", "SENTRY_ALERT_EMAIL_RECIPIENTS", "SENTRY_SLACK_ALERTS_ENABLED",
    "SENTRY_SLACK_WEBHOOK_URL", "SENTRY_SLACK_CHANNEL",
)


@pytest.fixture
def example_env(monkeypatch, tmp_path) -> dict[str, str]:
    """The variables .env.example sets, read the way config/settings.py reads .env."""
    names = re.findall(r"^([A-Z_0-9]+)=", (ROOT / ".env.example").read_text(), flags=re.M)
    for name in names:
        monkeypatch.setenv(name, "")  # records the variable, so teardown undoes what read_env sets
        monkeypatch.delenv(name)
    environ.Env.read_env(ROOT / ".env.example", parse_comments=True)
    import os

    return {name: os.environ[name] for name in names}


def test_every_variable_of_the_spec_and_ours_is_documented(example_env):
    """Each spec variable and each variable our settings or the Django settings read is in .env.example."""
    source = (ROOT / "infrastructure" / "settings.py").read_text()
    ours = set(re.findall(r'"((?:SENTRY|APP|REDIS|CELERY)_[A-Z_]+)"', source))
    django = set(re.findall(r'_read\.\w+\("([A-Z_0-9]+)"', (ROOT / "config" / "settings.py").read_text()))
    assert len(django) >= 15  # the pattern still finds what config/settings.py reads
    assert set(SPEC_VARIABLES) | ours | django <= set(example_env)


def test_the_example_file_parses_to_the_documented_defaults(example_env):
    """Copying .env.example to .env changes nothing but the recipients it names."""
    loaded = load_settings(example_env)
    defaults = Settings()
    assert loaded.with_overrides(alert_email_recipients=()) == defaults.with_overrides(
        inbox_path=loaded.inbox_path)
    assert loaded.alert_email_recipients == ("oncall@example.com", "engineering@example.com")
    assert loaded.slack_channel == "#engineering-alerts"
