"""The outbox: its SQLite spool, storm sampling, backoff, and the transport against the real receiver."""

from __future__ import annotations

import dataclasses
import json
import logging
import multiprocessing
import random
import re
from pathlib import Path

import pytest
import sentry_sdk
from sentry_sdk.envelope import Envelope

from errorwarden.delivery import (
    OutboxOptions,
    OutboxStore,
    StormSampler,
    dsn_key,
    outbox_transport_for,
    represented,
)
from errorwarden.delivery.outbox_store import Spooled
from errorwarden.delivery.pacing import Backoff
from errorwarden.settings import Settings, load_settings
from tests.reliability.server import wait_until
from tests.support.fixtures import isolated_client
from tests.support.receiver import EnvelopeReceiver

FAST = {"outbox_retry_first": 0.05, "outbox_retry_max": 0.2, "outbox_poll": 0.1, "outbox_timeout": 1.0}


def _rows(n: int, size: int = 10, reason: str = "test") -> list[Spooled]:
    return [Spooled(bytes([65 + i % 26]) * size, reason, f"row {i}") for i in range(n)]


# -- the spool ---------------------------------------------------------------------------------

def test_claimed_rows_are_leased_until_released_or_deleted(tmp_path):
    """A claim leases the oldest due rows; nobody else gets them until they are released."""
    store = OutboxStore(tmp_path / "o.sqlite3")
    ids, dropped = store.add_many("k", _rows(3), now=100.0)
    assert (len(ids), dropped) == (3, 0)
    claimed = store.claim("k", 2, lease=60, now=100.0)
    assert [c.id for c in claimed] == ids[:2] and [c.attempts for c in claimed] == [1, 1]
    assert [c.id for c in store.claim("k", 5, now=100.0)] == ids[2:]  # the leased two are not offered
    store.release([ids[0]], not_before=150.0)
    store.delete([ids[1]])
    assert store.claim("k", 5, now=149.0) == []
    assert [c.id for c in store.claim("k", 5, now=150.0)] == [ids[0]]
    assert store.pending("k") == 2 and store.pending("other") == 0


@pytest.mark.parametrize(("max_envelopes", "max_bytes", "rows", "size", "kept", "dropped"), [
    (5, 10_000, 8, 10, 5, 3),  # count bound
    (100, 50, 8, 10, 5, 3),  # byte bound
    (100, 5, 2, 10, 0, 2),  # an envelope bigger than the whole outbox never fits
])
def test_bounds_drop_the_oldest_and_count_them(tmp_path, max_envelopes, max_bytes, rows, size, kept, dropped):
    """Over either bound the oldest rows go first, and every dropped envelope is counted."""
    store = OutboxStore(tmp_path / "o.sqlite3", max_envelopes=max_envelopes, max_bytes=max_bytes)
    _, lost = store.add_many("k", _rows(rows, size))
    stats = store.stats()
    assert (stats["envelopes"], stats["dropped"] if kept else lost) == (kept, dropped)
    assert lost == dropped
    assert [r["summary"] for r in store.rows()] == [f"row {i}" for i in range(rows - kept, rows)]


def _writer(path: str, n: int) -> None:
    store = OutboxStore(path)
    for _ in range(0, n, 10):
        store.add_many("k", _rows(10))


def test_three_processes_writing_at_once_lose_nothing(tmp_path):
    """Three OS processes spooling 300 envelopes each into one file: all 900 are there."""
    path = str(tmp_path / "o.sqlite3")
    spawn = multiprocessing.get_context("spawn")
    workers = [spawn.Process(target=_writer, args=(path, 300)) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [w.exitcode for w in workers] == [0, 0, 0]
    assert OutboxStore(path).stats()["envelopes"] == 900


def test_the_spool_names_a_dsn_without_storing_it():
    """Rows are keyed by a one-way digest of the DSN, so the file never holds the DSN's key."""
    key = dsn_key("https://secretkey@o1.ingest.sentry.io/5")
    assert len(key) == 16 and "secretkey" not in key
    assert key == dsn_key("https://secretkey@o1.ingest.sentry.io/5") != dsn_key("https://other@h/5")


# -- storm sampling ----------------------------------------------------------------------------

def _event_envelope(issue: str, n: int = 0) -> Envelope:
    envelope = Envelope()
    envelope.add_event({"event_id": f"{issue}{n:028d}"[-32:], "fingerprint": [issue], "message": "x"})
    return envelope


class Clock:
    """A settable clock."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _counts(envelopes: list[Envelope]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for envelope in envelopes:
        event = envelope.get_event()
        counts[event["fingerprint"][0]] = counts.get(event["fingerprint"][0], 0) + represented(event)
    return counts


def test_sampling_keeps_the_first_events_and_counts_the_rest_exactly():
    """Past keep, events are omitted; the next window's first event carries how many."""
    clock = Clock()
    sampler = StormSampler(keep=3, window=60, clock=clock)
    kept = [e for n in range(10) for e in sampler.admit(_event_envelope("a", n))]
    assert len(kept) == 3 and _counts(kept) == {"a": 3}
    clock.now += 61
    [carrier] = sampler.admit(_event_envelope("a", 99))
    summary = carrier.get_event()["contexts"]["outbox_sampling"]
    assert summary["represents"] == 8 and summary["omitted"] == 7  # itself and the 7 omitted
    assert _counts([*kept, carrier]) == {"a": 11}


@pytest.mark.parametrize("seed", range(5))
def test_any_mix_of_issues_and_times_adds_up_to_what_was_admitted(seed):
    """Whatever the order and timing, kept events plus summaries equal the events admitted per issue."""
    rng, clock = random.Random(seed), Clock()
    sampler = StormSampler(keep=2, window=10, max_issues=3, clock=clock)
    admitted: dict[str, int] = {}
    out: list[Envelope] = []
    for n in range(500):
        issue = rng.choice("abcdef")
        admitted[issue] = admitted.get(issue, 0) + 1
        out += sampler.admit(_event_envelope(issue, n))
        clock.now += rng.random() * 2
        if rng.random() < 0.05:
            out += sampler.due()
    out += sampler.due(everything=True)
    assert _counts(out) == admitted
    assert sampler.holding() == 0


def test_envelopes_without_an_event_pass_unsampled():
    """Transactions and sessions are never sampled."""
    sampler = StormSampler(keep=1)
    envelope = Envelope()
    envelope.add_transaction({"type": "transaction", "transaction": "t"})
    assert all(sampler.admit(envelope) == [envelope] for _ in range(5))


# -- pacing ------------------------------------------------------------------------------------

def test_backoff_doubles_up_to_its_cap_with_jitter_and_resets():
    """Delays double from first to cap, each between half and all of its step; a success resets."""
    clock = Clock()
    backoff = Backoff(first=1, cap=8, clock=clock, rng=lambda: 1.0)
    assert [backoff.failed() for _ in range(6)] == [1, 2, 4, 8, 8, 8]
    assert backoff.active() and backoff.remaining() == 8
    clock.now += 8
    assert not backoff.active()
    assert backoff.succeeded() is True and backoff.succeeded() is False
    assert Backoff(first=1, cap=8, rng=lambda: 0.0).failed() == 0.5


# -- options -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("overrides", "error", "match"), [
    ({"outbox_max_envelopes": 0}, ValueError, "outbox_max_envelopes must be a positive number"),
    ({"outbox_retry_first": 5, "outbox_retry_max": 1}, ValueError, "must not exceed"),
    ({"outbox_colour": "red"}, TypeError, "unknown outbox option"),
])
def test_bad_options_name_what_is_wrong(overrides, error, match):
    """A bad knob raises an error naming the option and what is allowed."""
    with pytest.raises(error, match=match):
        OutboxOptions.from_settings(Settings(), **overrides)


def test_options_come_from_settings_and_the_spool_sits_beside_the_inbox(tmp_path):
    """The operator's knobs are the settings' values (their defaults are the settings table's, not
    repeated by the options), and the spool defaults to the inbox's folder."""
    settings = load_settings({"SENTRY_INBOX_PATH": str(tmp_path / "inbox.sqlite3"),
                              "SENTRY_OUTBOX_MAX_ENVELOPES": "7", "SENTRY_OUTBOX_MAX_MB": "2",
                              "SENTRY_TRANSPORT_TIMEOUT_SECONDS": "3", "SENTRY_STORM_KEEP": "4",
                              "SENTRY_STORM_WINDOW_SECONDS": "5"})
    options = OutboxOptions.from_settings(settings)
    assert (options.outbox_max_envelopes, options.outbox_max_bytes, options.outbox_timeout,
            options.storm_keep, options.storm_window) == (7, 2 * 1024 * 1024, 3.0, 4, 5.0)
    assert options.outbox_path == tmp_path / "sentry_outbox.sqlite3"
    moved = OutboxOptions.from_settings(settings.with_overrides(outbox_path=tmp_path / "o.sqlite3"))
    assert moved.outbox_path == tmp_path / "o.sqlite3"
    defaults = OutboxOptions.from_settings(Settings())
    assert (defaults.outbox_max_envelopes, defaults.outbox_timeout, defaults.storm_keep) == (
        Settings().outbox_max_envelopes, Settings().outbox_timeout, Settings().storm_keep)
    @dataclasses.dataclass(frozen=True)
    class Quick(Settings):  # how the reliability suite shortens the internal pacing
        outbox_retry_max: float = 2.0

    assert OutboxOptions.from_settings(Quick()).outbox_retry_max == 2.0
    assert OutboxOptions.from_settings(Settings()).outbox_retry_max == 60.0
    with pytest.raises(TypeError):  # no defaults of its own for the operator's knobs
        OutboxOptions(outbox_path=tmp_path / "o.sqlite3")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="needs a DSN"):
        outbox_transport_for(Settings(dsn=""))


# -- the transport, against the receiver -------------------------------------------------------

def _transport(rx: EnvelopeReceiver, tmp_path: Path, **knobs):
    settings = Settings(dsn=rx.dsn, inbox_path=tmp_path / "inbox.sqlite3")
    return outbox_transport_for(settings, {"transport_queue_size": knobs.pop("queue", 100)},
                                **{**FAST, **knobs})


def _messages(rx: EnvelopeReceiver) -> list[str]:
    return sorted({e["message"] for e in rx.events()})


@pytest.mark.parametrize("mode", ["500", "absent", "hang"])
def test_what_sentry_could_not_take_is_replayed_when_it_recovers(envelope_receiver, tmp_path, mode, caplog):
    """Envelopes sent while Sentry fails are spooled, then all arrive once it answers again."""
    rx = envelope_receiver
    transport = _transport(rx, tmp_path)
    with caplog.at_level(logging.WARNING), isolated_client(dsn=rx.dsn, transport=transport) as client:
        rx.mode = mode
        for n in range(20):
            sentry_sdk.capture_message(f"m{n:02d}")
        client.flush(1.5)
        assert transport.store.pending() >= 1
        rx.mode = "ok"
        assert wait_until(lambda: _messages(rx) == [f"m{n:02d}" for n in range(20)], timeout=20)
        assert wait_until(lambda: transport.store.pending() == 0, timeout=10)
    assert "public@" not in caplog.text and "***" in caplog.text  # the DSN shows masked, never its key
    assert not [r for r in caplog.records if r.name.startswith("urllib3")]  # no retry warning per event


def test_a_429_holds_everything_until_retry_after_without_knocking_again(envelope_receiver, tmp_path):
    """After a 429 nothing more is sent until Retry-After passes; then the held envelopes arrive."""
    rx = envelope_receiver
    rx.mode, rx.retry_after = "429", 2
    transport = _transport(rx, tmp_path)
    with isolated_client(dsn=rx.dsn, transport=transport) as client:
        for n in range(10):
            sentry_sdk.capture_message(f"m{n:02d}")
        client.flush(1)
        assert rx.requests == 1
        rx.mode = "ok"
        assert wait_until(lambda: len(_messages(rx)) == 10, timeout=20)
    assert all(t - rx.log[0][0] >= 1.5 for t, status in rx.log[1:])


def test_a_full_queue_spills_into_the_spool(envelope_receiver, tmp_path):
    """With a queue of 2 and a slow Sentry, the overflow is spooled and still arrives."""
    rx = envelope_receiver
    rx.mode, rx.delay = "slow", 0.1
    transport = _transport(rx, tmp_path, queue=2)
    with isolated_client(dsn=rx.dsn, transport=transport, transport_queue_size=2):
        for n in range(15):
            sentry_sdk.capture_message(f"m{n:02d}")
        assert wait_until(lambda: len(_messages(rx)) == 15, timeout=30)
    assert transport.spooled >= 10  # 15 captures, 2 queue places, a sender busy 0.1 s each
    assert wait_until(lambda: transport.store.pending() == 0, timeout=10)


def test_what_is_left_at_shutdown_is_replayed_by_the_next_transport(envelope_receiver, tmp_path):
    """A transport closed while Sentry is slow spools the rest; a new one for the same DSN sends it."""
    rx = envelope_receiver
    rx.mode, rx.delay = "slow", 0.3
    first = _transport(rx, tmp_path)
    with isolated_client(dsn=rx.dsn, transport=first, shutdown_timeout=0.5):
        for n in range(20):
            sentry_sdk.capture_message(f"m{n:02d}")
    assert first.store.pending() > 0
    rx.mode = "ok"
    second = _transport(rx, tmp_path, outbox_start_delay=0.05)
    try:
        assert wait_until(lambda: len(_messages(rx)) == 20, timeout=20)
        assert wait_until(lambda: second.store.pending() == 0, timeout=10)
    finally:
        second.kill()


def test_an_envelope_sentry_refuses_is_lost_once_and_logged(envelope_receiver, tmp_path, caplog):
    """A 413 cannot improve with retries: the envelope is counted lost and logged, not spooled."""
    rx = envelope_receiver
    rx.mode = "413"
    transport = _transport(rx, tmp_path)
    with caplog.at_level(logging.WARNING), isolated_client(dsn=rx.dsn, transport=transport) as client:
        sentry_sdk.capture_message("too big")
        client.flush(2)
    assert transport.losses.count("outbox", "rejected") == 1
    assert transport.store.pending() == 0
    assert "HTTP 413" in caplog.text


def test_sampled_storm_during_an_outage_keeps_exact_counts(envelope_receiver, tmp_path):
    """300 events of 3 issues while Sentry is down: fewer arrive, and their summaries add up to 300."""
    rx = envelope_receiver
    rx.mode = "500"
    transport = _transport(rx, tmp_path, storm_keep=5, storm_window=0.5)
    with isolated_client(dsn=rx.dsn, transport=transport) as client:
        for n in range(300):
            with sentry_sdk.new_scope() as scope:
                scope.fingerprint = [f"issue-{n % 3}"]
                sentry_sdk.capture_message(f"storm {n}")
        client.flush(1)
        rx.mode = "ok"

        def counts() -> dict[str, int]:
            found: dict[str, int] = {}
            for event in {e["event_id"]: e for e in rx.events()}.values():
                found[event["fingerprint"][0]] = found.get(event["fingerprint"][0], 0) + represented(event)
            return found

        assert wait_until(lambda: counts() == {f"issue-{n}": 100 for n in range(3)}, timeout=30), counts()
    assert len(rx.events()) < 300
    assert json.dumps(rx.events()).count("outbox_sampling") >= 3


def test_a_full_outbox_drops_the_oldest_counts_them_and_logs_once(envelope_receiver, tmp_path, caplog):
    """Sentry down and room for 5: the 5 newest wait, 15 are counted lost, and one line says so."""
    rx = envelope_receiver
    rx.mode = "absent"
    transport = _transport(rx, tmp_path, outbox_max_envelopes=5, storm_keep=100)
    with caplog.at_level(logging.WARNING, "errorwarden.delivery"), \
            isolated_client(dsn=rx.dsn, transport=transport, send_client_reports=False) as client:
        for n in range(20):
            with sentry_sdk.new_scope() as scope:
                scope.fingerprint = [f"issue-{n}"]
                sentry_sdk.capture_message(f"m{n:02d}")
        client.flush(1)
        assert wait_until(lambda: transport.losses.count("outbox", "space") == 15, timeout=10)
        assert transport.store.stats()["dropped"] == 15
        rx.mode = "ok"
        ok = wait_until(lambda: _messages(rx) == [f"m{n:02d}" for n in range(15, 20)], timeout=20)
        assert ok, (_messages(rx), transport.store.stats())
    lines = [r.getMessage() for r in caplog.records if "(space)" in r.getMessage()]
    within_the_minute = [line for line in lines if "since its last report" not in line]
    assert len(within_the_minute) == 1 and "the oldest were dropped" in within_the_minute[0]
    # Whatever was lost after that line is reported when the transport closes: 15 in all.
    assert sum(int(re.search(r"lost (\d+)", line).group(1)) for line in lines) == 15


# -- client reports: the SDK's lost-event counts, the outbox's own losses among them ---------------

def test_client_reports_reach_the_server_through_the_outbox(envelope_receiver, tmp_path):
    """The SDK's own lost-event counts (here: before_send drops) travel as client_report items."""
    rx = envelope_receiver
    transport = _transport(rx, tmp_path)

    def before_send(event, hint):
        return None if event.get("message", "").startswith("drop") else event

    with isolated_client(dsn=rx.dsn, transport=transport, before_send=before_send) as client:
        for n in range(3):
            sentry_sdk.capture_message(f"drop {n}")
        sentry_sdk.capture_message("keep")
        client.flush(2)
        assert wait_until(lambda: rx.discarded().get(("before_send", "error")) == 3, timeout=10), \
            rx.discarded()
    assert _messages(rx) == ["keep"]


def test_a_full_outbox_reports_what_it_dropped_as_cache_overflow(envelope_receiver, tmp_path):
    """Sentry down and room for 5: the 15 dropped reach the server's counts once it is back."""
    rx = envelope_receiver
    rx.mode = "absent"
    transport = _transport(rx, tmp_path, outbox_max_envelopes=5, storm_keep=100)
    with isolated_client(dsn=rx.dsn, transport=transport) as client:
        for n in range(20):
            with sentry_sdk.new_scope() as scope:
                scope.fingerprint = [f"issue-{n}"]
                sentry_sdk.capture_message(f"m{n:02d}")
        # No flush while Sentry is down: a client report sent then would be lost with its counts.
        assert wait_until(lambda: transport.losses.count("outbox", "space") == 15, timeout=10)
        rx.mode = "ok"
        assert wait_until(lambda: _messages(rx) == [f"m{n:02d}" for n in range(15, 20)], timeout=20)
        client.flush(2)
        assert wait_until(lambda: rx.discarded().get(("cache_overflow", "error")) == 15, timeout=10), \
            rx.discarded()


def test_envelopes_the_spool_writer_cannot_take_are_reported_as_queue_overflow(envelope_receiver, tmp_path):
    """Memory for the spool writer full (one slot, the writer stalled): the rest count as queue_overflow."""
    rx = envelope_receiver
    transport = _transport(rx, tmp_path, outbox_pending_max=1, storm_keep=100)
    transport.replayer.stop()  # nothing drains the memory list: the second hold finds it full
    envelopes = [_event_envelope(f"issue-{n}", n) for n in range(4)]
    for envelope in envelopes:
        transport.hold(envelope, "outage")
    assert transport.losses.count("outbox", "memory") == 3
    transport.http.flush_client_reports(force=True)
    transport.http.flush(2)
    reported = wait_until(lambda: rx.discarded().get(("queue_overflow", "error")) == 3, timeout=10)
    assert reported, rx.discarded()
    transport.kill()


def test_envelopes_the_spool_cannot_write_are_reported_as_internal_sdk_error(envelope_receiver, tmp_path,
                                                                               monkeypatch):
    """A spool write that fails (disk full) loses its envelopes: counted, and reported by category."""
    rx = envelope_receiver
    transport = _transport(rx, tmp_path)

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(transport.store, "add_many", disk_full)
    assert transport.write([(_event_envelope(f"issue-{n}", n), "outage", 0.0) for n in range(2)]) == []
    assert transport.losses.count("outbox", "spool_write") == 2
    transport.http.flush_client_reports(force=True)
    transport.flush(2)
    reported = wait_until(lambda: rx.discarded().get(("internal_sdk_error", "error")) == 2, timeout=10)
    assert reported, rx.discarded()
    transport.kill()
