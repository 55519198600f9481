"""Grouping's message normalization on hostile megabytes, relative to 1 MB of ordinary log text.

Every pattern in errorwarden/grouping/normalize.py is anchored and bounded so each input
position is tried once; a quadratic pattern on 1 MB would be thousands of times the anchor.
Prints the ratio per input from one run (best of three each); never fails.
"""

from __future__ import annotations

import time

from errorwarden.grouping.normalize import normalize_message

MB = 1 << 20
ADVERSARIAL = {
    "email-runs": "a" * (MB // 2) + "@" + "a" * (MB // 2) + "@",
    "at-signs": "a@" * (MB // 2),
    "dotted-domain": "x@" + "a." * (MB // 2),
    "digit-run": "1" * MB,
    "dotted-digits": "1." * (MB // 2),
    "colons": "1:" * (MB // 2),
    "double-colons": "1::" * (MB // 3),
    "quotes": "'" * MB,
    "open-quotes": ("'" + "a" * 199) * (MB // 200),
    "hex-run": "a1" * (MB // 2),
    "date-like": "2024-01-0" * (MB // 9),
}


def best_of(text: str, runs: int = 3) -> float:
    """The fastest of `runs` normalizations of `text`, in seconds."""
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        normalize_message(text)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    """Print each hostile input's cost as a multiple of ordinary text's."""
    line = "Order 123 for bob@example.com at 2024-01-02T03:04:05Z from 10.0.0.1 id deadbeef12 'x' ok. "
    ordinary = (line * (MB // len(line) + 1))[:MB]
    anchor = best_of(ordinary)
    print(f"anchor: 1 MB of ordinary log text, {anchor * 1000:.1f} ms")
    for name, text in ADVERSARIAL.items():
        print(f"  {name:<14} {best_of(text) / anchor:6.2f}x")


if __name__ == "__main__":
    main()
