"""`manage.py sentry_scrub_audit` in a subprocess: exit 1 and a path per leak, never the value."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from errorwarden.local import InboxStore
from errorwarden.scrubbing.audit import audit

ROOT = Path(__file__).resolve().parent.parent
SECRET_MAIL = "jane.doe@example.com"
SECRET_TOKEN = "glpat-" + "Zx81Lq0Pm7Rt4Vn2Bc9Y"
LEAKY = {"event_id": "a" * 32, "message": f"mail {SECRET_MAIL}", "extra": {"ci": SECRET_TOKEN}}
CLEAN = {"event_id": "b" * 32, "message": "mail [email]", "extra": {"ci": "[gitlab_token]", "n": 3}}


def _run(*args: str, inbox: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "SENTRY_DSN": "", "SENTRY_INBOX_PATH": str(inbox)}
    return subprocess.run([sys.executable, "manage.py", "sentry_scrub_audit", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_a_file_with_a_leak_fails_and_names_where_not_what(tmp_path):
    """A JSON file with a leaking event exits 1, listing event id, path and placeholder only."""
    path = tmp_path / "events.json"
    path.write_text(json.dumps([LEAKY, CLEAN]))
    result = _run(str(path), inbox=tmp_path / "inbox.sqlite3")
    assert result.returncode == 1, result.stderr
    assert f"{'a' * 32}  message  would become [email]" in result.stdout
    assert f"{'a' * 32}  extra.ci  would become [gitlab_token]" in result.stdout
    assert "b" * 32 not in result.stdout
    output = result.stdout + result.stderr
    assert SECRET_MAIL not in output and SECRET_TOKEN not in output
    assert "2 values in 1 of 2 events" in result.stderr


def test_a_clean_file_passes(tmp_path):
    """Events that are already scrubbed exit 0 with a one-line summary."""
    path = tmp_path / "events.json"
    path.write_text(json.dumps({"events": [CLEAN]}))
    result = _run(str(path), inbox=tmp_path / "inbox.sqlite3")
    assert result.returncode == 0, result.stderr
    assert "1 events from" in result.stdout and "nothing would leak" in result.stdout


def test_the_local_inbox_is_audited_by_default(tmp_path):
    """Without an argument the command replays the inbox at SENTRY_INBOX_PATH."""
    inbox = tmp_path / "inbox.sqlite3"
    store = InboxStore(inbox)
    store.add("event", dict(LEAKY))
    store.add("event", dict(CLEAN))
    store.close()
    result = _run(inbox=inbox)
    assert result.returncode == 1 and "would become [email]" in result.stdout


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", "is not JSON (Expecting property name enclosed in double quotes at line 1, column 2)"),
    ('{"a": "x\u0001y"}', "is not JSON (Invalid control character at line 1, column 9)"),
    ("42", "must hold an event"),
    ('["x"]', "event 0 is a str"),
])
def test_a_bad_file_is_a_clear_error(tmp_path, content, message):
    """A file that is not events fails with an error naming what is wrong (and saying "at" once)."""
    path = tmp_path / "events.json"
    path.write_text(content)
    result = _run(str(path), inbox=tmp_path / "inbox.sqlite3")
    assert result.returncode == 1 and message in result.stderr, result.stderr
    assert " at at " not in result.stderr


def test_a_key_holding_a_secret_is_reported_without_the_key():
    """A dict key that holds an address is reported by its parent path, not by the key itself."""
    [finding] = audit([{"event_id": "c", "extra": {SECRET_MAIL: 1}}])
    assert finding.path == "extra.<a key>" and SECRET_MAIL not in str(finding)
