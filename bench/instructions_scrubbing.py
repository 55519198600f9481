"""Instruction counts (valgrind callgrind) of our Scrubber and EventScrubber on the same events.

Run with ``.venv/bin/python -m bench.instructions_scrubbing`` (needs valgrind; about two
minutes). Not part of ``make bench``. Times on a shared machine drift; instruction counts do
not, so this is the steady companion of ``bench_scrubbing``'s time ratios. Each figure is
(run scrubbing N copies) minus (run copying N events without scrubbing), divided by N.
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
import sys

from bench.bench_scrubbing import SIZES, _size, build_event

COPIES = 20


def child(mode: str, size_index: int) -> None:
    """Scrub COPIES copies of one event with `mode` ('ours', 'anchor' or 'none')."""
    from sentry_sdk.scrubber import EventScrubber

    from infrastructure.scrubbing import Scrubber

    event = build_event(*SIZES[size_index])
    ours, anchor = Scrubber(), EventScrubber(recursive=True)
    ours.scrub_event(copy.deepcopy(event))  # warm caches, as a long-lived process has them
    anchor.scrub_event(copy.deepcopy(event))
    events = [copy.deepcopy(event) for _ in range(COPIES)]
    scrub = {"ours": ours.scrub_event, "anchor": anchor.scrub_event, "none": lambda e: e}[mode]
    for item in events:
        scrub(item)


def count(mode: str, size_index: int) -> int:
    """Instructions of one child run under callgrind."""
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-m",
         "bench.instructions_scrubbing", "child", mode, str(size_index)],
        capture_output=True, text=True, check=True)
    return int(re.search(r"Collected : (\d+)", out.stderr)[1])


def main() -> None:
    """Print instructions per event for each benchmark size, ours and the anchor."""
    if shutil.which("valgrind") is None:
        print("valgrind is not installed; nothing measured")
        return
    print(f"Instructions per event (callgrind; {COPIES} events per run, copying subtracted)")
    for index, size in enumerate(SIZES):
        base = count("none", index)
        ours, anchor = ((count(m, index) - base) / COPIES for m in ("ours", "anchor"))
        kb = _size(build_event(*size)) / 1024
        print(f"  {kb:5.1f} KB: ours {ours:,.0f}, EventScrubber {anchor:,.0f}, "
              f"ratio {ours / anchor:.2f}x")


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        child(sys.argv[2], int(sys.argv[3]))
    else:
        main()
