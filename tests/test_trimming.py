"""The size step: events and transactions leave under Sentry's limits, cut in the documented order."""

from __future__ import annotations

import base64
import copy
import random
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from errorwarden.trimming import (
    MAX_COMPRESSED_BYTES,
    MAX_EVENT_BYTES,
    TrimToSize,
    bounded_repr,
    serialized,
    size_bound,
)


def _frame(n: int, vars_size: int = 0, context: int = 0) -> dict:
    frame = {"function": f"f{n}", "module": "library.views", "lineno": n, "in_app": True}
    if vars_size:
        frame["vars"] = {"blob": "v" * vars_size, "n": str(n)}
    if context:
        frame["pre_context"] = ["line " * (context // 5)] * 5
    return frame


def _event(frames: int = 5, vars_size: int = 0, crumbs: int = 0, crumb_size: int = 0, body: int = 0,
           message: int = 10, extra: int = 0) -> dict:
    return {
        "event_id": "a" * 32, "level": "error", "platform": "python",
        "exception": {"values": [{"type": "ValueError", "value": "m" * message,
                                  "stacktrace": {"frames": [_frame(n, vars_size) for n in range(frames)]}}]},
        "breadcrumbs": {"values": [{"message": f"crumb {n} " + "c" * crumb_size} for n in range(crumbs)]},
        "request": {"url": "http://x/api", "data": "d" * body, "cookies": "k=v"},
        "extra": {"payload": "e" * extra},
        "tags": {"error.category": "validation"}, "fingerprint": ["{{ default }}"],
    }


def _fits(event: dict) -> bool:
    data = serialized(event)
    return len(data) <= MAX_EVENT_BYTES and len(zlib.compress(data, 9)) <= MAX_COMPRESSED_BYTES


def _cuts(event: dict) -> list[str]:
    return event.get("contexts", {}).get("trimmed", {}).get("cut", [])


def test_an_event_under_the_limits_is_left_alone():
    """A normal event comes back as the same object, without a trimmed context."""
    event = _event(vars_size=100, crumbs=10)
    before = copy.deepcopy(event)
    assert TrimToSize()(event, {}) is event
    assert event == before


@pytest.mark.parametrize(("shape", "first_cut", "untouched"), [
    ({"frames": 40, "vars_size": 40_000}, "outer frames", ("breadcrumbs",)),
    ({"crumbs": 100, "crumb_size": 20_000}, "oldest breadcrumbs", ()),
    ({"body": 2_000_000}, "request body", ("breadcrumbs",)),
    ({"message": 3_000_000}, "strings over 16384", ("breadcrumbs",)),
    ({"extra": 1_500_000}, "strings over 16384", ()),
])
def test_each_kind_of_bulk_is_cut_first_where_it_sits(shape, first_cut, untouched):
    """The first cut is the documented stage for that bulk, later stages are not needed, and it fits."""
    event = _event(**{"crumbs": 3, **shape})
    crumbs_before = copy.deepcopy(event["breadcrumbs"])
    trimmed = TrimToSize()(event, {})
    assert _fits(trimmed)
    assert first_cut in _cuts(trimmed)[0]
    if "breadcrumbs" in untouched:
        assert trimmed["breadcrumbs"] == crumbs_before
    assert trimmed["event_id"] == "a" * 32 and trimmed["exception"]["values"][0]["type"] == "ValueError"


def test_outer_frames_lose_their_locals_before_the_crashing_frame():
    """Locals go outermost first; the crashing frame keeps its locals when the others are enough."""
    event = _event(frames=30, vars_size=40_000)
    trimmed = TrimToSize()(event, {})
    frames = trimmed["exception"]["values"][0]["stacktrace"]["frames"]
    with_vars = [i for i, frame in enumerate(frames) if "vars" in frame]
    assert with_vars and with_vars == list(range(with_vars[0], 30))  # a contiguous innermost block
    assert "vars" in frames[-1]
    assert trimmed["contexts"]["trimmed"]["original_bytes"] > MAX_EVENT_BYTES


def test_incompressible_data_is_cut_to_the_compressed_limit():
    """Random base64 barely compresses: the event is cut until it is under 200 KB compressed too."""
    noise = base64.b64encode(random.Random(1).randbytes(600_000)).decode()
    event = _event(extra=0)
    event["extra"] = {f"k{n}": noise[n * 10_000:(n + 1) * 10_000] for n in range(60)}
    trimmed = TrimToSize()(event, {})
    assert len(zlib.compress(serialized(trimmed), 9)) <= MAX_COMPRESSED_BYTES
    assert _cuts(trimmed)


def test_a_transaction_loses_span_data_then_spans_from_the_end():
    """A transaction with 1,000 bulky spans keeps its name and first spans, and fits."""
    transaction = {"type": "transaction", "transaction": "GET /api/books", "event_id": "b" * 32,
                   "spans": [{"span_id": f"{n:016x}", "op": "db", "description": "SELECT 1",
                              "data": {"db.params": "p" * 2_000}} for n in range(1_000)]}
    trimmed = TrimToSize()(transaction, {})
    assert _fits(trimmed) and trimmed["transaction"] == "GET /api/books"
    assert "data of" in _cuts(trimmed)[0]
    assert trimmed["spans"][0]["span_id"] == f"{0:016x}"


def test_when_nothing_else_is_enough_a_skeleton_is_sent_never_nothing():
    """Thousands of huge tags: the event still leaves, as a skeleton that fits."""
    event = _event()
    event["tags"] = {f"t{n}": "x" * 1_000 for n in range(2_000)}
    event["modules"] = {f"m{n}": "1.0" for n in range(50_000)}
    trimmed = TrimToSize()(event, {})
    assert _fits(trimmed)
    assert trimmed["event_id"] == "a" * 32 and "everything but a skeleton" in _cuts(trimmed)


@pytest.mark.parametrize(("max_bytes", "max_compressed"), [(0, 0), (2_000_000, 100), (100, 200)])
def test_impossible_budgets_are_refused(max_bytes, max_compressed):
    """Budgets must satisfy 0 < compressed <= uncompressed <= Sentry's 1 MB."""
    with pytest.raises(ValueError, match="need 0 < max_compressed <= max_bytes"):
        TrimToSize(max_bytes, max_compressed)


@pytest.mark.parametrize(("value", "expected"), [
    ("short", None),
    (b"short", None),
    (12345, "12345"),
    (type("Huge", (), {"__repr__": lambda self: "r" * 10_000})(),
     "r" * 4_096 + "...[repr of 10000 characters]"),
    ("x" * 20_000, "'" + "x" * 4_096 + "'...[20000 characters in all]"),
    (b"y" * 9_000, "b'" + "y" * 4_096 + "'...[9000 characters in all]"),
])
def test_bounded_repr_cuts_long_strings_before_repr(value, expected):
    """Long str/bytes locals and long reprs are cut to half the limit with their length noted."""
    assert bounded_repr(value) == expected
    if expected is not None:
        assert len(expected) < 8_192


# Every character class the encoder treats differently: ASCII, quotes and backslashes, control
# characters, non-ASCII in the BMP, lone surrogates and astral characters.
_TEXT = st.text(st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF,
                              categories=None) | st.sampled_from('"\\\n\x00\x7f\ud800\udfff'), max_size=40)
_LEAF = (_TEXT | st.none() | st.booleans() | st.floats(allow_nan=True, allow_infinity=True)
         | st.integers(min_value=-10**60, max_value=10**60))
_JSONISH = st.recursive(_LEAF, lambda inner: st.lists(inner, max_size=6)
                        | st.dictionaries(_TEXT, inner, max_size=6), max_leaves=40)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_TEXT, _JSONISH, max_size=6))
def test_size_bound_is_never_below_the_serialized_size(event):
    """The trim's shortcut may only skip events that really are under the limit."""
    bound = size_bound(event, 10**9)
    assert bound is not None and bound >= len(serialized(event))
    assert size_bound(event, bound - 1) is None


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(_TEXT, st.dictionaries(_TEXT, _TEXT, min_size=9, max_size=30)
                       | st.dictionaries(_TEXT, _LEAF, min_size=9, max_size=30), max_size=4))
def test_size_bound_holds_for_wide_dicts_of_strings(event):
    """Dicts of more than 8 entries (modules, headers) are counted in one step when all their values
    are strings, and entry by entry otherwise: either way never below the serialized size."""
    bound = size_bound(event, 10**9)
    assert bound is not None and bound >= len(serialized(event))
    assert size_bound(event, bound - 1) is None


@pytest.mark.parametrize("event", [
    {"a": ("tuple",)}, {1: "int key"}, {"a": {None: 1}}, {"a": b"bytes"}, {"a": [object()]},
    "not a dict",
])
def test_size_bound_gives_up_on_what_json_would_convert(event):
    """Tuples, non-str keys, bytes and objects go through serialized(), as before the shortcut."""
    assert size_bound(event, 10**9) is None


def test_size_bound_gives_up_on_a_cycle():
    """A cyclic event is left to serialized(), which refuses it."""
    event: dict = {"a": []}
    event["a"].append(event)
    assert size_bound(event, MAX_COMPRESSED_BYTES) is None


_NUMBER = (st.none() | st.booleans() | st.integers(min_value=-10**40, max_value=10**40)
           | st.floats(allow_nan=True, allow_infinity=True))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(["exception", "modules", "sdk", "extra", "level"]),
                                _JSONISH, max_size=5), min_size=1, max_size=6),
       st.lists(_NUMBER, min_size=1, max_size=6))
def test_the_remembered_bound_is_never_below_the_serialized_size(events, numbers):
    """A step that remembers each top-level value judges a run of events (repeats, changes, and
    equal numbers of other types: 1, 1.0, True) no smaller than they serialize."""
    trim = TrimToSize()
    for event in [*events, *events]:  # every event again: the second time from memory
        for value in ([event, *(numbers and [{"x": numbers}])]):
            bound = trim._remembered.bound(value, 10**9)
            assert bound is not None and bound >= len(serialized(value))
    for number in numbers:  # the same key, an equal number of each type in turn
        for same in (number, *(t(number) for t in (int, float, bool) if _converts(t, number))):
            event = {"extra": [same] * 50}  # "true" is 4 bytes, "1" one
            assert trim._remembered.bound(event, 10**9) >= len(serialized(event))


def _converts(kind: type, number: object) -> bool:
    try:
        return kind(number) == number
    except (TypeError, ValueError, OverflowError):
        return False


def test_a_remembered_value_is_a_copy_that_later_steps_cannot_change():
    """The pipeline edits an event in place after the trim (the scrub writes placeholders): what
    was remembered stays as counted, so a later event equal to the edited one is counted anew."""
    trim = TrimToSize(max_bytes=10_000, max_compressed=10_000)
    first = {"extra": {"note": "x"}}
    assert trim(first) is first
    first["extra"]["note"] = "".join(random.Random(5).choices("abcdefgh", k=15_000))  # as a later step might
    trimmed = trim(copy.deepcopy(first))
    assert len(serialized(trimmed)) <= 10_000 and "trimmed" in trimmed["contexts"]


def test_a_repeated_event_is_judged_the_same_from_memory():
    """The second of two equal events is bounded from memory, with the same verdict: a small one
    passes untouched, a large one is cut all the same."""
    trim = TrimToSize()
    small = _event(frames=5, vars_size=100)
    assert trim(copy.deepcopy(small)) == small and trim(copy.deepcopy(small)) == small
    large = _event(frames=30, vars_size=40_000)  # 1.2 MB
    cut_once, cut_twice = trim(copy.deepcopy(large)), trim(copy.deepcopy(large))
    assert cut_once == cut_twice and "trimmed" in cut_once["contexts"]


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def test_the_string_cap_cuts_every_long_string_and_notes_how_much():
    """With max_string, no string the scrub reads is longer, wherever it sits (a message, a crumb, a
    top-level string, a wide dict of strings), the cut says how many characters went, and a string
    at the cap is left whole. This is what the SDK's max_value_length did before the runtime left it
    unset."""
    trim = TrimToSize(max_string=1_000)
    event = _event(frames=3, message=50_000, crumbs=3, crumb_size=2_000)
    event["transaction"] = "t" * 4_000
    event["modules"] = {f"pkg{i}": "1.0" for i in range(20)} | {"long": "v" * 3_000}
    event["extra"]["exact"] = "e" * 1_000
    trimmed = trim(copy.deepcopy(event))
    assert max(len(s) for s in _strings(trimmed)) == 1_000
    value = trimmed["exception"]["values"][0]["value"]
    assert value == "m" * 960 + "…[49040 characters cut]"
    assert trimmed["extra"]["exact"] == "e" * 1_000 and trimmed["transaction"].startswith("t" * 960)
    assert "trimmed" not in trimmed.get("contexts", {})  # under the size limits: nothing else was cut
    again = trim(copy.deepcopy(event))  # from memory: the same cut
    assert again == trimmed


def test_the_string_cap_leaves_an_event_without_long_strings_untouched():
    trim = TrimToSize(max_string=1_000)
    event = _event(frames=20, vars_size=900, crumbs=30, crumb_size=900, message=900)
    assert trim(copy.deepcopy(event)) == event
    assert trim(copy.deepcopy(event)) == event


def test_the_string_cap_also_holds_when_the_event_is_over_the_size_limits():
    trim = TrimToSize(max_string=2_000)
    event = _event(frames=30, vars_size=40_000, message=300_000)  # 1.5 MB
    trimmed = trim(copy.deepcopy(event))
    assert _fits(trimmed) and max(len(s) for s in _strings(trimmed)) <= 2_000


@pytest.mark.parametrize("cap", [0, 255])
def test_a_string_cap_with_no_room_for_its_note_is_refused(cap):
    with pytest.raises(ValueError, match="max_string must be at least 256"):
        TrimToSize(max_string=cap)


_LONGISH = st.text(st.sampled_from("ab\u00e9\U0001f600\"\\"), min_size=250, max_size=700)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(["exception", "extra", "message", "breadcrumbs"]),
                                st.recursive(_LONGISH | _LEAF, lambda inner: st.lists(inner, max_size=4)
                                             | st.dictionaries(_TEXT, inner, max_size=4), max_leaves=12),
                                max_size=4), min_size=1, max_size=5))
def test_after_the_cap_no_string_is_longer_and_the_remembered_bound_still_holds(events):
    """Over runs of new and repeated events (the second time from memory), every string ends at most
    at the cap, and the bound the step judged by is never below the serialized size."""
    trim = TrimToSize(max_string=256)
    for event in [*events, *events]:
        event = copy.deepcopy(event)
        bound = trim._remembered.bound(event, 10**9)  # cuts in place, as __call__ does
        assert bound is not None and bound >= len(serialized(event))
        assert all(len(s) <= 256 for s in _strings(event))
