"""The benchmark harnesses run every side they compare (not how fast: benchmarks never fail CI on speed).

A bench exits 0 whatever it measures, so a harness that cannot run one of its sides would go
unnoticed in CI: after commit 134f494 gave inbox_transport_for a `pins` argument, the two-argument
stand-in in bench_request.boot() crashed every "ours" child, and bench_capture printed every
ratio as n/a. These tests run each bench's real parent and child processes once on a tiny
workload (BENCH_SMOKE=1) and check that every side answered; and that a side which cannot run
is reported as FAILED with the child's own error.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench import bench_capture
from bench.bench_request import ROOT, Child, ratio_text, stand_in


def _run_bench(module: str) -> str:
    env = dict(os.environ, BENCH_SMOKE="1")
    done = subprocess.run([sys.executable, "-m", module], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "FAILED" not in done.stdout, done.stdout
    return done.stdout


def test_bench_capture_runs_every_side_and_prints_both_ratios():
    out = _run_bench("bench.bench_capture")
    for config in bench_capture.CONFIGS:
        for workload in bench_capture.WORKLOADS:
            row = re.search(rf"^  {re.escape(config)} +\S+ {workload} .* (\d+) / (\d+)$", out, re.M)
            assert row, f"no row for {config} {workload}:\n{out}"
            assert int(row.group(1)) > 0, f"{config} sent no event:\n{out}"
    for workload in bench_capture.WORKLOADS:
        for anchor in ("ours/plain (each side's defaults", "ours/plain-8192 (equal string cap"):
            line = next(x for x in out.splitlines() if x.startswith(f"  {workload}: {anchor}"))
            assert re.search(r"process CPU \d+\.\d+x .* wall \d+\.\d+x", line), line
    assert "ours' before_send steps on the locals event" in out, out


def test_bench_request_runs_every_side():
    out = _run_bench("bench.bench_request")
    for rate in ("0.1", "1.0"):
        for config in ("none", "plain", "ours", "ours+inbox"):
            assert re.search(rf"^  {rate} +{re.escape(config)} +\d+ ", out, re.M), f"{rate} {config}:\n{out}"
        key = next(x for x in out.splitlines() if x.startswith(f"  R={rate}: ours/plain "))
        assert re.search(r"wall \d+\.\d+x .* cpu \d+\.\d+x", key), key


def test_a_side_that_cannot_run_is_reported_failed_with_the_childs_error(tmp_path: Path, capsys):
    # The auditor's case: the child dies while booting, before it reads a command, so the parent's
    # first write meets a broken pipe; the report must carry the child's own traceback line.
    crash = "import sys; sys.exit('TypeError: <lambda>() takes 2 positional arguments')"
    child = Child("ours", ["-c", crash], dict(os.environ), tmp_path)
    deadline = time.monotonic() + 30
    while child.proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        results = bench_capture._interleave({"ours": child})
    finally:
        child.close()
    out = capsys.readouterr().out
    assert results == {}
    assert "ours: FAILED" in out, out
    assert "TypeError: <lambda>() takes 2 positional arguments" in out, out
    assert "exited with 1" in out, out
    assert bench_capture._ratio_text(results, "plain", "locals") == "FAILED (ours, plain did not run)"
    assert ratio_text({"plain": {}}, "ours", "plain") == "ours/plain FAILED (ours did not run)"


def test_the_stand_in_takes_what_the_real_function_takes():
    from errorwarden.local import inbox_transport_for

    marker = object()
    fake = stand_in(inbox_transport_for, marker)
    assert fake("settings", None, "pins") is marker  # build_runtime's call since commit 134f494
    assert fake("settings", losses=None, pins=None) is marker
    with pytest.raises(TypeError):
        fake("settings", None, None, "a fourth argument the real one refuses")
