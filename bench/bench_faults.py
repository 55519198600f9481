"""Benchmark: request latency while Sentry fails, and the cost of huge locals, as ratios from one run.

Run with ``.venv/bin/python -m bench.bench_faults``. gunicorn (3 sync workers) serves config.wsgi
with the reliability suite's test views, SENTRY_DSN at a loopback receiver. Every request fails
(one error event each), so every request exercises capture, the pipeline and the transport.

    faults     median and p95 latency of error requests while the receiver answers ok, 500,
               429, hangs, or its port is closed; each over the healthy median of the same round
    locals     /bad/huge_locals/ (a 20 MB local, a 10 MB __repr__, a 1 MB message) over
               /bad/small_locals/ (the same view with small values): ours, and plain sentry-sdk
               (bench/plain_settings.py) as the anchor; with each worker's peak RSS

Scenarios rotate within each round, so drift on a shared machine hits them alike; after a fault
the outbox is left to drain before the next scenario. Absolute times are noise; it never asserts.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import requests

from tests.reliability.server import Gunicorn, project_env, wait_until
from tests.support.receiver import EnvelopeReceiver

FAULTS = ("ok", "500", "429", "hang", "absent")
ROUNDS, PER_SCENARIO, WARMUP = 3, 30, 3
LOCALS_ROUNDS = 10


def _latencies(server: Gunicorn, path: str, count: int) -> list[float]:
    session, out = requests.Session(), []
    for n in range(count):
        started = time.perf_counter()
        session.get(server.url(f"{path}{'&' if '?' in path else '?'}n={n}"), timeout=120)
        out.append(time.perf_counter() - started)
    return out


def _p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(len(values) * 0.95) - 1)]


def _drained(folder: Path) -> bool:
    from infrastructure.delivery import OutboxStore

    path = folder / "sentry_outbox.sqlite3"
    return not path.exists() or OutboxStore(path).pending() == 0


def _peak_rss_mb(server: Gunicorn) -> float:
    """The largest VmHWM (peak resident set) among the master's children, in MB."""
    peaks = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        if f"PPid:\t{server.process.pid}\n" in text:
            peaks += [int(line.split()[1]) / 1024 for line in text.splitlines() if line.startswith("VmHWM")]
    return max(peaks, default=0.0)


def faults(folder: Path) -> None:
    """Latency of error requests under each fault, over healthy, per round."""
    with EnvelopeReceiver() as rx, Gunicorn(project_env(folder, rx.dsn), folder / "faults.log") as server:
        results: dict[str, list[float]] = {mode: [] for mode in FAULTS}
        for round_no in range(ROUNDS):
            order = FAULTS[round_no % len(FAULTS):] + FAULTS[:round_no % len(FAULTS)]
            for mode in order:
                rx.mode = mode
                _latencies(server, "/fail/?issue=bench", WARMUP)
                results[mode] += _latencies(server, "/fail/?issue=bench", PER_SCENARIO)
                rx.mode = "ok"
                wait_until(lambda: _drained(folder), timeout=60)
        healthy = statistics.median(results["ok"])
        print(f"error requests, {ROUNDS} rounds x {PER_SCENARIO} per scenario; healthy median "
              f"{healthy * 1000:.1f} ms (noise), ratios are the result")
        print(f"{'sentry':>8} {'median/healthy':>15} {'p95/healthy p95':>16}")
        for mode in FAULTS:
            print(f"{mode:>8} {statistics.median(results[mode]) / healthy:>15.2f} "
                  f"{_p95(results[mode]) / _p95(results['ok']):>16.2f}")


def huge_locals(folder: Path) -> None:
    """Huge over small locals, ours and plain sentry-sdk, and each configuration's peak worker RSS."""
    configurations = (("ours", "tests.reliability.settings"), ("plain sentry-sdk", "bench.plain_settings"))
    for name, module in configurations:
        with EnvelopeReceiver() as rx:
            env = project_env(folder, rx.dsn, DJANGO_SETTINGS_MODULE=module)
            with Gunicorn(env, folder / f"locals-{name[:5]}.log") as server:
                small, huge = [], []
                _latencies(server, "/bad/small_locals/", WARMUP)
                for _ in range(LOCALS_ROUNDS):  # alternating, so drift hits both alike
                    small += _latencies(server, "/bad/small_locals/", 3)
                    huge += _latencies(server, "/bad/huge_locals/", 3)
                sizes = [e.size for e in rx.envelopes]
                ratio = statistics.median(huge) / statistics.median(small)
                largest, rss = max(sizes, default=0) / 1e6, _peak_rss_mb(server)
                print(f"{name:>17}: huge/small locals {ratio:6.2f}x; largest envelope {largest:7.2f} MB; "
                      f"peak worker RSS {rss:6.0f} MB")


def main() -> None:
    """Run both parts in one temporary folder."""
    with tempfile.TemporaryDirectory() as tmp:
        faults(Path(tmp))
        huge_locals(Path(tmp))


if __name__ == "__main__":
    main()
