"""A bad variable ends MueJam's Celery worker and beat as it ends manage.py: one line, status 2.

Without the app's ``on_configure`` receiver (errorwarden.envvars.settings_before_celery) Celery's
CLI reads the settings while parsing its options and prints a 90-line traceback through click.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINE = "ImproperlyConfigured: SENTRY_TRACES_SAMPLE_RATE='2' is invalid: a number in [0, 1]."


@pytest.mark.parametrize("command", [["worker", "--pool=solo"], ["beat"]])
def test_a_bad_variable_stops_the_worker_and_beat_with_one_line(command, tmp_path):
    env = {**os.environ, "SENTRY_TRACES_SAMPLE_RATE": "2", "DJANGO_SETTINGS_MODULE": "config.settings"}
    done = subprocess.run([sys.executable, "-m", "celery", "-A", "config", *command], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.splitlines() == [LINE], done.stderr


def test_good_settings_still_load_once_through_the_receiver():
    """The receiver does nothing once the settings module is imported (settings.py imports the
    Celery app, and the worker configures it after), so the app's configuration is Django's."""
    code = ("from config.celery import app\nfrom django.conf import settings\n"
            "print(app.conf.broker_url == settings.CELERY_BROKER_URL, settings.configured)")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "CELERY_BROKER_URL": "redis://127.0.0.1:6379/15"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.stdout.split() == ["True", "True"], done.stdout + done.stderr
