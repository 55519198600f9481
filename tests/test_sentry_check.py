"""`manage.py sentry_check` run as a user runs it (a subprocess) against real servers: it proves
delivery by the server's answer, reports each check with its fix, exits non-zero on a FAIL, and
never prints a secret."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from celery import Celery, bootsteps
from celery.contrib.testing.worker import start_worker
from kombu import Exchange, Queue

from errorwarden.local import InboxStore
from tests.support.bugsink import BugsinkServer
from tests.support.receiver import EnvelopeReceiver
from tests.support.services import require_rabbitmq, require_redis
from tests.support.slack import BAD_REQUEST, SlackStandIn
from tests.support.smtp import free_port, smtp_server

BASE_DIR = Path(__file__).resolve().parent.parent
RABBITMQ = "amqp://guest:guest@127.0.0.1:5672//"
# Variables of the test run that would change what the command checks.
_OURS = ("SENTRY_", "REDIS_URL", "CELERY_", "EMAIL_", "DATABASE_URL")


@dataclass
class Run:
    """One finished `sentry_check`: exit status, output, and its check lines by name."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def checks(self) -> dict[str, tuple[str, str, str]]:
        """name -> (status, message, fix) parsed from the fixed-width lines."""
        found: dict[str, tuple[str, str, str]] = {}
        last = ""
        for line in self.stdout.splitlines():
            if line[:4].strip() in ("OK", "WARN", "FAIL", "SKIP") and line[4:6] == "  ":
                last = line[6:19].strip()
                found[last] = (line[:4].strip(), line[20:], "")
            elif line.startswith(" " * 20 + "fix: ") and last:
                found[last] = (*found[last][:2], line[25:])
        return found

    def status(self, name: str) -> str:
        """The status of one check ('' when the check did not run)."""
        return self.checks.get(name, ("", "", ""))[0]


def start_check(tmp_path: Path, *args: str, **env: str) -> subprocess.Popen:
    """Start `manage.py sentry_check` with a clean environment plus `env`."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(_OURS)}
    clean.update(SENTRY_INBOX_PATH=str(tmp_path / "inbox.sqlite3"), SENTRY_TRACES_SAMPLE_RATE="0",
                 SENTRY_PROFILES_SAMPLE_RATE="0", SENTRY_EMAIL_ALERTS_ENABLED="false")
    clean.update(env)
    return subprocess.Popen([sys.executable, "manage.py", "sentry_check", "--no-color", *args], cwd=BASE_DIR,
                            env=clean, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen, timeout: float = 90) -> Run:
    """Wait for a started check and collect what it printed."""
    out, err = process.communicate(timeout=timeout)
    return Run(process.returncode, out, err)


def run_check(tmp_path: Path, *args: str, **env: str) -> Run:
    """Run `manage.py sentry_check` to the end."""
    return finish(start_check(tmp_path, *args, **env))


# --- delivery: the test event and the server's answer ------------------------------------------
# Every scenario starts at once: the runs are independent subprocesses, so the module waits for
# the slowest one instead of their sum.
@pytest.fixture(scope="module")
def bugsink_runs(bugsink: BugsinkServer, tmp_path_factory) -> dict[str, Run]:
    """sentry_check against the real Bugsink: the right DSN, a wrong key, a wrong project, a big event."""
    tmp = tmp_path_factory.mktemp("check-bugsink")
    cases = {"accepted": ((), {"SENTRY_DSN": bugsink.dsn}),
             "wrong key": ((), {"SENTRY_DSN": bugsink.dsn_with(key="0" * 32)}),
             "wrong project": ((), {"SENTRY_DSN": bugsink.dsn_with(project=999)}),
             "oversized": (("--event-kb", "1100"), {"SENTRY_DSN": bugsink.dsn}),
             "traces on": ((), {"SENTRY_DSN": bugsink.dsn, "SENTRY_TRACES_SAMPLE_RATE": "0.1"})}
    started = {case: start_check(tmp, *args, **env) for case, (args, env) in cases.items()}
    return {case: finish(process) for case, process in started.items()}


@pytest.fixture(scope="module")
def receiver_runs(tmp_path_factory) -> Iterator[dict[str, Run]]:
    """sentry_check against loopback receivers answering 500, 429 and 401, a wrong path, and a closed port."""
    tmp = tmp_path_factory.mktemp("check-receiver")
    with EnvelopeReceiver() as failing, EnvelopeReceiver() as limiting, EnvelopeReceiver() as refusing:
        failing.mode, limiting.mode, refusing.mode = "500", "429", "401"
        dsns = {"500": failing.dsn, "429": limiting.dsn, "401": refusing.dsn,
                "no such endpoint": f"http://public@127.0.0.1:{failing.port}/sentry/1",
                "closed port": f"http://public@127.0.0.1:{free_port()}/1"}
        started = {case: start_check(tmp, SENTRY_DSN=dsn) for case, dsn in dsns.items()}
        yield {case: finish(process) for case, process in started.items()}


@pytest.mark.parametrize(("case", "status", "says"), [
    ("accepted", "OK", "HTTP 200: the server accepted test event"),
    ("wrong key", "FAIL", "HTTP 403: the server refused the key or the project"),
    ("wrong project", "FAIL", "HTTP 403: the server refused the key or the project"),
    ("oversized", "FAIL", "HTTP 413: the event is larger than the server accepts"),
])
def test_the_delivery_line_reports_what_bugsink_answered(bugsink_runs, bugsink, case, status, says):
    """Each answer of the real server is reported as it was, with a fix under every FAIL."""
    run = bugsink_runs[case]
    state, message, fix = run.checks["delivery"]
    assert (state, run.returncode) == (status, 0 if status == "OK" else 1), run.stdout + run.stderr
    assert says in message
    assert (fix != "") == (status == "FAIL")


def test_an_accepted_test_event_is_stored_by_the_server(bugsink_runs, bugsink):
    """OK means delivered: the event id the command reports is in Bugsink's storage."""
    message = bugsink_runs["accepted"].checks["delivery"][1]
    event_id = message.rsplit(" ", 1)[-1]
    stored = bugsink.event(event_id)
    assert stored is not None and stored["data"]["message"] == "sentry_check: test event"
    assert "All checks passed" in bugsink_runs["accepted"].stdout


def test_the_output_masks_the_dsn_but_keeps_scheme_host_port_and_project(bugsink_runs, bugsink):
    """No key reaches the output (the server's own 403 text quotes it); host, port and project stay."""
    for case, run in bugsink_runs.items():
        assert bugsink.public_key not in run.stdout + run.stderr, case
        assert "0" * 32 not in run.stdout + run.stderr, case
    assert f"http://***@127.0.0.1:{bugsink.port}/1" in bugsink_runs["accepted"].stdout
    assert f"http://***@127.0.0.1:{bugsink.port}/999" in bugsink_runs["wrong project"].stdout


@pytest.mark.parametrize(("case", "check", "says"), [
    ("500", "delivery", "HTTP 500: the server failed to take the event"),
    ("429", "delivery", "HTTP 429: the server is rate limiting this project"),
    ("401", "delivery", "HTTP 401: the server did not accept the DSN's key"),
    ("no such endpoint", "delivery", "HTTP 404: the server has no such project or endpoint"),
    ("closed port", "reachability", "refused the connection"),
])
def test_a_failing_server_fails_the_command_with_the_reason_and_the_fix(receiver_runs, case, check, says):
    """A 500, a 429, a 401, a 404 and a closed port are each a FAIL with its fix, and exit status 1."""
    run = receiver_runs[case]
    state, message, fix = run.checks[check]
    assert run.returncode == 1 and state == "FAIL", run.stdout + run.stderr
    assert says in message and fix
    assert "check(s) failed" in run.stderr


def test_an_unreachable_server_is_not_sent_a_test_event(receiver_runs):
    """When TCP fails, the delivery check says it was not attempted rather than failing twice."""
    assert receiver_runs["closed port"].status("delivery") == "SKIP"


# --- the local inbox, alert channels, Redis and the broker ---------------------------------------
# Independent runs again start at once; each test reads the run that set up its scenario.
def _alert_env(slack: SlackStandIn, smtp_port: int, recipients: str = "oncall@example.com") -> dict[str, str]:
    return {"SENTRY_DSN": "", "SENTRY_SLACK_ALERTS_ENABLED": "true", "SENTRY_SLACK_WEBHOOK_URL": slack.url,
            "SENTRY_EMAIL_ALERTS_ENABLED": "true", "SENTRY_ALERT_EMAIL_RECIPIENTS": recipients,
            "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(smtp_port)}


def _without_packaging(tmp: Path) -> str:
    """A PYTHONPATH on which `import packaging` fails as it does where the package is not installed
    (kombu's Redis transport imports it; kombu does not require it)."""
    shadow = tmp / "no-packaging"
    shadow.mkdir()
    (shadow / "packaging.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'packaging'\", name='packaging')\n")
    return os.pathsep.join(filter(None, [str(shadow), os.environ.get("PYTHONPATH", "")]))


@dataclass
class LocalRuns:
    """The runs without a DSN, and the stand-ins they talked to."""

    runs: dict[str, Run]
    slack: dict[str, SlackStandIn]
    smtp: dict[str, Any]
    queue: str
    root: Path


@pytest.fixture(scope="module")
def local_runs(tmp_path_factory) -> Iterator[LocalRuns]:
    """healthy: inbox, Slack and e-mail work; broken: each refuses; advice: settings that only warn."""
    tmp, queue = tmp_path_factory.mktemp("check-local"), f"sentry-check-{uuid.uuid4().hex}"
    with (SlackStandIn() as slack_ok, SlackStandIn(default=BAD_REQUEST) as slack_bad,
          SlackStandIn() as slack_skip, smtp_server() as smtp_ok, smtp_server() as smtp_skip,
          smtp_server(refuse="550 5.1.1 no such user") as smtp_bad):
        scenarios = {
            "healthy": ((), _alert_env(slack_ok, smtp_ok.port)),
            "broken": ((), {**_alert_env(slack_bad, smtp_bad.port), "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
                            "CELERY_BROKER_URL": f"amqp://guest:s3cret@127.0.0.1:{free_port()}//"}),
            "advice": (("--skip-slack",), {**_alert_env(slack_skip, smtp_ok.port, recipients=""),
                                           "SENTRY_IGNORE_ERRORS": "PermissionDenied,PermisionDenied",
                                           "SENTRY_PROFILES_SAMPLE_RATE": "0.5"}),
            "skip email": (("--skip-email",), _alert_env(slack_ok, smtp_skip.port)),
            "redis up": ((), {"SENTRY_DSN": "", "REDIS_URL": "redis://127.0.0.1:6379/15"}),
            "no transport": ((), {"SENTRY_DSN": "", "PYTHONPATH": _without_packaging(tmp),
                                  "CELERY_BROKER_URL": f"redis://:s3cret@127.0.0.1:{free_port()}/9"}),
            "no worker": ((), _celery_env(queue)),
        }
        for name in scenarios:
            (tmp / name).mkdir()
        started = {name: start_check(tmp / name, *args, **env) for name, (args, env) in scenarios.items()}
        runs = {name: finish(process) for name, process in started.items()}
        yield LocalRuns(runs, {"ok": slack_ok, "bad": slack_bad, "skip": slack_skip},
                        {"ok": smtp_ok, "bad": smtp_bad, "skip": smtp_skip}, queue, tmp)


def test_without_a_dsn_the_test_event_is_found_in_the_local_inbox(local_runs):
    """With no DSN the command finds its test event's row in the local inbox file."""
    run = local_runs.runs["healthy"]
    state, message, _ = run.checks["delivery"]
    assert (run.returncode, state) == (0, "OK"), run.stdout + run.stderr
    event_id = message.split("test event ")[1].split()[0]
    assert f"sentry_inbox --show {event_id}" in message
    stored = InboxStore(local_runs.root / "healthy" / "inbox.sqlite3").get(event_id)
    assert stored["message"] == "sentry_check: test event"


def test_the_monitors_line_says_monitoring_is_on_and_names_each_beat_entry(local_runs):
    """The project's beat schedule has the queue-depth probe: sentry_check names it and its last check-in."""
    state, message, _ = local_runs.runs["healthy"].checks["monitors"]
    assert state == "OK"
    assert message == ("beat monitoring is on, 1 monitor(s): queue-depth (every 60s): no check-in yet, "
                       "last check-in never")


def test_enabled_channels_get_a_test_message(local_runs):
    """With Slack and e-mail on, the webhook and a real SMTP server each receive the test message."""
    run = local_runs.runs["healthy"]
    assert (run.status("slack"), run.status("email")) == ("OK", "OK"), run.stdout
    assert local_runs.slack["ok"].wait_for(1) and "SentryCheck" in str(local_runs.slack["ok"].accepted[0])
    assert local_runs.smtp["ok"].recorder.wait_for(1)
    assert "All checks passed" in run.stdout


@pytest.mark.parametrize(("check", "says", "fix"), [
    ("slack", "HTTP 400", "SENTRY_SLACK_WEBHOOK_URL"),
    ("email", "recipients refused", "EMAIL_HOST"),
    ("redis", "did not answer PING", "REDIS_URL"),
    ("broker", "refused the connection", "CELERY_BROKER_URL"),
])
def test_a_refusing_channel_or_service_fails_with_its_reason_and_fix(local_runs, check, says, fix):
    """A webhook answering 400, a refused recipient, a closed Redis or broker port: FAIL, exit 1."""
    run = local_runs.runs["broken"]
    state, message, hint = run.checks[check]
    assert (run.returncode, state) == (1, "FAIL"), run.stdout + run.stderr
    assert says in message and fix in hint


def test_the_broken_run_prints_no_secret(local_runs):
    """No webhook URL or broker password reaches the output; an unreachable broker is not asked."""
    run = local_runs.runs["broken"]
    assert "/services/" not in run.stdout + run.stderr and "s3cret" not in run.stdout + run.stderr
    assert run.status("worker") == "SKIP"


def test_a_transport_that_cannot_be_imported_is_a_missing_package_not_a_refused_connection(local_runs):
    """kombu's Redis transport failing to import (no `packaging`) says so and names what to install;
    the broker's password is not printed."""
    run = local_runs.runs["no transport"]
    state, message, fix = run.checks["broker"]
    assert (run.returncode, state) == (1, "FAIL"), run.stdout + run.stderr
    assert "refused" not in message and "Start the broker" not in fix
    assert message.endswith(": the broker's transport cannot be imported "
                            "(ModuleNotFoundError: No module named 'packaging')"), message
    assert message.startswith("redis://***@127.0.0.1:")
    assert fix.startswith("Install the missing package in this environment: pip install packaging "), fix
    assert "s3cret" not in run.stdout + run.stderr
    assert run.status("worker") == "SKIP"


def test_skip_slack_sends_nothing(local_runs):
    """--skip-slack leaves the webhook alone."""
    assert local_runs.runs["advice"].status("slack") == "SKIP" and not local_runs.slack["skip"].received


def test_skip_email_sends_nothing(local_runs):
    """--skip-email leaves the mail server alone; Slack is still tested."""
    run = local_runs.runs["skip email"]
    assert (run.status("email"), run.status("slack")) == ("SKIP", "OK"), run.stdout + run.stderr
    assert local_runs.smtp["skip"].messages == []


@pytest.mark.parametrize(("check", "says", "fix"), [
    ("email", "SENTRY_ALERT_EMAIL_RECIPIENTS is empty", "SENTRY_ALERT_EMAIL_RECIPIENTS="),
    ("ignore list", "no loaded exception class is named PermisionDenied", "dotted path"),
    ("sample rates", "profiles are recorded only inside sampled transactions",
     "SENTRY_PROFILES_SAMPLE_RATE=0"),
])
def test_settings_that_cannot_do_what_was_meant_are_warnings(local_runs, check, says, fix):
    """E-mail on without recipients, a misspelt ignored class, profiles without traces: WARN, exit 0."""
    run = local_runs.runs["advice"]
    state, message, hint = run.checks[check]
    assert (run.returncode, state) == (0, "WARN"), run.stdout + run.stderr
    assert says in message and fix in hint


@pytest.mark.redis
def test_redis_is_pinged_when_alerting_uses_it(local_runs):
    """REDIS_URL answering PING is OK."""
    require_redis()
    run = local_runs.runs["redis up"]
    assert (run.status("redis"), run.returncode) == ("OK", 0), run.stdout + run.stderr


@pytest.mark.rabbitmq
def test_no_worker_on_the_alert_queue_fails_naming_the_queue(local_runs):
    """With nobody consuming the routed queue the command fails and says which worker to start."""
    require_rabbitmq()
    run = local_runs.runs["no worker"]
    state, message, fix = run.checks["worker"]
    assert (run.returncode, state) == (1, "FAIL") and local_runs.queue in message, run.stdout
    assert f"-Q {local_runs.queue}" in fix


def _celery_env(queue: str) -> dict[str, str]:
    return {"SENTRY_DSN": "", "CELERY_BROKER_URL": RABBITMQ, "CELERY_TASK_DEFAULT_QUEUE": queue}


class WakeUp(bootsteps.StartStopStep):
    """Wakes the worker's event loop every 0.1 s, so start_worker's stop request is seen at once."""

    def start(self, c: Any) -> None:
        if c.hub is not None:
            c.hub.call_repeatedly(0.1, lambda: None)


@pytest.fixture
def alert_queue() -> str:
    """A queue name of this run only: other runs' workers on the shared broker never consume it."""
    return f"sentry-check-{uuid.uuid4().hex}"


@pytest.fixture
def queue_worker(alert_queue: str) -> Iterator[str]:
    """A real Celery worker consuming `alert_queue` on RabbitMQ, with remote control on (inspect)."""
    require_rabbitmq()
    app = Celery("sentry-check-test", broker=RABBITMQ, set_as_current=False)
    app.conf.update(task_default_queue=alert_queue, broker_connection_retry_on_startup=False,
                    task_queues=[Queue(alert_queue, auto_delete=True, durable=False)],
                    worker_hijack_root_logger=False)
    app.steps["consumer"].add(WakeUp)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING") as worker:
            _wait_until_consuming(worker.hostname, alert_queue)
            yield worker.hostname
    finally:
        with app.connection_for_write() as connection:
            connection.default_channel.queue_delete(alert_queue)
            Exchange(alert_queue).bind(connection.default_channel).delete()


def _wait_until_consuming(hostname: str, queue: str, timeout: float = 20.0) -> None:
    # Asked as the command asks, from an app of its own: the worker thread's connections stay its own.
    asking = Celery("sentry-check-asking", broker=RABBITMQ, set_as_current=False)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                replies = asking.control.inspect(destination=[hostname], timeout=0.5).active_queues() or {}
            except (OSError, ConnectionError):  # a shared broker may drop a control connection: ask again
                continue
            if any(q.get("name") == queue for q in replies.get(hostname, [])):
                return
    finally:
        asking.close()
    raise AssertionError(f"worker {hostname} never reported consuming {queue}")


@pytest.mark.rabbitmq
def test_a_worker_on_the_alert_queue_is_found(tmp_path, queue_worker, alert_queue):
    """The broker and a worker consuming the app's default queue (CELERY_TASK_DEFAULT_QUEUE) are OK."""
    run = run_check(tmp_path, **_celery_env(alert_queue))
    assert run.status("broker") == "OK", run.stdout + run.stderr
    state, message, _ = run.checks["worker"]
    assert state == "OK" and alert_queue in message and queue_worker in message
    assert "guest:guest" not in run.stdout


def test_an_errors_only_server_warns_that_traces_never_arrive(bugsink_runs):
    """Bugsink answers with a day-long transaction rate limit: with traces on, that is a WARN."""
    assert bugsink_runs["accepted"].status("sample rates") == "OK"  # traces 0
    state, message, fix = bugsink_runs["traces on"].checks["sample rates"]
    assert state == "WARN" and "refuses transactions" in message and "SENTRY_TRACES_SAMPLE_RATE=0" in fix
    assert bugsink_runs["traces on"].returncode == 0


def test_links_built_for_the_wrong_server_are_a_warning(bugsink_runs):
    """A server that answers like Bugsink, with links built for Sentry, gets the SENTRY_SERVER_TYPE fix."""
    state, _, fix = bugsink_runs["accepted"].checks["alert links"]
    assert state == "WARN" and "SENTRY_SERVER_TYPE=bugsink" in fix


def test_a_clean_run_reports_no_losses(bugsink_runs):
    """The loss ledger is read and reported whole (nothing in a healthy process)."""
    assert bugsink_runs["accepted"].checks["losses"][:2] == ("OK", "nothing dropped, spooled or failed")
