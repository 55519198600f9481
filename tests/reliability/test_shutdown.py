"""Shutdown delivers or spools everything captured: 100 errors, then the process ends while Sentry is slow.

Sentry here answers each request after 0.5 s, so one sender thread cannot deliver 100 envelopes in
the SDK's shutdown_timeout (2 s). What does not go out is spooled; the next process replays it, and
100 of 100 arrive.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.reliability.conftest import issue_counts, outbox
from tests.reliability.server import ROOT, Gunicorn, load, project_env, wait_until
from tests.support.receiver import EnvelopeReceiver
from tests.support.services import require_redis

ERRORS = 100
SLOW = 0.5  # seconds per request: even a slow machine's load phase cannot send all 100 in time
CAPTURE = """
import sentry_sdk
for n in range({errors}):
    ticket = "{run}-%d" % n
    with sentry_sdk.new_scope() as scope:
        scope.fingerprint = ["reliability", ticket]
        scope.set_tag("reliability.ticket", ticket)
        try:
            raise RuntimeError("captured before exit " + ticket)
        except RuntimeError as exc:
            sentry_sdk.capture_exception(exc)
"""


def _arrived(rx: EnvelopeReceiver, run: str) -> int:
    return sum(1 for issue in issue_counts(rx, "reliability") if issue.startswith(f"{run}-"))


def _next_process(env: dict[str, str]) -> None:
    result = subprocess.run([sys.executable, "-m", "tests.reliability.drain"], cwd=ROOT, env=env,
                            capture_output=True, timeout=90)
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]


def _all_arrive(rx: EnvelopeReceiver, run: str, workdir: Path) -> None:
    assert wait_until(lambda: _arrived(rx, run) == ERRORS, timeout=30), _arrived(rx, run)
    assert issue_counts(rx, "reliability").total() == ERRORS
    assert wait_until(lambda: outbox(workdir).pending() == 0, timeout=30)  # rows go once their send returns


def test_sigterm_under_gunicorn_loses_nothing(rx, tmp_path):
    """100 errors served, SIGTERM to gunicorn: each one arrives, directly or replayed by the next server."""
    rx.mode, rx.delay, run = "slow", SLOW, uuid.uuid4().hex[:8]
    env = project_env(tmp_path, rx.dsn)
    first = Gunicorn(env, tmp_path / "first.log").start()
    answers = load(first, [f"/fail/?issue={run}-{n}&ticket={run}-{n}" for n in range(ERRORS)])
    assert [a.status for a in answers] == [500] * ERRORS
    assert first.stop(signal.SIGTERM) == 0
    assert _arrived(rx, run) < ERRORS  # the test means something: not all could go out in time
    rx.mode = "ok"
    with Gunicorn(env, tmp_path / "second.log"):  # the deploy's new workers replay the spool
        _all_arrive(rx, run, tmp_path)


def test_manage_py_exit_loses_nothing(rx, tmp_path):
    """A management command that captured 100 errors exits; the next process delivers what it spooled."""
    rx.mode, rx.delay, run = "slow", SLOW, uuid.uuid4().hex[:8]
    env = project_env(tmp_path, rx.dsn)
    code = CAPTURE.format(errors=ERRORS, run=run)
    result = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env,
                            capture_output=True, timeout=90)
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]
    assert _arrived(rx, run) < ERRORS
    rx.mode = "ok"
    _next_process(env)
    _all_arrive(rx, run, tmp_path)


REDIS = "redis://127.0.0.1:6379/14"


@pytest.fixture
def celery_queue():
    """A private queue name on the shared Redis broker, deleted afterwards."""
    require_redis()
    import redis

    name = f"reliability-{uuid.uuid4().hex[:8]}"
    yield name
    client = redis.Redis.from_url(REDIS)
    for key in client.scan_iter(f"*{name}*"):  # the queue and kombu's binding set
        client.delete(key)


def test_celery_worker_shutdown_loses_nothing(rx, tmp_path, celery_queue):
    """A prefork worker runs 100 failing tasks and gets SIGTERM; every task's error arrives."""
    from celery import Celery

    rx.mode, rx.delay, run = "slow", SLOW, uuid.uuid4().hex[:8]
    env = project_env(tmp_path, rx.dsn, CELERY_BROKER_URL=REDIS)
    ran = tmp_path / "ran.txt"
    ran.touch()
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "prefork",
               "--concurrency", "2", "-Q", celery_queue, "--include", "tests.reliability.tasks",
               "--loglevel", "WARNING", "--without-gossip", "--without-mingle"]
    log = (tmp_path / "celery.log").open("wb")
    worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
    try:
        app = Celery("reliability-sender", broker=REDIS, set_as_current=False)
        for n in range(ERRORS):
            app.send_task("reliability.fail", args=[f"{run}-{n}", str(ran)], queue=celery_queue)
        assert wait_until(lambda: len(ran.read_text().split()) == ERRORS, timeout=60), \
            (tmp_path / "celery.log").read_text()[-2000:]
        worker.send_signal(signal.SIGTERM)  # warm shutdown: children finish and exit
        assert worker.wait(60) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
        log.close()
    assert _arrived(rx, run) < ERRORS
    rx.mode = "ok"
    _next_process(env)
    _all_arrive(rx, run, tmp_path)
