"""Benchmark: request latency while Sentry fails, and the cost of huge locals, as ratios from one run.

Run with ``.venv/bin/python -m bench.bench_faults``. gunicorn (3 sync workers) serves config.wsgi
with the reliability suite's test views, SENTRY_DSN at a loopback receiver. Every request fails
(one error event each), so every request exercises capture, the pipeline and the transport.

    faults     median and p95 latency of error requests while the receiver answers ok, 500,
               429, hangs, or its port is closed; each over the healthy median of the same round
    alerts     median and p95 latency of error requests that fire alert rules while Slack answers
               500 or hangs, SMTP is down, or the counters' Redis is killed; each over the healthy
               round (every channel up) of the same gunicorn
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

from tests.reliability.paging import channels, slack_answers, spool
from tests.reliability.server import Gunicorn, project_env, wait_until
from tests.support.receiver import EnvelopeReceiver
from tests.support.slack import HANG, OK, SERVER_ERROR

FAULTS = ("ok", "500", "429", "hang", "absent")
ROUNDS, PER_SCENARIO, WARMUP = 3, 30, 3
LOCALS_ROUNDS = 10


# name -> (start the fault, end it); "healthy" is every channel up.
ALERT_FAULTS = {
    "healthy": (lambda ch: None, lambda ch: None),
    "slack 500": (slack_answers(SERVER_ERROR), slack_answers(OK)),
    "slack hang": (slack_answers(HANG), slack_answers(OK)),
    "smtp down": (lambda ch: ch.smtp.stop(), lambda ch: ch.smtp.start()),
    "redis killed": (lambda ch: ch.redis.kill(), lambda ch: ch.redis.start()),
}


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
    from errorwarden.delivery import OutboxStore

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
        _print_ratios(f"error requests while Sentry fails, {ROUNDS} rounds x {PER_SCENARIO} per scenario",
                      results, "ok")


def _print_ratios(title: str, results: dict[str, list[float]], healthy_key: str) -> None:
    healthy = statistics.median(results[healthy_key])
    print(f"{title}; healthy median {healthy * 1000:.1f} ms (noise), ratios are the result")
    print(f"{'fault':>14} {'median/healthy':>15} {'p95/healthy p95':>16}")
    for name, values in results.items():
        print(f"{name:>14} {statistics.median(values) / healthy:>15.2f} "
              f"{_p95(values) / _p95(results[healthy_key]):>16.2f}")


def alert_faults(folder: Path) -> None:
    """Latency of requests that fire alerts while an alert channel or the counters' Redis fails."""
    folder = folder / "alerts"
    folder.mkdir()
    names = tuple(ALERT_FAULTS)
    with EnvelopeReceiver() as rx, channels() as ch, \
            Gunicorn(ch.env(folder, rx.dsn, cooldown=60), folder / "alerts.log") as server:
        alerts = spool(folder)
        results: dict[str, list[float]] = {name: [] for name in names}
        for round_no in range(ROUNDS):
            for name in names[round_no % len(names):] + names[:round_no % len(names)]:
                begin, end = ALERT_FAULTS[name]
                begin(ch)
                # A fresh issue per scenario and round: its burst fires an alert during the fault.
                path = f"/fail/?issue=alerts-{round_no}-{name.replace(' ', '-')}"
                _latencies(server, path, WARMUP)
                results[name] += _latencies(server, path, PER_SCENARIO)
                end(ch)
                wait_until(lambda: alerts.pending() == 0, timeout=60)
        alerts.close()
    _print_ratios(f"error requests firing alerts, {ROUNDS} rounds x {PER_SCENARIO} per scenario", results,
                  "healthy")


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
    """Run the three parts in one temporary folder."""
    with tempfile.TemporaryDirectory() as tmp:
        faults(Path(tmp))
        alert_faults(Path(tmp))
        huge_locals(Path(tmp))


if __name__ == "__main__":
    main()
