"""load_settings: defaults, every variable's good values, the bad-configuration table, secrets."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

import errorwarden
from errorwarden.grouping import Classifier
from errorwarden.runtime import build
from errorwarden.settings import DEFAULT_SERVICE_HOSTS, Settings, load_settings

DSN = "https://abc123@o1.ingest.sentry.io/42"
WEBHOOK = "https://hooks.slack.com/services/T/B/X"
EMAIL_ON = "SENTRY_EMAIL_ALERTS_ENABLED"
RECIPIENTS = "SENTRY_ALERT_EMAIL_RECIPIENTS"
ROOT = Path(__file__).resolve().parent.parent
GOOD_RULE = {"message": "timeout", "category": "external", "fingerprint": ["t"]}


@pytest.mark.parametrize(
    ("attr", "expected"),
    [
        pytest.param("environment", "development", id="environment"),
        pytest.param("traces_sample_rate", 0.1, id="traces_sample_rate"),
        pytest.param("profiles_sample_rate", 0.1, id="profiles_sample_rate"),
        pytest.param("release", "django@1.0.0", id="release"),
        pytest.param("critical_error_threshold", 10, id="critical_error_threshold"),
        pytest.param("error_rate_threshold", 0.01, id="error_rate_threshold"),
        pytest.param("email_alerts_enabled", True, id="email_alerts_enabled"),
        pytest.param("slack_alerts_enabled", False, id="slack_alerts_enabled"),
        pytest.param("slack_channel", "#engineering-alerts", id="slack_channel"),
        pytest.param("dsn", "", id="dsn"),
        pytest.param("local_inbox", True, id="local_inbox"),
        pytest.param("alert_email_recipients", (), id="alert_email_recipients"),
        pytest.param("slack_webhook_url", "", id="slack_webhook_url"),
        pytest.param("ignore_errors", (), id="ignore_errors"),
        pytest.param("grouping_rules", (), id="grouping_rules"),
        pytest.param("service_hosts", dict(DEFAULT_SERVICE_HOSTS), id="service_hosts"),
    ],
)
def test_defaults_from_empty_mapping(attr, expected):
    """An empty environment yields the documented default for each setting."""
    assert getattr(load_settings({}), attr) == expected


@pytest.mark.parametrize(
    ("env", "attr", "expected"),
    [
        pytest.param({"SENTRY_DSN": DSN}, "dsn", DSN, id="dsn"),
        pytest.param({"SENTRY_DSN": DSN}, "local_inbox", False, id="dsn-disables-inbox"),
        pytest.param({"SENTRY_DSN": f"  {DSN}  "}, "dsn", DSN, id="dsn-stripped"),
        pytest.param({"SENTRY_ENVIRONMENT": "production"}, "environment", "production", id="environment"),
        pytest.param({"SENTRY_TRACES_SAMPLE_RATE": "0"}, "traces_sample_rate", 0.0, id="traces-0"),
        pytest.param({"SENTRY_TRACES_SAMPLE_RATE": "1"}, "traces_sample_rate", 1.0, id="traces-1"),
        pytest.param({"SENTRY_TRACES_SAMPLE_RATE": "0.25"}, "traces_sample_rate", 0.25, id="traces-0.25"),
        pytest.param({"SENTRY_PROFILES_SAMPLE_RATE": "0"}, "profiles_sample_rate", 0.0, id="profiles-0"),
        pytest.param({"SENTRY_PROFILES_SAMPLE_RATE": "1"}, "profiles_sample_rate", 1.0, id="profiles-1"),
        pytest.param({"SENTRY_PROFILES_SAMPLE_RATE": "0.25"}, "profiles_sample_rate", 0.25,
                     id="profiles-0.25"),
        pytest.param({"APP_VERSION": "2.3.4"}, "release", "django@2.3.4", id="release"),
        pytest.param({"DJANGO_SETTINGS_MODULE": "shop.settings"}, "release", "shop@1.0.0",
                     id="app-name-default"),
        pytest.param({"APP_NAME": "shop", "APP_VERSION": "2.3.4"}, "release", "shop@2.3.4", id="app-name"),
        pytest.param({"SENTRY_CRITICAL_ERROR_THRESHOLD": "25"}, "critical_error_threshold", 25,
                     id="critical-threshold"),
        pytest.param({"SENTRY_CRITICAL_ERROR_WINDOW_SECONDS": "120"}, "critical_error_window", 120,
                     id="critical-window"),
        pytest.param({"SENTRY_ERROR_RATE_THRESHOLD": "0.05"}, "error_rate_threshold", 0.05,
                     id="error-rate-threshold"),
        pytest.param({"SENTRY_ERROR_RATE_THRESHOLD": "1"}, "error_rate_threshold", 1.0,
                     id="error-rate-threshold-1"),
        pytest.param({"SENTRY_ERROR_RATE_WINDOW_SECONDS": "600"}, "error_rate_window", 600,
                     id="error-rate-window"),
        pytest.param({"SENTRY_ALERT_COOLDOWN_SECONDS": "30"}, "alert_cooldown", 30, id="cooldown"),
        pytest.param({"SENTRY_ALERT_EMAIL_RECIPIENTS": " a@example.com , b.c@example.org "},
                     "alert_email_recipients", ("a@example.com", "b.c@example.org"), id="recipients-spaces"),
        pytest.param({"SENTRY_ALERT_EMAIL_RECIPIENTS": "a@b.com,,c@d.com"},
                     "alert_email_recipients", ("a@b.com", "c@d.com"), id="recipients-empty-item-skipped"),
        pytest.param({EMAIL_ON: "TRUE"}, "email_alerts_enabled", True, id="bool-TRUE"),
        pytest.param({EMAIL_ON: "false"}, "email_alerts_enabled", False, id="bool-false"),
        pytest.param({EMAIL_ON: "1"}, "email_alerts_enabled", True, id="bool-1"),
        pytest.param({EMAIL_ON: "0"}, "email_alerts_enabled", False, id="bool-0"),
        pytest.param({EMAIL_ON: "Yes"}, "email_alerts_enabled", True, id="bool-Yes"),
        pytest.param({EMAIL_ON: "no"}, "email_alerts_enabled", False, id="bool-no"),
        pytest.param({EMAIL_ON: "on"}, "email_alerts_enabled", True, id="bool-on"),
        pytest.param({EMAIL_ON: "Off"}, "email_alerts_enabled", False, id="bool-Off"),
        pytest.param({EMAIL_ON: ""}, "email_alerts_enabled", True, id="bool-empty-default"),
        pytest.param({"SENTRY_SLACK_ALERTS_ENABLED": "true", "SENTRY_SLACK_WEBHOOK_URL": WEBHOOK},
                     "slack_alerts_enabled", True, id="slack-enabled"),
        pytest.param({"SENTRY_SLACK_ALERTS_ENABLED": "true", "SENTRY_SLACK_WEBHOOK_URL": WEBHOOK},
                     "slack_webhook_url", WEBHOOK, id="slack-webhook-https"),
        pytest.param({"SENTRY_SLACK_WEBHOOK_URL": "http://127.0.0.1:8080/hook"},
                     "slack_webhook_url", "http://127.0.0.1:8080/hook", id="webhook-http-loopback-ip"),
        pytest.param({"SENTRY_SLACK_WEBHOOK_URL": "http://localhost/x"},
                     "slack_webhook_url", "http://localhost/x", id="webhook-http-localhost"),
        pytest.param({"SENTRY_SLACK_CHANNEL": "#ops"}, "slack_channel", "#ops", id="slack-channel"),
        pytest.param({"SENTRY_IGNORE_ERRORS": "Http404, django.core.exceptions.PermissionDenied"},
                     "ignore_errors", ("Http404", "django.core.exceptions.PermissionDenied"),
                     id="ignore-errors"),
        pytest.param({"SENTRY_SERVICE_HOSTS": "files.example.com=s3"}, "service_hosts",
                     {**DEFAULT_SERVICE_HOSTS, "files.example.com": "s3"}, id="service-hosts"),
        pytest.param({"SENTRY_SERVICE_HOSTS": "Files.Example.COM = s3"}, "service_hosts",
                     {**DEFAULT_SERVICE_HOSTS, "files.example.com": "s3"}, id="service-hosts-lowercased"),
        pytest.param({"SENTRY_GROUPING_RULES": json.dumps([GOOD_RULE])},
                     "grouping_rules", (GOOD_RULE,), id="grouping-rules"),
    ],
)
def test_good_value_parses(env, attr, expected):
    """Each variable set to a valid value is parsed into the expected typed setting."""
    assert getattr(load_settings(env), attr) == expected


def _bad(name: str, value: str, allowed: str, id: str, shown: str | None = None):
    """One bad-value case; ``shown`` is how the message quotes the value (its repr unless masked)."""
    return pytest.param(name, value, allowed, repr(value) if shown is None else shown, id=id)


BAD = [
    _bad("SENTRY_TRACES_SAMPLE_RATE", "abc", "[0, 1]", "traces-abc"),
    _bad("SENTRY_TRACES_SAMPLE_RATE", "1.5", "[0, 1]", "traces-1.5"),
    _bad("SENTRY_TRACES_SAMPLE_RATE", "-0.1", "[0, 1]", "traces-negative"),
    _bad("SENTRY_TRACES_SAMPLE_RATE", "nan", "[0, 1]", "traces-nan"),
    _bad("SENTRY_TRACES_SAMPLE_RATE", "inf", "[0, 1]", "traces-inf"),
    _bad("SENTRY_PROFILES_SAMPLE_RATE", "1.5", "[0, 1]", "profiles-1.5"),
    _bad("SENTRY_CRITICAL_ERROR_THRESHOLD", "0", "whole number from 1", "threshold-0"),
    _bad("SENTRY_CRITICAL_ERROR_THRESHOLD", "-3", "whole number from 1", "threshold-negative"),
    _bad("SENTRY_CRITICAL_ERROR_THRESHOLD", "ten", "whole number from 1", "threshold-ten"),
    _bad("SENTRY_CRITICAL_ERROR_THRESHOLD", "2.5", "whole number from 1", "threshold-float"),
    _bad("SENTRY_ERROR_RATE_THRESHOLD", "2", "(0, 1]", "error-rate-2"),
    _bad("SENTRY_ERROR_RATE_THRESHOLD", "0", "(0, 1]", "error-rate-0"),
    _bad("SENTRY_ERROR_RATE_MIN_REQUESTS", "0", "whole number from 1", "error-rate-min-requests-0"),
    _bad("SENTRY_EXTERNAL_SERVICE_ALERT_THRESHOLD", "0", "whole number from 1", "external-threshold-0"),
    _bad(RECIPIENTS, "not-an-email", "email addresses", "recipient-bad"),
    _bad(RECIPIENTS, "a@b.com,,bad", "('bad' is not)", "recipient-bad-in-list"),
    _bad("SENTRY_EMAIL_ALERTS_ENABLED", "maybe", "true/false", "bool-maybe"),
    _bad("SENTRY_SLACK_ALERTS_ENABLED", "maybe", "true/false", "slack-bool-maybe"),
    _bad("SENTRY_DSN", "not-a-dsn", "Sentry DSN", "dsn-not-url", shown="'***'"),
    _bad("SENTRY_DSN", "https://o1.ingest.sentry.io/42", "Sentry DSN", "dsn-no-key", shown="'https://***'"),
    _bad("SENTRY_DSN", "https://key@host/notanumber", "'notanumber' must be a number",
         "dsn-project-not-number", shown="'https://***@host/notanumber'"),
    _bad("SENTRY_DSN", "https://key@host:9000/project-id", "must be a number",
         "dsn-keeps-host-port-project", shown="'https://***@host:9000/project-id'"),
    _bad("SENTRY_DSN", "https://your-sentry-dsn@sentry.io/project-id", "spec's placeholder",
         "dsn-spec-placeholder", shown="'https://***@sentry.io/project-id'"),
    _bad("SENTRY_DSN", "ftp://key@host/1", "Sentry DSN", "dsn-ftp", shown="'ftp://***@host/1'"),
    _bad("SENTRY_DSN", "https://key@host:99999/1", "Sentry DSN", "dsn-bad-port", shown="'***'"),
    _bad("SENTRY_SLACK_WEBHOOK_URL", "http://hooks.slack.com/services/T/B/X", "https://",
         "webhook-plain-http", shown="'http://hooks.slack.com/***'"),
    _bad("SENTRY_SLACK_WEBHOOK_URL", "hooks.slack.com/services/T/B/X", "https://", "webhook-no-scheme",
         shown="'***'"),
    _bad("SENTRY_CRITICAL_ERROR_WINDOW_SECONDS", "0", "whole number from 1", "critical-window-0"),
    _bad("SENTRY_ERROR_RATE_WINDOW_SECONDS", "0", "whole number from 1", "error-rate-window-0"),
    _bad("SENTRY_ALERT_COOLDOWN_SECONDS", "0", "whole number from 1", "cooldown-0"),
    _bad("SENTRY_ENVIRONMENT", "prod env", "letters, digits", "environment-space"),
    _bad("APP_VERSION", "1.0 beta", "version", "app-version-space"),
    _bad("APP_NAME", "shop/api", "letters, digits", "app-name-slash"),
    _bad("SENTRY_SERVICE_HOSTS", "files.example.com", "host=service", "service-hosts-no-equals"),
    _bad("SENTRY_GROUPING_RULES", "{not json", "JSON list", "grouping-not-json"),
    _bad("SENTRY_GROUPING_RULES", '{"a": 1}', "JSON list", "grouping-not-list"),
]


@pytest.mark.parametrize(("name", "value", "allowed", "shown"), BAD)
def test_bad_value_raises_naming_variable_value_and_allowed(name, value, allowed, shown):
    """A bad value raises ImproperlyConfigured whose message names the variable, quotes the offending
    value (masked for a DSN or webhook, whose raw value then never appears) and says what is allowed."""
    with pytest.raises(ImproperlyConfigured) as caught:
        load_settings({name: value})
    message = str(caught.value)
    assert name in message
    assert f"{name}={shown} is invalid" in message
    assert allowed in message
    if "***" in shown:
        assert value not in message and "/T/B/X" not in message


BAD_RULES = [
    pytest.param({"message": "timeout (", "category": "external"}, "bad regex 'timeout ('", id="bad-regex"),
    pytest.param({"match": "timeout", "fingerprint": ["t"]}, "field 'match'", id="unknown-field"),
    pytest.param({"type": "TimeoutError", "category": "slow"}, "'slow' is not allowed", id="bad-category"),
]


@pytest.mark.parametrize(("rule", "problem"), BAD_RULES)
def test_a_bad_grouping_rule_stops_start_up_naming_the_rule(rule, problem):
    """Valid JSON carrying an invalid rule passes load_settings but stops the runtime build that
    init_sentry() runs at start-up, with ImproperlyConfigured naming the rule's index and problem."""
    settings = load_settings({"SENTRY_GROUPING_RULES": json.dumps([GOOD_RULE, rule])})
    with pytest.raises(ImproperlyConfigured) as caught:
        build(settings)
    assert "SENTRY_GROUPING_RULES[1]" in str(caught.value)
    assert problem in str(caught.value)


def test_the_good_grouping_rule_is_accepted_and_applied_by_the_classifier():
    """The rule the good-value table uses is a valid rule, not just valid JSON: the classifier the
    runtime builds from it accepts it and groups a matching error by its fingerprint."""
    settings = load_settings({"SENTRY_GROUPING_RULES": json.dumps([GOOD_RULE])})
    classifier = Classifier(settings.service_hosts, settings.grouping_rules)
    event = {"exception": {"values": [{"type": "OSError", "value": "read timeout"}]}}
    verdict = classifier.classify(event, {})
    assert (verdict.category, verdict.fingerprint) == ("external", ("t",))


@pytest.mark.parametrize(
    ("env", "named"),
    [
        pytest.param({"SENTRY_TRACES_SAMPLE_RATE": "1.5"}, "SENTRY_TRACES_SAMPLE_RATE='1.5'",
                     id="traces-1.5"),
        pytest.param({"SENTRY_GROUPING_RULES": '[{"message": "timeout (", "category": "external"}]'},
                     "SENTRY_GROUPING_RULES[0]", id="bad-grouping-rule"),
        pytest.param({"DATABASE_URL": "mysql://root:hunter2pw@db/app"},
                     "DATABASE_URL='mysql://***@db/app' is invalid", id="database-url-engine"),
        pytest.param({"DATABASE_URL": "postgres://u:hunter2pw@db:port/app"}, "DATABASE_URL='***' is invalid",
                     id="database-url-malformed"),
        pytest.param({"REPLICA_DATABASE_URL": "redis://127.0.0.1:6379/0"},
                     "REPLICA_DATABASE_URL='redis://***'", id="replica-url"),
        pytest.param({"EMAIL_PORT": "70000"}, "EMAIL_PORT='70000'", id="email-port"),
        pytest.param({"EMAIL_USE_TLS": "maybe"}, "EMAIL_USE_TLS='maybe'", id="email-tls"),
        pytest.param({"DJANGO_DEBUG": "perhaps"}, "DJANGO_DEBUG='perhaps'", id="django-debug"),
    ],
)
def test_manage_py_check_refuses_to_start_with_a_bad_setting(env, named):
    """`manage.py check` with a bad variable exits non-zero; stderr names it (masked) and the error."""
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env={**os.environ, **env},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith("ImproperlyConfigured: ")
    assert named in result.stderr
    assert "Traceback" not in result.stderr  # one line per problem, nothing to dig through
    assert "hunter2pw" not in result.stderr


def test_slack_enabled_without_webhook_raises():
    """Enabling Slack alerts with no webhook URL raises, naming both variables and the fix."""
    with pytest.raises(ImproperlyConfigured) as caught:
        load_settings({"SENTRY_SLACK_ALERTS_ENABLED": "true"})
    message = str(caught.value)
    assert "SENTRY_SLACK_ALERTS_ENABLED" in message
    assert "SENTRY_SLACK_WEBHOOK_URL" in message
    assert "set the webhook URL or disable" in message


@pytest.mark.parametrize(
    ("env", "secret", "name"),
    [
        pytest.param({"SENTRY_DSN": "https://supersecretkey@host/abc"}, "supersecretkey", "SENTRY_DSN",
                     id="dsn"),
        pytest.param({"SENTRY_DSN": "supersecretkey@host/abc"}, "supersecretkey", "SENTRY_DSN",
                     id="dsn-no-scheme"),
        pytest.param({"SENTRY_SLACK_WEBHOOK_URL": "http://hooks.slack.com/services/T000/B000/SECRETSECRET"},
                     "SECRETSECRET", "SENTRY_SLACK_WEBHOOK_URL", id="webhook"),
        pytest.param({"SENTRY_SLACK_ALERTS_ENABLED": "on",
                      "SENTRY_SLACK_WEBHOOK_URL": "http://hooks.slack.com/services/T000/B000/SECRETSECRET"},
                     "SECRETSECRET", "SENTRY_SLACK_WEBHOOK_URL", id="webhook-enabled"),
        pytest.param({"REDIS_URL": "ftp://user:supersecretkey@cache/0"}, "supersecretkey", "REDIS_URL",
                     id="redis-url"),
    ],
)
def test_secret_never_in_error_message(env, secret, name):
    """A rejected secret-bearing value is masked: the message names the variable but not the secret."""
    with pytest.raises(ImproperlyConfigured) as caught:
        load_settings(env)
    message = str(caught.value)
    assert name in message
    assert secret not in message
    assert secret not in repr(caught.value)


@pytest.mark.parametrize(
    "env",
    [
        pytest.param({"SENTRY_DSN": "https://key@[host/1"}, id="dsn"),
        pytest.param({"SENTRY_SLACK_WEBHOOK_URL": "https://[hooks.slack.com/x"}, id="webhook"),
        pytest.param({"SENTRY_URL": "https://[sentry.example.com"}, id="sentry-url"),
        pytest.param({"REDIS_URL": "redis://[cache/0"}, id="redis-url"),
    ],
)
def test_unparseable_url_raises_improperly_configured(env):
    """A URL that urlsplit cannot parse is still reported as ImproperlyConfigured naming the variable."""
    with pytest.raises(ImproperlyConfigured, match=next(iter(env))):
        load_settings(env)


@pytest.mark.parametrize(
    ("attr", "value"),
    [
        pytest.param("environment", "production", id="environment"),
        pytest.param("dsn", DSN, id="dsn"),
        pytest.param("traces_sample_rate", 1.0, id="traces"),
    ],
)
def test_settings_is_frozen(attr, value):
    """Assigning to any Settings field raises FrozenInstanceError."""
    settings = load_settings({})
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(settings, attr, value)


@pytest.mark.parametrize(
    ("changes", "attr", "expected"),
    [
        pytest.param({"dsn": DSN}, "local_inbox", False, id="dsn"),
        pytest.param({"app_version": "9.9.9"}, "release", "django@9.9.9", id="release"),
        pytest.param({"traces_sample_rate": 1.0}, "traces_sample_rate", 1.0, id="traces"),
    ],
)
def test_with_overrides_returns_changed_copy(changes, attr, expected):
    """with_overrides returns a new Settings with the change and leaves the original untouched."""
    original = load_settings({})
    before = getattr(original, attr)
    copy = original.with_overrides(**changes)
    assert isinstance(copy, Settings)
    assert copy is not original
    assert getattr(copy, attr) == expected
    assert getattr(original, attr) == before
    assert copy.with_overrides(**{k: getattr(original, k) for k in changes}) == original


@pytest.mark.parametrize("env, secret", [
    pytest.param({"SENTRY_DSN": "https://supersecretkey/abc"}, "supersecretkey", id="dsn-without-at"),
    pytest.param({"SENTRY_DSN": "https://k@h/\u00b2"}, None, id="dsn-superscript-project"),
    pytest.param({"SENTRY_SLACK_WEBHOOK_URL": "https://hooks.slack.com:abc/x"}, None, id="webhook-bad-port"),
])
def test_more_malformed_urls_are_refused_without_showing_secrets(env, secret):
    """A DSN without '@' never shows its key, a non-ASCII project id and a bad port are refused."""
    with pytest.raises(ImproperlyConfigured) as caught:
        load_settings(env)
    assert next(iter(env)) in str(caught.value)
    if secret:
        assert secret not in str(caught.value)


def test_service_hosts_cannot_be_changed_after_start_up():
    """The parsed host map is read-only, like the rest of the settings."""
    with pytest.raises(TypeError):
        load_settings({}).service_hosts["x"] = "y"


def test_every_bad_variable_is_reported_at_once_one_line_each():
    """Three bad variables give one error listing all three, each on its own line."""
    with pytest.raises(ImproperlyConfigured) as caught:
        load_settings({"SENTRY_TRACES_SAMPLE_RATE": "2", "SENTRY_ENVIRONMENT": "prod env",
                       "SENTRY_DSN": "https://k@h/x"})
    lines = str(caught.value).splitlines()
    assert lines[0] == "3 configuration problems:"
    assert [line.split("=")[0].strip() for line in lines[1:]] == [
        "SENTRY_DSN", "SENTRY_ENVIRONMENT", "SENTRY_TRACES_SAMPLE_RATE"]


SPEC = Path("/work/shared/seeds/000_3816f1d9f38f0d38.txt")


def _spec_env_block() -> str:
    """The spec's own `.env` block, verbatim (the first ```bash block of its Configuration section)."""
    text = (SPEC if SPEC.exists() else ROOT / "docs" / "spec-env-block.txt").read_text()
    return text.split("### Environment Variables", 1)[1].split("```bash", 1)[1].split("```", 1)[0]


def test_the_specs_env_block_read_as_a_dotenv_file_fails_only_on_its_placeholder_dsn(tmp_path):
    """Copied verbatim into .env, the spec's block parses except for the placeholder DSN, whose
    message says why; the unquoted '#engineering-alerts' keeps its value."""
    from errorwarden.envvars import read_dotenv

    (tmp_path / ".env").write_text(_spec_env_block())
    environ: dict[str, str] = {}
    read_dotenv(tmp_path / ".env", environ)
    assert environ["SENTRY_SLACK_CHANNEL"] == "#engineering-alerts"
    with pytest.raises(ImproperlyConfigured) as caught:
        load_settings(environ)
    assert str(caught.value).count("is invalid") == 1
    assert "SENTRY_DSN='https://***@sentry.io/project-id'" in str(caught.value)
    assert "spec's placeholder" in str(caught.value)
    environ.pop("SENTRY_DSN")
    settings = load_settings(environ)
    assert settings.slack_channel == "#engineering-alerts"
    assert settings.alert_email_recipients == ("oncall@example.com", "engineering@example.com")


@pytest.mark.parametrize("entry", ["config.wsgi", "config.asgi"])
def test_the_web_entry_points_print_bad_settings_without_a_traceback(entry):
    """Importing the WSGI or ASGI application with bad variables exits 3 (gunicorn's boot error)
    after printing each problem on its own line, and nothing else."""
    env = {**os.environ, "SENTRY_TRACES_SAMPLE_RATE": "2", "DATABASE_URL": "mysql://root:hunter2pw@db/app"}
    result = subprocess.run([sys.executable, "-c", f"import {entry}"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 3
    assert result.stderr.splitlines()[0] == "ImproperlyConfigured: 2 configuration problems:"
    assert len(result.stderr.splitlines()) == 3
    assert "Traceback" not in result.stderr and "hunter2pw" not in result.stderr


@pytest.mark.parametrize(("env", "module", "extra"), [
    ({"SENTRY_SLACK_ALERTS_ENABLED": "true", "SENTRY_SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/x"},
     "slack_sdk", "slack"),
    ({"REDIS_URL": "redis://127.0.0.1:6379/0"}, "redis", "redis"),
    ({"CELERY_BROKER_URL": "amqp://guest:guest@127.0.0.1:5672//"}, "celery", "celery"),
    ({"SENTRY_SCRUB_ENGINE": "re2"}, "re2", "fast"),
    ({"SENTRY_SCRUB_ENGINE": "hyperscan"}, "hyperscan", "fast"),
])
def test_a_feature_without_its_extra_stops_start_up_naming_the_extra(monkeypatch, env, module, extra):
    """The optional libraries are extras of django-errorwarden: asking for the feature without its
    library is one line naming the variable and the pip command, not an ImportError later."""
    monkeypatch.setitem(sys.modules, module, None)  # importlib.util.find_spec() now answers None
    with pytest.raises(ImproperlyConfigured) as refused:
        load_settings(env)
    [problem] = refused.value.problems
    line = str(problem)
    variable = next(name for name in env if name != "SENTRY_SLACK_WEBHOOK_URL")
    assert line.strip().startswith(f"{variable}=") and f"needs {module}, which is not installed" in line
    assert f"pip install 'django-errorwarden[{extra}]'" in line
    # Until it is on PyPI: the built wheel with the extra (docs/integrating.md, "Install").
    wheel = f"django_errorwarden-{errorwarden.__version__}-py3-none-any.whl"
    assert f"pip install 'path/to/{wheel}[{extra}]'" in line
    monkeypatch.delitem(sys.modules, module)
    load_settings(env)  # installed: accepted


def test_the_guide_shows_the_missing_extra_line_as_it_is_printed(monkeypatch):
    """docs/integrating.md, "Install", quotes the line a missing extra prints: it is the real one."""
    monkeypatch.setitem(sys.modules, "slack_sdk", None)
    with pytest.raises(ImproperlyConfigured) as refused:
        load_settings({"SENTRY_SLACK_ALERTS_ENABLED": "true",
                       "SENTRY_SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/x"})
    guide = (Path(__file__).resolve().parent.parent / "docs" / "integrating.md").read_text(encoding="utf-8")
    assert f"\nImproperlyConfigured: {refused.value}\n" in guide


def test_the_drf_handler_without_drf_names_the_extra():
    code = ("import sys; sys.modules['rest_framework'] = None\n"
            "try:\n import errorwarden.drf\nexcept Exception as e:\n print(type(e).__name__, e)")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
    assert shown.startswith("ImproperlyConfigured errorwarden.drf.exception_handler needs "
                            "djangorestframework"), shown
    assert "pip install 'django-errorwarden[drf]'" in shown
    assert "django_errorwarden-" in shown and ".whl[drf]'" in shown


def test_a_part_given_to_build_is_never_built(tmp_path, monkeypatch):
    """build(transport=..., monitors=...) takes the caller's parts as they are: no outbox is made
    (no spool, no replay thread), sentry-sdk's shape is not checked, no monitor watch exists;
    without them all three are."""
    from errorwarden import sdk

    checks: list[bool] = []
    real_check = sdk.check
    monkeypatch.setattr(sdk, "check", lambda: (checks.append(True), real_check())[1])
    settings = Settings(dsn=DSN, inbox_path=tmp_path / "inbox.sqlite3",
                        outbox_path=tmp_path / "outbox.sqlite3", monitors_enabled=True)
    given = object()
    runtime = build(settings, transport=given, monitors=None)
    try:
        assert runtime.transport is given and runtime.monitors is None
        assert checks == []
    finally:
        runtime.close()
    built = build(settings)
    try:
        assert checks == [True] and built.monitors is not None
        assert built.transport.store.path == tmp_path / "outbox.sqlite3"
    finally:
        built.close()
        built.transport.kill()
    with pytest.raises(TypeError, match="tansport"):
        build(settings, tansport=given)


def test_redis_keys_have_one_prefix_from_the_app_name_and_the_environment():
    """Alert counters and beat monitor state share Settings.redis_prefix, the one source of it."""
    settings = load_settings({"APP_NAME": "shop", "SENTRY_ENVIRONMENT": "staging"})
    assert settings.redis_prefix == "shop:alerts:staging:"
    blog = load_settings({"DJANGO_SETTINGS_MODULE": "blog.settings"})
    assert blog.redis_prefix == "blog:alerts:development:"
