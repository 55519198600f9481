"""Adversarial inputs for errorwarden.scrubbing: work stays linear, structure stays bounded.

No test here measures time (machine speed is not a behaviour): the hostile inputs are checked
for their result, and for Python-level work counted with a profiler hook, which must grow
linearly with the input. How long the regular expressions take on them (a backtracking
pattern would show there) is printed by ``python -m bench.bench_scrubbing``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

import pytest

from errorwarden.scrubbing import Scrubber

SIZE = 1_000_000
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


def _calls(func: Callable[[], object]) -> int:
    """Python function calls made while ``func`` runs (a machine-independent work count)."""
    count = 0

    def hook(frame, event, arg):
        nonlocal count
        if event == "call":
            count += 1

    sys.setprofile(hook)
    try:
        func()
    finally:
        sys.setprofile(None)
    return count


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_adversarial_megabyte_is_scrubbed_without_error(name):
    """A hostile 1 MB string is scrubbed to a string, and a second scrub changes nothing."""
    out = SCRUBBER.scrub_text(ADVERSARIAL[name])
    assert isinstance(out, str) and SCRUBBER.scrub_text(out) == out


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_adversarial_work_grows_linearly(name):
    """Doubling a hostile input at most about doubles the Python-level work (no quadratic loop)."""
    text = ADVERSARIAL[name]
    small, large = text[:50_000], text[:100_000]
    assert _calls(lambda: SCRUBBER.scrub_text(large)) <= 2.5 * _calls(lambda: SCRUBBER.scrub_text(small)) + 50


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


def test_shared_structure_is_walked_once_per_node():
    """2**60 paths through 61 shared nodes: the work grows with the nodes (linearly), not the paths."""
    deep, half = (_calls(lambda n=n: SCRUBBER.scrub_value(_shared(n))) for n in (60, 30))
    assert deep <= 2.5 * half
    chain = _calls(lambda: SCRUBBER.scrub_value(_chain(60)))
    assert deep <= 10 * chain
    node = _shared(60)
    SCRUBBER.scrub_value(node)
    while "left" in node:
        node = node["left"]
    assert node == {"token": "[Filtered]", "note": "[email]"}
