"""The dashboard takes the ids `sentry_inbox` prints: `manage.py sentry_inbox` lists 12 characters of an
event's id and `--show` takes any unique prefix of 6 or more; `/_errors/issues/<prefix>/` on
`manage.py runserver` (as `make dashboard` starts it) redirects a unique prefix to the event's page,
answers 400 naming the candidates for an ambiguous one, and 404 when none (or only a transaction)
matches."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from errorwarden.local import InboxStore
from tests.support.processes import stop
from tests.support.smtp import free_port

ROOT = Path(__file__).resolve().parent.parent
UNIQUE = "0c1d2e3f4a5b" + "6" * 20
TWINS = ("abcdef123456" + "1" * 20, "abcdef123456" + "2" * 20)  # sentry_inbox shows both as abcdef123456
TRANSACTION = "feedfacecafe" + "3" * 20


def _event(event_id: str, kind: str, title: str, function: str) -> dict:
    """An error event as the pipeline stores it; kind and function make it an issue of its own."""
    return {"event_id": event_id, "level": "error", "platform": "python", "timestamp": time.time(),
            "exception": {"values": [{"type": kind, "value": title, "stacktrace": {"frames": [
                {"filename": "library/views.py", "function": function, "lineno": 12, "in_app": True}]}}]}}


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SENTRY_", "DJANGO_", "DATABASE_URL"))}
    env.update(SENTRY_DSN="", SENTRY_INBOX_PATH=str(tmp / "inbox.sqlite3"), SENTRY_TRACES_SAMPLE_RATE="0",
               SENTRY_PROFILES_SAMPLE_RATE="0", SENTRY_EMAIL_ALERTS_ENABLED="false",
               DATABASE_URL=f"sqlite:///{tmp / 'db.sqlite3'}", **extra)
    return env


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory) -> Iterator[tuple[str, str]]:
    """An inbox with one event, two whose ids share 12 characters and a transaction; `sentry_inbox`'s
    listing of it; and `runserver` with DEBUG on serving the dashboard over it. Yields (base URL, listing)."""
    tmp = tmp_path_factory.mktemp("dashboard-ids")
    store = InboxStore(tmp / "inbox.sqlite3")
    store.add("event", _event(UNIQUE, "LookupError", "Order 1001 not found", "get"))
    store.add("event", _event(TWINS[0], "KeyError", "'shelf'", "reserve"))
    store.add("event", _event(TWINS[1], "ValueError", "renewal refused", "renew"))
    now = time.time()
    store.add("transaction", {"event_id": TRANSACTION, "type": "transaction",
                              "transaction": "GET /api/books/", "start_timestamp": now - 0.1,
                              "timestamp": now, "spans": [],
                              "contexts": {"trace": {"trace_id": "a" * 32, "span_id": "b" * 16,
                                                     "op": "http.server"}}})
    store.close()
    listing = subprocess.run([sys.executable, "manage.py", "sentry_inbox"], cwd=ROOT, env=_env(tmp),
                             capture_output=True, text=True, timeout=60)
    assert listing.returncode == 0, listing.stderr[-3000:]
    port, log_path = free_port(), tmp / "runserver.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen([sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}",
                                   "--noreload", "--skip-checks"], cwd=ROOT,
                                  env=_env(tmp, DJANGO_DEBUG="true"), stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{base}/_errors/", timeout=5)
                break
            except requests.RequestException:
                assert server.poll() is None and time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.2)
        yield base, listing.stdout
    finally:
        stop(server, signal.SIGINT, 20)


def _get(base: str, path: str) -> requests.Response:
    return requests.get(f"{base}{path}", timeout=30, allow_redirects=False)


def test_the_id_sentry_inbox_prints_opens_the_event_page(dashboard):
    """The 12 characters in sentry_inbox's LAST EVENT column redirect to the full id's page, which shows
    the event; the query string (?page=) goes along."""
    base, listing = dashboard
    shown = re.search(r"\b([0-9a-f]{12})\s+LookupError: Order 1001 not found", listing)
    assert shown is not None and shown.group(1) == UNIQUE[:12], listing
    response = _get(base, f"/_errors/issues/{shown.group(1)}/")
    assert (response.status_code, response.headers["Location"]) == (302, f"/_errors/issues/{UNIQUE}/")
    page = requests.get(f"{base}/_errors/issues/{shown.group(1)}/", timeout=30)
    assert page.status_code == 200 and "LookupError: Order 1001 not found" in page.text
    assert _get(base, f"/_errors/issues/{UNIQUE[:6]}/?page=1").headers["Location"] == \
        f"/_errors/issues/{UNIQUE}/?page=1"
    assert _get(base, f"/_errors/issues/{UNIQUE}/").status_code == 200  # the full id as before


def test_an_ambiguous_prefix_is_a_400_naming_the_candidates(dashboard):
    """Two events listed under the same 12 characters: the page says so and names both full ids."""
    base, listing = dashboard
    assert listing.count(TWINS[0][:12]) == 2, listing
    response = _get(base, f"/_errors/issues/{TWINS[0][:12]}/")
    assert response.status_code == 400
    assert f"Event id prefix '{TWINS[0][:12]}' is ambiguous: give more characters" in response.text
    assert TWINS[0] in response.text and TWINS[1] in response.text
    longer = _get(base, f"/_errors/issues/{TWINS[1][:13]}/")
    assert longer.headers["Location"] == f"/_errors/issues/{TWINS[1]}/"


@pytest.mark.parametrize("prefix", ["999999999999", TRANSACTION[:12], UNIQUE[:5]],
                         ids=["unknown", "a transaction", "shorter than 6"])
def test_a_prefix_of_no_event_is_404(dashboard, prefix):
    """Nothing matches, only a transaction does (it is not an issue), or too few characters: 404."""
    assert _get(dashboard[0], f"/_errors/issues/{prefix}/").status_code == 404
