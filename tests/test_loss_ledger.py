"""One loss ledger: every part counts what it drops, spools or fails in the runtime's LossLedger.

The ledger itself (three fates, one log helper), then real parts: a failing pipeline step, a
refusing SMTP server, a locked inbox and a bad aggregate observation in one process with the local
inbox, and a full outbox spool against a loopback receiver with a DSN. Each shows up in the
ledger, in `manage.py sentry_check`'s losses line and in the dashboard (page and api/losses/); the
outbox's own losses reach the receiver as client reports.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from io import StringIO

import pytest
import sentry_sdk
from django.core.management import CommandError, call_command

from errorwarden.grouping import Classifier
from errorwarden.local import InboxStore
from errorwarden.losses import LOGGER_NAME, LossLedger, combined, is_loss
from tests.reliability.server import wait_until
from tests.support.receiver import EnvelopeReceiver
from tests.support.smtp import smtp_server, smtp_settings

SECRET = "sk_live_0123456789abcdefghijklmn"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_three_fates_are_counted_apart_and_each_pair_is_logged_once_per_interval(caplog):
    """lost, failed and spooled count under (kind, reason) with a prefix for the last two; only the
    lost ones are losses; each pair logs at once, then once per interval with what piled up."""
    clock = Clock()
    ledger = LossLedger(interval=60, clock=clock)
    with caplog.at_level(logging.INFO, LOGGER_NAME):
        ledger.lost("outbox", "space", 2, "full")
        ledger.lost("outbox", "space", 3, "full")
        ledger.failed("alert", "email", 1, "Alert channel email is failing (email: SMTP 550 (x))")
        ledger.spooled("alert", "email", 1)
        clock.now += 61
        ledger.lost("outbox", "space", 1, "full")
        ledger.report()
    assert ledger.totals() == {("outbox", "space"): 6, ("alert", "failed:email"): 1,
                               ("alert", "spooled:email"): 1}
    assert ledger.total() == 6 and ledger.total("alert") == 0
    assert [r.getMessage().split(";")[0] for r in caplog.records] == [
        "outbox lost 2 item(s) (space): full",
        "alert failed 1 item(s) (failed:email): Alert channel email is failing (email: SMTP 550 (x))",
        "alert spooled 1 item(s) (spooled:email)",
        "outbox lost 4 item(s) (space): full",
    ]
    assert [r.levelname for r in caplog.records] == ["WARNING", "WARNING", "INFO", "WARNING"]
    assert combined({("a", "x"): 1}, {("a", "x"): 2, ("b", "y"): 5}) == [("b", "y", 5), ("a", "x", 3)]
    assert not is_loss(("alert", "spooled:email")) and is_loss(("outbox", "space"))


def _losses_line(runtime) -> str:
    """The losses line of `manage.py sentry_check` run in this process (its other checks may fail)."""
    out = StringIO()
    with contextlib.suppress(CommandError):  # a check unrelated to losses (a broker, say) may fail here
        call_command("sentry_check", "--skip-slack", "--skip-email", "--no-color", stdout=out)
    lines = [line for line in out.getvalue().splitlines() if line[6:19].strip() == "losses"]
    assert len(lines) == 1, out.getvalue()
    return lines[0]


@pytest.mark.django_db
def test_every_part_counts_in_the_runtimes_ledger_and_sentry_check_and_the_dashboard_show_it(
        error_tracking, tmp_path, settings, client, monkeypatch, caplog):
    """With the local inbox: a SKIP step that raises, an e-mail alert the SMTP server refuses, payloads
    a locked inbox cannot take and an aggregate observation that cannot be counted all land in the
    one ledger, logged by it without the exception's message, and sentry_check and the dashboard
    (page and JSON) show every one of them."""
    settings.DEBUG = True

    def broken(self, event, hint):
        raise RuntimeError(f"classifier bug near {SECRET}")

    monkeypatch.setattr(Classifier, "classify", broken)
    with smtp_server(refuse="550 5.7.1 relaying denied") as smtp, caplog.at_level(logging.INFO, LOGGER_NAME):
        for name, value in smtp_settings(smtp.port).items():
            setattr(settings, name, value)
        runtime = error_tracking(dsn="", inbox_path=tmp_path / "inbox.sqlite3", traces_sample_rate=0.0,
                                 profiles_sample_rate=0.0, storm_window=3600.0, critical_error_threshold=1,
                                 slack_alerts_enabled=False, email_alerts_enabled=True,
                                 alert_email_recipients=("oncall@example.com",))
        ledger = runtime.losses
        # The inbox: while another process holds the write lock, a queue of 2 overflows.
        runtime.transport.queue_size = 2
        store = InboxStore(runtime.settings.inbox_path)
        store.add("event", {"event_id": "0" * 32, "message": "creates the file"})
        blocker = sqlite3.connect(store.path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        kinds = [type(f"Ledger{k}Error", (Exception,), {}) for k in range(8)]
        for kind in kinds:
            try:
                raise kind("boom")
            except Exception as exc:
                sentry_sdk.capture_exception(exc)
        blocker.execute("COMMIT")
        blocker.close()
        sentry_sdk.flush(timeout=30)
        assert runtime.flush(20)
        assert smtp.recorder.wait_for_refusals(1)
        assert wait_until(lambda: ledger.count("alert", "email") >= 1, timeout=20), ledger.totals()
        # The aggregates: an observation that cannot be counted (a duration that is no number).
        runtime.aggregates.observe_request("/api/books/", None, False)  # type: ignore[arg-type]

    totals = ledger.totals()
    assert totals["pipeline", "failed:classify:RuntimeError"] >= len(kinds)
    assert totals["alert", "failed:email"] >= 1 and totals["alert", "email"] >= 1
    assert totals["inbox", "queue_full"] >= 1
    assert totals["aggregates", "observe"] == 1
    assert runtime.stats.failures["classify:RuntimeError"] == totals["pipeline",
                                                                     "failed:classify:RuntimeError"]
    assert SECRET not in caplog.text and "relaying denied" not in caplog.text
    assert "oncall@example.com" not in caplog.text
    assert any("(failed:classify:RuntimeError)" in r.getMessage() and r.levelno == logging.ERROR
               for r in caplog.records)

    expected = {("pipeline", "failed:classify:RuntimeError"), ("alert", "failed:email"), ("alert", "email"),
                ("inbox", "queue_full"), ("aggregates", "observe")}
    line = _losses_line(runtime)
    assert line.startswith("WARN"), line
    for kind, reason in expected:
        assert f"{kind}: " in line and f" {reason} " in line, (kind, reason, line)

    rows = {(r["kind"], r["reason"]): r for r in client.get("/_errors/api/losses/").json()["losses"]}
    assert expected <= set(rows)
    assert rows["alert", "email"]["fate"] == "lost" and rows["alert", "failed:email"]["fate"] == "failed"
    assert rows["inbox", "queue_full"]["count"] == totals["inbox", "queue_full"]
    page = client.get("/_errors/").content.decode()
    for kind, reason in expected:
        assert f"{kind} {reason} " in page, (kind, reason)


@pytest.mark.django_db
def test_a_full_outbox_counts_in_the_ledger_reaches_the_server_as_client_reports_and_is_shown(
        error_tracking, tmp_path, settings, client):
    """With a DSN and Sentry away, room for 5 of 20 events: the runtime's ledger counts 15 lost for space
    and the rest spooled, the receiver gets 15 cache_overflow once it is back, and sentry_check and
    api/losses/ show the outbox's rows."""
    settings.DEBUG = True
    with EnvelopeReceiver() as rx:
        rx.mode = "absent"
        runtime = error_tracking(dsn=rx.dsn, inbox_path=tmp_path / "inbox.sqlite3", traces_sample_rate=0.0,
                                 profiles_sample_rate=0.0, outbox_path=tmp_path / "outbox.sqlite3",
                                 outbox_max_envelopes=5, storm_keep=100, slack_alerts_enabled=False,
                                 email_alerts_enabled=False)
        ledger = runtime.losses
        assert runtime.transport.losses is ledger
        for n in range(20):
            with sentry_sdk.new_scope() as scope:
                scope.fingerprint = [f"issue-{n}"]
                sentry_sdk.capture_message(f"outbox ledger {n:02d}")
        assert wait_until(lambda: ledger.count("outbox", "space") == 15, timeout=20), ledger.totals()
        outbox = ledger.totals("outbox")
        spooled = sum(n for (_, reason), n in outbox.items() if reason.startswith("spooled:"))
        assert spooled >= 20, outbox  # the first after its failed send (failed:send), the rest at once
        assert ledger.count("outbox", "failed:send") >= 1
        rx.mode = "ok"

        def arrived() -> set[str]:
            return {e.get("message") or e.get("logentry", {}).get("message", "") for e in rx.events()}

        newest = {f"outbox ledger {n:02d}" for n in range(15, 20)}
        assert wait_until(lambda: newest <= arrived(), timeout=60), arrived()
        sentry_sdk.flush(timeout=5)

        reported = wait_until(lambda: rx.discarded().get(("cache_overflow", "error")) == 15, timeout=20)
        assert reported, rx.discarded()

        line = _losses_line(runtime)
        assert line.startswith("WARN") and "outbox: " in line and " space 15" in line, line
        assert "outbox file: 15 dropped for space" in line, line
        rows = {(r["kind"], r["reason"]): r for r in client.get("/_errors/api/losses/").json()["losses"]}
        assert rows["outbox", "space"] == {"kind": "outbox", "reason": "space", "count": 15, "fate": "lost"}
        assert rows["outbox", "failed:send"]["fate"] == "failed"


def test_a_failing_replay_step_is_counted_and_logged_by_its_type_only(tmp_path, monkeypatch, caplog):
    """The outbox thread's replay step fails (a broken spool file): the ledger counts failed:replay and
    its one line names the exception's type, never its message."""
    from errorwarden.delivery import outbox_transport_for
    from errorwarden.settings import Settings

    ledger = LossLedger()
    with EnvelopeReceiver() as rx:
        transport = outbox_transport_for(Settings(dsn=rx.dsn, inbox_path=tmp_path / "inbox.sqlite3"),
                                  {"transport_queue_size": 10}, losses=ledger, outbox_poll=0.05)

        def broken(*args, **kwargs):
            raise OSError(f"database is locked at {SECRET}")

        monkeypatch.setattr(transport.store, "next_due", broken)
        monkeypatch.setattr(transport.store, "claim", broken)
        with caplog.at_level(logging.WARNING, LOGGER_NAME):
            transport.replayer.start()
            assert wait_until(lambda: ledger.count("outbox", "failed:replay") >= 2, timeout=10)
            transport.kill()
    lines = [r.getMessage() for r in caplog.records if "(failed:replay)" in r.getMessage()]
    assert len(lines) == 1 and "(OSError)" in lines[0]
    assert SECRET not in caplog.text


def test_a_spooled_envelope_that_cannot_be_read_back_is_counted_and_reported(tmp_path):
    """A row whose bytes are no envelope (a torn write, an older format): the replay deletes it, the
    ledger counts outbox corrupt and the receiver gets it as internal_sdk_error, by its summary's category."""
    from errorwarden.delivery import OutboxStore, dsn_key, outbox_transport_for
    from errorwarden.delivery.outbox_store import Spooled
    from errorwarden.settings import Settings

    ledger = LossLedger()
    with EnvelopeReceiver() as rx:
        path = tmp_path / "outbox.sqlite3"
        torn = Spooled(b"\xff not an envelope", "outage", "event 1 item")
        OutboxStore(path).add_many(dsn_key(rx.dsn), [torn])
        transport = outbox_transport_for(Settings(dsn=rx.dsn, inbox_path=tmp_path / "inbox.sqlite3"),
                                  {"transport_queue_size": 10}, losses=ledger, outbox_path=path,
                                  outbox_poll=0.05, outbox_start_delay=0.05)
        assert wait_until(lambda: ledger.count("outbox", "corrupt") == 1, timeout=10), ledger.totals()
        assert transport.store.pending(transport.key) == 0
        transport.http.flush_client_reports(force=True)
        transport.http.flush(2)
        reported = wait_until(lambda: rx.discarded().get(("internal_sdk_error", "error")) == 1, timeout=10)
        assert reported, rx.discarded()
        transport.kill()
