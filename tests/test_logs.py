"""OncePerInterval: a cause is reported at most once per interval, with what was held back."""

from __future__ import annotations

from errorwarden.logs import OncePerInterval


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_cause_is_due_once_per_interval_with_the_count_held_back():
    """The first occurrence is due at once; the next ones wait for the interval and come as one sum;
    causes are counted apart, and pending() hands over what was never reported."""
    clock = Clock()
    once = OncePerInterval(60.0, clock)
    assert once.due("space", 3) == 3
    assert [once.due("space") for _ in range(4)] == [0, 0, 0, 0]
    assert once.due("write") == 1  # another cause is not held back by the first
    clock.now = 61.0
    assert once.due("space", 2) == 6
    once.due("space")  # within the new interval: held
    assert once.pending() == {"space": 1} and once.pending() == {}
    assert once.total == {"space": 10, "write": 1}
