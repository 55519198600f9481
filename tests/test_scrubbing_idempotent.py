"""scrub(scrub(e)) == scrub(e): a scrubbed event scrubbed again, as the leak audit does, is unchanged.

The events are shaped like sentry-sdk's (exception frames with locals, database-layer frames
whose parameter locals become a summary, request, breadcrumbs, spans, user, extra), hold
generated secrets, and hold every placeholder the scrubber writes, bare or glued to text.
"""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from errorwarden.scrubbing import Scrubber
from errorwarden.scrubbing.audit import audit
from errorwarden.scrubbing.detectors import FILTERED
from errorwarden.scrubbing.patterns import PLACEHOLDER_NAMES
from errorwarden.scrubbing.sqlparams import DATABASE_MODULES, summarize
from errorwarden.scrubbing.walker import CYCLE, TOO_DEEP
from tests.test_scrubbing_properties import PROFILE, SECRETS, WORDS, nested

SCRUBBER = Scrubber()



def _written_summary(params: object) -> str:
    """The summary the scrubber writes for a database-layer frame's ``params`` local."""
    frame = {"module": "psycopg.connection", "function": "connect", "vars": {"params": params}}
    event = SCRUBBER.scrub_event({"exception": {"values": [{"stacktrace": {"frames": [frame]}}]}})
    return event["exception"]["values"][0]["stacktrace"]["frames"][0]["vars"]["params"]


# Every text the scrubber writes in place of a value: the typed placeholders of the detectors
# and vendor formats, the walker's markers, and the SQL-parameter summaries of each shape (a
# summary's key names go through the detectors: ``password=str`` is written ``password=[Filtered]``).
SUMMARIES = [_written_summary(params) for params in (
    ["'The Book'", "3", "None", "True", "2.5", "b'x'", "Decimal('1.0')", "[1]", "{}", "<X>"],
    {"dbname": "'app'", "connect_timeout": "10", "client_encoding": "'utf8'", "user": "'app'",
     "password": "'hunter2'", "host": "'db'", "port": "5432"},
    {"jane.doe@example.com": "1", "token": "'x'"},
    "('a', 'b')",
    3.5,
)]
PLACEHOLDERS = [*sorted(f"[{name}]" for name in PLACEHOLDER_NAMES), TOO_DEEP, CYCLE, *SUMMARIES]
GLUE = st.sampled_from(["", " ", "=", ": ", "-", "1", " 1", "x", "@", "/", "'", '"', "\n", ",", "_"])


@st.composite
def placeholder_text(draw) -> str:
    """A placeholder alone, or glued to digits, separators, words or another placeholder."""
    parts = draw(st.lists(st.sampled_from(PLACEHOLDERS), min_size=1, max_size=3))
    text = draw(GLUE).join(parts)
    return draw(WORDS) + draw(GLUE) + text + draw(GLUE) + draw(WORDS) if draw(st.booleans()) else text


LEAVES = st.one_of(SECRETS, placeholder_text(), WORDS, st.integers(-2**63, 2**63), st.none(), st.booleans())
REPR = LEAVES.map(lambda v: repr(v) if isinstance(v, str) else str(v))  # how sentry-sdk sends a local
VAR_NAMES = st.sampled_from(["params", "args", "vars", "values", "sql", "self", "request", "password",
                             "token", "note", "email", "cursor", "kwargs"])
SENSITIVE_KEYS = st.sampled_from(["password", "authorization", "api_key", "cookie", "secret"])
PLAIN_KEYS = st.sampled_from(["note", "title", "user_agent", "x-request-id", "detail", "0"])


def _params():
    """A parameter local as sentry-sdk serializes it: a list or dict of reprs, or a repr string."""
    return st.one_of(st.lists(REPR, max_size=5), st.dictionaries(st.one_of(PLAIN_KEYS, SENSITIVE_KEYS,
                                                                           SECRETS), REPR, max_size=4),
                     REPR, placeholder_text())


@st.composite
def frames(draw) -> dict:
    """A stack frame: a database-layer one (parameter locals) or an application one."""
    module = draw(st.sampled_from([*DATABASE_MODULES, "library.views", "celery.app.trace"]))
    local_vars = draw(st.dictionaries(VAR_NAMES, REPR, max_size=4))
    if draw(st.booleans()):
        local_vars["params"] = draw(_params())
    line = draw(st.one_of(WORDS, SECRETS.map(lambda s: f"token = '{s}'"), placeholder_text()))
    return {"module": module, "function": "execute", "filename": "x.py", "lineno": 7, "in_app": True,
            "context_line": line, "pre_context": [draw(WORDS)], "post_context": [draw(placeholder_text())],
            "vars": local_vars}


@st.composite
def crumbs_or_spans(draw, span: bool) -> dict:
    """A query breadcrumb or a db span, its ``db.params`` as the SDK records them."""
    data = {"db.params": draw(_params()), draw(PLAIN_KEYS): draw(LEAVES)}
    text = draw(st.one_of(WORDS, placeholder_text(), SECRETS.map(lambda s: f"SELECT 1 -- {s}")))
    if span:
        return {"op": "db", "span_id": "a" * 16, "description": text, "data": data}
    return {"category": "query", "type": "default", "message": text, "data": data}


@st.composite
def events(draw) -> dict:
    """An error event as sentry-sdk builds it, with secrets and placeholders in every place."""
    secrets = draw(st.lists(SECRETS, min_size=1, max_size=3))
    headers = {"Authorization": f"Bearer {draw(SECRETS)}", "Cookie": f"sessionid={draw(SECRETS)}",
               draw(PLAIN_KEYS): draw(st.one_of(placeholder_text(), WORDS))}
    event = {
        "event_id": "e" * 32, "level": "error", "platform": "python",
        "message": draw(st.one_of(placeholder_text(), WORDS)) + " " + secrets[0],
        "exception": {"values": [{
            "type": "OperationalError", "module": "django.db.utils",
            "value": draw(placeholder_text()) + " " + draw(SECRETS),
            "stacktrace": {"frames": draw(st.lists(frames(), min_size=1, max_size=4))}}]},
        "request": {"url": f"http://api.test/books/?q={draw(SECRETS)}&n={draw(placeholder_text())}",
                    "method": "POST", "headers": headers, "data": draw(nested(secrets))},
        "breadcrumbs": {"values": draw(st.lists(crumbs_or_spans(False), max_size=3))},
        "spans": draw(st.lists(crumbs_or_spans(True), max_size=3)),
        "user": {"id": "7", "email": secrets[-1], "username": draw(SECRETS)},
        "extra": {draw(SENSITIVE_KEYS): draw(LEAVES), draw(PLAIN_KEYS): draw(nested(secrets)),
                  "placeholders": draw(st.lists(placeholder_text(), max_size=4)),
                  "keys": {draw(SECRETS): 1, draw(placeholder_text()): 2, draw(SECRETS): 3},
                  # [name, value] pairs (query strings, header lists): a secret first becomes a
                  # placeholder, which must not read as a key name at the next pass
                  "pairs": draw(st.lists(st.tuples(st.one_of(SECRETS, placeholder_text(), PLAIN_KEYS,
                                                             SENSITIVE_KEYS), REPR).map(list), max_size=3))},
        "contexts": {"trace": {"trace_id": "b" * 32, "span_id": "c" * 16}},
        "tags": {"release_channel": draw(st.one_of(WORDS, placeholder_text()))},
    }
    if draw(st.booleans()):  # deeper than the walk goes: the tail becomes [too deep] once
        deep: object = draw(placeholder_text())
        for _ in range(70):
            deep = {"d": deep}
        event["extra"]["deep"] = deep
    return event


def _scrub_json(event: dict) -> str:
    return json.dumps(SCRUBBER.scrub_event(event), sort_keys=True)


@PROFILE
@given(events())
def test_scrubbing_a_scrubbed_event_changes_nothing(event):
    """scrub(scrub(e)) == scrub(e) for sentry-sdk-shaped events holding secrets and placeholders."""
    once = _scrub_json(event)
    assert _scrub_json(json.loads(once)) == once


@PROFILE
@given(events())
def test_the_audit_finds_nothing_in_a_scrubbed_event(event):
    """The leak audit, which replays stored events, finds nothing in what the scrubber wrote."""
    scrubbed = SCRUBBER.scrub_event(event)
    assert audit([json.loads(json.dumps(scrubbed))], SCRUBBER) == []


def test_a_cycle_scrubs_to_a_marker_that_scrubs_to_itself():
    """A self-referencing local becomes [cycle] once; the stored (acyclic) event then stays as it is."""
    loop: dict = {"note": "jane.doe@example.com"}
    loop["self"] = {"again": {"more": {"deeper": {"x": {"y": {"z": {"w": {"v": loop}}}}}}}}
    once = _scrub_json({"extra": {"loop": loop}})
    assert CYCLE in once and "jane.doe" not in once
    assert _scrub_json(json.loads(once)) == once


def _places(text: str) -> list[tuple[dict, tuple]]:
    """Events holding ``text`` at one non-sensitive place each, and the path to it."""
    db_frame = {"module": "django.db.backends.utils", "function": "execute", "vars": {"params": text}}
    app_frame = {"module": "library.views", "function": "get", "vars": {"note": text}, "context_line": text,
                 "pre_context": [], "post_context": []}
    return [
        ({"message": text}, ("message",)),
        ({"extra": {"note": text}}, ("extra", "note")),
        ({"extra": {"items": [text]}}, ("extra", "items", 0)),
        ({"exception": {"values": [{"type": "E", "value": text}]}}, ("exception", "values", 0, "value")),
        ({"exception": {"values": [{"stacktrace": {"frames": [app_frame]}}]}},
         ("exception", "values", 0, "stacktrace", "frames", 0, "vars", "note")),
        ({"exception": {"values": [{"stacktrace": {"frames": [copy.deepcopy(app_frame)]}}]}},
         ("exception", "values", 0, "stacktrace", "frames", 0, "context_line")),
        ({"exception": {"values": [{"stacktrace": {"frames": [db_frame]}}]}},
         ("exception", "values", 0, "stacktrace", "frames", 0, "vars", "params")),
        ({"breadcrumbs": {"values": [{"message": text, "data": {"db.params": text}}]}},
         ("breadcrumbs", "values", 0, "data", "db.params")),
        ({"spans": [{"description": text, "data": {"db.params": text}}]}, ("spans", 0, "data", "db.params")),
        ({"request": {"headers": {"X-Note": text}}}, ("request", "headers", "X-Note")),
    ]


def _at(event: dict, path: tuple) -> object:
    for step in path:
        event = event[step]
    return event


@pytest.mark.parametrize("first", ["sk_live_4eC39HqLyjWDarjtT1zdp7dc", "ghp_" + "a1B2c3D4e5" * 3 + "a1B2c3",
                                   "AKIAZ7QWERTYUIOP1234", "password", *PLACEHOLDERS[:3]])
def test_a_pair_whose_name_becomes_a_placeholder_is_scrubbed_once(first):
    """[name, value]: when the first pass turns the name into a placeholder (``[stripe_key]``,
    whose words hold "key"), the second pass does not take it for a key name and filter the value."""
    once = SCRUBBER.scrub_event({"extra": {"p": [[first, "shop one"]], "t": [(first, "shop one")]}})
    assert SCRUBBER.scrub_event(copy.deepcopy(once)) == once
    if first != "password":
        assert once["extra"]["p"][0][1] == "shop one"


@pytest.mark.parametrize("placeholder", PLACEHOLDERS)
def test_every_placeholder_scrubs_to_itself_in_every_place(placeholder):
    """Each placeholder and summary the scrubber writes, met again anywhere in an event, stays as it is
    (the leak audit would report a change), a summary in a parameter local included; under a
    sensitive key it becomes, and stays, [Filtered]."""
    for event, path in _places(placeholder):
        # In a parameter place a summary stays; any other text is summarized like a string local.
        expected = summarize(placeholder) if path[-1] in ("params", "db.params") else placeholder
        once = SCRUBBER.scrub_event(event)
        assert _at(once, path) == expected, path
        assert SCRUBBER.scrub_event(copy.deepcopy(once)) == once, path
    for key in ("password", "authorization", "api_key"):
        once = SCRUBBER.scrub_event({"extra": {key: placeholder}})
        assert once["extra"][key] in (placeholder, FILTERED)
        assert SCRUBBER.scrub_event(copy.deepcopy(once)) == once


def test_a_summary_that_the_detectors_changed_is_kept_as_it_became():
    """A parameter dict with a sensitive key: its summary is scrubbed once, then stays put."""
    frame = {"module": "psycopg.connection", "function": "connect",
             "vars": {"params": {"dbname": "'app'", "password": "'hunter2'", "port": "5432"}}}
    once = SCRUBBER.scrub_event({"exception": {"values": [{"stacktrace": {"frames": [frame]}}]}})
    summary = once["exception"]["values"][0]["stacktrace"]["frames"][0]["vars"]["params"]
    assert summary.startswith("[3 params: dbname=str, ") and "hunter2" not in summary
    assert SCRUBBER.scrub_event(copy.deepcopy(once)) == once
