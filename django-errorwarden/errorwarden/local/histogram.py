"""Fixed latency buckets and percentile estimates over them, shared by every process's aggregates.

Buckets are fixed, not adaptive, so histograms from many processes and minutes merge by adding
counts (one SQL SUM per bucket). Bounds grow by 2**(1/4) (about 19%) from 1 ms to 65.5 s; a
percentile interpolates linearly inside its bucket and is clamped to the observed min and max, so
its error stays within one bucket's width and a single observation reads back exactly.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence

BOUNDS_MS: tuple[float, ...] = tuple(2 ** (i / 4) for i in range(65))  # upper bounds, 1 ms .. 65.5 s
BUCKETS = len(BOUNDS_MS) + 1  # the last bucket holds everything above 65.5 s


def bucket_of(duration_ms: float) -> int:
    """The bucket index of one duration: bucket i holds (BOUNDS_MS[i-1], BOUNDS_MS[i]]."""
    return bisect_left(BOUNDS_MS, duration_ms)


def percentile(buckets: Sequence[int], q: float, low_ms: float, high_ms: float) -> float:
    """The q-quantile (0 < q <= 1) of bucketed durations, clamped to [low_ms, high_ms]; 0 when empty."""
    if not 0 < q <= 1:
        raise ValueError(f"q must be in (0, 1], not {q!r}")
    total = sum(buckets)
    if total <= 0:
        return 0.0
    rank, seen = q * total, 0
    for index, count in enumerate(buckets):
        if count and seen + count >= rank:
            lo = BOUNDS_MS[index - 1] if index else 0.0
            hi = BOUNDS_MS[index] if index < len(BOUNDS_MS) else max(high_ms, lo)
            lo, hi = max(lo, low_ms), min(hi, high_ms)
            if hi <= lo:
                return hi
            return lo + (hi - lo) * (rank - seen) / count
        seen += count
    return high_ms
