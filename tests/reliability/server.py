"""gunicorn (3 sync workers) on a free loopback port serving config.wsgi, and a bounded load against it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
_LISTENING = re.compile(rb"Listening at: http://127\.0\.0\.1:(\d+)")


def project_env(tmp: Path, dsn: str, **extra: str) -> dict[str, str]:
    """The environment of a project process: this DSN, files under tmp, no alert channels."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SENTRY_", "DJANGO_"))}
    env.update({
        "SENTRY_DSN": dsn,
        "SENTRY_INBOX_PATH": str(tmp / "inbox.sqlite3"),  # the outbox goes beside it
        "SENTRY_TRACES_SAMPLE_RATE": "0",
        "SENTRY_PROFILES_SAMPLE_RATE": "0",
        "SENTRY_EMAIL_ALERTS_ENABLED": "false",
        "SENTRY_SLACK_ALERTS_ENABLED": "false",
        "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "tests.reliability.settings",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    })
    env.update(extra)
    return env


class Gunicorn:
    """One gunicorn master and its workers; its stderr (every worker's console log) goes to a file.

    `app` is the WSGI callable gunicorn loads; `ready_path` a path that answers 200 once a worker
    has loaded it (the reliability suite's test view by default).
    """

    def __init__(self, env: dict[str, str], log: Path, workers: int = 3, graceful_timeout: int = 30,
                 app: str = "config.wsgi:application", ready_path: str = "/ok/"):
        self.env, self.log_path, self.workers = env, log, workers
        self.graceful_timeout, self.app, self.ready_path = graceful_timeout, app, ready_path
        self.process: subprocess.Popen | None = None
        self.port = 0

    def start(self, timeout: float = 60) -> Gunicorn:
        """Start and wait until every worker answers; raise with the log when it does not come up."""
        self._log = self.log_path.open("ab")
        command = [sys.executable, "-m", "gunicorn", self.app, "--bind", "127.0.0.1:0",
                   "--workers", str(self.workers), "--worker-class", "sync", "--timeout", "120",
                   "--graceful-timeout", str(self.graceful_timeout), "--log-level", "info"]
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=self._log,
                                        stderr=self._log)
        deadline = time.monotonic() + timeout
        while not self.port:
            found = _LISTENING.search(self.log_path.read_bytes())
            if found:
                self.port = int(found.group(1))
            elif self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start:\n{self.log_text()[-3000:]}")
            else:
                time.sleep(0.05)
        self._wait_ready(deadline)
        return self

    def _wait_ready(self, deadline: float) -> None:
        # Each sync worker loads the app on boot; a few rounds of requests reach all of them.
        ready = 0
        while ready < self.workers * 3:
            try:
                ready += requests.get(self.url(self.ready_path), timeout=10).status_code == 200
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn never answered:\n{self.log_text()[-3000:]}") from None
                time.sleep(0.1)

    def url(self, path: str) -> str:
        """The full URL of path on this server."""
        return f"http://127.0.0.1:{self.port}{path}"

    def log_text(self) -> str:
        """Everything gunicorn and its workers wrote so far."""
        return self.log_path.read_bytes().decode("utf-8", "replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        """Send sig to the master (SIGTERM: graceful) and wait for it; return its exit code."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(10)
            self._log.close()

    def __enter__(self) -> Gunicorn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass(frozen=True)
class Answer:
    """One request's result: HTTP status (0 when the request itself failed) and body."""

    status: int
    body: str


def load(server: Gunicorn, paths: Iterable[str], threads: int = 8, method: str = "GET",
         data: bytes | None = None, timeout: float = 60) -> list[Answer]:
    """Send one request per path from a few threads; a connection error or timeout is status 0."""
    def one(path: str) -> Answer:
        try:
            response = requests.request(method, server.url(path), data=data, timeout=timeout)
            return Answer(response.status_code, response.text)
        except requests.RequestException as exc:
            return Answer(0, f"{type(exc).__name__}: {exc}")

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, list(paths)))


def wait_until(condition: Callable[[], bool], timeout: float, step: float = 0.2) -> bool:
    """Poll condition until it holds or timeout seconds pass (outcomes, never speed, are asserted)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(step)
    return True
