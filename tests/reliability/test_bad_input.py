"""The bad-input table through gunicorn: each request keeps its answer, its event arrives within Sentry's
limits with nothing planted in it, and the console log shows no secret and no control character."""

from __future__ import annotations

import json

import pytest

from tests.reliability.conftest import oversized, unique_events
from tests.reliability.server import load, wait_until
from tests.reliability.urls import PLANTED

DEEP_JSON = ("[" * 10_000 + "]" * 10_000).encode()
BODY_20MB = b"b" * 20_000_000
# kind, method, body, the answer the view gives on its own, and a note that must be in the event.
TABLE = [
    ("message_1mb", "GET", None, 500, "[991848 characters cut]"),  # the trim's string cap (8192)
    ("nul", "GET", None, 500, "NUL"),
    ("invalid_utf8", "GET", None, 500, "caf"),
    ("ansi", "GET", None, 500, "red"),
    ("crlf", "GET", None, 500, "forged line"),
    ("self_reference", "GET", None, 500, "self-referencing"),
    ("uncopyable", "GET", None, 500, "uncopyable"),
    ("raising_repr", "GET", None, 500, "repr raises"),
    ("huge_locals", "GET", None, 500, "[20000000 characters in all]"),
    ("recursion", "GET", None, 500, "RecursionError"),
    ("deep_locals", "GET", None, 500, "trimmed"),
    ("body_20mb", "POST", BODY_20MB, 500, "20000000 bytes"),
    ("deep_json", "POST", DEEP_JSON, 500, "RecursionError"),
    ("secret_keys", "GET", None, 500, "[email]"),
]


def _console_problems(text: str) -> list[str]:
    problems = [f"planted {name}" for name, value in PLANTED.items() if value in text]
    problems += [f"control character {c!r}" for c in ("\x1b", "\x00", "\r", "\u202e") if c in text]
    problems += ["a forged log line"] if "\nERROR django.request: forged line" in text else []
    return problems


@pytest.mark.parametrize(("kind", "method", "body", "status", "note"), TABLE, ids=[row[0] for row in TABLE])
def test_bad_input_is_reported_within_limits_and_clean(kind, method, body, status, note, server, rx):
    """The request gets the view's own answer, one event arrives under the limits, and nothing leaks."""
    before = len(server.log_text())
    [answer] = load(server, [f"/bad/{kind}/"], threads=1, method=method, data=body)
    assert answer.status == status, answer.body[:300]

    def mine() -> list[dict]:
        return [e for e in unique_events(rx) if (e.get("tags") or {}).get("reliability.bad") == kind]

    assert wait_until(lambda: len(mine()) >= 1, timeout=30)
    [event] = mine()
    text = json.dumps(event)
    assert note in text
    assert [name for name, value in PLANTED.items() if value in text] == []
    assert oversized(rx) == []
    assert _console_problems(server.log_text()[before:]) == []
