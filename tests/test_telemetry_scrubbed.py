"""Every kind of telemetry sentry-sdk can send leaves scrubbed, through the hook docs/scrubbing.md names.

Events and transactions are proven in tests/test_e2e_scrubbing.py and streamed spans in
tests/test_span_streaming.py; this file proves the rest through sentry-sdk's real HTTP transport
and the loopback receiver: breadcrumbs as recorded, log records, metrics, check-ins, attachments
and profiles.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sentry_sdk

from tests.support.receiver import EnvelopeReceiver

EMAIL, CARD, STRIPE = "alice@example.com", "4111 1111 1111 1111", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"
SECRETS = (EMAIL, CARD, STRIPE)
REPO = Path(__file__).resolve().parent.parent


def _received(receiver: EnvelopeReceiver) -> str:
    return json.dumps([[e.headers, [[i.headers, i.payload if not isinstance(i.payload, bytes)
                                     else i.payload.decode("utf-8", "replace")] for i in e.items]]
                       for e in receiver.envelopes])


def _leaked(receiver: EnvelopeReceiver) -> list[str]:
    received = _received(receiver)
    return [secret for secret in SECRETS if secret in received]


@pytest.fixture
def with_options(monkeypatch, envelope_receiver, error_tracking) -> Iterator:
    """`with_options(**client_options)`: the project's init_sentry against the receiver, with these
    sentry-sdk options added (ones the project leaves off, as a deployment could turn them on)."""
    def start(**client_options):
        real = sentry_sdk.init

        def init(*args, **options):
            return real(*args, **{**options, **client_options})

        monkeypatch.setattr(sentry_sdk, "init", init)
        try:
            return error_tracking(dsn=envelope_receiver.dsn, traces_sample_rate=1.0, profiles_sample_rate=0.0)
        finally:
            monkeypatch.setattr(sentry_sdk, "init", real)  # the fixture's re-init afterwards is plain

    yield start


def test_log_records_pass_before_send_log(with_options, envelope_receiver):
    """Sentry Logs (off in the project; a deployment may set enable_logs): body and attributes."""
    with_options(enable_logs=True)
    sentry_sdk.logger.info("refund for {who}", who=EMAIL,
                           attributes={"card": CARD, "note": f"token={STRIPE}"})
    sentry_sdk.flush(timeout=10)
    assert envelope_receiver.wait_for(lambda rx: rx.items("log"), timeout=10)
    assert _leaked(envelope_receiver) == []
    assert "[email]" in _received(envelope_receiver)


def test_metrics_pass_before_send_metric(tracked):
    """A metric's attributes are scrubbed."""
    sentry_sdk.metrics.count("refunds", 1, attributes={"customer": EMAIL, "card": CARD})
    sentry_sdk.flush(timeout=10)
    assert tracked.wait_for(lambda rx: rx.items("trace_metric"), timeout=10)
    assert _leaked(tracked) == []
    metric = next(m for _, p in tracked.items("trace_metric") for m in p["items"] if m["name"] == "refunds")
    assert metric["attributes"]["customer"]["value"] == "[email]"


def test_check_ins_pass_before_send_and_are_not_errors(envelope_receiver, error_tracking, monkeypatch):
    """A cron check-in is an event to before_send: scrubbed, and neither grouped nor shown to the alerts."""
    from errorwarden.alerting import AlertEngine

    observed: list[dict] = []
    monkeypatch.setattr(AlertEngine, "observe_event", lambda self, event, hint=None: observed.append(event))
    error_tracking(dsn=envelope_receiver.dsn, traces_sample_rate=1.0, profiles_sample_rate=0.0)
    tracked = envelope_receiver
    with sentry_sdk.new_scope() as scope:
        scope.set_context("job", {"owner": EMAIL, "card": CARD})
        sentry_sdk.crons.capture_checkin(monitor_slug="nightly-billing", status="ok",
                                         monitor_config={"schedule": {"type": "crontab",
                                                                      "value": "0 2 * * *"}})
    sentry_sdk.flush(timeout=10)
    assert tracked.wait_for(lambda rx: rx.items("check_in"), timeout=10)
    assert _leaked(tracked) == []
    [(_, check_in)] = tracked.items("check_in")
    assert check_in["monitor_slug"] == "nightly-billing"
    assert "fingerprint" not in check_in and "error.category" not in check_in.get("tags", {})
    assert observed == []
    sentry_sdk.capture_message("the next event is observed")
    sentry_sdk.flush(timeout=10)
    assert len(observed) == 1


def test_attachments_are_not_sent(tracked):
    """An attachment is bytes no scrub can vouch for: the event goes, the attachment is dropped
    and counted."""
    with sentry_sdk.new_scope() as scope:
        scope.add_attachment(bytes=f"card {CARD} for {EMAIL}".encode(), filename="dump.txt")
        sentry_sdk.capture_message("refund failed")
    sentry_sdk.flush(timeout=10)
    assert tracked.wait_for(lambda rx: rx.events(), timeout=10)
    assert tracked.items("attachment") == []
    assert _leaked(tracked) == []
    assert tracked.runtime.stats.snapshot()["dropped"].get("attachments") == 1


# The profiled work runs in a process of its own: the continuous profiler samples every thread's
# stack, and a long test process holds many (each re-initialisation's SDK workers), which made the
# sampler crawl and the test hang in the full suite.
PROFILED = """
import os, sys, time
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
import sentry_sdk
CARD, EMAIL = sys.argv[1:3]


def _slow_refund(customer):
    card = CARD  # a local the profiler's stacks must not carry
    deadline = time.perf_counter() + 0.3
    while time.perf_counter() < deadline and card:
        sum(range(1000))


with sentry_sdk.start_transaction(name="refund", op="task"):
    _slow_refund(EMAIL)
deadline = time.monotonic() + 15  # the profiler sends its chunk on its own thread, soon after
while time.monotonic() < deadline and not os.path.exists(sys.argv[3]):
    time.sleep(0.1)
sentry_sdk.flush(timeout=10)
"""


def test_profiles_carry_code_locations_not_values(envelope_receiver, tmp_path):
    """No hook covers profile chunks: they hold frames (function, module, file, line) and timings,
    never a local's value or an argument; the secret passed around in a profiled call stays home."""
    env = {**os.environ, "SENTRY_DSN": envelope_receiver.dsn, "SENTRY_TRACES_SAMPLE_RATE": "1.0",
           "SENTRY_PROFILES_SAMPLE_RATE": "1.0", "SENTRY_OUTBOX_PATH": str(tmp_path / "outbox.sqlite3"),
           "SENTRY_ALERT_SPOOL_PATH": str(tmp_path / "alerts.sqlite3"),
           "SENTRY_INBOX_PATH": str(tmp_path / "inbox.sqlite3")}
    received, stderr = tmp_path / "received", ""  # the child waits for the chunk to arrive, then exits
    child = subprocess.Popen([sys.executable, "-c", PROFILED, CARD, EMAIL, str(received)], cwd=REPO, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        arrived = envelope_receiver.wait_for(lambda rx: rx.items("profile_chunk"), timeout=30)
        received.touch()
        _, stderr = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    assert arrived and child.returncode == 0, stderr[-3000:]
    chunks = json.dumps([p for _, p in envelope_receiver.items("profile_chunk")])
    assert "_slow_refund" in chunks
    assert _leaked(envelope_receiver) == []


def test_breadcrumbs_are_scrubbed_when_recorded(tracked, monkeypatch):
    """before_breadcrumb scrubs a crumb as it is recorded, not only inside the event: with the event
    scrub turned into a pass-through, the crumb arrives scrubbed while the message beside it does not."""
    monkeypatch.setattr(tracked.runtime.scrubber, "scrub_event", lambda event: event)
    sentry_sdk.add_breadcrumb(category="payment", message=f"charged {CARD} for {EMAIL}")
    sentry_sdk.capture_message(f"raw {STRIPE}")
    sentry_sdk.flush(timeout=10)
    assert tracked.wait_for(lambda rx: rx.events(), timeout=10)
    [event] = tracked.events()
    crumb = next(c for c in event["breadcrumbs"]["values"] if c.get("category") == "payment")
    assert crumb["message"] == "charged [card] for [email]"
    assert STRIPE in json.dumps(event)  # the event scrub really was off
