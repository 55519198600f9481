"""What an adopting project controls from its Django settings: the ERROR_TRACKING dict (validated by
the same table as the environment, followed by override_settings) and where the dashboard lives."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory, override_settings
from django.urls import resolve

from errorwarden.dashboard.mount import dashboard_prefix, is_dashboard
from errorwarden.runtime import current_runtime
from errorwarden.settings import merged_environ
from errorwarden.tracing import TracesSampler


def _wsgi(path: str) -> dict:
    return {"parent_sampled": None, "wsgi_environ": {"PATH_INFO": path}, "transaction_context": {}}


def test_override_settings_of_error_tracking_reinitialises_and_restores():
    before = current_runtime().settings
    overrides = {"SENTRY_ENVIRONMENT": "staging", "SENTRY_CRITICAL_ERROR_THRESHOLD": 3,
                 "SENTRY_EMAIL_ALERTS_ENABLED": False, "SENTRY_SCRUB_EXTRA_KEYS": ["member_no", "badge"]}
    with override_settings(ERROR_TRACKING=overrides):
        inside = current_runtime().settings
        assert (inside.environment, inside.critical_error_threshold, inside.email_alerts_enabled,
                inside.scrub_extra_keys) == ("staging", 3, False, ("member_no", "badge"))
        assert current_runtime().scrubber.scrub_text("member_no=77-1") != "member_no=77-1"
    after = current_runtime().settings
    assert after == before and after.environment != "staging"


@pytest.mark.parametrize(("overrides", "named"), [
    ({"SENTRY_TRACES_SAMPLE_RATE": 2}, "SENTRY_TRACES_SAMPLE_RATE='2' is invalid: a number in [0, 1]"),
    ({"SENTRY_TRACE_RATE": "0.5"}, "ERROR_TRACKING['SENTRY_TRACE_RATE']"),
    ({"SENTRY_ENVIRONMENT": {"name": "x"}}, "a string, number, boolean or list of strings"),
])
def test_a_bad_error_tracking_value_is_refused_like_a_bad_variable(overrides, named):
    before = current_runtime().settings
    with pytest.raises(ImproperlyConfigured) as refused, override_settings(ERROR_TRACKING=overrides):
        pass
    assert named in str(refused.value)
    assert current_runtime().settings == before  # the running setup is left as it was


def test_the_dict_wins_over_the_environment():
    merged = merged_environ({"SENTRY_ENVIRONMENT": "staging"}, {"SENTRY_ENVIRONMENT": "production", "X": "1"})
    assert merged == {"SENTRY_ENVIRONMENT": "staging", "X": "1"}


def test_the_dashboard_is_wherever_the_project_mounts_it():
    """Mounted at /ops/errors/: its requests are the dashboard's (never traced, not in the figures),
    and /_errors/ is just another path of the project."""
    sampler = TracesSampler(0.25)
    with override_settings(ROOT_URLCONF="tests.mounted_urls"):
        assert dashboard_prefix() == "/ops/errors/"
        assert sampler(_wsgi("/ops/errors/performance/")) == 0.0
        assert sampler(_wsgi("/_errors/performance/")) == 0.25
        request = RequestFactory().get("/ops/errors/")
        request.resolver_match = resolve("/ops/errors/")
        assert is_dashboard(request)
    assert dashboard_prefix() == "/_errors/"  # the backend's own URLconf again
    elsewhere = RequestFactory().get("/api/books/")
    elsewhere.resolver_match = resolve("/api/books/")
    assert not is_dashboard(elsewhere)


def test_without_the_dashboard_mounted_nothing_is_excluded():
    with override_settings(ROOT_URLCONF="tests.snippet_urls"):
        assert dashboard_prefix() is None
        assert TracesSampler(0.25)(_wsgi("/_errors/")) == 0.25


def test_an_unknown_key_names_the_variable_it_misspells_and_where_the_names_are():
    """The line says what the key is not, the closest name, and points at no file the wheel lacks."""
    with pytest.raises(ImproperlyConfigured) as refused:
        merged_environ({"SENTRY_TRACE_SAMPLE_RATE": 2}, {})
    line = str(refused.value)
    assert line.startswith("ERROR_TRACKING['SENTRY_TRACE_SAMPLE_RATE'] is not a variable errorwarden reads; "
                           "did you mean SENTRY_TRACES_SAMPLE_RATE?"), line
    assert "docs/configuration.md" not in line and "Configuration page" in line
    with pytest.raises(ImproperlyConfigured) as refused:
        merged_environ({"ZZQX": 1}, {})
    assert str(refused.value).startswith("ERROR_TRACKING['ZZQX'] is not a variable errorwarden reads. Hint:")
