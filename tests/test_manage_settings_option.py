"""`manage.py CMD --settings=X` loads X, as Django's own command line does.

manage.py wraps Django's command line in exit_on_settings_error, which loads the settings before
Django parses its options (so a bad variable prints one line instead of a traceback); it must
apply --settings and --pythonpath first, or every such command runs on DJANGO_SETTINGS_MODULE's
settings instead (and `check --settings=…` checks the wrong project).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _manage(tmp_path: Path, *args: str, **extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "SENTRY_DSN": "",
           "SENTRY_INBOX_PATH": str(tmp_path / "inbox.sqlite3"), **extra}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("form", [["--settings=tests.hostile_settings"],
                                  ["--settings", "tests.hostile_settings"]], ids=["equals", "separate"])
def test_the_settings_option_wins_over_the_environment(tmp_path, form):
    done = _manage(tmp_path, "diffsettings", *form)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "ROOT_URLCONF = 'tests.hostile_urls'" in done.stdout


def test_without_the_option_the_environment_names_the_settings(tmp_path):
    done = _manage(tmp_path, "diffsettings")
    assert "ROOT_URLCONF = 'config.urls'" in done.stdout, done.stderr[-2000:]


def test_pythonpath_is_applied_before_the_settings_load(tmp_path):
    (tmp_path / "elsewhere_settings.py").write_text(
        "from config.settings import *  # noqa: F403\nROOT_URLCONF = 'tests.hostile_urls'\n")
    done = _manage(tmp_path, "diffsettings", f"--pythonpath={tmp_path}", "--settings=elsewhere_settings")
    assert "ROOT_URLCONF = 'tests.hostile_urls'" in done.stdout, done.stderr[-2000:]


def test_a_bad_variable_still_prints_one_line_with_the_option(tmp_path):
    done = _manage(tmp_path, "check", "--settings=tests.hostile_settings", SENTRY_TRACES_SAMPLE_RATE="2")
    assert done.returncode == 2 and done.stderr.splitlines() == [
        "ImproperlyConfigured: SENTRY_TRACES_SAMPLE_RATE='2' is invalid: a number in [0, 1]."], done.stderr
