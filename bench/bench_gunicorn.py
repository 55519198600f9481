"""Benchmark: requests per second under gunicorn for no Sentry, plain sentry-sdk and ours, in one run.

Run with ``.venv/bin/python -m bench.bench_gunicorn``. Each configuration of bench_request
(none, plain, ours, ours+inbox; plain and ours at traces sample rates 0, 0.1 and 1.0) is its own
gunicorn (one sync worker) on loopback serving ``GET /api/books/`` (a DB read with a join and a
DRF serializer, on a seeded SQLite file), loaded from a second process: wrk when it is on PATH,
else bench/http_load.py, with a few connections in flight. Only one server is loaded at a time;
every round visits every server in an order that rotates, so drift on the shared machine hits
each alike.

    req/s       answered requests per second of the round, median over rounds
    us CPU/req  the worker's own user+system CPU time per request (from /proc), median over
                rounds: steadier than req/s when other tenants hold the cores

plain and ours hand envelopes to the same discarding transport, so no network I/O is compared;
ours+inbox is the laptop default (every envelope written to the local inbox). The ratios against
plain sentry-sdk and against no Sentry, from this one run, are the result; absolute rates are
noise. It never asserts. ``BENCH_ROUNDS`` and ``BENCH_SECONDS`` shorten or lengthen the run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

from bench.bench_request import ROOT, _seed_db, child_env
from tests.reliability.server import Gunicorn

PATH = "/api/books/"
RATES = (0.0, 0.1, 1.0)
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "7"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "2"))
CONNECTIONS = 2
_TICKS = os.sysconf("SC_CLK_TCK")


def _servers() -> list[tuple[str, str, float]]:
    """(label, configuration, rate) for every server of the run."""
    out = [("none", "none", 0.0)]
    for rate in RATES:
        out += [(f"plain R={rate}", "plain", rate), (f"ours R={rate}", "ours", rate)]
    out.append(("ours+inbox R=0.1", "ours+inbox", 0.1))
    return out


class Server:
    """One configuration's gunicorn (tests/reliability/server.py, one sync worker) and its figures."""

    def __init__(self, label: str, config: str, rate: float, workdir: Path):
        self.label = label
        slug = re.sub(r"[^a-z0-9]+", "-", label.lower())
        env = child_env(workdir, rate, BENCH_CONFIG=config, LOG_LEVEL="WARNING",
                        SENTRY_INBOX_PATH=str(workdir / f"inbox-{slug}.sqlite3"))
        self.gunicorn = Gunicorn(env, workdir / f"gunicorn-{slug}.log", workers=1,
                                 app="bench.gunicorn_app:application", ready_path="/_bench/items")
        self.worker_pid = 0
        self.rps: list[float] = []
        self.cpu_us: list[float] = []
        self.statuses: dict[str, int] = {}

    @property
    def port(self) -> int:
        return self.gunicorn.port

    def start(self) -> None:
        """Start gunicorn and wait until its worker answers (raises RuntimeError with the log if not)."""
        self.gunicorn.start(timeout=90)
        self.worker_pid = self.items()["pid"]

    def items(self) -> dict:
        """The worker's own report: its pid and the envelope items it sent."""
        with urllib.request.urlopen(self.gunicorn.url("/_bench/items"), timeout=10) as r:
            return json.loads(r.read())

    def cpu_seconds(self) -> float:
        """The worker's user+system CPU time so far."""
        fields = Path(f"/proc/{self.worker_pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS


def _load(port: int, seconds: float) -> tuple[int, float, dict[str, int]]:
    """Load the server for `seconds` from a second process: (2xx answers, seconds, statuses)."""
    url = f"http://127.0.0.1:{port}{PATH}"
    wrk = shutil.which("wrk")
    if wrk:
        # wrk takes whole seconds only
        out = subprocess.run([wrk, "-t1", f"-c{CONNECTIONS}", f"-d{max(1, round(seconds))}s", url],
                             capture_output=True, text=True, timeout=seconds + 60).stdout
        elapsed_match = re.search(r"(\d+) requests in ([\d.]+)(ms|s|m)", out)
        if elapsed_match is None:
            raise RuntimeError(f"wrk printed no request count:\n{out[-1000:]}")
        total = int(elapsed_match.group(1))
        scale = {"ms": 0.001, "s": 1.0, "m": 60.0}[elapsed_match.group(3)]
        bad_match = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        errors_match = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
        bad = int(bad_match.group(1)) if bad_match else 0
        failed = sum(int(g) for g in errors_match.groups()) if errors_match else 0
        statuses = {"2xx": total - bad, **({"other": bad} if bad else {}),
                    **({"socket errors": failed} if failed else {})}
        return total - bad, float(elapsed_match.group(2)) * scale, statuses
    done = subprocess.run([sys.executable, "-m", "bench.http_load", "127.0.0.1", str(port), PATH,
                           str(seconds), str(CONNECTIONS)], cwd=ROOT, capture_output=True,
                          text=True, timeout=seconds + 60)
    report = json.loads(done.stdout)
    ok = sum(n for status, n in report["statuses"].items() if status.startswith("2"))
    return ok, report["seconds"], report["statuses"]


def _round(server: Server, seconds: float) -> None:
    cpu = server.cpu_seconds()
    ok, elapsed, statuses = _load(server.port, seconds)
    used = server.cpu_seconds() - cpu
    for status, n in statuses.items():
        server.statuses[status] = server.statuses.get(status, 0) + n
    server.rps.append(ok / elapsed if elapsed else 0.0)
    server.cpu_us.append(used / ok * 1e6 if ok else 0.0)


def _ratio(top: Server, bottom: Server) -> str:
    """req/s ratio top/bottom (median, with the same-round range) and CPU-per-request ratio."""
    rps = [a / b for a, b in zip(top.rps, bottom.rps, strict=False) if b]
    cpu = [b / a for a, b in zip(top.cpu_us, bottom.cpu_us, strict=False) if a]
    if not rps or not cpu:
        return "n/a"
    return (f"req/s {statistics.median(top.rps) / statistics.median(bottom.rps):.2f}x "
            f"(rounds {min(rps):.2f}-{max(rps):.2f}); per CPU "
            f"{statistics.median(bottom.cpu_us) / statistics.median(top.cpu_us):.2f}x "
            f"(rounds {min(cpu):.2f}-{max(cpu):.2f})")


def _report(servers: dict[str, Server]) -> None:
    print(f"  {'server':<17} {'req/s':>7} {'us CPU/req':>10}  {'answers':<24} envelope items")
    for server in servers.values():
        try:
            items = server.items()["items"]
        except OSError as exc:
            items = {"error": str(exc)}
        answers = ", ".join(f"{k} {v}" for k, v in sorted(server.statuses.items()))
        print(f"  {server.label:<17} {statistics.median(server.rps):7.0f} "
              f"{statistics.median(server.cpu_us):10.0f}  {answers:<24} "
              f"{', '.join(f'{k} {v}' for k, v in sorted(items.items())) or '-'}")
    none = servers["none"]
    for rate in RATES:
        plain, ours = servers[f"plain R={rate}"], servers[f"ours R={rate}"]
        print(f"  R={rate}: plain/none {_ratio(plain, none)}")
        print(f"  R={rate}: ours/none  {_ratio(ours, none)}")
        print(f"  R={rate}: ours/plain {_ratio(ours, plain)}  <- key ratio (target >= 1.0x)")
    print(f"  R=0.1: ours+inbox/ours {_ratio(servers['ours+inbox R=0.1'], servers['ours R=0.1'])}")


def main() -> None:
    """Start every server, load each in rotating rounds, print rates and ratios."""
    loader = "wrk" if shutil.which("wrk") else "bench/http_load.py (wrk is not on PATH)"
    print(f"Requests/s under gunicorn (1 sync worker each), GET {PATH} on SQLite, loaded by {loader} "
          f"with {CONNECTIONS} connections;")
    print(f"  {ROUNDS} rounds of {SECONDS} s per server after a warm-up, servers visited in rotating "
          "order, one at a time; medians of rounds. Ratios from this one run are the result.")
    with tempfile.TemporaryDirectory(prefix="bench-gunicorn-") as tmp:
        workdir = Path(tmp)
        problem = _seed_db(workdir)
        if problem:
            print(f"  seeding the database FAILED, nothing measured:\n{problem}")
            return
        servers = {label: Server(label, config, rate, workdir) for label, config, rate in _servers()}
        try:
            for server in servers.values():
                server.start()
            for server in servers.values():
                _load(server.port, min(1.0, SECONDS))  # warm-up: imports, caches, first queries
            order = list(servers.values())
            for i in range(ROUNDS):
                for server in order[i % len(order):] + order[:i % len(order)]:
                    _round(server, SECONDS)
            _report(servers)
        except RuntimeError as exc:
            print(f"  FAILED, nothing measured: {exc}")
        finally:
            for server in servers.values():
                server.gunicorn.stop()


if __name__ == "__main__":
    main()
