"""docs/integrating.md, proven: a second Django project ("shop", written to a temporary directory, with
only `errorwarden` and `rest_framework` installed and the MueJam packages unimportable) captures,
scrubs, groups and alerts through sentry-sdk's real HTTP transport under gunicorn on loopback."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from tests.support.processes import stop
from tests.support.receiver import EnvelopeReceiver
from tests.support.services import require_rabbitmq
from tests.support.slack import SlackStandIn

RABBITMQ = "amqp://guest:guest@127.0.0.1:5672//"
CARD = "4111 1111 1111 1111"
PASSWORD = "hunter2-shop-pass"
_LISTENING = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)")

# The shop's files, as docs/integrating.md describes them.
SHOP = {
    "sitecustomize.py": '''
"""Test harness, not part of the shop: the MueJam project's own packages cannot be imported here, and
neither can the libraries the shop does not use (the MueJam environment has them all installed)."""
import sys

MUEJAM = ("config", "library", "tests")
UNUSED = ("boto3", "botocore", "httpx", "redis")


class _Refuse:
    def find_spec(self, name, path=None, target=None):
        top = name.split(".")[0]
        if top in MUEJAM:
            raise ImportError(f"{name} belongs to the MueJam project, not to the shop")
        if top in UNUSED:
            raise ModuleNotFoundError(f"No module named {top!r} (not installed in the shop)", name=top)
        return None


sys.meta_path.insert(0, _Refuse())
''',
    "manage.py": '''
import os
import sys

from django.core.management import execute_from_command_line

from errorwarden.envvars import exit_on_settings_error

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
exit_on_settings_error(lambda: execute_from_command_line(sys.argv))
''',
    "shop/__init__.py": '''
from shop.celery import app as celery_app  # current before settings.py runs init_sentry()

__all__ = ["celery_app"]
''',
    "shop/celery.py": '''
import os

from celery import Celery

from errorwarden.envvars import settings_before_celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
app = Celery("shop", include=["errorwarden.tasks"])
app.config_from_object("django.conf:settings", namespace="CELERY")
app.on_configure.connect(settings_before_celery)
''',
    "shop/settings.py": '''
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "shop-only-test-key"
DEBUG = os.environ.get("SHOP_DEBUG") == "true"
ALLOWED_HOSTS = ["127.0.0.1"]
ADMINS = [("Shop ops", "ops@shop.example")]  # Django mails them each 500 when DEBUG is off
EMAIL_BACKEND = os.environ.get("SHOP_EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
EMAIL_HOST, EMAIL_PORT = "127.0.0.1", int(os.environ.get("SHOP_SMTP_PORT", "25"))
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "rest_framework", "errorwarden"]
MIDDLEWARE = [
    "errorwarden.middleware.ErrorTrackingMiddleware",  # first
    "django.middleware.common.CommonMiddleware",
]
ROOT_URLCONF = "shop.urls"
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "shop.sqlite3"}}
REST_FRAMEWORK = {"EXCEPTION_HANDLER": "errorwarden.drf.exception_handler"}
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "memory://localhost/"
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "celery")
CELERY_BEAT_SCHEDULE = {"queue-depth": {"task": "errorwarden.probe_queue_depth", "schedule": 60.0}}
LOGGING_CONFIG = "errorwarden.logfilter.configure_logging"  # Django's own handlers scrubbed too
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"scrub": {"()": "errorwarden.logfilter.ScrubLogFilter"}},
    "formatters": {"plain": {"class": "errorwarden.logfilter.LineFormatter",
                             "format": "%(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["scrub"],
                             "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {"shop": {"level": "INFO"}},
}
# The local inbox, alert spool and outbox belong beside this project, not beside the app's code.
os.environ.setdefault("SENTRY_INBOX_PATH", str(BASE_DIR / "var" / "sentry_inbox.sqlite3"))
os.environ.setdefault("APP_NAME", "shop")

from errorwarden.sentry_config import init_sentry  # noqa: E402

init_sentry()
''',
    "shop/urls.py": '''
from django.urls import include, path

from shop import views

urlpatterns = [
    path("charge/<int:order>/", views.charge),
    path("signup/", views.Signup.as_view()),
    path("_errors/", include("errorwarden.dashboard.urls")),
]
''',
    "shop/views.py": '''
import logging

from rest_framework import serializers
from rest_framework.views import APIView

logger = logging.getLogger("shop.payments")


class PaymentDeclined(Exception):
    """The card processor said no."""


def charge(request, order):
    card = request.POST.get("card", "")
    password = request.POST.get("password", "")  # noqa: F841  (a local the SDK records)
    logger.info("charging order %s with card %s", order, card)
    raise PaymentDeclined(f"order {order}: card {card} declined")


class Signup(APIView):
    def post(self, request):
        raise serializers.ValidationError({"email": ["already registered"]})
''',
    "shop/wsgi.py": '''
import os

from django.core.wsgi import get_wsgi_application

from errorwarden.envvars import exit_on_settings_error

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
application = exit_on_settings_error(get_wsgi_application, code=3)
''',
}


def build_shop(root: Path) -> Path:
    """Write the shop project under root; return its directory."""
    for name, text in SHOP.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.lstrip())
    return root


def shop_env(root: Path, **extra: str) -> dict[str, str]:
    """The shop's environment: none of the test run's project variables, only the shop on the path."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SENTRY_", "DJANGO_", "CELERY_", "DATABASE_URL", "REDIS_URL", "PYTHONPATH"))}
    env.update(PYTHONPATH=str(root), DJANGO_SETTINGS_MODULE="shop.settings", SENTRY_TRACES_SAMPLE_RATE="0",
               SENTRY_PROFILES_SAMPLE_RATE="0", SENTRY_EMAIL_ALERTS_ENABLED="false")
    env.update(extra)
    return env


def _wait_for(pattern: re.Pattern[str], log: Path, process: subprocess.Popen, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = pattern.search(log.read_text(errors="replace"))
        if found:
            return found
        if process.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"{process.args[2:4]} did not start:\n{log.read_text(errors='replace')[-3000:]}")


@contextmanager
def running(command: list[str], root: Path, env: dict[str, str], ready: re.Pattern[str],
            name: str) -> Iterator[tuple[subprocess.Popen, re.Match[str], Path]]:
    """Start a command in the shop's directory, wait for its ready line, stop it gracefully at the end."""
    log = root / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=out, stderr=out)
    try:
        yield process, _wait_for(ready, log, process), log
    finally:
        stop(process)


def gunicorn(root: Path, env: dict[str, str]):
    """The shop under gunicorn, one sync worker, on a free loopback port."""
    return running([sys.executable, "-m", "gunicorn", "shop.wsgi:application", "--bind", "127.0.0.1:0",
                    "--workers", "1", "--graceful-timeout", "10"], root, env, _LISTENING, "gunicorn")


def _traffic(base: str) -> list[int]:
    statuses = [requests.post(f"{base}/charge/{order}/", data={"card": CARD, "password": PASSWORD},
                              timeout=30).status_code for order in (1001, 1002, 1003, 1004)]
    statuses.append(requests.post(f"{base}/signup/", json={"email": "x@example.com"}, timeout=30).status_code)
    statuses.append(requests.get(f"{base}/_errors/", timeout=30).status_code)
    return statuses


def _delete_queue(queue: str) -> None:
    """Remove the test's queue and exchange from the shared broker."""
    from kombu import Connection

    with Connection(RABBITMQ, connect_timeout=5) as connection:
        channel = connection.default_channel
        channel.queue_delete(queue)
        channel.exchange_delete(queue)


def _assert_no_secret(receiver: EnvelopeReceiver, slack: SlackStandIn) -> None:
    sent = b"".join(item for envelope in receiver.envelopes for item in envelope.raw_items)
    for secret in (CARD, CARD.replace(" ", ""), PASSWORD):
        assert secret.encode() not in sent and secret not in str(slack.received), secret


def test_the_harness_keeps_the_muejam_packages_out_of_the_shop(tmp_path):
    """Inside the shop's interpreter `library`, `config` and the libraries the shop does not use cannot be
    imported, `errorwarden` can, and Django's system checks pass with no finding of ours."""
    root = build_shop(tmp_path)
    env = shop_env(root, SENTRY_DSN="")
    code = ("import errorwarden\nfor name in ('library', 'config', 'boto3', 'httpx'):\n try:\n"
            "  __import__(name)\n except ImportError as e:\n  print(e)")
    probe = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True,
                           timeout=60)
    assert probe.stdout.splitlines() == [
        "library belongs to the MueJam project, not to the shop",
        "config belongs to the MueJam project, not to the shop",
        "No module named 'boto3' (not installed in the shop)",
        "No module named 'httpx' (not installed in the shop)"], probe.stdout + probe.stderr
    check = subprocess.run([sys.executable, "manage.py", "check"], cwd=root, env=env, capture_output=True,
                           text=True, timeout=60)
    assert check.returncode == 0 and "no issues" in check.stdout, check.stdout + check.stderr
    bad = subprocess.run([sys.executable, "manage.py", "check"], cwd=root, capture_output=True, text=True,
                         env={**env, "SENTRY_TRACES_SAMPLE_RATE": "2"}, timeout=60)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr, bad.stderr
    assert "SENTRY_TRACES_SAMPLE_RATE='2'" in bad.stderr
    worker = subprocess.run([sys.executable, "-m", "celery", "-A", "shop", "worker", "--pool=solo"], cwd=root,
                            capture_output=True, text=True, env={**env, "SENTRY_TRACES_SAMPLE_RATE": "2"},
                            timeout=60)
    assert worker.returncode == 2 and worker.stderr.splitlines() == [
        "ImproperlyConfigured: SENTRY_TRACES_SAMPLE_RATE='2' is invalid: a number in [0, 1]."], worker.stderr


def test_a_second_project_captures_scrubs_groups_and_pages(tmp_path):
    """The shop's unhandled error arrives with stack, source and request; the DRF validation error is
    reported by the exception handler; ids never split an issue; card and password never leave the
    process; and the critical burst pages Slack once."""
    root = build_shop(tmp_path)
    with EnvelopeReceiver() as receiver, SlackStandIn() as slack:
        env = shop_env(root, SENTRY_DSN=receiver.dsn, SENTRY_SLACK_ALERTS_ENABLED="true",
                       SENTRY_SLACK_WEBHOOK_URL=slack.url, SENTRY_CRITICAL_ERROR_THRESHOLD="3")
        with gunicorn(root, env) as (_, listening, log):
            base = f"http://127.0.0.1:{listening.group(1)}"
            assert _traffic(base) == [500, 500, 500, 500, 400, 404], log.read_text()[-3000:]
            assert receiver.wait_for(lambda r: len(r.events()) >= 5, timeout=30), log.read_text()[-3000:]
            assert slack.wait_for(1, timeout=30), log.read_text()[-3000:]
        charges = [e for e in receiver.events() if e.get("tags", {}).get("error.category") == "generic"]
        validation = [e for e in receiver.events() if e.get("tags", {}).get("error.category") == "validation"]
        _assert_no_secret(receiver, slack)

    assert len(charges) == 4 and len(validation) == 1
    first = charges[0]
    assert first["exception"]["values"][-1]["type"] == "PaymentDeclined"
    crash = first["exception"]["values"][-1]["stacktrace"]["frames"][-1]
    assert (crash["module"], crash["function"], crash["in_app"]) == ("shop.views", "charge", True)
    assert "raise PaymentDeclined" in crash["context_line"]
    assert first["exception"]["values"][-1]["value"] == "order 1001: card [card] declined"
    assert (crash["vars"]["card"], crash["vars"]["password"]) == ("'[card]'", "[Filtered]")
    crumbs = [b.get("message") for b in first["breadcrumbs"]["values"]]
    assert "charging order 1001 with card [card]" in crumbs
    assert first["request"]["method"] == "POST" and first["request"]["url"] == f"{base}/charge/1001/"
    assert first["request"]["data"]["password"] == "[Filtered]"
    assert first["transaction"] == "/charge/{order}/"
    assert first["release"] == "shop@1.0.0" and first["environment"] == "development"
    # docs/grouping.md: generic errors by type, normalized message and crash function; ids never split.
    assert {tuple(e["fingerprint"]) for e in charges} == {tuple(first["fingerprint"])}
    assert first["fingerprint"][:2] == ["generic", "shop.views.PaymentDeclined"]
    assert first["fingerprint"][-1] == "shop.views.charge"
    assert validation[0]["fingerprint"] == ["validation", "shop.views.Signup.post"]
    assert validation[0]["level"] == "warning" and validation[0]["tags"]["error.kind"] == "field"
    assert len(slack.received) == 1, slack.received  # one page for the burst, not one per error
    burst = "[CRITICAL] PaymentDeclined: Critical error burst: 3 occurrences in 60s"
    assert slack.accepted[0]["text"] == burst


def test_a_second_projects_console_and_admin_mail_are_scrubbed(tmp_path):
    """With the one LOGGING_CONFIG line of docs/integrating.md, the shop's failing charge prints once
    under DEBUG (the shop's console; Django's prints only what that one does not) and is mailed to
    ADMINS with DEBUG off (Django's mail_admins, to a real SMTP server) without the card or the
    password; without the line, `manage.py check` names the handlers that would not scrub (W005)."""
    from tests.support.smtp import smtp_server

    root = build_shop(tmp_path)
    post = {"card": CARD, "password": PASSWORD}
    with EnvelopeReceiver() as receiver:
        debug = shop_env(root, SENTRY_DSN=receiver.dsn, SHOP_DEBUG="true")
        with gunicorn(root, debug) as (_, listening, log):
            assert requests.post(f"http://127.0.0.1:{listening.group(1)}/charge/7/", data=post,
                                 timeout=30).status_code == 500
            assert receiver.wait_for(lambda r: len(r.events()) >= 1, timeout=30)
        console = log.read_text(errors="replace")
        with smtp_server() as smtp:
            env = shop_env(root, SENTRY_DSN=receiver.dsn, SHOP_SMTP_PORT=str(smtp.port),
                           SHOP_EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend")
            with gunicorn(root, env) as (_, listening, log):
                assert requests.post(f"http://127.0.0.1:{listening.group(1)}/charge/8/", data=post,
                                     timeout=30).status_code == 500
                assert smtp.recorder.wait_for(1, timeout=30), log.read_text()[-3000:]
            mail = smtp.messages[0]
    body = mail.message.get_payload(decode=True).decode()
    # Once: Django's console leaves the records the shop's root console prints to it (no double traceback).
    assert console.count("PaymentDeclined: order 7: card [card] declined") == 1, console[-3000:]
    assert console.count("Internal Server Error: /charge/7/") == 1, console[-3000:]
    assert mail.rcpt_tos == ["ops@shop.example"]
    assert "Internal Server Error: /charge/8/" in mail.message["Subject"]
    assert "order 8: card [card] declined" in body and "password = '[Filtered]'" in body, body[:3000]
    for text in (console, body, mail.message["Subject"]):
        for secret in (CARD, CARD.replace(" ", ""), PASSWORD):
            assert secret not in text, secret

    settings = root / "shop" / "settings.py"
    settings.write_text(settings.read_text().replace("LOGGING_CONFIG = ", "# LOGGING_CONFIG = "))
    check = subprocess.run([sys.executable, "manage.py", "check"], cwd=root, capture_output=True, text=True,
                           env=shop_env(root, SENTRY_DSN=""), timeout=60)
    assert "(errorwarden.W005)" in check.stderr, check.stdout + check.stderr
    assert "StreamHandler 'console' on logger 'django'" in check.stderr
    assert "AdminEmailHandler 'mail_admins' on logger 'django'" in check.stderr


@pytest.mark.rabbitmq
def test_a_second_projects_celery_worker_delivers_its_alerts_from_its_own_queue(tmp_path):
    """With CELERY_BROKER_URL set, the shop's alert goes through the shop's own Celery app to the queue
    its settings name, and the shop's worker (celery -A shop worker -Q <queue>) delivers it to Slack."""
    require_rabbitmq()
    root = build_shop(tmp_path)
    name = uuid.uuid4().hex[:8]
    queue = f"shop-alerts-{name}"
    with EnvelopeReceiver() as receiver, SlackStandIn() as slack:
        env = shop_env(root, SENTRY_DSN=receiver.dsn, SENTRY_SLACK_ALERTS_ENABLED="true",
                       SENTRY_SLACK_WEBHOOK_URL=slack.url, SENTRY_CRITICAL_ERROR_THRESHOLD="3",
                       CELERY_BROKER_URL=RABBITMQ, CELERY_TASK_DEFAULT_QUEUE=queue)
        # A node name of its own: workers of other test runs share the broker (and their control queues).
        worker = [sys.executable, "-m", "celery", "-A", "shop", "worker", "-n", f"shop-{name}@%h",
                  "-Q", queue, "--pool", "solo", "--without-gossip", "--without-mingle", "--loglevel", "INFO"]
        try:
            with running(worker, root, env, re.compile(r"ready\."), "worker") as (_, _, worker_log), \
                    gunicorn(root, env) as (_, listening, log):
                base = f"http://127.0.0.1:{listening.group(1)}"
                assert _traffic(base)[:4] == [500] * 4, log.read_text()[-3000:]
                assert slack.wait_for(1, timeout=60), log.read_text()[-2000:] + worker_log.read_text()[-2000:]
        finally:
            _delete_queue(queue)
        _assert_no_secret(receiver, slack)
        worker_text = worker_log.read_text()

    assert "errorwarden.deliver_alert" in worker_text and "succeeded" in worker_text, worker_text[-3000:]
    assert len(slack.received) == 1 and "PaymentDeclined" in str(slack.accepted[0])
