"""config.asgi under a real uvicorn on loopback: async and sync views are captured through sentry-sdk's
HTTP transport with request data and route names, and the middleware counts every request."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.support.receiver import EnvelopeReceiver
from tests.support.slack import SlackStandIn

REPO = Path(__file__).resolve().parent.parent
_RUNNING = re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")
PASSWORD = "hunter2-asgi-secret"
# Ten requests, four of them failing: the error-rate rule (at least 10 requests, over 30 %) can fire
# only once the middleware has counted all ten, and its alert says how many it counted.
REQUESTS = ([("GET", "/async/ok/")] * 4 + [("GET", "/sync/ok/")] * 2 +
            [("POST", "/async/boom/41/"), ("GET", "/async/boom/42/?page=3"),
             ("GET", "/sync/boom/43/"), ("GET", "/sync/boom/44/")])


@dataclass
class Uvicorn:
    """One uvicorn process serving config.asgi; its log goes to a file."""

    process: subprocess.Popen
    log: Path
    port: int = 0

    def url(self, path: str) -> str:
        """The full URL of path on this server."""
        return f"http://127.0.0.1:{self.port}{path}"

    def text(self) -> str:
        """What uvicorn and the app printed so far."""
        return self.log.read_text(errors="replace")


def _env(tmp_path: Path, dsn: str, webhook: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SENTRY_", "DJANGO_", "CELERY_"))}
    env.update(DJANGO_SETTINGS_MODULE="tests.asgi_settings", SENTRY_DSN=dsn,
               SENTRY_INBOX_PATH=str(tmp_path / "inbox.sqlite3"), DATABASE_URL=f"sqlite:///{tmp_path / 'db'}",
               SENTRY_TRACES_SAMPLE_RATE="1.0", SENTRY_PROFILES_SAMPLE_RATE="0",
               SENTRY_EMAIL_ALERTS_ENABLED="false", SENTRY_SLACK_ALERTS_ENABLED="true",
               SENTRY_SLACK_WEBHOOK_URL=webhook, SENTRY_CRITICAL_ERROR_THRESHOLD="1000",
               SENTRY_ERROR_RATE_MIN_REQUESTS=str(len(REQUESTS)), SENTRY_ERROR_RATE_THRESHOLD="0.3")
    return env


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Uvicorn, EnvelopeReceiver, SlackStandIn]]:
    """uvicorn on a free loopback port, its DSN at the receiver and its Slack webhook at the stand-in."""
    with EnvelopeReceiver() as receiver, SlackStandIn() as slack:
        log = tmp_path / "uvicorn.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1",
                 "--port", "0", "--lifespan", "off", "--no-access-log"],
                cwd=REPO, env=_env(tmp_path, receiver.dsn, slack.url), stdout=out, stderr=out)
        server = Uvicorn(process, log)
        try:
            server.port = _wait_running(server)
            yield server, receiver, slack
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                process.wait(30)


def _wait_running(server: Uvicorn, timeout: float = 60) -> int:
    # The log line, not a probe request: every request counts for the error rate.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = _RUNNING.search(server.text())
        if found:
            return int(found.group(1))
        if server.process.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"uvicorn did not start:\n{server.text()[-3000:]}")


def test_async_and_sync_views_under_uvicorn_reach_sentry_and_the_error_rate(served):
    """Under uvicorn an async view's error arrives with its request and route name, a sync view's too,
    secrets in the body never arrive, and the error-rate alert counts all ten requests, so the
    middleware saw each one once on the async path."""
    server, receiver, slack = served
    answers = [requests.request(method, server.url(path), timeout=30,
                                json={"password": PASSWORD, "amount": 3} if method == "POST" else None)
               for method, path in REQUESTS]
    assert [a.status_code for a in answers] == [200] * 6 + [500] * 4, server.text()[-3000:]
    assert answers[0].json() == {"ok": True, "view": "async"}
    assert receiver.wait_for(lambda r: len(r.events()) >= 4 and len(r.transactions()) >= 10, timeout=30)

    server.process.send_signal(signal.SIGINT)  # uvicorn's graceful stop; at exit the runtime judges the rate
    assert server.process.wait(30) == 0, server.text()[-3000:]

    events = {e["exception"]["values"][-1]["value"]: e for e in receiver.events()}
    posted = events["async ledger 41 is out of balance"]
    assert posted["transaction"] == "/async/boom/{pk}/"
    assert posted["request"]["method"] == "POST"
    assert posted["request"]["url"] == server.url("/async/boom/41/")
    assert posted["request"]["data"] == {"password": "[Filtered]", "amount": 3}  # the body, scrubbed
    assert posted["request"]["headers"]["user-agent"].startswith("python-requests/")
    frames = posted["exception"]["values"][-1]["stacktrace"]["frames"]
    assert frames[-1]["function"] == "async_boom" and frames[-1]["module"] == "tests.asgi_urls"
    assert posted["tags"]["error.category"] == "generic"
    queried = events["async ledger 42 is out of balance"]
    assert queried["request"]["query_string"] == "page=3" and queried["request"]["method"] == "GET"
    sync = events["sync ledger 43 is out of balance"]
    assert sync["transaction"] == "/sync/boom/{pk}/"
    assert sync["request"]["url"] == server.url("/sync/boom/43/")
    assert posted["fingerprint"] == queried["fingerprint"] != sync["fingerprint"]  # ids never split an issue
    names = {t["transaction"] for t in receiver.transactions()}
    assert {"/async/ok/", "/sync/ok/", "/async/boom/{pk}/", "/sync/boom/{pk}/"} <= names
    assert all(PASSWORD not in str(envelope.raw_items) for envelope in receiver.envelopes)

    assert slack.wait_for(1, timeout=15), server.text()[-3000:]
    alert = str(slack.accepted[0])
    assert "40.0% of 10 requests failed" in alert, alert
