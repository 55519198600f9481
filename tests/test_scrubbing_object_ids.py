"""An object id where free text puts a key (``Customer cus_…: payment failed``) names nothing.

Before, about one Stripe, Clerk or nanoid-style id in 150 spelled a secret-naming fragment
(``pw``, ``jwt``, ``key``) by chance, so the words after its colon were filtered: a clean log line
altered, and an issue split by it. Fresh random ids each run; names that do hold a secret word
stay sensitive.
"""

from __future__ import annotations

import secrets
import string

import pytest

from errorwarden.scrubbing import Scrubber
from errorwarden.scrubbing.keys import KeyRules

BASE62 = string.ascii_letters + string.digits
SHAPES = {  # prefix, body length: Stripe's object ids, Clerk's (a 27-character KSUID), bare ids
    "stripe customer": ("cus_", 14), "stripe payment intent": ("pi_", 24),
    "stripe subscription": ("sub_", 24),
    "clerk user": ("user_", 27), "clerk session": ("sess_", 27),
}


def _ids(prefix: str, size: int, n: int) -> list[str]:
    found = []
    while len(found) < n:
        body = "".join(secrets.choice(BASE62) for _ in range(size))
        if (any(c.isdigit() for c in body) and any(c.isupper() for c in body)
                and any(c.islower() for c in body)):
            found.append(prefix + body)
    return found


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_random_object_id_before_a_colon_leaves_the_line_alone(shape):
    scrubber = Scrubber()
    prefix, size = SHAPES[shape]
    altered = [line for line in (f"Customer {i}: payment failed" for i in _ids(prefix, size, 2000))
               if scrubber.scrub_text(line) != line]
    assert altered == []


def test_a_bare_random_id_before_a_colon_leaves_the_line_alone():
    """Without a provider's prefix an id is told by its pieces: one-character runs of case and digits."""
    for line in ("order wsG8pwCz5fD8MC: payment failed", "job 7fJwT9kQ2xPw4Lm8: retry"):
        assert Scrubber().scrub_text(line) == line


@pytest.mark.parametrize("name", ["password", "clientSecret", "myApiKey2Token", "OAuth2Token", "sumoKey1",
                                  "aws4HmacSha256Key", "X-Api-Key", "STRIPE_SECRET_KEY", "api_key_v2",
                                  "db_pw", "jwtToken"])
def test_names_holding_a_secret_word_stay_sensitive(name):
    assert KeyRules().is_sensitive(name)
    assert Scrubber().scrub_text(f"{name}: a8Xk2Lp9Qw7Zr4Tm") == f"{name}: [Filtered]"
