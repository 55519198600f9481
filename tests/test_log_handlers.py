"""No handler prints or mails an unscrubbed copy: Django's defaults and the project's, on real servers.

A request fails with a Stripe key and an e-mail address in its query string and exception message.
Under DEBUG, `manage.py runserver` prints it through the project's root console (Django's `console`
handler leaves it the records it prints) and runserver's request line; with DEBUG off, gunicorn's
worker mails it to ADMINS through Django's `mail_admins` to a real SMTP server (aiosmtpd). Neither
copy may carry the secret.
The settings are config/settings.py's own (tests/log_handler_settings.py adds only the view and ADMINS).
"""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from errorwarden import checks
from errorwarden.logfilter import (
    ScrubbedAdminEmailHandler,
    ScrubLogFilter,
    scrub_handlers,
    unscrubbed_handlers,
)
from tests.reliability.server import Gunicorn
from tests.support.processes import stop
from tests.support.smtp import free_port, smtp_server

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"  # Stripe's documented example key shape (docs.stripe.com)
EMAIL = "jane.payer@example.com"
QUERY = f"/charge/?token={TOKEN}&email={EMAIL}"
SECRETS = (TOKEN, EMAIL, EMAIL.replace("@", "%40"))


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SENTRY_", "DJANGO_", "EMAIL_"))}
    env.update(DJANGO_SETTINGS_MODULE="tests.log_handler_settings", SENTRY_DSN="",
               SENTRY_INBOX_PATH=str(tmp / "inbox.sqlite3"), SENTRY_TRACES_SAMPLE_RATE="0",
               SENTRY_PROFILES_SAMPLE_RATE="0", SENTRY_EMAIL_ALERTS_ENABLED="false",
               SENTRY_SLACK_ALERTS_ENABLED="false", DATABASE_URL=f"sqlite:///{tmp / 'db.sqlite3'}",
               PYTHONPATH=str(ROOT), **extra)
    return env


def _assert_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} printed or mailed:\n{text[-3000:]}"


def _wait_for(condition, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_runserver_under_debug_prints_only_scrubbed_tracebacks_and_request_lines(tmp_path):
    """DEBUG on: the root console (once: Django's console leaves it the records it prints) and
    runserver's request line print the failure, scrubbed; the traceback itself is still there to
    debug with."""
    port, log_path = free_port(), tmp_path / "runserver.log"
    with log_path.open("wb") as log:
        command = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload",
                   "--skip-checks"]
        server = subprocess.Popen(command, cwd=ROOT, env=_env(tmp_path, DJANGO_DEBUG="true"), stdout=log,
                                  stderr=log)
    try:
        def up() -> bool:
            try:
                return requests.get(f"http://127.0.0.1:{port}/ok/", timeout=5).status_code == 200
            except requests.RequestException:
                assert server.poll() is None, log_path.read_text()
                return False

        assert _wait_for(up, 60), log_path.read_text()
        assert requests.get(f"http://127.0.0.1:{port}{QUERY}", timeout=30).status_code == 500
        assert _wait_for(lambda: '"GET /charge/' in log_path.read_text(errors="replace")), \
            log_path.read_text()
    finally:
        stop(server, signal.SIGINT, 20)
    text = log_path.read_text(errors="replace")
    _assert_clean(text)
    # Once, by the project's root console ("ERROR django.request: ..."): Django's console prints only
    # what the root console does not (configure_logging), so no bare "Internal Server Error" copy.
    assert not re.search(r"^Internal Server Error: /charge/$", text, re.M), text[-3000:]
    assert "ERROR django.request: Internal Server Error: /charge/" in text
    assert text.count("ChargeRefused: charge refused: token=[stripe_key] for [email]") == 1, text[-3000:]
    assert '"GET /charge/?token=[stripe_key]&email=[email] HTTP/1.1" 500' in text


def test_mail_admins_under_gunicorn_mails_a_scrubbed_report(tmp_path):
    """DEBUG off, ADMINS set: the worker's mail_admins report reaches SMTP with the traceback and the
    request, scrubbed, in plain text only; gunicorn's stderr is clean too."""
    with smtp_server() as smtp:
        env = _env(tmp_path, DJANGO_DEBUG="false", EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(smtp.port),
                   EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
                   TEST_ADMIN_EMAIL="ops@muejam.example")
        with Gunicorn(env, tmp_path / "gunicorn.log", workers=1, ready_path="/ok/") as server:
            assert requests.get(server.url(QUERY), timeout=30).status_code == 500
            assert smtp.recorder.wait_for(1, timeout=30), server.log_text()[-3000:]
            stderr = server.log_text()
    mail = smtp.messages[0]
    assert mail.rcpt_tos == ["ops@muejam.example"]
    subject, body = mail.message["Subject"], mail.message.get_payload(decode=True).decode()
    assert not mail.message.is_multipart()  # the HTML report is never sent
    assert "Internal Server Error: /charge/" in subject
    assert "ChargeRefused" in body and "charge refused: token=[stripe_key] for [email]" in body
    assert "QUERY_STRING" in body and "token=[stripe_key]" in body  # the request is still reported
    _assert_clean(subject + body)
    assert "ERROR django.request: Internal Server Error: /charge/" in stderr
    _assert_clean(stderr)


@pytest.mark.redis
def test_a_celery_workers_console_prints_a_failing_task_scrubbed(tmp_path):
    """The worker replaces the root logger's handlers with its own after Django configured logging; they
    get the scrub filter too, so the task's traceback prints without the secret."""
    import uuid

    from celery import Celery

    from tests.support.services import require_redis

    require_redis()
    broker, queue = "redis://127.0.0.1:6379/0", f"log-handlers-{uuid.uuid4().hex[:8]}"
    env = _env(tmp_path, CELERY_BROKER_URL=broker, CELERY_TASK_DEFAULT_QUEUE=queue)
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        command = [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queue, "-n", f"{queue}@%h",
                   "--pool", "solo", "--without-gossip", "--without-mingle", "--loglevel", "INFO"]
        worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
    sender = Celery("sender", broker=broker)
    try:
        started = lambda: "ready." in log_path.read_text(errors="replace") or worker.poll() is not None  # noqa: E731
        assert _wait_for(started, 60), log_path.read_text()
        sender.send_task("tests.charge_later", args=[TOKEN, EMAIL], queue=queue)
        assert _wait_for(lambda: "ChargeRefused" in log_path.read_text(errors="replace"), 60), \
            log_path.read_text()[-3000:]
    finally:
        stop(worker)
        with sender.connection_for_write() as connection:
            connection.default_channel.queue_delete(queue)
    text = log_path.read_text(errors="replace")
    scrubbed = "raised unexpected: ChargeRefused('charge refused: token=[stripe_key] for [email]')"
    assert scrubbed in text, text[-3000:]
    _assert_clean(text)


def test_without_admins_the_scrubbed_mail_handler_builds_no_report(monkeypatch, settings):
    """As Django's own handler: with ADMINS empty nothing is built or scrubbed (an error logged with
    DEBUG off must not pay for a report nobody receives)."""
    from django.utils.log import AdminEmailHandler

    settings.ADMINS = []
    built = []
    monkeypatch.setattr(AdminEmailHandler, "emit", lambda self, record: built.append(record))
    handler = ScrubbedAdminEmailHandler()
    record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "Internal Server Error", (),
                               None)
    handler.emit(record)
    assert built == []
    settings.ADMINS = [("Ops", "ops@example.com")]
    handler.emit(record)
    assert built == [record]


@pytest.fixture
def default_handlers():
    """Django's DEFAULT_LOGGING applied the way it is before LOGGING, on a logger of this test only."""
    from django.utils.log import AdminEmailHandler

    logger = logging.getLogger("tests.log_handlers.django")
    console, mail = logging.StreamHandler(), AdminEmailHandler()
    console.name, mail.name = "console", "mail_admins"
    logger.handlers[:] = [console, mail]
    yield logger, console, mail
    logger.handlers[:] = []


def test_the_check_names_each_handler_that_bypasses_the_scrubber(default_handlers):
    """W005 names Django's console and mail_admins until scrub_handlers() has covered them."""
    _, console, mail = default_handlers
    found = {handler for _, handler in unscrubbed_handlers()}
    assert {console, mail} <= found
    warning = [m for m in checks.check_log_handlers() if m.id == checks.W005]
    assert len(warning) == 1 and "'console' on logger 'tests.log_handlers.django'" in warning[0].msg
    assert "AdminEmailHandler 'mail_admins'" in warning[0].msg
    assert "LOGGING_CONFIG" in warning[0].hint

    scrub_handlers()
    assert type(mail) is ScrubbedAdminEmailHandler
    assert isinstance(console.filters[0], ScrubLogFilter)
    assert not {console, mail} & {handler for _, handler in unscrubbed_handlers()}
    assert checks.check_log_handlers() == []


def test_an_admin_email_subclass_with_the_filter_still_counts_as_unscrubbed(default_handlers):
    """A project's own AdminEmailHandler subclass builds its report from the exception: the filter on the
    record does not reach it, so the check keeps naming it."""
    from django.utils.log import AdminEmailHandler

    class Custom(AdminEmailHandler):
        pass

    logger, _, _ = default_handlers
    custom = Custom()
    custom.addFilter(ScrubLogFilter())
    logger.handlers[:] = [custom]
    scrub_handlers()
    assert type(custom) is Custom and (logger.name, custom) in unscrubbed_handlers()


# docs/integrating.md section 2's LOGGING, read from the guide itself, applied the way Django applies it
# (DEFAULT_LOGGING first, then LOGGING_CONFIG) in a process of its own, DEBUG on; each case logs an ERROR
# of django.request with its traceback and an INFO of django.utils.autoreload (runserver's first line).
_CONSOLE_PROBE = '''
import ast, logging, re, sys
from django.conf import settings
settings.configure(DEBUG=True, LOGGING_CONFIG="errorwarden.logfilter.configure_logging")
from django.utils.log import configure_logging
guide = open(sys.argv[1], encoding="utf-8").read()
logging_dict = ast.literal_eval(re.search(r"^LOGGING = (\\{.*?^\\})", guide, re.M | re.S).group(1))
logging_dict = eval(sys.argv[2])(logging_dict)
configure_logging(settings.LOGGING_CONFIG, logging_dict)
try:
    raise RuntimeError("charge refused: token=" + sys.argv[3])
except RuntimeError:
    logging.getLogger("django.request").error("Internal Server Error: /charge/", exc_info=True)
logging.getLogger("django.utils.autoreload").info("Watching for file changes with StatReloader")
'''


@pytest.mark.parametrize("change", [
    "lambda d: d",  # as the guide writes it: the root console has no level of its own
    "lambda d: {**d, 'handlers': {'console': {**d['handlers']['console'], 'level': 'WARNING'}}}",
], ids=["as-written", "root-console-at-warning"])
def test_the_guides_logging_prints_each_django_record_once_under_debug(change):
    """Django's own console and the root console of the guide's LOGGING both printed every record of a
    `django` logger under DEBUG: each 500 traceback came twice. configure_logging lets Django's console
    print only what the root console does not (below its level), so each record prints once, scrubbed,
    and runserver's INFO line still prints whatever the root console's level."""
    guide = ROOT / "docs" / "integrating.md"
    done = subprocess.run([sys.executable, "-c", _CONSOLE_PROBE, str(guide), change, TOKEN],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    text = done.stderr
    _assert_clean(text)
    assert text.count("RuntimeError: charge refused: token=[stripe_key]") == 1, text
    assert text.count("Internal Server Error: /charge/") == 1, text
    assert "ERROR django.request: Internal Server Error: /charge/" in text  # the guide's format
    assert text.count("Watching for file changes with StatReloader") == 1, text
