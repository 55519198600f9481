"""The app under gunicorn on loopback, fed hostile text over HTTP, on a local inbox of its own.

One run fills what people read afterwards: the console log (gunicorn's stderr), the local inbox
and alert spool (`manage.py sentry_inbox`, the dashboard) and a Slack stand-in's posts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import requests

from tests.reliability.server import Gunicorn, project_env, wait_until
from tests.support.hostile import FORGED_RECORD, chunks
from tests.support.slack import SlackStandIn

# A path Django answers 404 and logs ("Not Found: <path>"): a line break, an erase-display and a
# bidi override in the part of a request anyone can choose.
HOSTILE_PATH = "/api/" + quote(f"x\n{FORGED_RECORD}\x1b[2J\u202eexe.txt", safe="")
# A message whose first line (an issue's title) holds an erase-display, an OSC 8 link and an RLO.
TITLE = "\x1b[2J\x1b]8;;http://evil.example/\x07click\x1b]8;;\x07 \u202egnp.exe"


def hostile_env(folder: Path, slack_url: str, debug: bool = False) -> dict[str, str]:
    """The project's environment for tests.hostile_settings: local inbox in `folder`, every request
    traced, each issue paging Slack on its first error."""
    return project_env(folder, "", DJANGO_SETTINGS_MODULE="tests.hostile_settings",
                       DJANGO_DEBUG="true" if debug else "false", SENTRY_TRACES_SAMPLE_RATE="1.0",
                       SENTRY_CRITICAL_ERROR_THRESHOLD="1", SENTRY_SLACK_ALERTS_ENABLED="true",
                       SENTRY_SLACK_WEBHOOK_URL=slack_url, LOG_LEVEL="WARNING")


@dataclass
class HostileRun:
    """What one run left behind."""

    folder: Path
    env: dict[str, str]
    console: str
    posted: list[str] = field(default_factory=list)
    slack: list[dict] = field(default_factory=list)


def hostile_run(folder: Path, debug: bool = False) -> HostileRun:
    """Serve the app, post every chunk of hostile text (each its own issue), request the hostile
    path, wait for the Slack alerts, stop the server (it flushes) and collect its console."""
    posted = [TITLE, *chunks()]
    with SlackStandIn() as slack:
        env = hostile_env(folder, slack.url, debug)
        server = Gunicorn(env, folder / "gunicorn.log", workers=1, graceful_timeout=10,
                          ready_path="/hostile/ok/")
        with server:
            for number, text in enumerate(posted):
                reply = requests.post(server.url("/hostile/parse/"), data={"q": text, "issue": number},
                                      timeout=60)
                assert reply.status_code == 500, reply.status_code
            assert requests.get(server.url(HOSTILE_PATH), timeout=30).status_code == 404
            assert wait_until(lambda: len(slack.accepted) >= len(posted), 60), (
                f"{len(slack.accepted)} of {len(posted)} alerts")
        return HostileRun(folder, env, server.log_text(), posted, list(slack.accepted))
