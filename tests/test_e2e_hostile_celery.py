"""A Celery worker's console (celery -A config worker, RabbitMQ) when a task fails with hostile text."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import uuid

import pytest

from tests.reliability.server import ROOT, project_env
from tests.support.hostile import FORGED_RECORD, FORGERY, RAW, TERMINAL
from tests.support.processes import stop
from tests.support.services import require_rabbitmq

RABBITMQ = "amqp://guest:guest@127.0.0.1:5672//"
# How a line of a worker's console may start: Celery's record format, or a marked continuation.
_CELERY_RECORD = re.compile(r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+: [A-Z]+/[\w-]+\] ")


def _wait(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


@pytest.mark.rabbitmq
def test_a_failing_task_cannot_forge_or_act_in_the_worker_console(tmp_path):
    """Task failures print their message and traceback with controls escaped and continuation
    lines marked; no line of the console starts with the forged record."""
    require_rabbitmq()
    from celery import Celery
    from kombu import Connection

    name = uuid.uuid4().hex[:8]
    queue = f"hostile-{name}"
    env = project_env(tmp_path, "", DJANGO_SETTINGS_MODULE="config.settings", CELERY_BROKER_URL=RABBITMQ)
    log = tmp_path / "worker.log"
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "-n", f"hostile-{name}@%h",
               "-Q", queue, "-I", "tests.hostile_tasks", "--pool", "solo", "--without-gossip",
               "--without-mingle", "--without-heartbeat", "--loglevel", "INFO"]
    texts = [*TERMINAL, FORGERY]
    with log.open("wb") as out:
        worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
    try:
        assert _wait(lambda: b"ready." in log.read_bytes() or worker.poll() is not None, 60), log.read_text()
        sender = Celery(broker=RABBITMQ)
        for text in texts:
            sender.send_task("tests.hostile_tasks.parse", args=[text], queue=queue)
        assert _wait(lambda: log.read_bytes().count(b"raised unexpected") >= len(texts), 60), (
            log.read_text("utf-8", "replace")[-3000:])
    finally:
        stop(worker)
        with Connection(RABBITMQ, connect_timeout=5) as connection:
            connection.default_channel.queue_delete(queue)
    console = log.read_bytes().decode("utf-8")
    start = console.index("[tasks]")  # the banner above it is Celery's own, printed before logging
    records = console[start:].split("\n")
    raw = sorted({f"U+{ord(c):04X}" for c in RAW.findall(console)})
    assert not raw, raw
    assert not any(line.startswith(FORGED_RECORD) for line in records)
    failures = [i for i, line in enumerate(records) if "raised unexpected" in line]
    for index in failures:
        assert _CELERY_RECORD.match(records[index]), records[index]
        following = records[index + 1]
        assert following.startswith("  | Traceback"), following
    assert "\\x1b[2J" in console and "\\u202e" in console
