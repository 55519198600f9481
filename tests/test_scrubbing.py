"""Unit tests for errorwarden.scrubbing: detectors, key rules and the event walk."""

from __future__ import annotations

import copy
import json
import random

import pytest

from errorwarden.scrubbing import Scrubber

SCRUBBER = Scrubber()

# (input, expected) for each detector: the positives.
DETECTED = [
    # cards: Luhn-valid, 13-19 digits, any single-space/dash grouping
    ("4111 1111 1111 1111", "[card]"),
    ("4111-1111-1111-1111", "[card]"),
    ("pay 4111111111111111 now", "pay [card] now"),
    ("5555555555554444", "[card]"),
    ("amex 378282246310005", "amex [card]"),
    ("amex 3782 822463 10005", "amex [card]"),
    ("6011111111111117", "[card]"),
    ("4222222222222", "[card]"),
    ("card:4012888888881881", "card:[card]"),
    ("ref 12 4111 1111 1111 1111 exp", "ref 12 [card] exp"),
    # US SSNs
    ("ssn 219-09-9999 on file", "ssn [ssn] on file"),
    ("id 078-05-1120", "id [ssn]"),
    # IBANs (mod-97 and country length)
    ("DE89 3704 0044 0532 0130 00", "[iban]"),
    ("iban GB82WEST12345698765432.", "iban [iban]."),
    ("FR1420041010050500013M02606", "[iban]"),
    ("NL91ABNA0417164300", "[iban]"),
    # e-mail addresses
    ("mail bob@example.com.", "mail [email]."),
    ("first.last+tag@sub.example.co.uk", "[email]"),
    # IP addresses (a 4-part dotted number is ambiguous and treated as an IP), public and
    # private alike: private ranges map internal errorwarden
    ("from 10.0.0.1", "from [ip]"),
    ("203.0.113.77:8000", "[ip]:8000"),
    ("v 1.2.3.4", "v [ip]"),
    ("db at 192.168.1.20:5432", "db at [ip]:5432"),
    ("172.16.0.5 refused", "[ip] refused"),
    ("126.255.255.255 128.0.0.1 0.0.0.1", "[ip] [ip] [ip]"),  # just outside loopback
    ("peer 2001:db8:85a3::8a2e:370:7334", "peer [ip]"),
    ("from ::2 at", "from [ip] at"),
    ("fe80::1%eth0", "[ip]%eth0"),
    ("fd12:3456::1 (private)", "[ip] (private)"),
    ("::ffff:10.0.0.1", "[ip]"),
    ("::ffff:128.0.0.1", "[ip]"),
    ("2001:0db8:0000:0000:0000:ff00:0042:8329 up", "[ip] up"),
    ("to 2001:db8:0:0:1:0:0:1", "to [ip]"),
    ("fe80:0:0:0:200:5eff:fe10:1", "[ip]"),
    # an IBAN whose account part mixes letters and digits, with no digit run (Qatar)
    ("iban QA58VDZTMHRMT3J8Z4KX3U36MI9SL ok", "iban [iban] ok"),
    ("QA58 VDZT MHRM T3J8 Z4KX 3U36 MI9S L", "[iban]"),
    # MongoDB's authMechanism and authSource name the setup, not a secret
    ("mongodb://db/?authMechanism=SCRAM-SHA-256&authSource=admin",
     "mongodb://db/?authMechanism=SCRAM-SHA-256&authSource=admin"),
    ("mongodb://db/?authMechanismProperties=AWS_SESSION_TOKEN:FQoGZXIvYXdzEJr",
     "mongodb://db/?authMechanismProperties=[Filtered]"),
    # SSH algorithm names of the name@domain form (RFC 4251 section 6) are no addresses
    ("ssh-ed25519-cert-v01@openssh.com AAAAC3Nz", "ssh-ed25519-cert-v01@openssh.com AAAAC3Nz"),
    ("kex curve25519-sha256@libssh.org", "kex curve25519-sha256@libssh.org"),
    ("from djm@openssh.com", "from [email]"),
    ("ssh-rsa-cert-v01@example.com", "[email]"),
    # an EUI-64 hardware address (eight pairs) is no IP, as a six-pair MAC is not
    ("eui 02:00:5e:10:00:00:00:01 up", "eui 02:00:5e:10:00:00:00:01 up"),
    ("mac 00:1b:63:84:45:e6", "mac 00:1b:63:84:45:e6"),
    ("eui 2:0:5e:10:0:0:0:1", "eui 2:0:5e:10:0:0:0:1"),
    ("nat64 64:ff9b:0:0:0:0:c000:221", "nat64 [ip]"),
    ("2:0:5e:10:0:0:100:1", "[ip]"),
    # JWTs and bearer tokens
    ("t=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", "t=[jwt]"),
    # a JWS over a short payload, and a detached one (RFC 7515 appendix F): the signature says JWS
    ("s eyJhbGciOiAiUlMyNTYifQ.Zm9v.OHdxFVj73l5LpxbFp1AmYX4yJM0P", "s [jwt]"),
    ("eyJhbGciOiJIUzI1NiJ9..dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "[jwt]"),
    ("eyJhbGciOi.ab.c", "eyJhbGciOi.ab.c"),
    ("Authorization: Bearer 9fQ2xL7vK3pZ8rT1", "Authorization: Bearer [token]"),
    ("sent bearer abc.def-ghi_jkl", "sent bearer [token]"),
    # vendor key formats
    ("key AKIAIOSFODNN7EXAMPLE", "key [aws_key]"),
    ("ASIAY34FZKBOKMUTVV7A", "[aws_key]"),
    ("sk_live_4eC39HqLyjWDarjtT1zdp7dc", "[stripe_key]"),
    ("sk_test_4eC39HqLyjWDarjtT1zdp7dc", "[stripe_key]"),
    ("rk_live_4eC39HqLyjWDarjtT1zdp7dc", "[stripe_key]"),
    ("ghp_16C7e42F292c6912E7710c838347Ae178B4a", "[github_token]"),
    ("gho_16C7e42F292c6912E7710c838347Ae178B4a", "[github_token]"),
    ("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", "[github_token]"),
    ("xoxb-263594206564-2343594206574-FGqddMF8t08v8N7Oq4i57vs1", "[slack_token]"),
    ("xoxp-1234567890-abcdefghij", "[slack_token]"),
    ("https://hooks.slack.com/services/T0001/B0001/XXXXXXXXXXXXXXXX", "[slack_webhook]"),
    ("AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe", "[google_api_key]"),
    # PEM private keys keep their line breaks (joined source lines must split back)
    ("-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBg\n-----END PRIVATE KEY-----",
     "[private_key]\n\n"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n-----END OPENSSH PRIVATE KEY-----",
     "[private_key]\n\n"),
    # passwords in URLs
    ("postgres://admin:s3cret@db/app", "postgres://admin:[password]@db/app"),
    ("redis://:pw@cache:6379/0", "redis://:[password]@cache:6379/0"),
    # sensitive key=value pairs in free text
    ("token=abc123", "token=[Filtered]"),
    ("password: hunter2", "password: [Filtered]"),
    ('{"password": "hunter2"}', '{"password": "[Filtered]"}'),
    ("GET /x?api_key=zzz&page=2", "GET /x?api_key=[Filtered]&page=2"),
    ("https://api.example/v2?api_key=zzz", "https://api.example/v2?api_key=[Filtered]"),
    ("{'secret': 'x', 'n': 1}", "{'secret': '[Filtered]', 'n': 1}"),
    ("Authorization: Basic dXNlcjpwYXNz", "Authorization: Basic [Filtered]"),
    ("X-Api-Key: abcdef", "X-Api-Key: [Filtered]"),
    ("Cookie: sessionid=abc; csrftoken=def", "Cookie: [Filtered]"),
    ('{\\"password\\": \\"x\\"}', '{\\"password\\": \\"[Filtered]\\"}'),
    ("<QueryDict: {'password': ['pw']}>", "<QueryDict: {'password': ['[Filtered]']}>"),
]

# Near misses: each looks like a detector's target but is not one.
NEAR_MISSES = [
    "4111111111111112",  # fails Luhn
    "4111 1111 1111 111",  # 15 digits, fails Luhn
    "000-12-3456", "666-12-3456", "900-12-3456", "123-00-4567", "123-45-0000",  # bad SSNs
    "555-123-4567", "123-45-67890",
    "DE89 3704 0044 0532 0130 01", "XX89370400440532013000",  # bad checksum, no country
    "bob@localhost", "user@host", "@handle", "a@b.c",
    "1.2.3.4.5", "256.1.1.1", "10.0.0.300",
    "12:30:45", "std::vector", "a:b:c", "00:1a:2b:3c:4d:5e",
    "eyJhbGciOiJIUzI1NiJ9",  # a JWT header alone
    "uses bearer authentication",
    "AKIAIOSFODNN7EXAMPL", "pk_live_4eC39HqLyjWDarjtT1zdp7dc", "ghp_short",
    "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
    "https://example.com:8080/path",
    "password=None", "WHERE password = %s", "password=[Filtered]", "token=''",
]



def _luhn_ok(digits: str) -> bool:
    """The Luhn checksum, written out independently of the code under test."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _card_like_fractions(count: int = 6) -> list[str]:
    """Float reprs and decimals whose 13-19 fraction digits look like a card number.

    Each fraction starts with 2-6 (a card network digit; 4 when it has 13 digits) and passes
    Luhn, so only the rule "a card is never the fraction of a decimal number" keeps them
    readable.
    """
    rng, floats, decimals = random.Random(2025), [], []
    while len(floats) < count:  # real float reprs, such as DRF's Throttled wait time
        text = repr(rng.uniform(1, 1000))
        frac = text.partition(".")[2]
        first = "4" if len(frac) == 13 else "23456"
        if 13 <= len(frac) <= 19 and frac[0] in first and _luhn_ok(frac):
            floats.append(text)
    for length in range(13, 20):  # Decimal-style texts, one per fraction length
        while True:
            first = rng.choice("4" if length == 13 else "23456")
            frac = first + "".join(rng.choices("0123456789", k=length - 1))
            if _luhn_ok(frac):
                decimals.append(f"{rng.randint(0, 99999)}.{frac}")
                break
    return floats + decimals


CARD_LIKE_FRACTIONS = _card_like_fractions()

# Ordinary values that must survive unchanged.
FALSE_POSITIVES = [
    *CARD_LIKE_FRACTIONS,
    *(f"Throttled({x})" for x in CARD_LIKE_FRACTIONS[:3]),
    *(f'"wait": "{x}"' for x in CARD_LIKE_FRACTIONS[3:6]),
    f"Request was throttled. Expected available in {CARD_LIKE_FRACTIONS[0]} seconds.",
    "-" + CARD_LIKE_FRACTIONS[1], "1.5e-3 and " + CARD_LIKE_FRACTIONS[2],
    "1732812345.123456", "ts=1732812345.1234567 dur=0.004321",  # Unix time with a fraction
    "0x7fa787266150", "<object at 0x7fa787266150>", "0x5555555555554444",  # addresses
    "order 4111111111111112",  # a 16-digit order id that fails Luhn
    "1732812345",  # Unix timestamp
    "1732812345678",  # millisecond timestamp
    "1732812345678901",  # microsecond timestamp
    "550e8400-e29b-41d4-a716-446655440000",  # UUID
    "5.2.19", "v2.75.0", "Django 5.2.19 on Python 3.11.7",
    "2025-11-28", "2025-11-28T10:00:04.123456Z", "10:00:04",
    "+44 20 7946 0958", "(555) 123-4567", "555-0142", "ext 4471",
    "author", "authors", "tokenizer", "passage", "session_count", "token_type",
    "author: Ann", "tokenizer=bert", "token_type=bearer", "session_count=3",
    "is_authenticated=True", "sort=asc&page=2", "?sort=asc&page=2",
    "Decimal('129.90')", "<Order: Order #1000 (pending)>", "0x7f3a1c200000",
    "<function view at 0x7f0847ba65c0>", "The quick brown fox jumps over the lazy dog",
    "charged order 1004 for 129.90 EUR",
    'SELECT "orders"."id" FROM "orders" WHERE "orders"."customer_id" = %s LIMIT 21',
]


def test_card_like_fraction_generator_really_produces_card_shaped_digits():
    """Guards the table above: every generated fraction would be a card on its own."""
    for text in CARD_LIKE_FRACTIONS:
        assert SCRUBBER.scrub_text(text.partition(".")[2]) == "[card]"


@pytest.mark.parametrize(("text", "expected"), [
    ("4111111111111111.0", "[card].0"),  # a card stored as a number keeps being scrubbed
    ("card 4111111111111111. Thanks", "card [card]. Thanks"),
    ("ssn 219-09-9999.", "ssn [ssn]."),
])
def test_integer_part_and_sentence_end_are_still_searched(text, expected):
    """Only the fraction of a decimal number is exempt, not a card before a '.'."""
    assert SCRUBBER.scrub_text(text) == expected


# Loopback (127.0.0.0/8, ::1) and unspecified (0.0.0.0, ::) addresses identify no person
# and no host outside the machine; hiding them costs debugging, so they are kept.
LOOPBACK_KEPT = [
    "127.0.0.1", "http://127.0.0.1:8000/api/v1/orders/", "Host: 127.0.0.1:8000",
    'connection to server at "127.0.0.1", port 1 failed: Connection refused',
    "127.0.1.1 web-1", "127.255.255.254", "listening on 0.0.0.0:8000",
    "from ::1 at", "http://[::1]:8000/", "[::]:80", "0:0:0:0:0:0:0:1",
    "0000:0000:0000:0000:0000:0000:0000:0001", "::ffff:127.0.0.1", "::ffff:0.0.0.0",
    "redis://127.0.0.1:6379/0 and postgres://[::1]:5432/app",
]


@pytest.mark.parametrize("text", LOOPBACK_KEPT)
def test_loopback_and_unspecified_addresses_are_kept(text):
    """Addresses that never leave the machine stay readable."""
    assert SCRUBBER.scrub_text(text) == text


def test_loopback_is_kept_while_a_public_and_a_private_address_next_to_it_go():
    """Keeping loopback does not let the other addresses of the same text through."""
    text = "127.0.0.1 -> 203.0.113.77, ::1 -> 10.1.2.3 and 2001:db8::1"
    assert SCRUBBER.scrub_text(text) == "127.0.0.1 -> [ip], ::1 -> [ip] and [ip]"


@pytest.mark.parametrize(("text", "expected"), DETECTED)
def test_detector_replaces_secret_with_typed_placeholder(text, expected):
    """Each detector replaces its secret with the placeholder that names what it was."""
    assert SCRUBBER.scrub_text(text) == expected


@pytest.mark.parametrize("text", NEAR_MISSES)
def test_detector_near_misses_survive(text):
    """Values shaped like a secret but failing its validation are left unchanged."""
    assert SCRUBBER.scrub_text(text) == text


@pytest.mark.parametrize("text", FALSE_POSITIVES)
def test_ordinary_values_survive(text):
    """Timestamps, ids, versions, dates, phone numbers and ordinary words are not scrubbed."""
    assert SCRUBBER.scrub_text(text) == text


@pytest.mark.parametrize(("key", "sensitive"), [
    ("password", True), ("PASSWORD", True), ("new_password", True), ("passwd", True),
    ("pwd", True), ("secret", True), ("client_secret", True), ("SECRET_KEY", True),
    ("token", True), ("access_token", True), ("refreshToken", True), ("api_key", True),
    ("apikey", True), ("api-key", True), ("X-Api-Key", True), ("HTTP_X_API_KEY", True),
    ("auth", True), ("Authorization", True), ("HTTP_AUTHORIZATION", True),
    ("credentials", True), ("private_key", True), ("session", True), ("sessionid", True),
    ("cookie", True), ("Set-Cookie", True), ("csrftoken", True), ("X-CSRFToken", True),
    ("_xsrf", True), ("jwt", True), ("bearer", True), ("card_number", True),
    ("cc_number", True), ("credit_card", True), ("cvv", True), ("cvc", True), ("ssn", True),
    ("REMOTE_ADDR", True), ("X-Forwarded-For", True), ("X-Real-Ip", True),
    ("ip_address", True), ("connect.sid", True), ("PHPSESSID", True),
    ("author", False), ("authors", False), ("token_type", False), ("tokenizer", False),
    ("is_authenticated", False), ("passage", False), ("session_count", False),
    ("auth_method", False), ("max_tokens", False), ("classname", False), ("key", False),
    ("cache_key", False), ("username", False), ("id", False), ("secretary", False),
    (42, False), (None, False), (("a", "b"), False), (b"password", True),
])
def test_key_rules(key, sensitive):
    """Sensitive key names match across case, '-', '_' and camelCase; ordinary ones do not."""
    event = {"extra": {key: "value-1234"}}
    SCRUBBER.scrub_event(event)
    assert (event["extra"][key] == "[Filtered]") is sensitive


def test_extra_and_safe_keys_change_the_rules():
    """extra_keys adds names in any spelling, safe_keys lets a name through, text included."""
    scrubber = Scrubber(extra_keys=("my_field",), safe_keys=("token_count", "api-key"))
    event = {"extra": {"myField": "v1", "MY-FIELD": "v2", "token": "t", "tokenCount": "7",
                       "api_key": "k1", "note": "my_field=abc api_key=k2"}}
    scrubber.scrub_event(event)
    assert event["extra"] == {"myField": "[Filtered]", "MY-FIELD": "[Filtered]",
                              "token": "[Filtered]", "tokenCount": "7", "api_key": "k1",
                              "note": "my_field=[Filtered] api_key=k2"}


@pytest.mark.parametrize(("kwargs", "error"), [
    ({"extra_keys": "password"}, TypeError),
    ({"safe_keys": "token"}, TypeError),
    ({"extra_keys": ("ok", "")}, ValueError),
    ({"extra_keys": ("bad key!",)}, ValueError),
    ({"safe_keys": (42,)}, ValueError),
    ({"extra_keys": ("---",)}, ValueError),
])
def test_invalid_key_configuration_is_rejected(kwargs, error):
    """Bad key names fail at construction, never at scrub time."""
    with pytest.raises(error):
        Scrubber(**kwargs)


def test_values_that_reveal_nothing_are_kept_under_sensitive_keys():
    """None, booleans, empty values and placeholders stay; numbers and nested leaves go."""
    event = {"extra": {"password": None, "has_token": True, "token": False, "secret": "",
                       "auth": [], "session": {}, "pin": 1234, "credentials": {
                           "user": "bob", "tries": 3, "ok": True, "list": ["a", None]},
                       "cookie": "[Filtered]", "pwd": "None"}}
    SCRUBBER.scrub_event(event)
    assert event["extra"] == {
        "password": None, "has_token": True, "token": False, "secret": "", "auth": [],
        "session": {}, "pin": "[Filtered]", "credentials": {
            "user": "[Filtered]", "tries": "[Filtered]", "ok": True,
            "list": ["[Filtered]", None]},
        "cookie": "[Filtered]", "pwd": "None"}


def test_user_context_keeps_id_and_username_and_drops_email_and_ip():
    """The user interface keeps id/username, always drops email/ip_address, scrubs the rest."""
    event = {"user": {"id": 42, "username": "bob", "email": "bob@example.com",
                      "ip_address": "203.0.113.7", "name": "Bob", "data": {
                          "note": "reach me at bob@example.com", "token": "abc"}}}
    SCRUBBER.scrub_event(event)
    assert event["user"] == {"id": 42, "username": "bob", "name": "Bob", "data": {
        "note": "reach me at [email]", "token": "[Filtered]"}}


def test_username_that_is_an_email_is_scrubbed():
    """A username kept by the user rule still goes through the detectors."""
    event = {"user": {"id": "7", "username": "alice@example.org"}}
    assert SCRUBBER.scrub_event(event)["user"] == {"id": "7", "username": "[email]"}


def test_client_ip_in_request_env_and_forwarding_headers_is_scrubbed():
    """REMOTE_ADDR and X-Forwarded-For / X-Real-Ip never reach Sentry."""
    event = {"request": {"env": {"REMOTE_ADDR": "203.0.113.7", "SERVER_NAME": "web-1"},
                         "headers": {"X-Forwarded-For": "203.0.113.7, 10.0.0.1",
                                     "X-Real-Ip": "203.0.113.7", "Host": "api.example"}}}
    SCRUBBER.scrub_event(event)
    assert event["request"] == {
        "env": {"REMOTE_ADDR": "[Filtered]", "SERVER_NAME": "web-1"},
        "headers": {"X-Forwarded-For": "[Filtered]", "X-Real-Ip": "[Filtered]",
                    "Host": "api.example"}}


def test_query_string_as_pairs_dict_and_string():
    """query_string is scrubbed in every shape the SDK or a caller may give it."""
    pairs = {"request": {"query_string": [["api_key", "k1"], ["page", "2"], ("token", "t")]}}
    as_dict = {"request": {"query_string": {"api_key": "k1", "page": "2"}}}
    as_text = {"request": {"query_string": "api_key=k1&page=2"}}
    assert SCRUBBER.scrub_event(pairs)["request"]["query_string"] == [
        ["api_key", "[Filtered]"], ["page", "2"], ("token", "[Filtered]")]
    assert SCRUBBER.scrub_event(as_dict)["request"]["query_string"] == {
        "api_key": "[Filtered]", "page": "2"}
    assert SCRUBBER.scrub_event(as_text)["request"]["query_string"] == "api_key=[Filtered]&page=2"


FRAME_META = {"filename": "app/views.py", "abs_path": "/srv/app/views.py", "module": "app.views",
              "function": "pay", "lineno": 12, "in_app": True, "package": None}


@pytest.mark.parametrize(("text", "expected"), [
    ("email=jane.reader%40example.com&page=2", "email=[email]&page=2"),
    ("card=4111+1111+1111+1111&x=1", "card=[card]&x=1"),
    ("card=4111%201111%201111%201111", "card=[card]"),
    ("next=%2Fhome%3Fpassword%3Dhunter2", "next=/home?password=[Filtered]"),
    ("https://x.example/?ip=203.0.113.9%2C10.0.0.1", "https://x.example/?ip=[ip],[ip]"),
    ("ref=%3Cbob%40example.com%3E", "ref=<[email]>"),
])
def test_url_encoded_secrets_are_found_in_their_decoded_form(text, expected):
    """A query string carries secrets percent- or plus-encoded; the decoded text is scrubbed."""
    assert SCRUBBER.scrub_text(text) == expected


@pytest.mark.parametrize("text", [
    "q=hello%20world&page=2", "log %s of %d items (100%)", "a + b = c", "SELECT 1 + 2 = %s",
    "https://x.example/search?q=c%2B%2B+books",
])
def test_encoded_text_without_secrets_keeps_its_encoding(text):
    assert SCRUBBER.scrub_text(text) == text


def test_dict_keys_that_hold_a_secret_are_replaced_by_their_scrubbed_text():
    """Per-user maps key by address: the key is scrubbed, the value kept; clashes get a number."""
    event = {"extra": {"alice@example.com": 1, "per_user": {"bob@example.com": {"n": 2}, "[email]": 0},
                       "password": {"carol@example.com": "x"}, "session_count": 3}}
    SCRUBBER.scrub_event(event)
    assert event["extra"] == {"[email]": 1, "per_user": {"[email]": 0, "[email] (2)": {"n": 2}},
                              "password": {"[email]": "[Filtered]"}, "session_count": 3}


def test_frame_metadata_and_event_metadata_are_left_untouched():
    """Locations, ids, timestamps, the SDK and module lists are skipped as they are."""
    event = {"event_id": "9d1c2e3f4a5b6c7d8e9f0a1b2c3d4e5f", "timestamp": "2025-11-28T10:00:04Z",
             "platform": "python", "level": "error", "sdk": {"name": "sentry.python"},
             "modules": {"django": "5.2.19"}, "_meta": {"x": {"": {"len": 9}}},
             "exception": {"values": [{"type": "ValueError", "module": "builtins",
                                       "value": "boom", "stacktrace": {"frames": [
                                           dict(FRAME_META)]}}]}}
    before = copy.deepcopy(event)
    SCRUBBER.scrub_event(event)
    assert event == before


def test_source_lines_are_scrubbed_without_mangling_code():
    """Hard-coded literals in source lines are filtered; names passed as arguments are not."""
    frame = dict(FRAME_META, pre_context=["def pay(request):", '    password = "hunter2"'],
                 context_line="    user = authenticate(username=u, password=password)",
                 post_context=['    KEY = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"', "    pin = 1234"])
    event = {"exception": {"values": [{"stacktrace": {"frames": [frame]}}]}}
    SCRUBBER.scrub_event(event)
    assert frame["pre_context"] == ["def pay(request):", '    password = "[Filtered]"']
    assert frame["context_line"] == "    user = authenticate(username=u, password=password)"
    assert frame["post_context"] == ['    KEY = "[stripe_key]"', "    pin = [Filtered]"]


def test_pem_block_in_source_lines_is_removed_and_lines_stay_aligned():
    """A private key spread over source lines goes and every line keeps its slot."""
    frame = dict(FRAME_META, pre_context=['KEY = """-----BEGIN RSA PRIVATE KEY-----', "MIIEow",
                                          '-----END RSA PRIVATE KEY-----"""'],
                 context_line="load(KEY)", post_context=[])
    event = {"threads": {"values": [{"id": 1, "stacktrace": {"frames": [frame]}}]}}
    SCRUBBER.scrub_event(event)
    assert frame["pre_context"] == ['KEY = """[private_key]', "", '"""']
    assert frame["context_line"] == "load(KEY)"


def test_source_lines_of_an_odd_shape_are_scrubbed():
    """Missing context fields and non-str lines neither raise nor escape the scrub."""
    frame = dict(FRAME_META, pre_context=[None, 'token = "abc123"', 7, b"pwd=hunter2"],
                 post_context='KEY = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"')
    event = {"exception": {"values": [{"stacktrace": {"frames": [frame]}}]}}
    SCRUBBER.scrub_event(event)
    assert frame["pre_context"] == [None, 'token = "[Filtered]"', 7, "pwd=[Filtered]"]
    assert frame["post_context"] == 'KEY = "[stripe_key]"'


def test_breadcrumb_and_log_records():
    """scrub_breadcrumb and scrub_log scrub messages, data and attributes, not metadata."""
    crumb = {"type": "default", "category": "query", "timestamp": "2025-11-28T10:00:01Z",
             "message": "SELECT * FROM users WHERE email = 'bob@example.com'",
             "data": {"db.params": ["bob@example.com"], "password": "pw"}}
    assert SCRUBBER.scrub_breadcrumb(crumb) == {
        "type": "default", "category": "query", "timestamp": "2025-11-28T10:00:01Z",
        "message": "SELECT * FROM users WHERE email = '[email]'",
        "data": {"db.params": "[1 params: str]", "password": "[Filtered]"}}
    log = {"severity_text": "warning", "severity_number": 13, "time_unix_nano": 1,
           "trace_id": "4c79f60c11214eb38604f4ae0781bfb2", "body": "login failed token=abc",
           "attributes": {"sentry.message.parameter.0": "bob@example.com", "api_key": "k"}}
    assert SCRUBBER.scrub_log(log) == {
        "severity_text": "warning", "severity_number": 13, "time_unix_nano": 1,
        "trace_id": "4c79f60c11214eb38604f4ae0781bfb2", "body": "login failed token=[Filtered]",
        "attributes": {"sentry.message.parameter.0": "[email]", "api_key": "[Filtered]"}}


def test_transaction_spans_are_scrubbed():
    """Span descriptions (SQL, URLs) and span data are scrubbed; span ids and ops are not."""
    event = {"type": "transaction", "transaction": "/users/bob@example.com/",
             "spans": [{"span_id": "fa90fdead5f74052", "op": "db",
                        "description": "SELECT 1 WHERE card = '4111 1111 1111 1111'",
                        "data": {"db.system": "postgresql", "auth": "x"}},
                       {"op": "http.client", "description": "GET https://u:pw@api.example/x",
                        "data": {"url": "https://api.example/x?token=abc"}}]}
    SCRUBBER.scrub_event(event)
    assert event["transaction"] == "/users/[email]/"
    assert event["spans"] == [
        {"span_id": "fa90fdead5f74052", "op": "db",
         "description": "SELECT 1 WHERE card = '[card]'",
         "data": {"db.system": "postgresql", "auth": "[Filtered]"}},
        {"op": "http.client", "description": "GET https://u:[password]@api.example/x",
         "data": {"url": "https://api.example/x?token=[Filtered]"}}]


def test_odd_values_never_raise():
    """Non-str keys, bytes, tuples, sets, big ints and odd objects are handled, not raised."""
    event = {"extra": {1: "bob@example.com", None: b"token=abc", (1, 2): ("x", "10.0.0.1"),
                       "set": {"bob@example.com"}, "n": 4111111111111111, "f": 1.5,
                       "huge": 10**5000, "obj": object, "b": bytearray(b"ok")}}
    SCRUBBER.scrub_event(event)
    extra = event["extra"]
    assert extra[1] == "[email]" and extra[None] == "token=[Filtered]"
    assert extra[(1, 2)] == ("x", "[ip]") and extra["set"] == {"[email]"}
    assert extra["n"] == "[card]" and extra["f"] == 1.5 and extra["huge"] == 10**5000
    assert extra["obj"] is object and extra["b"] == bytearray(b"ok")


def test_deep_nesting_is_cut_with_a_placeholder():
    """Structures deeper than the limit end in a placeholder instead of recursing forever."""
    deep: dict = {"v": "bob@example.com"}
    for _ in range(500):
        deep = {"d": deep}
    event = {"extra": {"deep": deep}}
    SCRUBBER.scrub_event(event)
    text = json.dumps(event)
    assert "[too deep]" in text and "bob@example.com" not in text


def test_cycles_and_shared_subtrees_are_bounded():
    """A self-referencing dict becomes a placeholder; a shared diamond is walked once."""
    loop: dict = {"note": "token=abc"}
    loop["self"] = loop
    shared: dict = {"v": "bob@example.com"}
    for _ in range(40):  # 2**40 paths if walked naively
        shared = {"a": shared, "b": shared}
    event = {"extra": {"loop": loop, "shared": shared, "password": loop}}
    SCRUBBER.scrub_event(event)
    assert loop["note"] == "[Filtered]"
    node = shared
    while "a" in node:
        node = node["a"]
    assert node == {"v": "[email]"}


def test_wrong_argument_types_raise():
    """The public methods reject non-dict events and non-str text (the caller fails closed)."""
    with pytest.raises(TypeError):
        SCRUBBER.scrub_event(None)
    with pytest.raises(TypeError):
        SCRUBBER.scrub_breadcrumb("crumb")
    with pytest.raises(TypeError):
        SCRUBBER.scrub_log([])
    with pytest.raises(TypeError):
        SCRUBBER.scrub_text(b"bytes")


def test_scrub_value_handles_any_json_like_value():
    """scrub_value works on bare strings, lists and dicts, returning the scrubbed value."""
    assert SCRUBBER.scrub_value("bob@example.com") == "[email]"
    assert SCRUBBER.scrub_value(["a", {"token": 1}]) == ["a", {"token": "[Filtered]"}]
    assert SCRUBBER.scrub_value(7) == 7 and SCRUBBER.scrub_value(None) is None


# Every location the issue lists, each carrying a different secret.
SECRETS = {
    "header_auth": "Bearer 9fQ2xL7vK3pZ8rT1wY6uN4mB", "cookie": "k2h9x7q4w1e8r5t3",
    "form_password": "hunter2-Correct", "query": "q7w8e9r0t1y2u3i4", "url_token": "u1r2l3t4o5k6",
    "extra_card": "4111 1111 1111 1111", "context_iban": "DE89 3704 0044 0532 0130 00",
    "tag_ip": "203.0.113.77", "user_email": "bob.smith@example.com", "crumb_ssn": "219-09-9999",
    "crumb_data": "sk_live_4eC39HqLyjWDarjtT1zdp7dc", "frame_var": "AKIAIOSFODNN7EXAMPLE",
    "frame_source": "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
    "span_desc": "5555555555554444", "span_data": "xoxb-263594206564-FGqddMF8t08v8N7O",
    "exc_value": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
    "log_param": "carol@example.net", "log_formatted": "2001:db8::8a2e:370:7334",
    "transaction": "dave@example.org", "fingerprint": "AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe",
    "db_password": "pg-s3cr3t", "webhook": "https://hooks.slack.com/services/T0/B0/XXXXXXXXXX",
}


def _planted_event() -> dict:
    """An error event with one secret in each location."""
    s = SECRETS
    frame = dict(FRAME_META, vars={"aws": f"'{s['frame_var']}'", "n": "3"},
                 context_line=f'    TOKEN = "{s["frame_source"]}"')
    return {
        "transaction": f"/users/{s['transaction']}/", "fingerprint": ["{{ default }}",
                                                                     s["fingerprint"]],
        "exception": {"values": [{"type": "ValueError", "value": f"bad jwt {s['exc_value']}",
                                  "stacktrace": {"frames": [frame]}}]},
        "logentry": {"message": "login failed for %s", "params": [s["log_param"]],
                     "formatted": f"login failed from {s['log_formatted']}"},
        "request": {"url": f"https://api.example/pay?token={s['url_token']}",
                    "query_string": [["api_key", s["query"]], ["page", "2"]],
                    "headers": {"Authorization": s["header_auth"], "Accept": "*/*"},
                    "cookies": {"sessionid": s["cookie"]},
                    "data": {"username": "bob", "password": s["form_password"]}},
        "extra": {"payment": {"note": f"card {s['extra_card']}"},
                  "dsn": f"postgres://app:{s['db_password']}@db:5432/app"},
        "contexts": {"bank": {"account": f"IBAN {s['context_iban']}"}},
        "tags": {"client": s["tag_ip"], "hook": s["webhook"]},
        "user": {"id": 1, "email": s["user_email"]},
        "breadcrumbs": {"values": [{"message": f"verify ssn {s['crumb_ssn']}",
                                    "data": {"key": f"stripe={s['crumb_data']}"}}]},
        "spans": [{"description": f"SELECT 1 WHERE cc = '{s['span_desc']}'",
                   "data": {"note": s["span_data"]}}],
    }


def test_planted_secrets_in_every_location_are_removed():
    """No planted secret survives anywhere in the serialized event."""
    event = SCRUBBER.scrub_event(_planted_event())
    text = json.dumps(event)
    left = [name for name, secret in SECRETS.items() if secret in text]
    assert left == []


def test_planted_event_stays_readable():
    """Placeholders keep the meaning of what was removed and the ordinary values stay."""
    event = SCRUBBER.scrub_event(_planted_event())
    assert event["request"]["url"] == "https://api.example/pay?token=[Filtered]"
    assert event["request"]["query_string"] == [["api_key", "[Filtered]"], ["page", "2"]]
    assert event["request"]["headers"] == {"Authorization": "[Filtered]", "Accept": "*/*"}
    assert event["request"]["data"] == {"username": "bob", "password": "[Filtered]"}
    assert event["extra"]["payment"]["note"] == "card [card]"
    assert event["extra"]["dsn"] == "[Filtered]"
    assert event["contexts"]["bank"]["account"] == "IBAN [iban]"
    assert event["breadcrumbs"]["values"][0]["message"] == "verify ssn [ssn]"
    assert event["exception"]["values"][0]["value"] == "bad jwt [jwt]"
    assert event["fingerprint"] == ["{{ default }}", "[google_api_key]"]
    assert event["logentry"]["params"] == ["[email]"]
