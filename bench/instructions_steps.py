"""Instruction counts (valgrind callgrind) of each before_send step on one captured event.

Run with ``.venv/bin/python -m bench.instructions_steps [small|locals|ledger]`` (needs valgrind;
several minutes: each run loads Django under callgrind). Not part of ``make bench``. Thread CPU
times on a busy machine drift by a fifth between runs; instruction counts do not, so this is the
steady companion of the step table ``bench_capture`` prints. Each figure is (run the step on N
copies of the event) minus (run making the same N copies and calling nothing), divided by N. The
event is captured through the real SDK and pipeline a few times first, so it is "seen before":
the scrubber's and the classifier's memories know its strings, as in a long-lived process.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

STEPS = ("none", "trim", "scrub", "classify", "alert observe")
COPIES = 1000


def child(workload: str, step: str) -> None:
    """Boot ours, capture the workload's event, then run `step` on COPIES copies of it."""
    from bench import bench_capture as bc
    from bench.bench_request import boot, child_env

    os.environ.update(child_env(Path(tempfile.mkdtemp(prefix="instructions-steps-")), 0.1))
    boot("ours", 0.1)
    from errorwarden.event import VERDICT
    from errorwarden.runtime import current_runtime

    runtime = current_runtime()
    capture = bc.capture_small if workload == "small" else bc.CAPTURES[workload]
    for _ in range(3):
        capture()
    event, hint = bc._grab(capture)
    scrubbed = runtime.scrubber.scrub_event(copy.deepcopy(event))
    classified = dict(hint)
    # Alert observe runs on the classified event (the pipeline's order), so it is measured on one.
    grouped = runtime.classifier(copy.deepcopy(scrubbed), classified)
    stage = {s.name: s.step for s in runtime.before_send.stages}
    steps = {
        "none": (lambda e: None, event),
        "trim": (lambda e: stage["trim"](e, hint), event),
        "scrub": (runtime.scrubber.scrub_event, event),
        "classify": (lambda e: runtime.classifier(e, dict(hint)), scrubbed),
        "alert observe": (lambda e: runtime.alerts.observe_event(e, {VERDICT: classified.get(VERDICT)}),
                          grouped),
    }
    func, source = steps[step]
    func(copy.deepcopy(source))  # warm
    for item in [copy.deepcopy(source) for _ in range(COPIES)]:
        func(item)


def count(workload: str, step: str) -> int:
    """Instructions of one child run under callgrind."""
    # A fixed hash seed: string hashing decides dict and set probing, so counts repeat run to run.
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent), "PYTHONHASHSEED": "0"}
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-m",
         "bench.instructions_steps", "child", workload, step],
        capture_output=True, text=True, check=True, env=env)
    return int(re.search(r"Collected : (\d+)", out.stderr)[1])


def main(workload: str = "small") -> None:
    """Print instructions per event of each step, and each as a ratio to the scrub."""
    if shutil.which("valgrind") is None:
        print("valgrind is not installed; nothing measured")
        return
    print(f"Instructions per event of each before_send step on the {workload} event, seen before "
          f"(callgrind; {COPIES} events per run, copying subtracted)")
    counts = {step: count(workload, step) for step in STEPS}
    per = {step: (counts[step] - counts["none"]) / COPIES for step in STEPS[1:]}
    for step, value in per.items():
        print(f"  {step:<14} {value / 1000:9.1f} k instructions  {value / per['scrub']:5.2f}x the scrub")


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        child(sys.argv[2], sys.argv[3])
    else:
        main(*(sys.argv[1:2] or ["small"]))
