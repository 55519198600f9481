"""Message and route normalization: variable parts become placeholders, in linear time."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from errorwarden.grouping import normalize, normalize_message
from errorwarden.grouping.normalize import normalize_route

MB = 1_000_000


def test_fifty_order_numbers_normalize_to_one_message():
    """'Order <n> not found' for 50 different ids (short and long) yields one normalized string."""
    ids = [*range(1, 26), *(10**k + 7 for k in range(6, 31))]
    normalized = {normalize_message(f"Order {n} not found") for n in ids}
    assert normalized == {"Order <num> not found"}


VARIANTS = [
    pytest.param("user 1b4e28ba-2fa1-11d2-883f-0016d3cca427 gone",
                 "user 9f2c1a44-0000-4bbb-8ccc-1234567890ab gone", "user <uuid> gone", id="uuid"),
    pytest.param("blob deadbeef1234 missing", "blob 0a1b2c3d4e5f6071 missing", "blob <num> missing",
                 id="hex"),
    pytest.param("etag 9b2cf535f27731c974343645a3985328", "etag 0cc175b9c0f1b6a831c399e269772661",
                 "etag <num>", id="md5"),
    pytest.param("mail to bob.smith+x@example.com failed", "mail to eve@mail.example.co.uk failed",
                 "mail to <email> failed", id="email"),
    pytest.param("from 10.0.0.1 denied", "from 192.168.201.17 denied", "from <ip> denied", id="ipv4"),
    pytest.param("from fe80::1 denied", "from 2001:db8::8a2e:370:7334 denied", "from <ip> denied", id="ipv6"),
    pytest.param("at 2024-01-02T03:04:05Z", "at 2025-11-30T23:59:59.123456+01:00", "at <ts>", id="iso-ts"),
    pytest.param("due 2024-01-02 passed", "due 2025-12-31 passed", "due <ts> passed", id="date"),
    pytest.param("no key 'user_id'", "no key 'email'", "no key <str>", id="single-quoted"),
    pytest.param('field "title" invalid', 'field "isbn number" invalid', "field <str> invalid",
                 id="double-quoted"),
    pytest.param("took 1.5s of 30s", "took 12.25s of 60s", "took <num>s of <num>s", id="decimals-units"),
    pytest.param("denied on arn:aws:s3:::books/covers/a.png",
                 "denied on arn:aws:sqs:eu-west-2:123456789012:loans", "denied on <arn>", id="arn"),
    pytest.param("job tenant-42 user_7 failed", "job tenant-9000 user_12 failed",
                 "job tenant-<num> user_<num> failed", id="ids-in-names"),
]


@pytest.mark.parametrize(("first", "second", "expected"), VARIANTS)
def test_variable_parts_do_not_split_a_message(first, second, expected):
    """Two messages differing only in one kind of variable value normalize to the same placeholder text."""
    assert normalize_message(first) == normalize_message(second) == expected


@pytest.mark.parametrize("text", [
    "Can't find the user's shelf",
    "[Filtered] tried [token] from [aws_key]",
    "utf8 decoding failed in v2 of the S3 client",
    "plain words only",
])
def test_stable_text_is_left_alone(text):
    """Apostrophes, placeholders of scrubbed secrets and digits inside words stay as written, so they never
    move."""
    assert normalize_message(text) == text


def test_scrubbed_placeholders_group_with_each_other():
    """Scrubbed messages keep their placeholders while the surrounding ids are still normalized."""
    assert normalize_message("Welcome mail to [email] for order 17 bounced") == \
        normalize_message("Welcome mail to [email] for order 923 bounced") == \
        "Welcome mail to <email> for order <num> bounced"


@pytest.mark.parametrize(("scrubbed", "kept"), [
    pytest.param("Reader [card] not found", "Reader 1234567890123456789 not found", id="snowflake-card"),
    pytest.param("mail to [email] bounced", "mail to bob@example.x bounced", id="email"),
    pytest.param("from [ip] denied", "from 127.0.0.1 denied", id="ip"),
    pytest.param("ref [ssn] missing", "ref 912-34-5678 missing", id="ssn-shaped"),
])
def test_a_value_the_scrubber_replaced_groups_with_one_it_kept(scrubbed, kept):
    """The scrubber replaces a Luhn-passing Snowflake by [card] and a public address by [ip] but keeps
    others of the same shape; both normalize to the same placeholder, so they stay one issue."""
    assert normalize_message(scrubbed) == normalize_message(kept)


@pytest.mark.parametrize("text", [
    "Order 123 for bob@example.com at 2024-01-02T03:04:05Z from 10.0.0.1 id deadbeef12 'x'",
    "no key 'user_id' in {'a': 1}",
])
def test_normalization_is_idempotent(text):
    """Normalizing twice changes nothing more, so normalized text can be normalized again safely."""
    once = normalize_message(text)
    assert normalize_message(once) == once


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("1" * MB, "<num>", id="digit-run"),
    pytest.param("a@" * 1000, "a@" * 1000, id="at-signs-without-domains"),
    pytest.param("Order " + "7" * 50_000 + " failed", "Order <num> failed", id="long-number"),
    pytest.param("id " + "a1" * 40_000, "id <num>", id="hex-run"),
])
def test_hostile_inputs_normalize_to_their_shape(text, expected):
    """Hostile inputs still normalize to what they are (their cost is measured in bench/bench_normalize)."""
    assert normalize_message(text) == expected


@pytest.mark.parametrize(("route", "concrete", "expected"), [
    ("/api/books/<int:pk>/", False, "/api/books/{pk}/"),
    ("/api/books/{pk}/", False, "/api/books/{pk}/"),
    ("/api/shelves/<slug>/books/<uuid:book>/", False, "/api/shelves/{slug}/books/{book}/"),
    ("/api/books/42/loans/1b4e28ba-2fa1-11d2-883f-0016d3cca427/?page=2", True,
     "/api/books/{id}/loans/{id}/"),
    ("/api/v2/books/", True, "/api/v2/books/"),
    ("/api/customers/cus_NffrFeUfNV2Hib/invoices/in_1MtHbELkdIwHu7ixl4OzzPMv/", True,
     "/api/customers/{id}/invoices/{id}/"),
    ("/api/users/user_2NNEqL2nrIRdJ194ndJqAHwEfxC/sessions/", True, "/api/users/{id}/sessions/"),
    ("/api/reading_lists/in_progress/", True, "/api/reading_lists/in_progress/"),
])
def test_routes_take_one_shape(route, concrete, expected):
    """Django converters and SDK braces give the same route, and ids in concrete paths become {id}."""
    assert normalize_route(route, concrete=concrete) == expected


_PLAIN_TOKEN = st.one_of(
    st.from_regex(r"[a-z]{1,24}", fullmatch=True), st.from_regex(r"[A-Z][a-z]{0,24}", fullmatch=True),
    st.from_regex(r"[A-Z]{1,30}", fullmatch=True), st.from_regex(r"[0-9]{1,30}", fullmatch=True),
    # and what must not take the shortcut: mixed case (random ids), letters glued to digits
    st.from_regex(r"[A-Za-z]{8,16}", fullmatch=True), st.from_regex(r"[A-Za-z0-9]{2,12}", fullmatch=True),
    st.sampled_from(["ABCDEF", "DEADBEEF", "ABCDEFABCDEFABCDEFABC", "abcdefabcdefabcdefabc", "U024BE7LH",
                     "0", "007", "12345678901234567890"]),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_PLAIN_TOKEN, min_size=1, max_size=8).map(" ".join))
def test_the_plain_words_shortcut_gives_what_every_pass_gives(text):
    """Words of one case and whole numbers take a shortcut (each number <num>); the full passes
    give the same answer for every text of words, numbers and ids, hex-letter words and long
    digit runs included."""
    short = normalize_message(text)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(normalize, "_PLAIN_WORDS", re.compile(r"(?!)"))
        assert normalize_message(text) == short
