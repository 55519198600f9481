"""Provider and generator ids never split an issue; words never merge two.

Ids are fresh random ones of each documented shape (tests/support/ids.py), new on every run.
The end-to-end test raises the same error for five ids of each shape through the real capture
path (sentry-sdk, the before_send pipeline with the scrubber, its HTTP transport, the loopback
receiver) and counts fingerprints as received.
"""

from __future__ import annotations

import importlib
from collections import defaultdict
from pathlib import Path

import pytest
import sentry_sdk

from errorwarden.grouping import normalize_message
from tests.support import ids

# Shapes recognised by their documented format: every fresh id of them normalizes alike.
EXACT = ["clerk", "stripe-14", "stripe-24", "ulid", "ksuid", "snowflake", "luhn-snowflake", "objectid",
         "aws-request-id", "s3-request-id", "s3-host-id", "arn", "resend", "slack"]
# Shapes without a fixed length or prefix, told from words by how they read: the floor asserted
# here, some points below the share of fresh ids recognised (measured over 2,000 and 20,000 in
# bench/bench_normalize.py, docs/grouping.md). A short hashid or nanoid that reads as a code word
# (letters only: 'MdjAjpPe') keeps its own issue, so that words stay words.
HEURISTIC = {"prefixed-base62": 0.97, "prefixed-bk-12": 0.95, "prefixed-key-16": 0.97,
             "nanoid": 0.97, "nanoid-16": 0.95, "nanoid-12": 0.89, "nanoid-10": 0.86,
             "hashid": 0.92, "hashid-10": 0.91, "hashid-8": 0.83, "hashid-6": 0.62}

# Ordinary English words and the code words error messages hold; each must come out as it went in.
WORDS = [line for line in (Path(__file__).parent / "data" / "grouping_words.txt").read_text().split()
         if not line.startswith("#")]


def _modules_public_names() -> set[str]:
    """Public names of the modules whose classes and constants show up in this backend's errors."""
    names: set[str] = set()
    for module in ("builtins", "django.core.exceptions", "django.db.utils", "django.http",
                   "rest_framework.exceptions", "botocore.exceptions", "requests.exceptions",
                   "celery.exceptions"):
        names |= {n for n in dir(importlib.import_module(module)) if not n.startswith("_")}
    return names


@pytest.mark.parametrize("shape", EXACT)
def test_every_fresh_id_of_a_documented_shape_normalizes_alike(shape):
    """Fifty fresh ids of one shape in the same message give one normalized message."""
    make = ids.SHAPES[shape]
    messages = {normalize_message(f"Reader {make()} not found") for _ in range(50)}
    assert len(messages) == 1, sorted(messages)[:3]
    assert next(iter(messages)) in {f"Reader <{kind}> not found" for kind in ("id", "num", "uuid", "arn")}


def test_normalizing_ids_twice_changes_nothing():
    """A normalized message with ids of every shape normalizes to itself."""
    once = normalize_message(" ".join(f"{shape}={make()}" for shape, make in ids.SHAPES.items()))
    assert normalize_message(once) == once


@pytest.mark.parametrize("key", ["HostId=", "HostId: ", "host id ", "x-amz-id-2=", "id2=", "[HostId]="])
def test_an_s3_host_id_after_its_key_is_one_id(key):
    """S3's x-amz-id-2 (base64, '+' and '/' inside) right after a `key=` is one id like after `key: `,
    not base64 cut into pieces at each '/' and '+' (which split 400 fresh host ids into 288 forms)."""
    forms = {normalize_message(f"S3 upload failed {key}{ids.s3_host_id()}") for _ in range(200)}
    assert len(forms) == 1, sorted(forms)[:3]
    assert next(iter(forms)).endswith("<id>")


@pytest.mark.parametrize(("shape", "floor"), HEURISTIC.items())
def test_ids_told_from_words_by_how_they_read_are_mostly_recognised(shape, floor):
    """Ids without a fixed length or prefix (any `prefix_` + base62, nanoids, hashids): at least the
    documented share of 400 fresh ones becomes <id> (the rest keep splitting, docs/grouping.md)."""
    make = ids.SHAPES[shape]
    recognised = sum(normalize_message(f"Reader {make()} not found") == "Reader <id> not found"
                     for _ in range(400))
    assert recognised / 400 >= floor


@pytest.mark.parametrize("word", WORDS)
def test_words_stay_words(word):
    """An English or code word between two words comes out as it went in, so two messages that differ
    by a word stay two issues."""
    assert normalize_message(f"cannot load {word} now") == f"cannot load {word} now"


@pytest.mark.parametrize("name", [
    "x86_64", "linux-x86_64", "v1.2.3", "1.2.3-rc1", "2.0.0b1", "Python3.11", "py3.11", "v2024.01", "iOS17.2",
    "utf-8", "ISO-8859-1", "sha3_256", "k8s-node-7"])
def test_identifiers_with_numbers_never_become_ids(name):
    """Version strings and identifiers with numbers may lose their numbers (<num>) but never become <id>:
    their letters stay, so two of them that differ by a word stay apart."""
    normalized = normalize_message(f"cannot load {name} now")
    assert "<id>" not in normalized
    letters = "".join(c for c in normalized.replace("<num>", "") if c.isalpha())
    assert letters == "cannotload" + "".join(c for c in name if c.isalpha()) + "now"


@pytest.mark.parametrize(("text", "expected"), [
    ("10ms", "<num>ms"), ("1024MB", "<num>MB"), ("3rd", "<num>rd"), ("5xx", "<num>xx"),
    ("x86_64", "x86_<num>"), ("HTTP_404_NOT_FOUND", "HTTP_<num>_NOT_FOUND"), ("tenant-42", "tenant-<num>"),
])
def test_a_number_not_glued_to_a_letter_before_it_is_a_number(text, expected):
    """Digits with no letter right before them are a quantity or a counter: their letters stay, the number
    goes (docs/grouping.md), so 'took 10ms' and 'took 250ms' are one issue."""
    assert normalize_message(text) == expected


def test_the_names_of_the_exceptions_this_backend_meets_stay_words():
    """Every public name of builtins, Django's, DRF's, botocore's, requests' and Celery's exception
    modules survives normalization (a name with a number after '_' keeps its words, the number goes)."""
    changed = {name for name in _modules_public_names()
               if normalize_message(name).replace("<num>", "") != "".join(
                   c for c in name if not c.isdigit()) and normalize_message(name) != name}
    assert changed == set()


def test_messages_that_differ_by_a_word_stay_apart():
    """Same id shape, different word: different normalized messages."""
    first = normalize_message(f"Reader {ids.clerk('user')} not found")
    second = normalize_message(f"Member {ids.clerk('user')} not found")
    assert first != second


def _raise_for(reader_id: str) -> None:
    raise LookupError(f"Reader {reader_id} not found")


def test_the_same_error_for_five_ids_of_each_shape_is_one_issue(tracked):
    """Through the whole capture path, five fresh ids of each shape give one fingerprint per shape; a
    Luhn-passing Snowflake, which the scrubber turns into [card], joins the other Snowflakes' issue."""
    sent: dict[str, list[str]] = defaultdict(list)
    for shape in [*EXACT, *HEURISTIC]:
        made = drawn = 0
        while made < 5:
            value = ids.SHAPES[shape]()
            drawn += 1
            assert drawn <= 100, f"no recognisable {shape} in 100 fresh ones"
            if shape in HEURISTIC and normalize_message(value) != "<id>":
                continue  # the share of these that splits is what the test above bounds
            try:
                _raise_for(value)
            except LookupError:
                event_id = sentry_sdk.capture_exception()
            sent[shape].append(event_id)
            made += 1
        sentry_sdk.flush(timeout=10)  # per shape: the SDK's queue holds 100 events, fewer than all shapes'

    assert tracked.wait_for(lambda rx: len(rx.events()) >= 5 * len(sent), timeout=20)
    received = {e["event_id"]: e for e in tracked.events()}

    fingerprints = {shape: {tuple(received[i]["fingerprint"]) for i in event_ids}
                    for shape, event_ids in sent.items()}
    split = {shape: prints for shape, prints in fingerprints.items() if len(prints) != 1}
    assert split == {}
    values = [received[i]["exception"]["values"][-1]["value"] for i in sent["luhn-snowflake"]]
    assert values == ["Reader [card] not found"] * 5  # the scrubber did replace them
    assert fingerprints["luhn-snowflake"] == fingerprints["snowflake"]
    assert next(iter(fingerprints["clerk"]))[:3] == ("generic", "LookupError", "Reader <id> not found")
