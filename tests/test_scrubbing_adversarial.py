"""Adversarial inputs for infrastructure.scrubbing: cost stays linear, structure stays bounded.

Times are compared with a plain 1 MB lowercase string scrubbed in the same run, never with
absolute seconds: shared machines make absolute times noise, but both sides of a ratio
measured together see the same machine.
"""

from __future__ import annotations

import json
import time

import pytest

from infrastructure.scrubbing import Scrubber

SIZE = 1_000_000
MAX_RATIO = 50  # a backtracking pattern would cost thousands of times the plain string
SCRUBBER = Scrubber()

ADVERSARIAL = {
    "digits": ("1234567890" * SIZE)[:SIZE],
    "digits with single spaces": ("1234 " * SIZE)[:SIZE],
    "digits and dashes": ("123-45-" * SIZE)[:SIZE],
    "'@' repeated": "@" * SIZE,
    "'a'*N + '@' + 'a'*N": "a" * (SIZE // 2) + "@" + "a" * (SIZE // 2),
    "a@a.a@ repeated": ("a@a." * SIZE)[:SIZE],
    "a long local part before '@'": "x" * (SIZE - 12) + "@example.com",
    "nested quotes": ('"a=\\"' * SIZE)[:SIZE],
    "unclosed quote after a key": 'password="' + "x" * SIZE,
    "dotted run": ("1." * SIZE)[:SIZE],
    "'=' run": "token" + "=" * SIZE,
    "':' run": ":" * SIZE,
    "hex and colons": ("ab:" * SIZE)[:SIZE],
    "'eyJ' repeated": ("eyJ." * SIZE)[:SIZE],
    "'://' repeated": ("a://b:" * SIZE)[:SIZE],
    "'-----BEGIN' without end": "-----BEGIN RSA PRIVATE KEY-----" + "A-" * (SIZE // 2),
    "uppercase and digits": ("DE89" * SIZE)[:SIZE],
    "backslashes": ("\\" * SIZE),
}


def _best_time(text: str, rounds: int) -> float:
    """Shortest of a few runs of scrub_text on ``text``."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        SCRUBBER.scrub_text(text)
        best = min(best, time.perf_counter() - start)
    return best


@pytest.fixture(scope="module")
def plain_time() -> float:
    """Time to scrub a plain 1 MB lowercase string, the anchor for every ratio."""
    return _best_time(("lorem ipsum dolor sit amet " * SIZE)[:SIZE], rounds=3)


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_adversarial_megabyte_costs_a_bounded_multiple_of_plain_text(name, plain_time):
    """A hostile 1 MB string costs less than MAX_RATIO times a plain 1 MB string."""
    ratio = _best_time(ADVERSARIAL[name], rounds=3) / plain_time
    assert ratio < MAX_RATIO, f"{name}: {ratio:.1f}x the plain string"


def test_many_secrets_in_a_long_text_are_all_replaced():
    """Thousands of secrets in one string are each replaced, not just the first ones."""
    text = " ".join(f"user{i}@example.com 4111 1111 1111 1111 10.0.{i % 250}.1"
                    for i in range(5000))
    out = SCRUBBER.scrub_text(text)
    assert "@" not in out and "4111" not in out and "10.0." not in out
    assert out.count("[email]") == out.count("[card]") == out.count("[ip]") == 5000


def test_deeply_nested_event_is_cut_not_recursed():
    """An event nested 100 000 levels deep is scrubbed without a RecursionError."""
    deep: object = "bob@example.com"
    for _ in range(100_000):
        deep = [deep]
    event = {"extra": {"deep": deep}}
    SCRUBBER.scrub_event(event)
    assert "[too deep]" in json.dumps(event["extra"]["deep"][0][0][0])


def _shared(levels: int) -> dict:
    """A dict whose two children are the same node, ``levels`` deep: 2**levels paths."""
    node: dict = {"token": "abc", "note": "bob@example.com"}
    for _ in range(levels):
        node = {"left": node, "right": node}
    return node


def _chain(levels: int) -> dict:
    """The same number of nodes without sharing: one path."""
    node: dict = {"token": "abc", "note": "bob@example.com"}
    for _ in range(levels):
        node = {"left": node, "right": None}
    return node


def _best_walk(make, rounds: int = 3) -> float:
    """Shortest of a few runs of scrub_value on a fresh structure."""
    best = float("inf")
    for _ in range(rounds):
        value = make()
        start = time.perf_counter()
        SCRUBBER.scrub_value(value)
        best = min(best, time.perf_counter() - start)
    return best


def test_shared_structure_is_walked_once_per_node():
    """2**60 paths through 61 shared nodes cost about what 61 unshared nodes cost."""
    shared = _best_walk(lambda: _shared(60))
    chain = _best_walk(lambda: _chain(60))
    assert shared / chain < MAX_RATIO
    node = _shared(60)
    SCRUBBER.scrub_value(node)
    while "left" in node:
        node = node["left"]
    assert node == {"token": "[Filtered]", "note": "[email]"}
