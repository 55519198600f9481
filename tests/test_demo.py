"""`manage.py demo` run as a user runs it (a subprocess): events go where SENTRY_DSN says, the demo runs
on its own database unless asked, and it never deletes rows it did not create."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from errorwarden.local import InboxStore
from tests.support.receiver import EnvelopeReceiver

REPO = Path(__file__).resolve().parent.parent
TIMEOUT = 180  # seconds for the whole demo; it takes about 30 s
CATEGORIES = {"database", "auth", "external", "rate_limit", "validation", "generic"}
_TABLES = ("library_author", "library_book", "library_loan", "auth_user")


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SENTRY_", "DATABASE_URL", "CELERY_"))}
    env.update(SENTRY_INBOX_PATH=str(tmp_path / "inbox.sqlite3"), SENTRY_PROFILES_SAMPLE_RATE="0",
               DATABASE_URL=f"sqlite:///{tmp_path / 'app.sqlite3'}")
    env.update(extra)
    return env


def _manage(*args: str, env: dict[str, str], timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, f"{args}: {done.stderr[-4000:]}"
    return done


def _app_database_with_a_book(tmp_path: Path, env: dict[str, str]) -> Path:
    """DATABASE_URL's database, migrated, holding one author and one book that are not the demo's."""
    _manage("migrate", "-v", "0", "--skip-checks", env=env, timeout=90)
    path = tmp_path / "app.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO library_author (id, name) VALUES (7, 'Ursula K. Le Guin')")
        db.execute("INSERT INTO library_book (id, title, isbn, author_id) "
                   "VALUES (1, 'The Dispossessed', '978-0000000001', 7)")
    return path


def _rows(path: Path) -> dict[str, list[tuple]]:
    with sqlite3.connect(path) as db:
        return {table: db.execute(f"SELECT * FROM {table} ORDER BY id").fetchall() for table in _TABLES}


def _section(out: str, title: str) -> str:
    assert title in out, out[-3000:]
    return out.split(title, 1)[1].split("\n\n", 1)[0]


def _categories(out: str, title: str) -> set[str]:
    rows = _section(out, title).splitlines()[2:]
    return {line.split()[0] for line in rows if not line.strip()[0].isdigit()}


@pytest.fixture(scope="module")
def local_demo(tmp_path_factory) -> tuple[Path, dict[str, str], str, str]:
    """One demo run without a DSN (about 30 s), shared by the tests that read its output or its inbox:
    its directory, environment, output, and the hash of DATABASE_URL's file before it ran."""
    tmp_path = tmp_path_factory.mktemp("demo")
    env = _env(tmp_path, SENTRY_DSN="")
    app = _app_database_with_a_book(tmp_path, env)
    before = hashlib.sha256(app.read_bytes()).hexdigest()
    out = _manage("demo", "--demo-db", str(tmp_path / "demo.sqlite3"), env=env).stdout
    return tmp_path, env, out, before


def test_without_a_dsn_the_demo_fills_the_local_inbox_on_its_own_database(local_demo):
    """With SENTRY_DSN empty the demo fills the local inbox, leaves DATABASE_URL's file byte for byte as it
    was (its pre-existing book included), and ends with the dashboard URL and the sentry_inbox commands."""
    tmp_path, _, out, before = local_demo
    app = tmp_path / "app.sqlite3"

    assert out.splitlines()[0].startswith(f"Events go to the local inbox {tmp_path / 'inbox.sqlite3'}")
    assert _categories(out, "Issues in the local inbox, by category:") >= CATEGORIES, out
    inbox = InboxStore(tmp_path / "inbox.sqlite3")
    stored, counted = inbox.count("event"), inbox.totals("event")["events"]
    captured = int(re.search(r"issues from (\d+) events", out).group(1))
    assert f"  {stored} of them stored in {tmp_path / 'inbox.sqlite3'}, which counts {counted} events" in out
    assert counted == captured >= 50 and 40 <= stored <= counted
    alerts = _section(out, "Alerts sent (email, rendered from scrubbed events):")
    assert "[CRITICAL]" in alerts
    assert "transactions traced" in _section(out, "Performance:")
    look = _section(out, "Look next:")
    assert "make dashboard" in look and "http://127.0.0.1:8000/_errors/" in look
    assert "manage.py sentry_inbox --show <EVENT>" in look
    assert hashlib.sha256(app.read_bytes()).hexdigest() == before  # never opened, let alone written
    assert all(not rows for rows in _rows(tmp_path / "demo.sqlite3").values())  # its own rows removed


def _audit(env: dict[str, str], inbox: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", "sentry_scrub_audit"], cwd=REPO,
                          env={**env, "SENTRY_INBOX_PATH": str(inbox)}, capture_output=True, text=True,
                          timeout=120)


def test_the_leak_gate_passes_on_the_demos_own_inbox(local_demo):
    """`manage.py sentry_scrub_audit` replays every event the demo stored (SQL-parameter summaries of
    database frames among them) and finds nothing: what the scrubber wrote, it leaves as it is."""
    tmp_path, env, _, _ = local_demo
    inbox = tmp_path / "inbox.sqlite3"
    events = InboxStore(inbox).events()
    assert any(isinstance(v, str) and v.startswith("[") and " params: " in v
               for e in events for x in (e.get("exception") or {}).get("values", [])
               for f in (x.get("stacktrace") or {}).get("frames", []) for v in (f.get("vars") or {}).values())

    result = _audit(env, inbox)

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert f"{len(events)} events from {inbox}: nothing would leak" in result.stdout


def test_the_leak_gate_fails_on_a_leak_planted_in_the_demos_inbox(local_demo):
    """The same inbox with one demo event carrying an address and a token in a frame's locals (as a process
    without the scrubber would store it) fails the gate, naming the path but never the value."""
    tmp_path, env, _, _ = local_demo
    inbox = tmp_path / "planted.sqlite3"
    with sqlite3.connect(tmp_path / "inbox.sqlite3") as source, sqlite3.connect(inbox) as copy:
        source.backup(copy)  # the write-ahead log too, which a file copy would miss
    store = InboxStore(inbox)
    event = next(e for e in store.events() if (e.get("exception") or {}).get("values"))
    event = json.loads(json.dumps(event))
    frame = event["exception"]["values"][-1]["stacktrace"]["frames"][-1]
    frame.setdefault("vars", {})["reader"] = "'reader jane.doe@example.com'"
    frame["vars"]["ci_token"] = "'glpat-Zx81Lq0Pm7Rt4Vn2Bc9Y'"
    event["event_id"] = "f" * 32
    store.add("event", event)
    store.close()

    result = _audit(env, inbox)

    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]
    assert f"{'f' * 32}  exception.values" in result.stdout
    assert ".vars.reader  would become [email]" in result.stdout
    stored = len(InboxStore(tmp_path / "inbox.sqlite3").events())
    assert f"2 values in 1 of {stored + 1} events" in result.stderr
    assert "jane.doe" not in result.stdout + result.stderr and "glpat-" not in result.stdout + result.stderr


def test_with_a_dsn_the_demo_sends_to_the_server_and_keeps_rows_it_did_not_create(tmp_path):
    """With SENTRY_DSN at a loopback server the demo says so (key masked, port kept), every event reaches
    the server through the real HTTP transport, the local inbox gets none, and on DATABASE_URL's database
    (--use-database-url) the pre-existing book survives while the demo's own rows are gone."""
    with EnvelopeReceiver(public_key="demokey0123456789") as receiver:
        env = _env(tmp_path, SENTRY_DSN=receiver.dsn)
        app = _app_database_with_a_book(tmp_path, env)
        before = _rows(app)

        out = _manage("demo", "--use-database-url", env=env).stdout
        events = receiver.events()

    masked = f"http://***@127.0.0.1:{receiver.port}/1"
    assert out.splitlines()[0] == f"Events go to the Sentry server at {masked} (SENTRY_DSN)."
    assert "demokey0123456789" not in out
    assert _categories(out, "Issues sent to Sentry, by category:") >= CATEGORIES, out
    assert f"issues from {len(events)} events" in out and len(events) >= 50
    assert {e["tags"]["error.category"] for e in events} >= CATEGORIES
    assert all(e["request"]["url"].startswith("http://127.0.0.1:") for e in events if "request" in e)
    assert f"the server at {masked} took every envelope" in out
    look = _section(out, "Look next:")
    assert f"http://127.0.0.1:{receiver.port}/organizations/sentry/issues/?project=1&query=" in look
    assert InboxStore(tmp_path / "inbox.sqlite3").count() == 0
    assert _rows(app) == before  # the book and author it found are there, and nothing of the demo's
