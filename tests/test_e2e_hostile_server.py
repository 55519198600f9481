"""End to end under gunicorn: hostile text posted over HTTP, then read where people read it.

The console log (gunicorn's stderr, the project's LOGGING) and `manage.py sentry_inbox` in every
mode, run as a subprocess on the inbox the server filled (tests/support/hostile_server.py).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from tests.reliability.server import ROOT
from tests.support.hostile import FORGED_RECORD, RAW, SLACK_FORMED
from tests.support.hostile_server import HOSTILE_PATH

# How a line of the console may start: a record of the project's format, a record's continuation,
# or gunicorn's own log line.
_RECORD = re.compile(r"(DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: ")
_GUNICORN = re.compile(r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}\] \[\d+\] \[[A-Z]+\] ")


def _inbox(run, *options: str) -> str:
    done = subprocess.run([sys.executable, "manage.py", "sentry_inbox", *options], cwd=ROOT, env=run.env,
                          capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")[-3000:]
    return done.stdout.decode("utf-8")  # strict: a lone surrogate would fail here


def _assert_inert(text: str) -> None:
    assert not RAW.search(text.replace("\n", "")), sorted({f"U+{ord(c):04X}" for c in RAW.findall(text)})
    assert not any(line.startswith(FORGED_RECORD) for line in text.split("\n"))


def test_the_console_shows_hostile_text_as_escapes_and_no_forged_record(hostile_served):
    """Every console line is a record, a marked continuation or gunicorn's own; ESC and the bidi
    override print as escapes; the 404 path's line break cannot start a record."""
    console = hostile_served.console
    _assert_inert(console)
    for line in console.splitlines():
        assert _RECORD.match(line) or line.startswith("  | ") or _GUNICORN.match(line), line[:200]
    assert "WARNING library.parsing: could not parse " in console
    assert "\\x1b[2J" in console and "\\u202e" in console and "\\x1b]8;;http://evil.example/\\x07" in console
    assert f"Not Found: /api/x\\n{FORGED_RECORD}\\x1b[2J\\u202eexe.txt" in console
    # The traceback of each failed request: its lines are continuations of the ERROR record.
    assert "ERROR django.request: Internal Server Error: /hostile/parse/\n  | Traceback" in console


def test_sentry_inbox_lists_issues_inert(hostile_served):
    """The issue list: one line per issue, titles cut with their controls shown as escapes."""
    listing = _inbox(hostile_served, "--limit", "100")
    _assert_inert(listing)
    rows = [line for line in listing.splitlines()[2:] if not line.startswith("Show one with")]
    assert len(rows) >= len(hostile_served.posted)  # each posted chunk its own issue, one line each
    assert "ValueError: could not parse \\x1b[2J\\x1b]8;;http:/" in listing  # cut at the column


def test_sentry_inbox_show_prints_valid_json_with_the_text_intact(hostile_served):
    """--show: valid JSON that decodes to exactly what was stored, with nothing raw printed."""
    listing = _inbox(hostile_served, "--limit", "100")
    ids = re.findall(r"\s([0-9a-f]{12})\s+ValueError: could not parse", listing)
    assert len(ids) >= len(hostile_served.posted)
    ids = [ids[0], ids[len(ids) // 2], ids[-1]]  # each run is a process start: three are enough
    found_override = False
    for event_id in re.findall(r"\s([0-9a-f]{12})\s+ValueError: could not parse \\x1b", listing) + ids:
        shown = _inbox(hostile_served, "--show", event_id)
        _assert_inert(shown)
        event = json.loads(shown)
        value = event["exception"]["values"][-1]["value"]
        assert value.startswith("could not parse ")
        found_override |= "\u202e" in value  # the JSON escape decodes back to the character
    assert found_override


@pytest.mark.parametrize("mode", [("--transactions",), ("--performance",), ("--alerts",), ("--outbox",)],
                         ids=lambda m: m[0])
def test_sentry_inbox_other_modes_print_inert(hostile_served, mode):
    """Transactions (the hostile 404 path among them), performance, alerts and outbox."""
    printed = _inbox(hostile_served, *mode, "--limit", "200")
    _assert_inert(printed)
    if mode == ("--transactions",):
        assert "\\u202e" in printed or "\\x1b" in printed, printed[-2000:]
    if mode == ("--alerts",):
        assert "critical_burst" in printed


def test_the_slack_posts_of_the_served_app_are_inert(hostile_served):
    """The same run's Slack alerts (a forked gunicorn worker's dispatcher) form nothing."""
    assert len(hostile_served.slack) >= len(hostile_served.posted)
    for payload in hostile_served.slack:
        text = json.dumps(payload, ensure_ascii=False)
        assert not RAW.search(text) and not SLACK_FORMED.search(text)


def test_the_hostile_path_is_what_the_server_saw():
    """The path carries the line break, ESC and the override percent-encoded (the request is real)."""
    assert "%0A" in HOSTILE_PATH and "%1B" in HOSTILE_PATH and "%E2%80%AE" in HOSTILE_PATH
