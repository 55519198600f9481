"""Tests for the local inbox: the SQLite store, the sentry-sdk transport and the sentry_inbox command."""

from __future__ import annotations

import json
import logging
import multiprocessing
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sentry_sdk

from errorwarden.local import InboxStore, LocalInboxTransport, culprit_of, fingerprint_of, title_of
from errorwarden.losses import LOGGER_NAME as LOSSES_LOGGER
from errorwarden.settings import Settings, load_settings
from tests.support.fixtures import isolated_client

PLACEHOLDER_DSN = "http://local@127.0.0.1/0"  # never contacted: the transport takes every envelope


def _borrow_book(book_id: int) -> None:
    raise LookupError(f"book {book_id} is not on the shelf")


def _return_book() -> None:
    raise LookupError("nothing to return")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[InboxStore]:
    """A fresh inbox in a not-yet-existing directory."""
    inbox = InboxStore(tmp_path / "var" / "inbox.sqlite3", max_events=1000)
    yield inbox
    inbox.close()


@pytest.fixture
def inbox_settings(tmp_path: Path) -> Settings:
    """Settings whose inbox lives in tmp_path."""
    return load_settings({"SENTRY_INBOX_PATH": str(tmp_path / "settings-inbox.sqlite3"),
                          "SENTRY_INBOX_MAX_EVENTS": "50"})


def _capture_borrow_errors(times: int) -> list[str]:
    ids = []
    for book_id in range(times):
        try:
            _borrow_book(book_id)
        except LookupError as exc:
            ids.append(sentry_sdk.capture_exception(exc))
    return ids


@pytest.mark.parametrize("dsn", [PLACEHOLDER_DSN, ""])
def test_captured_exception_lands_in_sqlite_grouped(store, dsn):
    """Exceptions captured by a real SDK client land in SQLite with their title, culprit and fingerprint."""
    with isolated_client(dsn=dsn, transport=LocalInboxTransport.for_store(store),
                         release="muejam-backend@1.2.3", environment="test") as client:
        ids = _capture_borrow_errors(3)
        client.flush(timeout=5)
    assert store.count("event") == 3
    [issue] = store.issues()
    assert issue["count"] == 3
    assert issue["title"] == "LookupError: book 2 is not on the shelf"
    assert issue["culprit"] == f"{__name__} in _borrow_book"
    # No pipeline ran (a bare client): event.default_fingerprint, type and code location.
    assert issue["fingerprint"] == ["generic", "LookupError", "", f"{__name__}._borrow_book"]
    assert issue["last_event_id"] == ids[-1]
    event = store.get(ids[0])
    assert (event["release"], event["environment"]) == ("muejam-backend@1.2.3", "test")
    assert event["exception"]["values"][-1]["stacktrace"]["frames"][-1]["function"] == "_borrow_book"


def test_events_pass_through_before_send(store):
    """The SDK's before_send runs first: its changes are stored and the events it drops are not."""
    def before_send(event, hint):
        if event.get("message") == "drop me":
            return None
        event["fingerprint"] = ["{{ default }}", "scrubbed"]
        event.setdefault("tags", {})["scrubbed"] = "yes"
        return event

    with isolated_client(dsn=PLACEHOLDER_DSN, transport=LocalInboxTransport.for_store(store),
                         before_send=before_send) as client:
        sentry_sdk.capture_message("drop me")
        kept = sentry_sdk.capture_message("keep me")
        client.flush(timeout=5)
    assert [e["event_id"] for e in store.events()] == [kept]
    assert store.get(kept)["tags"]["scrubbed"] == "yes"
    assert store.issues()[0]["fingerprint"] == ["message", "keep me", "scrubbed"]


def test_different_crash_sites_are_different_issues(store):
    """Errors of one type raised in two functions group into two issues, newest issue first."""
    with isolated_client(dsn=PLACEHOLDER_DSN, transport=LocalInboxTransport.for_store(store)) as client:
        _capture_borrow_errors(2)
        try:
            _return_book()
        except LookupError as exc:
            sentry_sdk.capture_exception(exc)
        client.flush(timeout=5)
    assert [(i["culprit"], i["count"]) for i in store.issues()] == [
        (f"{__name__} in _return_book", 1), (f"{__name__} in _borrow_book", 2)]


def test_transactions_are_stored(store):
    """A sampled transaction is stored as type transaction, titled and grouped by its name."""
    with isolated_client(dsn=PLACEHOLDER_DSN, transport=LocalInboxTransport.for_store(store),
                         traces_sample_rate=1.0) as client:
        with sentry_sdk.start_transaction(name="GET /books/{id}", op="http.server"):
            pass
        client.flush(timeout=5)
    assert (store.count("transaction"), store.count("event")) == (1, 0)
    [issue] = store.issues(type="transaction")
    assert (issue["title"], issue["culprit"], issue["level"]) == ("GET /books/{id}",) * 2 + ("info",)
    assert store.events(type="transaction")[0]["transaction"] == "GET /books/{id}"


def test_closing_the_client_writes_everything_queued(store):
    """client.close() flushes the transport's queue, so a burst captured just before exit is kept."""
    with isolated_client(dsn=PLACEHOLDER_DSN, transport=LocalInboxTransport.for_store(store)):
        for n in range(200):
            sentry_sdk.capture_message(f"burst {n}")
    assert store.count() == 200


def test_locked_inbox_never_blocks_capture_and_overflow_is_bounded(store, caplog, monkeypatch):
    """While another process holds the SQLite write lock, capture never touches SQLite on the caller's
    thread (only the writer thread does); payloads beyond the queue are lost and counted in the loss
    ledger with one warning, and every event is still counted against its issue."""
    store.add("event", {"event_id": "0" * 32, "message": "creates the file"})
    transport = LocalInboxTransport.for_store(store, queue_size=5)
    writers: set[int] = set()
    write = store.write

    def recording_write(*args):
        writers.add(threading.get_ident())
        return write(*args)

    monkeypatch.setattr(store, "write", recording_write)
    blocker = sqlite3.connect(store.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # what a busy writer in another process looks like
    with caplog.at_level(logging.WARNING, logger=LOSSES_LOGGER), \
            isolated_client(dsn=PLACEHOLDER_DSN, transport=transport) as client:
        for n in range(20):
            sentry_sdk.capture_message(f"storm {n}")
        blocker.execute("COMMIT")
        blocker.close()
        client.flush(timeout=10)
    stored = store.count() - 1
    assert writers and threading.get_ident() not in writers
    assert 5 <= stored <= 10 and transport.dropped == 20 - stored
    assert transport.losses.totals() == {("inbox", "queue_full"): 20 - stored}
    assert store.losses() == {("inbox", "queue_full"): 20 - stored}
    assert store.totals() == {"events": 21, "issues": 21, "kept": stored + 1}
    assert len([r for r in caplog.records if "(queue_full): 5 payloads already wait" in r.getMessage()]) == 1


def test_cap_drops_the_oldest(tmp_path):
    """Beyond max_events the oldest items go and exactly the newest max_events remain."""
    store = InboxStore(tmp_path / "capped.sqlite3", max_events=10)
    for n in range(25):
        store.add("event", {"event_id": f"{n:032x}", "message": f"m{n}"})
    assert store.count() == 10
    assert [e["message"] for e in store.events()] == [f"m{n}" for n in range(24, 14, -1)]


def _write_from_process(path: str, worker: int, count: int) -> None:
    store = InboxStore(path, max_events=100_000)
    client = sentry_sdk.Client(dsn=PLACEHOLDER_DSN, transport=LocalInboxTransport.for_store(store),
                               default_integrations=False)
    with sentry_sdk.isolation_scope() as scope:
        scope.set_client(client)
        for n in range(count):
            sentry_sdk.capture_message(f"worker {worker} message {n}")
    client.close(timeout=30)
    assert store.count() >= count


def test_concurrent_processes_lose_nothing(tmp_path):
    """Two processes writing to one inbox at the same time keep every event."""
    path, count = str(tmp_path / "shared.sqlite3"), 150
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_write_from_process, args=(path, w, count)) for w in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert [w.exitcode for w in workers] == [0, 0]
    store = InboxStore(path)
    messages = {e["message"] for e in store.events()}
    assert len(messages) == store.count() == 2 * count


def test_a_write_lock_held_past_the_busy_timeout_delays_the_batch_and_loses_nothing(tmp_path):
    """Another process holding the inbox's write lock longer than busy_timeout (2 s) makes the
    writer thread try the batch again once the lock is free, instead of dropping it."""
    path = tmp_path / "held.sqlite3"
    store = InboxStore(path)
    store.add("event", {"event_id": "0" * 32, "message": "creates the file"})
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # what a slow writer in another process does
    transport = LocalInboxTransport.for_store(store)
    released = threading.Timer(2.5, lambda: holder.execute("COMMIT"))
    with isolated_client(dsn=PLACEHOLDER_DSN, transport=transport) as client:
        released.start()
        for n in range(5):
            sentry_sdk.capture_message(f"while locked {n}")
        client.flush(timeout=30)
    released.join()
    holder.close()
    assert transport.dropped == 0
    assert {e["message"] for e in store.events()} >= {f"while locked {n}" for n in range(5)}


def _add_in_child(store: InboxStore) -> None:
    store.add("event", {"event_id": "c" * 32, "message": "from the child"})


def test_forked_child_reopens_its_own_connection(store):
    """A store used before fork() keeps working in the parent and the child without sharing a handle."""
    store.add("event", {"event_id": "a" * 32, "message": "before fork"})
    child = multiprocessing.get_context("fork").Process(target=_add_in_child, args=(store,))
    child.start()
    child.join(timeout=30)
    store.add("event", {"event_id": "b" * 32, "message": "after fork"})
    assert child.exitcode == 0
    assert [e["message"] for e in store.events()] == ["after fork", "from the child", "before fork"]


def test_broken_path_never_raises_into_the_sdk(tmp_path, caplog):
    """A directory where the inbox file should be loses the payloads with one warning (naming the
    exception's type, never its message) and keeps their counts in memory; once the path is free,
    the counts and the losses reach the file with the next write."""
    path = tmp_path / "inbox.sqlite3"
    path.mkdir()
    transport = LocalInboxTransport.for_store(InboxStore(path))
    with caplog.at_level(logging.DEBUG, logger=LOSSES_LOGGER), \
            isolated_client(dsn=PLACEHOLDER_DSN, transport=transport) as client:
        ids = [sentry_sdk.capture_message(f"lost {n}") for n in range(3)]
        client.flush(timeout=5)
        assert all(ids) and transport.dropped == 3
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and str(path) in warnings[0].getMessage()
        assert "OperationalError" in warnings[0].getMessage() and "unable to open" not in caplog.text
        path.rmdir()
        kept = sentry_sdk.capture_message("the disk is back")
        client.flush(timeout=5)
    store = InboxStore(path)
    assert [e["event_id"] for e in store.events()] == [kept]
    assert store.totals() == {"events": 4, "issues": 4, "kept": 1}
    assert store.losses() == {("inbox", "write_failed"): 3}


def test_failed_write_rolls_back_and_the_store_stays_usable(store):
    """A write that SQLite aborts mid-transaction stores nothing and leaves the connection usable."""
    store.add("event", {"event_id": "1" * 32, "message": "before"})
    refuse = sqlite3.connect(store.path)
    refuse.execute("CREATE TRIGGER refuse BEFORE INSERT ON inbox_items "
                   "WHEN NEW.title = 'refused' BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    refuse.commit()
    with pytest.raises(sqlite3.IntegrityError, match="disk full"):
        store.add_many([("event", {"event_id": "2" * 32, "message": "kept?"}),
                        ("event", {"event_id": "3" * 32, "message": "refused"})])
    store.add("event", {"event_id": "4" * 32, "message": "after"})
    refuse.close()
    assert [e["message"] for e in store.events()] == ["after", "before"]


def test_issues_of_every_type(store):
    """issues(type=None) groups events and transactions together."""
    store.add("event", {"event_id": "1" * 32, "message": "m"})
    store.add("transaction", {"event_id": "2" * 32, "transaction": "GET /"})
    assert sorted(i["title"] for i in store.issues(type=None)) == ["GET /", "m"]


def test_unknown_and_dashed_event_ids(store):
    """get() returns None for an unknown id and accepts the dashed UUID form of a known one."""
    store.add("event", {"event_id": "0123456789abcdef0123456789abcdef", "message": "x"})
    assert store.get("f" * 32) is None
    assert store.get("01234567-89ab-cdef-0123-456789abcdef")["message"] == "x"


def test_clear_empties_the_inbox(store):
    """clear() deletes every item, count and recorded loss, and reports how many items there were."""
    store.add("event", {"event_id": "1" * 32, "message": "x"})
    store.add("transaction", {"event_id": "2" * 32, "transaction": "t"})
    store.write([], None, {("inbox", "queue_full"): 3})
    assert store.losses() == {("inbox", "queue_full"): 3}
    assert store.clear() == 2
    assert store.count() == 0 and store.issues(type=None) == [] and store.losses() == {}
    assert store.totals(type=None) == {"events": 0, "issues": 0, "kept": 0}


_FRAME = {"module": "library.views", "function": "borrow", "in_app": True}
_LIB_FRAME = {"module": "django.core.handlers", "function": "inner", "in_app": False}


@pytest.mark.parametrize(
    ("item_type", "event", "title", "culprit", "fingerprint"),
    [
        ("event", {"exception": {"values": [
            {"type": "KeyError", "value": "'a'"},
            {"type": "ValueError", "value": "bad\nsecond line",
             "stacktrace": {"frames": [_FRAME, _LIB_FRAME]}}]}},
         "ValueError: bad", "library.views in borrow", ["generic", "ValueError", "", "library.views.borrow"]),
        ("event", {"exception": {"values": [{"type": "OSError", "value": "disk"}]}},
         "OSError: disk", "", ["generic", "OSError", "disk", "unknown"]),
        ("event", {"logentry": {"message": "user %s failed", "formatted": "user 7 failed"},
                   "transaction": "/books/{id}"},
         "user 7 failed", "/books/{id}", ["message", "user %s failed"]),
        ("event", {"message": "plain", "fingerprint": ["payments", "timeout"], "culprit": "x in y"},
         "plain", "x in y", ["payments", "timeout"]),
        ("event", {"message": "m", "threads": {"values": [{"stacktrace": {"frames": [_FRAME]}}]},
                   "fingerprint": ["{{default}}", "db"]},
         "m", "library.views in borrow", ["message", "m", "db"]),
        ("event", {}, "<no message>", "", ["message", ""]),
        ("transaction", {"transaction": "GET /x", "culprit": "ignored"}, "GET /x", "GET /x", ["GET /x"]),
        ("event", {"message": "x" * 500}, "x" * 199 + "…", "", ["message", "x" * 199 + "…"]),
    ],
)
def test_summary_fields(item_type, event, title, culprit, fingerprint):
    """Title and culprit follow Sentry's conventions for each kind of event; the fingerprint of an event
    no classifier saw is event.default_fingerprint (the event's own, '{{ default }}' expanded)."""
    assert title_of(item_type, event) == title
    assert culprit_of(item_type, event) == culprit
    assert fingerprint_of(item_type, event) == fingerprint


# --- the management command -------------------------------------------------------------------


@pytest.fixture
def filled_inbox(inbox_settings, error_tracking) -> tuple[InboxStore, str]:
    """The runtime's inbox holding two grouped errors and one transaction; returns (store, event id)."""
    error_tracking(inbox_path=inbox_settings.inbox_path, inbox_max_events=inbox_settings.inbox_max_events)
    store = InboxStore.from_settings(inbox_settings)
    with isolated_client(dsn=PLACEHOLDER_DSN, transport=LocalInboxTransport.for_store(store),
                         traces_sample_rate=1.0) as client:
        event_id = _capture_borrow_errors(2)[-1]
        with sentry_sdk.start_transaction(name="GET /books", op="http.server"):
            pass
        client.flush(timeout=5)
    return store, event_id


def _call(*args: str) -> str:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("sentry_inbox", *args, stdout=out)
    return out.getvalue()


def test_command_lists_issues(filled_inbox):
    """sentry_inbox prints one table row per issue with its count, kept payloads, level, title and culprit,
    the totals and the losses."""
    _, event_id = filled_inbox
    output = _call()
    row = next(line for line in output.splitlines() if "LookupError" in line)
    assert row.split()[:3] == ["2", "2", "error"]
    assert "_borrow_book" in row and event_id[:12] in row
    assert "FIRST SEEN" in output and "LAST SEEN" in output
    assert "(2 events in 1 issues, 2 kept;" in output and "Losses: none recorded." in output


def test_command_shows_one_event_as_json(filled_inbox):
    """--show prints the stored event as JSON, by full id or by a unique prefix."""
    _, event_id = filled_inbox
    assert json.loads(_call("--show", event_id))["event_id"] == event_id
    assert json.loads(_call("--show", event_id[:12]))["event_id"] == event_id


def test_command_refuses_an_unknown_event(filled_inbox):
    """--show with an id that is not stored raises CommandError naming it."""
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="No event 'ffffffff'"):
        _call("--show", "ffffffff")


def test_command_lists_transactions_and_clears(filled_inbox):
    """--transactions lists the transaction with its duration; --clear empties the inbox."""
    store, _ = filled_inbox
    output = _call("--transactions", "--limit", "5")
    assert "GET /books" in output and " ms" in output
    assert "Deleted 3 item(s)" in _call("--clear")
    assert store.count() == 0
    assert "No events" in _call()


# --- --performance ------------------------------------------------------------------------------


@pytest.fixture
def performance_figures(inbox_settings, error_tracking) -> None:
    """The runtime's inbox's aggregates holding two endpoints, a service, a task and queue readings."""
    from errorwarden.local.aggregates import Aggregates

    error_tracking(inbox_path=inbox_settings.inbox_path)
    aggregates = Aggregates.for_inbox(inbox_settings.inbox_path)
    for duration in (10.0, 12.0, 14.0, 200.0):
        aggregates.observe_request("/api/books/", duration, failed=duration > 100, n_plus_one=1)
    aggregates.observe_request("/api/reports/popular/", 480.0, False, slow_queries=1)
    aggregates.observe_service("s3", 35.0, failed=True)
    aggregates.observe_task("library.tasks.send_overdue_reminders", 22.0, failed=False)
    aggregates.observe_queue_depth("celery", 7)
    aggregates.close()


def _section(output: str, title: str) -> list[str]:
    return output.split(f"\n{title}:\n", 1)[1].split("\n\n", 1)[0].splitlines()


def test_command_prints_the_performance_tables(performance_figures):
    """--performance prints the spec's figures: per endpoint, per service, per task and queue depth."""
    output = _call("--performance", "--window", "5m")
    header, *rows = _section(output, "Endpoints")
    assert header.split() == ["ENDPOINT", "REQUESTS", "REQ/MIN", "ERRORS", "AVG", "MS", "P50", "MS",
                              "P95", "MS", "P99", "MS", "SLOW", "Q", "N+1"]
    books = next(row.split() for row in rows if row.startswith("/api/books/"))
    assert books[1] == "4" and 0.6 < float(books[2]) <= 0.8  # 4 per the window and its current slot
    assert books[3] == "25.0%"
    assert books[4] == "59.0" and books[-1] == "4"
    report = next(row.split() for row in rows if row.startswith("/api/reports/popular/"))
    assert (report[6], report[-2]) == ("480.0", "1")  # p95 and the slow query
    [s3] = _section(output, "External services")[1:]
    assert s3.split()[:4] == ["s3", "1", "1", "100.0%"]
    [task] = _section(output, "Celery tasks")[1:]
    assert task.split()[:3] == ["library.tasks.send_overdue_reminders", "1", "0"]
    [depth] = _section(output, "Celery queue depth (latest reading, highest in the window)")
    assert depth.split()[:2] == ["celery", "7"] and "highest 7" in depth


def test_command_performance_with_nothing_recorded(inbox_settings, error_tracking):
    """--performance on an empty inbox says so per table instead of printing empty headers."""
    error_tracking(inbox_path=inbox_settings.inbox_path)
    output = _call("--performance")
    assert output.count("none in this window") == 3 and "no readings in this window" in output


@pytest.mark.parametrize("window", ["7", "1d", "-5m", "0s", "7h"])
def test_command_refuses_a_bad_window(inbox_settings, window):
    """--window takes 90s, 5m or 1h up to the retention; anything else names what is allowed."""
    from django.core.management import CommandError

    with pytest.raises(CommandError, match=r"--window must be a duration like 90s, 5m or 1h, at most 6h"):
        _call("--performance", f"--window={window}")


def test_command_clear_also_clears_figures_and_finished_alerts(performance_figures):
    """--clear empties the inbox's aggregates and the delivered alerts; an alert still owed stays."""
    from errorwarden.alerting.alert_queue import DELIVERED, AlertSpool
    from errorwarden.runtime import require_runtime

    spool = AlertSpool(require_runtime().settings.alert_spool)
    spool.enqueue("done", 1e12, {"title": "delivered one"}, ["email"], now=1.0)
    spool.finish(spool.take("email", now=2.0).id, DELIVERED, now=3.0)
    spool.enqueue("owed", 1e12, {"title": "still owed"}, ["email"], now=4.0)
    assert "1 finished alert row(s)" in _call("--clear")
    assert [row["title"] for row in spool.recent()] == ["still owed"]
    spool.close()
    assert "none in this window" in _call("--performance")


# --- --outbox and --alerts ----------------------------------------------------------------------


@pytest.fixture
def outbox_path(inbox_settings, error_tracking) -> Path:
    """The runtime's outbox file (beside its inbox), not created yet."""
    from errorwarden.delivery import OutboxOptions

    runtime = error_tracking(inbox_path=inbox_settings.inbox_path)
    return OutboxOptions.from_settings(runtime.settings).outbox_path


def _spool_envelopes(path: Path) -> None:
    from errorwarden.delivery import OutboxStore, dsn_key
    from errorwarden.delivery.outbox_store import Spooled

    store = OutboxStore(path)
    later = 4_000_000_000.0  # 2096: a row held back by a rate limit shows when it is due
    store.add_many(dsn_key("http://public@127.0.0.1:9/1"), [
        Spooled(b"x" * 3200 + b"planted-envelope-body", "HTTP 503", "event 0a1b2c3d4e5f ValueError: boom"),
        Spooled(b"y" * 100, "HTTP 503", "event 1b2c3d4e5f6a KeyError: 'k'"),
        Spooled(b"z" * 10, "rate_limited", "transaction 2c3d4e5f6a7b GET /books", not_before=later),
    ])
    store.close()


def test_command_outbox_lists_totals_reasons_and_the_oldest_rows(outbox_path):
    """--outbox prints the totals, bounds, drops and reasons, then the oldest rows, never an envelope."""
    _spool_envelopes(outbox_path)
    output = _call("--outbox", "--limit", "2")
    lines = output.splitlines()
    assert lines[0].startswith(f"Outbox {outbox_path}: 3 envelopes, 3.3 KB (bounds 10,000 / 100.0 MB); "
                               "oldest 00:00:")
    assert lines[1] == "Dropped for space since the file was created: 0 envelopes (0 bytes)"
    assert lines[2] == "Waiting because: HTTP 503 (2), rate_limited (1)"
    assert lines[3].split() == ["ID", "SPOOLED", "DUE", "TRIES", "REASON", "SIZE", "WHAT"]
    first = lines[4].split()
    assert first[0] == "1" and first[3:5] == ["now", "0"] and "ValueError: boom" in lines[4]
    assert len(lines) == 6 and "KeyError" in lines[5] and "GET /books" not in output  # --limit 2
    assert "planted" not in output
    assert "2096-" in _call("--outbox").splitlines()[-1]  # the held row, with its due time


def test_command_outbox_clear_deletes_every_row(outbox_path):
    """--outbox --clear deletes what waits and says how much; the outbox is then empty."""
    _spool_envelopes(outbox_path)
    assert f"Deleted 3 envelope(s) from the outbox {outbox_path}." in _call("--outbox", "--clear")
    assert _call("--outbox").splitlines()[0].startswith(f"Outbox {outbox_path}: 0 envelopes, 0 bytes")


def test_command_outbox_and_alerts_never_create_a_missing_file(outbox_path):
    """Without an outbox or an alert spool, --outbox and --alerts say so and leave no file behind."""
    from errorwarden.runtime import require_runtime

    spool_path = require_runtime().settings.alert_spool
    assert "nothing was ever spooled for Sentry" in _call("--outbox")
    assert "no alert has fired on this host" in _call("--alerts")
    assert not outbox_path.exists() and not spool_path.exists()


@pytest.mark.parametrize("args", [("--outbox", "--performance"), ("--alerts", "--show", "abcdef"),
                                  ("--alerts", "--transactions")])
def test_command_outbox_and_alerts_refuse_other_actions(inbox_settings, error_tracking, args):
    """--outbox and --alerts combine only with --limit and --clear; anything else is named."""
    from django.core.management import CommandError

    error_tracking(inbox_path=inbox_settings.inbox_path)
    with pytest.raises(CommandError, match=rf"^{args[0]} takes only --limit and --clear, not {args[1]}\.$"):
        _call(*args)


def _fired_alerts():
    """The runtime's alert spool holding one alert delivered by e-mail, lost on Slack, and one owed."""
    from errorwarden.alerting.alert_queue import DELIVERED, LOST, AlertSpool
    from errorwarden.runtime import require_runtime

    spool = AlertSpool(require_runtime().settings.alert_spool)
    alert = {"rule": "database_connection", "title": "Database connection failure", "severity": "critical"}
    spool.enqueue("db:connection", 1e12, alert, ["email", "slack"], now=1_000.0)
    spool.finish(spool.take("email", now=1_001.0).id, DELIVERED, now=1_002.0)
    spool.finish(spool.take("slack", now=1_001.0).id, LOST, now=1_300.0,
                 error="slack: HTTP 500; its cooldown ended")
    owed = {"rule": "critical_burst", "title": "Critical error burst: 10 occurrences in 60s"}
    spool.enqueue("burst:1", 1e12, owed, ["email"], now=2_000.0)
    return spool


def test_command_alerts_lists_the_newest_deliveries_and_what_became_of_them(inbox_settings, error_tracking):
    """--alerts prints a row per alert and channel, newest first: when, outcome, tries, rule, title, error."""
    error_tracking(inbox_path=inbox_settings.inbox_path)
    _fired_alerts().close()
    header, columns, *rows = _call("--alerts").splitlines()
    assert header.endswith("newest first (1 still owed, times in UTC):")
    assert columns.split() == ["FIRED", "CHANNEL", "OUTCOME", "TRIES", "RULE", "TITLE", "DETAIL"]
    assert [row.split()[2:6] for row in rows] == [
        ["email", "queued", "0", "critical_burst"],
        ["slack", "failed", "1", "database_connection"],
        ["email", "delivered", "1", "database_connection"]]
    assert rows[0].startswith("1970-01-01 00:33:20") and "Critical error burst" in rows[0]
    assert "slack: HTTP 500; its cooldown ended" in rows[1]
    assert len(_call("--alerts", "--limit", "1").splitlines()) == 3


def test_command_alerts_clear_forgets_finished_rows_and_keeps_the_owed(inbox_settings, error_tracking):
    """--alerts --clear deletes delivered and lost rows only; an alert still owed stays listed."""
    error_tracking(inbox_path=inbox_settings.inbox_path)
    spool = _fired_alerts()
    assert "Deleted 2 finished alert row(s)" in _call("--alerts", "--clear")
    assert [row["outcome"] for row in spool.recent()] == ["queued"]
    spool.close()


def test_manage_py_prints_the_outbox_and_the_alerts(tmp_path):
    """`python manage.py sentry_inbox --outbox` and `--alerts` run as an operator runs them, on the
    files beside SENTRY_INBOX_PATH, and exit 0."""
    import os
    import subprocess
    import sys

    from errorwarden.alerting.alert_queue import AlertSpool

    root = Path(__file__).resolve().parents[1]
    _spool_envelopes(tmp_path / "sentry_outbox.sqlite3")
    spool = AlertSpool(tmp_path / "sentry_alerts.sqlite3")
    spool.enqueue("ext:s3", 1e12, {"rule": "external_service", "title": "External service failure: s3"},
                  ["email"], now=1_000.0)
    spool.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SENTRY_", "DJANGO_"))}
    env.update(SENTRY_DSN="", SENTRY_INBOX_PATH=str(tmp_path / "inbox.sqlite3"),
               SENTRY_PROFILES_SAMPLE_RATE="0")
    outputs = {}
    for option in ("--outbox", "--alerts"):
        result = subprocess.run([sys.executable, "manage.py", "sentry_inbox", option], cwd=root, env=env,
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr[-2000:]
        outputs[option] = result.stdout
    assert f"Outbox {tmp_path / 'sentry_outbox.sqlite3'}: 3 envelopes" in outputs["--outbox"]
    assert "External service failure: s3" in outputs["--alerts"]
    assert "(1 still owed" in outputs["--alerts"]
