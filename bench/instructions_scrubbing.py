"""Instruction counts (valgrind callgrind) of our Scrubber and EventScrubber on the same events.

Run with ``.venv/bin/python -m bench.instructions_scrubbing [engine ...]`` (needs valgrind;
a few minutes). Not part of ``make bench``. Times on a shared machine drift; instruction
counts do not, so this is the steady companion of ``bench_scrubbing``'s time ratios. Each
figure is (run scrubbing N copies) minus (run making the same N copies without scrubbing),
divided by N; "seen before" scrubs copies of one event, "every string new" copies whose every
string value is new (bench_scrubbing._fresh_strings).
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
import sys

from bench.bench_scrubbing import SIZES, _fresh_strings, _size, available_engines, build_event

COPIES = 20


def child(mode: str, fresh: bool, size_index: int) -> None:
    """Scrub COPIES copies of one event with `mode` ('anchor' or an engine name).

    'base:<mode>' builds the same scrubber and copies but scrubs nothing: the baseline whose
    count is subtracted (it holds the prefilter's compile, done once per process).
    """
    from sentry_sdk.scrubber import EventScrubber

    from errorwarden.scrubbing import Scrubber

    base, _, name = mode.rpartition(":")
    event = build_event(*SIZES[size_index])
    copier = _fresh_strings if fresh else copy.deepcopy
    scrubber = EventScrubber(recursive=True) if name == "anchor" else Scrubber(engine=name)
    scrub = scrubber.scrub_event
    scrub(copier(event))  # warm caches, as a long-lived process has them
    for item in [copier(event) for _ in range(COPIES)]:
        if not base:
            scrub(item)


def count(mode: str, fresh: bool, size_index: int) -> int:
    """Instructions of one child run under callgrind."""
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-m",
         "bench.instructions_scrubbing", "child", mode, str(int(fresh)), str(size_index)],
        capture_output=True, text=True, check=True)
    return int(re.search(r"Collected : (\d+)", out.stderr)[1])


def main(engines: list[str]) -> None:
    """Print instructions per event for each benchmark size: each engine, and the anchor."""
    if shutil.which("valgrind") is None:
        print("valgrind is not installed; nothing measured")
        return
    print(f"Instructions per event (callgrind; {COPIES} events per run, copying subtracted), "
          f"as a ratio to EventScrubber(recursive=True)")
    for index, size in enumerate(SIZES):
        kb = _size(build_event(*size)) / 1024

        def per_event(mode: str, fresh: bool, index: int = index) -> float:
            return (count(mode, fresh, index) - count(f"base:{mode}", fresh, index)) / COPIES

        anchor = per_event("anchor", False)
        line = f"  {kb:5.1f} KB: EventScrubber {anchor:,.0f}"
        for engine in engines:
            seen, new = (per_event(engine, fresh) for fresh in (False, True))
            line += f"; {engine} {seen / anchor:.2f}x seen before, {new / anchor:.2f}x every string new"
        print(line, flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        child(sys.argv[2], sys.argv[3] == "1", int(sys.argv[4]))
    else:
        main(sys.argv[1:] or available_engines())
