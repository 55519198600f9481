"""Benchmark: the per-request cost of error tracking on the real Django app, in one run.

Run with ``.venv/bin/python -m bench.bench_request``. Each configuration lives in its own
subprocess (``sentry_sdk.init`` is process-global) that loads ``config.wsgi.application`` and
calls it directly with a built WSGI environ for ``GET /api/books/`` on a seeded SQLite file:
no sockets and no server, so what differs between configurations is only our code and the SDK's.

    none        no Sentry: ``init_sentry`` is a no-op, so the middleware passes through
    plain       sentry-sdk as a typical project sets it up (DjangoIntegration, traces at R)
    ours        the real ``init_sentry`` from the project's settings, transport discarding
    ours+inbox  the real default: the local inbox writes every envelope to a temp SQLite file

``plain`` and ``ours`` hand envelopes to the same discarding transport, so they compare without
I/O. The parent starts the four children, then asks them for timed rounds in turn (one child
runs at a time, the order rotating each round) so drift on a shared machine hits every
configuration alike; each child reports the median requests/s of its rounds as one JSON line.
Absolute rates are noise on a shared machine; the ratios against ``none`` and ``plain``, measured
in this one run, are the result. It never asserts.
"""

from __future__ import annotations

import functools
import inspect
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sentry_sdk.transport import Transport

ROOT = Path(__file__).resolve().parent.parent
# BENCH_SMOKE=1: a tiny workload that only proves every side boots and runs (tests/test_bench_harness.py);
# its numbers mean nothing. The children inherit it through their environment.
SMOKE = os.environ.get("BENCH_SMOKE") == "1"
RATES = (0.1, 1.0)
CONFIGS = ("none", "plain", "ours", "ours+inbox")
PLAIN_DSN = "http://k@127.0.0.1/1"  # never contacted: the discarding transport takes the envelopes
BOOKS = 5
WARMUP_SECONDS = 0.02 if SMOKE else 0.5
ROUND_SECONDS = 0.02 if SMOKE else 0.15
ROUNDS = 2 if SMOKE else 21
BATCH = 10  # requests between two clock reads


class DiscardTransport(Transport):
    """Accepts envelopes and drops them, counting their items by type (no I/O at all)."""

    def __init__(self, options: dict[str, Any] | None = None):
        super().__init__(options)
        self.items: Counter[str] = Counter()

    def capture_envelope(self, envelope: Any) -> None:
        """Count the envelope's items and forget them."""
        for item in envelope.items:
            self.items[item.type or "?"] += 1

    def flush(self, timeout: float, callback: Any | None = None) -> None:
        """Nothing is ever pending."""


# --- the child side -------------------------------------------------------------------------------

def stand_in(real: Callable[..., Any], result: Any) -> Callable[..., Any]:
    """A replacement for `real` that returns `result`, taking exactly the arguments `real` takes.

    Each call is bound against real's signature, so the stand-in follows it when it grows a
    parameter (commit 134f494 added `pins` to inbox_transport_for and a two-argument lambda
    crashed every "ours" child) and refuses, with real's own TypeError, a call real would refuse.
    """
    signature = inspect.signature(real)

    @functools.wraps(real)
    def replacement(*args: Any, **kwargs: Any) -> Any:
        signature.bind(*args, **kwargs)
        return result

    return replacement


def boot(config: str, rate: float) -> DiscardTransport | None:
    """Load Django with one configuration's error tracking; return its discarding transport, if any."""
    import sentry_sdk

    import errorwarden.local
    import infrastructure.sentry_config as sentry_config

    discard = None if config == "ours+inbox" else DiscardTransport()
    if config == "none":
        sentry_config.init_sentry = lambda settings=None: None
    elif config == "plain":
        from sentry_sdk.integrations.django import DjangoIntegration

        def init_plain(settings: Any = None) -> None:
            sentry_sdk.init(dsn=PLAIN_DSN, integrations=[DjangoIntegration()],
                            traces_sample_rate=rate, transport=discard)

        sentry_config.init_sentry = init_plain
    elif config == "ours":
        # build_runtime imports inbox_transport_for from errorwarden.local when it runs, so this
        # swaps only the transport: every other part of init_sentry is the real one.
        errorwarden.local.inbox_transport_for = stand_in(errorwarden.local.inbox_transport_for, discard)
    elif config != "ours+inbox":
        raise SystemExit(f"unknown configuration {config!r}; choose from {', '.join(CONFIGS)}")
    # config/settings.py imports init_sentry from the module above when Django loads it.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    return discard


def _environ(path: str) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "GET", "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "",
        "SERVER_NAME": "localhost", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "localhost", "HTTP_ACCEPT": "application/json",
        "HTTP_USER_AGENT": "bench/1.0", "wsgi.version": (1, 0), "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr, "wsgi.multithread": False, "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def make_caller(application: Callable, path: str) -> Callable[[], str]:
    """A function that serves one request through the WSGI app, closing the response as a server does."""
    base = _environ(path)

    def call() -> str:
        environ = dict(base, **{"wsgi.input": io.BytesIO(b"")})
        status: list[str] = []

        def start_response(value: str, headers: list, exc_info: Any = None) -> Callable:
            status.append(value)
            return lambda data: None

        result = application(environ, start_response)
        try:
            for _ in result:
                pass
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()  # ends the SDK's transaction and fires request_finished
        return status[0] if status else "no status"

    return call


def timed(call: Callable[[], Any], seconds: float) -> tuple[int, float, float]:
    """Call repeatedly for about `seconds`, then flush the SDK; return (calls, wall s, CPU s).

    CPU time is the whole process's (background writer threads included) and leaves out the
    time other tenants of the machine hold the cores, so its ratios are the steadier ones.
    """
    import sentry_sdk

    count = 0
    cpu = time.process_time()
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for _ in range(BATCH):
            call()
        count += BATCH
    sentry_sdk.flush()  # work queued for these calls (inbox writes) belongs to their cost
    return count, time.perf_counter() - start, time.process_time() - cpu


def serve(commands: dict[str, Callable[[], dict[str, Any]]]) -> None:
    """Answer one JSON line per command read from stdin, until 'done' or end of input."""
    for line in sys.stdin:
        name = line.strip()
        reply = commands[name]() if name in commands else {"error": f"unknown command {name!r}"}
        print(json.dumps({"cmd": name, **reply}), flush=True)
        if name == "done":
            return


def _child(config: str, rate: float) -> None:
    discard = boot(config, rate)
    from config.wsgi import application
    from errorwarden.runtime import current_runtime

    call = make_caller(application, "/api/books/")
    statuses: Counter[str] = Counter()
    rates: list[float] = []
    cpu_rates: list[float] = []
    total = 0

    def warm() -> dict[str, Any]:
        for _ in range(20):
            statuses[call()] += 1
        count, elapsed, _ = timed(call, WARMUP_SECONDS)
        return {"status": dict(statuses), "value": count / elapsed}

    def one_round() -> dict[str, Any]:
        nonlocal total
        count, elapsed, cpu = timed(call, ROUND_SECONDS)
        total += count
        rates.append(count / elapsed)
        cpu_rates.append(count / cpu if cpu else 0.0)
        return {"value": rates[-1], "cpu": cpu_rates[-1]}

    def done() -> dict[str, Any]:
        runtime = current_runtime()
        transport = getattr(runtime, "transport", None) if config == "ours+inbox" else discard
        items = dict(getattr(transport, "items", {}))
        return {"config": config, "rate": rate, "value": statistics.median(rates) if rates else 0.0,
                "rounds": rates, "cpu": statistics.median(cpu_rates) if cpu_rates else 0.0,
                "cpu_rounds": cpu_rates, "requests": total, "items": items,
                "inbox_dropped": getattr(transport, "dropped", None), "status": dict(statuses)}

    serve({"warm": warm, "round": one_round, "done": done})


def _seed() -> None:
    """Create the schema and a few books in the SQLite file named by DATABASE_URL."""
    boot("none", 0.0)
    from django.core.management import call_command

    from library.models import Author, Book

    call_command("migrate", verbosity=0, interactive=False)
    author = Author.objects.create(name="Ursula K. Le Guin")
    Book.objects.bulk_create(Book(title=f"Book {i}", isbn=f"978-0-00-{i:06d}", author=author)
                             for i in range(BOOKS))


# --- the parent side ------------------------------------------------------------------------------

def child_env(workdir: Path, rate: float, **extra: str) -> dict[str, str]:
    """The environment of one child: the caller's, with the database and Sentry settings pinned."""
    env = dict(os.environ)
    env.update({
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}",
        "SENTRY_DSN": "",
        "SENTRY_TRACES_SAMPLE_RATE": str(rate),
        "SENTRY_PROFILES_SAMPLE_RATE": "0",
        "SENTRY_INBOX_PATH": str(workdir / f"inbox-{rate}.sqlite3"),
        "PYTHONDONTWRITEBYTECODE": "1",
        **extra,
    })
    return env


class Child:
    """One configuration's subprocess, driven one command at a time over its stdin and stdout."""

    def __init__(self, name: str, argv: Sequence[str], env: dict[str, str], workdir: Path):
        self.name = name
        self.stderr_path = workdir / f"{name.replace('+', '_')}-{os.getpid()}-{id(self)}.err"
        self._stderr = open(self.stderr_path, "w+")  # noqa: SIM115  (closed in close())
        self.proc = subprocess.Popen([sys.executable, *argv], cwd=ROOT, env=env, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr)
        self.failed: str | None = None

    def ask(self, command: str) -> dict[str, Any] | None:
        """Send a command; return the child's JSON answer, or None once the child has failed."""
        if self.failed:
            return None
        try:
            self.proc.stdin.write(command + "\n")
            self.proc.stdin.flush()
            for line in self.proc.stdout:
                if line.startswith("{"):
                    return json.loads(line)
        except (OSError, ValueError) as exc:
            # A child that died before reading its stdin shows up here as a BrokenPipeError: what
            # it said on stderr is the cause, so that goes with it.
            self.failed = self._death(f"{command!r}: {type(exc).__name__}: {exc}")
            return None
        self.failed = self._death(f"{command!r}: no answer")
        return None

    def _death(self, what: str) -> str:
        """What went wrong with the child: `what`, its exit status and the end of its stderr."""
        try:
            status = f"exited with {self.proc.wait(timeout=15)}"
        except subprocess.TimeoutExpired:
            status = "still running"
        self._stderr.flush()
        self._stderr.seek(0)
        tail = self._stderr.read()[-1500:].strip() or "(nothing on stderr)"
        return f"{what}; {status}; its stderr ends:\n{tail}"

    def close(self) -> None:
        """Wait for the child to exit (killing it after a while) and drop its stderr file."""
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=15)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        self._stderr.close()
        self.stderr_path.unlink(missing_ok=True)


def interleave(children: dict[str, Child], rounds: int) -> dict[str, dict[str, Any]]:
    """Warm every child up, run `rounds` timed rounds in rotating order, one child at a time."""
    names = list(children)
    warm = {name: children[name].ask("warm") for name in names}
    for i in range(rounds):
        for name in names[i % len(names):] + names[:i % len(names)]:
            children[name].ask("round")
    results = {}
    for name in names:
        summary = children[name].ask("done")
        if summary is None:
            continue
        summary["warm"] = warm[name]
        results[name] = summary
    report_failures(children)
    return results


def report_failures(children: dict[str, Child]) -> list[str]:
    """Print, loudly, each child that could not run and why; return their names.

    A benchmark never fails CI (it exits 0 whatever it measures), so a side that did not run must
    be impossible to miss in its output: a banner per failed side with the child's own error, and
    the ratios that need it say FAILED instead of n/a.
    """
    failed = [name for name, child in children.items() if child.failed]
    for name in failed:
        print(f"  !!!! {name}: FAILED, the harness could not run this side; nothing with it is measured")
        for line in (children[name].failed or "").splitlines():
            print(f"  !!!!   {line}")
    return failed


def paired(results: dict[str, dict[str, Any]], top: str, bottom: str,
           key: str = "value") -> tuple[float, float, float] | None:
    """Ratio of the medians top/bottom, with the smallest and largest ratio of same-index rounds.

    `key` is "value" (per wall second) or "cpu" (per CPU second); rounds are under key's
    "rounds" / "cpu_rounds".
    """
    if top not in results or bottom not in results or not results[bottom].get(key):
        return None
    rounds = "rounds" if key == "value" else f"{key}_rounds"
    pairs = [x / y for x, y in zip(results[top][rounds], results[bottom][rounds], strict=False) if y]
    if not pairs:
        return None
    return results[top][key] / results[bottom][key], min(pairs), max(pairs)


def ratio_text(results: dict[str, dict[str, Any]], top: str, bottom: str) -> str:
    """'wall 0.51x (rounds a-b), cpu 0.50x (rounds c-d)' for top/bottom."""
    missing = [name for name in (top, bottom) if name not in results]
    if missing:
        return f"{top}/{bottom} FAILED ({', '.join(missing)} did not run)"
    parts = []
    for key, label in (("value", "wall"), ("cpu", "cpu")):
        value = paired(results, top, bottom, key)
        parts.append(f"{label} n/a" if value is None
                     else f"{label} {value[0]:.2f}x ({value[1]:.2f}-{value[2]:.2f})")
    return f"{top}/{bottom} " + ", ".join(parts)


def _seed_db(workdir: Path) -> str | None:
    env = child_env(workdir, 0.0)
    done = subprocess.run([sys.executable, "-m", "bench.bench_request", "--seed"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    return None if done.returncode == 0 else done.stderr[-1500:]


def _print_rate(rate: float, results: dict[str, dict[str, Any]]) -> None:
    none = results.get("none", {})
    for name in CONFIGS:
        r = results.get(name)
        if r is None:
            continue
        items = r.get("items") or {}
        sent = ", ".join(f"{n} {k}" for k, n in sorted(items.items())) or "-"
        if name == "ours+inbox":
            sent = f"inbox (dropped {r.get('inbox_dropped')})"
        status = ",".join(sorted(r.get("status") or {}))
        wall = f"{r['value'] / none['value']:5.2f}x" if none.get("value") else "  n/a"
        cpu = f"{r['cpu'] / none['cpu']:5.2f}x" if none.get("cpu") else "  n/a"
        print(f"  {rate:<4} {name:<11} {r['value']:7.0f}  {wall}  {r['cpu']:9.0f}  {cpu}  "
              f"{r['requests']:6d}  {status:<7} {sent}")
    print(f"  R={rate}: {ratio_text(results, 'plain', 'none')}")
    print(f"  R={rate}: {ratio_text(results, 'ours', 'none')}")
    print(f"  R={rate}: {ratio_text(results, 'ours', 'plain')}  <- key ratio")
    print(f"  R={rate}: {ratio_text(results, 'ours+inbox', 'ours')}")
    if {"none", "plain", "ours"} <= results.keys():
        t = {k: 1.0 / results[k]["cpu"] for k in ("none", "plain", "ours") if results[k]["cpu"]}
        if len(t) == 3 and t["plain"] > t["none"]:
            print(f"  R={rate}: our additions beside the SDK's own cost (CPU): "
                  f"(t_ours - t_plain) / (t_plain - t_none) = "
                  f"{(t['ours'] - t['plain']) / (t['plain'] - t['none']):+.2f}")


def main() -> None:
    """Print requests/s per configuration and sample rate, and the ratios against the anchors."""
    print("Per-request cost of error tracking: GET /api/books/ through config.wsgi.application "
          f"(in-process WSGI, SQLite, {BOOKS} books)")
    print(f"  each config in its own subprocess; {ROUNDS} rounds of {ROUND_SECONDS} s after warm-up, "
          "interleaved one child at a time; req/s = median of rounds")
    print("  absolute rates are noise on a shared machine; the ratios are the result. wall = req/s,")
    print("  cpu = requests per CPU-second of the child (steadier when others load the cores);")
    print("  (a-b) = smallest and largest ratio of same-index rounds")
    if SMOKE:
        print("  BENCH_SMOKE=1: a tiny workload that only shows every side runs; its numbers mean nothing")
    with tempfile.TemporaryDirectory(prefix="bench-request-") as tmp:
        workdir = Path(tmp)
        problem = _seed_db(workdir)
        if problem:
            print(f"  seeding the database FAILED, nothing measured:\n{problem}")
            return
        print(f"  {'R':<4} {'config':<11} {'req/s':>7}  {'x none':>6}  {'req/CPU-s':>9}  {'x none':>6}  "
              f"{'reqs':>6}  {'status':<7} envelope items")
        for rate in RATES:
            children = {name: Child(name, ["-m", "bench.bench_request", "--child", name, str(rate)],
                                    child_env(workdir, rate), workdir) for name in CONFIGS}
            try:
                results = interleave(children, ROUNDS)
            finally:
                for child in children.values():
                    child.close()
            _print_rate(rate, results)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(sys.argv[2], float(sys.argv[3]))
    elif sys.argv[1:2] == ["--seed"]:
        _seed()
    else:
        main()
