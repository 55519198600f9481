"""Alert channels for the reliability suite: gunicorn paging a Slack stand-in and a real SMTP server.

`Channels` holds what one test's gunicorn pages and counts on: the Slack stand-in, an aiosmtpd
server that can go down (nothing listening on its port) and come back on the same port, 503
stand-ins for S3 and Clerk, and a redis-server of the test's own for the counters. `fire(server,
run)` sends the bounded load that fires the four alert rules: a burst of one issue, the replica
database (a closed port), and S3 and Clerk answering 503.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests
from aiosmtpd.controller import Controller

from errorwarden.alerting.alert_queue import AlertSpool
from library.demo import standins
from tests.reliability.server import Answer, Gunicorn, project_env
from tests.support.redis_server import RedisServer
from tests.support.slack import HANG, OK, Reply, SlackStandIn
from tests.support.smtp import SmtpRecorder, free_port

BURST = 20  # errors of one issue: twice the default threshold (10), so the burst fires once
EACH = 4  # requests per other rule: the first fires, the rest fall in the cooldown
# The title an alert of each rule carries (errorwarden/alerting/rules.py), and the rule's name here.
RULES = {"Critical error burst": "burst", "Database connection failure": "database",
         "External service failure: s3": "s3", "External service failure: clerk": "clerk"}
ONCE = Counter(dict.fromkeys(RULES.values(), 1))  # one alert per rule
_LOST = re.compile(r"Alert '(.+?)' was NOT delivered to (\w+) after")


class Smtp:
    """An aiosmtpd server on one fixed loopback port that can be stopped and started again there."""

    def __init__(self) -> None:
        self.port, self.recorder = free_port(), SmtpRecorder()
        self._controller: Controller | None = None

    def start(self) -> Smtp:
        """Listen on the port (again); messages keep accumulating in the same recorder."""
        self._controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop listening: a connection to the port is refused until start()."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@dataclass
class Channels:
    """One test's stand-ins (see the module docstring); `env` points gunicorn at them."""

    slack: SlackStandIn
    smtp: Smtp
    redis: RedisServer
    services: dict[str, str] = field(default_factory=dict)  # service name -> its 503 stand-in's URL

    def env(self, folder: Path, dsn: str, cooldown: int, **extra: str) -> dict[str, str]:
        """The project's environment paging these channels, with this cooldown, files under folder."""
        return project_env(
            folder, dsn,
            SENTRY_EMAIL_ALERTS_ENABLED="true", SENTRY_ALERT_EMAIL_RECIPIENTS="oncall@example.com",
            SENTRY_SLACK_ALERTS_ENABLED="true", SENTRY_SLACK_WEBHOOK_URL=self.slack.url,
            SENTRY_ALERT_COOLDOWN_SECONDS=str(cooldown),
            # The error-rate rule judges batches on a timer; off, so each test counts four rules exactly.
            SENTRY_ERROR_RATE_MIN_REQUESTS="1000000000",
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=str(self.smtp.port), EMAIL_HOST_USER="", EMAIL_HOST_PASSWORD="", EMAIL_USE_TLS="false",
            REDIS_URL=self.redis.url, CELERY_BROKER_URL="",  # delivery by the workers' own threads
            S3_ENDPOINT_URL=self.services["s3"], CLERK_API_URL=self.services["clerk"],
            **extra)

    def slack_rules(self) -> Counter[str]:
        """Alerts Slack accepted, per rule."""
        return Counter(rule_of(body.get("text", "")) for body in self.slack.accepted)

    def email_rules(self) -> Counter[str]:
        """E-mails the SMTP server received, per rule."""
        return Counter(rule_of(_plain_text(received.message)) for received in self.smtp.recorder.messages)


@contextmanager
def channels(smtp_up: bool = True) -> Iterator[Channels]:
    """Start every stand-in (SMTP only when smtp_up); stop them all afterwards."""
    with ExitStack() as stack:
        slack = stack.enter_context(SlackStandIn())
        smtp = Smtp()
        if smtp_up:
            smtp.start()
        stack.callback(smtp.stop)
        redis = stack.enter_context(RedisServer())
        services = {}
        for name in ("s3", "clerk"):
            stub = standins.unavailable_service()
            stack.callback(stub.stop)
            services[name] = stub.url
        yield Channels(slack, smtp, redis, services)


def slack_answers(reply: Reply) -> Callable[[Channels], None]:
    """A fault step: from now on Slack gives `reply` (HANG hangs anew; OK also ends hanging requests)."""
    def step(ch: Channels) -> None:
        if reply is HANG:
            ch.slack.hold()
        ch.slack.default = reply
        if reply is OK:
            ch.slack.release()
    return step


def fire(server: Gunicorn, run: str, threads: int = 8) -> list[Answer]:
    """The load that fires all four rules: a burst of issue `run`, the replica, S3 and Clerk."""
    calls = [("GET", f"/fail/?issue={run}&ticket={run}-{n}", None) for n in range(BURST)]
    calls += [("GET", "/api/health/replica/", None), ("POST", "/api/books/1/cover/", None),
              ("POST", "/api/auth/verify/", {"token": f"sess_{run}"})] * EACH

    def one(call: tuple[str, str, dict | None]) -> Answer:
        method, path, body = call
        try:
            response = requests.request(method, server.url(path), json=body, timeout=60)
            return Answer(response.status_code, response.text)
        except requests.RequestException as exc:
            return Answer(0, f"{type(exc).__name__}: {exc}")

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, calls))


def rule_of(text: str) -> str:
    """The rule an alert text belongs to (by its title), or the text itself when none matches."""
    return next((rule for title, rule in RULES.items() if title in text), text[:80])


def _plain_text(message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return part.get_payload(decode=True).decode("utf-8", "replace")
    return ""


def spool(folder: Path) -> AlertSpool:
    """The alert spool gunicorn's workers share (beside the inbox under folder)."""
    return AlertSpool(folder / "sentry_alerts.sqlite3")


def outcomes(box: AlertSpool, channel: str) -> Counter[str]:
    """The spool's deliveries for one channel, per outcome (delivered, retrying, failed ...)."""
    return Counter(row["outcome"] for row in box.recent(1000) if row["channel"] == channel)


def attempts(box: AlertSpool, channel: str) -> list[int]:
    """Attempts so far of each of the channel's deliveries."""
    return [row["attempts"] for row in box.recent(1000) if row["channel"] == channel]


def lost_lines(log: str) -> Counter[tuple[str, str]]:
    """How often each (alert title, channel) loss was logged by gunicorn's workers."""
    return Counter(_LOST.findall(log))


def lost_rows(box: AlertSpool) -> Counter[tuple[str, str]]:
    """The spool's lost deliveries, as (alert title, channel)."""
    return Counter((row["title"], row["channel"]) for row in box.recent(1000) if row["outcome"] == "failed")
