"""The variable tables are the one source: `.env.example` and docs/configuration.md list every variable,
and `.env.example` copied as it is starts the project with the documented defaults."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from dotenv import dotenv_values

from config.env import ProjectEnv
from errorwarden.envvars import variables
from errorwarden.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
SPEC_VARIABLES = (
    "SENTRY_DSN", "SENTRY_ENVIRONMENT", "SENTRY_TRACES_SAMPLE_RATE", "SENTRY_PROFILES_SAMPLE_RATE",
    "APP_VERSION", "SENTRY_CRITICAL_ERROR_THRESHOLD", "SENTRY_ERROR_RATE_THRESHOLD",
    "SENTRY_EMAIL_ALERTS_ENABLED", "SENTRY_ALERT_EMAIL_RECIPIENTS", "SENTRY_SLACK_ALERTS_ENABLED",
    "SENTRY_SLACK_WEBHOOK_URL", "SENTRY_SLACK_CHANNEL",
)
DECLARED = [var.name for cls in (Settings, ProjectEnv) for _, var in variables(cls)]


@pytest.fixture
def example_env() -> dict[str, str]:
    """The variables .env.example sets, read the way config/settings.py reads .env."""
    return {k: v or "" for k, v in dotenv_values(ROOT / ".env.example").items()}


def test_the_tables_declare_every_spec_variable():
    """Every variable the spec names is declared once, in one of the two tables."""
    assert set(SPEC_VARIABLES) <= set(DECLARED)
    assert len(DECLARED) == len(set(DECLARED))


def test_the_example_file_lists_exactly_the_declared_variables(example_env):
    """.env.example names every declared variable and nothing the code does not read."""
    assert sorted(example_env) == sorted(DECLARED)


def test_the_example_file_parses_to_the_documented_defaults(example_env):
    """Copying .env.example to .env changes nothing but the recipients it names and, for the project,
    the e-mail backend (the console's, so a laptop without an SMTP server passes sentry_check)."""
    from errorwarden.envvars import collect

    loaded = load_settings(example_env)
    assert loaded.with_overrides(alert_email_recipients=(), app_name="") == Settings()
    assert loaded.app_name == "muejam-backend"  # the backend's own name, as config/settings.py defaults it
    assert loaded.alert_email_recipients == ("oncall@example.com", "engineering@example.com")
    assert loaded.slack_channel == "#engineering-alerts"
    project = ProjectEnv(**collect(ProjectEnv, example_env, []))
    assert project.email_backend == "django.core.mail.backends.console.EmailBackend"
    assert ProjectEnv(**{**project.__dict__, "email_backend": ProjectEnv().email_backend}) == ProjectEnv()


def test_the_example_file_as_copied_passes_sentry_check_on_a_laptop(example_env, tmp_path):
    """`.env.example` as the environment (what copying it to .env gives) and no services running:
    `manage.py sentry_check` exits 0; the test alert e-mail is printed, not sent to localhost:25."""
    import os
    import subprocess
    import sys

    keep = ("PATH", "HOME", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if k in keep}
    # The inbox goes to tmp_path rather than the repository's var/: the only line changed.
    env.update(example_env, SENTRY_INBOX_PATH=str(tmp_path / "inbox.sqlite3"))
    done = subprocess.run([sys.executable, "manage.py", "sentry_check"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    email = next(line for line in done.stdout.splitlines() if line.split()[1:2] == ["email"])
    assert email.split()[0] == "OK", done.stdout
    assert "printed to the console by EMAIL_BACKEND=django.core.mail.backends.console.EmailBackend" in email
    assert "Subject: [" in done.stdout and "SentryCheck" in done.stdout  # the console backend's copy


def test_configuration_docs_list_every_variable_with_its_default():
    """docs/configuration.md has one row per declared variable, showing the default the code uses."""
    text = (ROOT / "docs" / "configuration.md").read_text()
    rows = dict(re.findall(r"^\| `([A-Z0-9_]+)` \| ([^|]*) \|", text, flags=re.M))
    assert sorted(rows) == sorted(DECLARED)
    for cls in (Settings, ProjectEnv):
        for field, var in variables(cls):
            if not var.secret and isinstance(field.default, str | int | float | bool) and field.default != "":
                shown = str(field.default).lower() if isinstance(field.default, bool) else str(field.default)
                assert f"`{shown}`" in rows[var.name], var.name


def test_configuration_docs_show_each_variables_allowed_values_and_example():
    """The Allowed and Example columns are the parser's own texts, so the table cannot drift from the code
    (an example is declared where the default does not show the shape of a value)."""
    text = (ROOT / "docs" / "configuration.md").read_text()
    rows = {name: (allowed.strip(), example.strip()) for name, allowed, example in re.findall(
        r"^\| `([A-Z0-9_]+)` \| [^|]* \| ([^|]*) \| ([^|]*) \|", text, flags=re.M)}
    for cls in (Settings, ProjectEnv):
        for _, var in variables(cls):
            assert var.allowed, f"{var.name} declares no allowed values"
            assert rows[var.name] == (var.allowed, f"`{var.example}`" if var.example else ""), var.name
