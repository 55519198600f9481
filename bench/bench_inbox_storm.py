"""Benchmark: how many events a second a storm captures into the local inbox, counted exactly.

Run with ``.venv/bin/python -m bench.bench_inbox_storm``. A loop gone wrong: errors of 500 kinds
raised and captured with ``sentry_sdk.capture_exception`` as fast as the loop goes. Each
configuration runs in subprocesses of its own (``sentry_sdk.init`` is process-global):

    plain        sentry_sdk.init(dsn, DjangoIntegration()) with a discarding transport: the anchor,
                 the capture rate the SDK itself sustains
    ours         the real init_sentry (before_send: ignore, trim, scrub, classify, alert observe),
                 discarding transport: what our pipeline costs before anything is stored
    inbox        the real default: init_sentry and the local inbox (SENTRY_STORM_KEEP=10)
    inbox-all    the same with SENTRY_STORM_KEEP=10000: every payload stored, the writer's
                 whole load (what the inbox did before it sampled)
    inbox-one    the default inbox, but the storm is of one kind: sampling at its strongest
    inbox x2/x3  two or three inbox processes at once, one inbox file

Rounds of each single-process configuration are interleaved so drift on the shared machine hits all
alike; each round captures EVENTS events, then flushes. Figures are medians of the rounds:
events/s by wall clock and by process CPU (the steadier one on a busy machine; it includes the
writer thread), the time the final flush took, and whether the inbox counted exactly (counted ==
captured) with how many payloads it kept and lost. The inbox child also times its writer thread
(thread CPU against wall time inside each batch write: wall far above CPU means it waited for the
GIL or the file's lock) and, for inbox-all, profiles the writer's work per item. Times are noise;
the ratios against plain in the same run are the result. It never asserts.
"""

from __future__ import annotations

import cProfile
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.bench_request import ROOT, Child, child_env, serve

EVENTS = int(os.environ.get("BENCH_STORM_EVENTS", "3000"))
KINDS = 500
ROUNDS = 5
CONFIGS = ("plain", "ours", "inbox", "inbox-all", "inbox-one")
KEEP = {"inbox": "10", "inbox-all": "10000", "inbox-one": "10"}


def _fail(kind: type[Exception], n: int) -> None:
    raise kind(f"loop iteration {n} went wrong")


def _storm(types: list[type[Exception]], count: int, start: int = 0) -> None:
    import sentry_sdk

    for n in range(start, start + count):
        try:
            _fail(types[n % len(types)], n)
        except Exception as exc:
            sentry_sdk.capture_exception(exc)


class _WriterClock:
    """Thread CPU and wall time spent inside the inbox writer's batch writes (and a profile of them)."""

    def __init__(self, profile: bool):
        from errorwarden.local.transport import LocalInboxTransport

        self.cpu = self.wall = 0.0
        self.batches = 0
        self.profile = cProfile.Profile() if profile else None
        original = LocalInboxTransport._write_batch
        clock = self

        def timed_write_batch(transport: Any, *args: Any, **kwargs: Any) -> bool:
            cpu, wall = time.thread_time(), time.perf_counter()
            if clock.profile is not None:
                clock.profile.enable()
            try:
                return original(transport, *args, **kwargs)
            finally:
                if clock.profile is not None:
                    clock.profile.disable()
                clock.cpu += time.thread_time() - cpu
                clock.wall += time.perf_counter() - wall
                clock.batches += 1

        LocalInboxTransport._write_batch = timed_write_batch

    def top(self, limit: int = 8) -> list[tuple[str, float]]:
        """The writer's functions by own time, as shares of its profiled total."""
        if self.profile is None:
            return []
        stats = pstats.Stats(self.profile, stream=io.StringIO())
        total = stats.total_tt or 1.0
        rows = sorted(stats.stats.items(), key=lambda item: -item[1][2])[:limit]
        return [(f"{Path(file).name}:{line}({name})", tt / total)
                for (file, line, name), (_, _, tt, _, _) in rows]


def _child(config: str) -> None:
    from bench.bench_request import boot

    writer = _WriterClock(profile=config == "inbox-all") if config.startswith("inbox") else None
    discard = boot({"plain": "plain", "ours": "ours"}.get(config, "ours+inbox"), 0.0)
    import sentry_sdk

    from errorwarden.local import InboxStore

    types = [type(f"Storm{k}Error", (Exception,), {}) for k in range(1 if config == "inbox-one" else KINDS)]
    captured = 0
    _storm(types, 200)  # warm-up: imports, caches, the inbox file's schema
    sentry_sdk.flush(timeout=30)
    captured += 200
    rounds: list[dict[str, float]] = []

    def one_round() -> dict[str, Any]:
        nonlocal captured
        cpu, wall = time.process_time(), time.perf_counter()
        _storm(types, EVENTS, captured)
        loop = time.perf_counter() - wall
        flushed = time.perf_counter()
        sentry_sdk.flush(timeout=60)
        done = time.perf_counter()
        captured += EVENTS
        rounds.append({"rate": EVENTS / loop, "cpu_rate": EVENTS / (time.process_time() - cpu),
                       "flush": done - flushed, "with_flush": EVENTS / (done - wall)})
        return {"value": rounds[-1]["rate"]}

    def done() -> dict[str, Any]:
        summary: dict[str, Any] = {"config": config, "captured": captured, "rounds": rounds}
        if discard is not None:
            summary["received"] = discard.items.get("event", 0)
        if writer is not None:
            from errorwarden.runtime import current_runtime

            runtime = current_runtime()
            store = InboxStore(runtime.settings.inbox_path)
            summary.update(store.totals(), losses=runtime.losses.total(),
                           writer_cpu=writer.cpu, writer_wall=writer.wall, batches=writer.batches,
                           profile=writer.top())
        return summary

    serve({"round": one_round, "done": done})


def _capturing_thread_us(folder: Path) -> float:
    """CPU microseconds the inbox transport's capture_envelope takes on the capturing thread (count and
    sample; the writer kept asleep), median of rounds over 2,000 real events of 500 kinds."""
    import sentry_sdk
    from sentry_sdk.envelope import Envelope
    from sentry_sdk.transport import Transport

    from errorwarden.local import InboxStore, LocalInboxTransport

    envelopes: list[Envelope] = []

    class Keep(Transport):
        def capture_envelope(self, envelope: Envelope) -> None:
            envelopes.append(envelope)

    client = sentry_sdk.Client(dsn="http://k@127.0.0.1/1", transport=Keep(), default_integrations=False)
    types = [type(f"Storm{k}Error", (Exception,), {}) for k in range(KINDS)]
    with sentry_sdk.isolation_scope() as scope:
        scope.set_client(client)
        _storm(types, 2000)
    transport = LocalInboxTransport.for_store(InboxStore(folder / "capturing.sqlite3"), queue_size=10**6,
                                              linger=3600.0)
    rounds = []
    for _ in range(5):
        cpu = time.thread_time()
        for envelope in envelopes:
            transport.capture_envelope(envelope)
        rounds.append((time.thread_time() - cpu) / len(envelopes) * 1e6)
    return statistics.median(rounds)


def _median(rounds: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in rounds) if rounds else 0.0


def _together(workdir: Path, processes: int) -> dict[str, Any]:
    """`processes` inbox processes storming one file at once; their summed rate and the file's counts."""
    inbox = workdir / f"together-{processes}.sqlite3"
    env = child_env(workdir, 0.0, SENTRY_INBOX_PATH=str(inbox), SENTRY_STORM_KEEP="10",
                    SENTRY_INBOX_MAX_EVENTS="1000000")
    argv = [sys.executable, "-m", "bench.bench_inbox_storm", "--together", str(EVENTS)]
    procs = [subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True) for _ in range(processes)]
    reports = []
    for proc in procs:
        out, _ = proc.communicate(timeout=600)
        lines = [line for line in out.splitlines() if line.startswith("{")]
        if lines:
            reports.append(json.loads(lines[-1]))
    from errorwarden.local import InboxStore

    totals = InboxStore(inbox).totals()
    return {"processes": processes, "reports": reports, **totals}


def _together_child(count: int) -> None:
    from bench.bench_request import boot

    boot("ours+inbox", 0.0)
    import sentry_sdk

    types = [type(f"Storm{k}Error", (Exception,), {}) for k in range(KINDS)]
    _storm(types, 200)
    sentry_sdk.flush(timeout=30)
    cpu, wall = time.process_time(), time.perf_counter()
    _storm(types, count, 200)
    sentry_sdk.flush(timeout=120)
    print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
                      "captured": count + 200}), flush=True)


def main() -> None:
    """Print events/s per configuration, the ratios to plain, exactness, the writer's load and profile."""
    print(f"A storm into the local inbox: errors of {KINDS} kinds captured in a loop, {EVENTS} per round, "
          f"{ROUNDS} rounds interleaved")
    print("  events/s by wall clock and by process CPU (the writer thread included); medians of rounds; "
          "absolute rates are noise on a shared machine, the ratios to plain are the result")
    with tempfile.TemporaryDirectory(prefix="bench-inbox-storm-") as tmp:
        workdir = Path(tmp)
        children = {}
        for name in CONFIGS:
            extra = {"SENTRY_INBOX_PATH": str(workdir / f"{name}.sqlite3"),
                     "SENTRY_INBOX_MAX_EVENTS": "1000000"}
            if name in KEEP:
                extra["SENTRY_STORM_KEEP"] = KEEP[name]
            children[name] = Child(name, ["-m", "bench.bench_inbox_storm", "--child", name],
                                   child_env(workdir, 0.0, **extra), workdir)
        results: dict[str, dict[str, Any]] = {}
        try:
            for i in range(ROUNDS):
                for name in CONFIGS[i % len(CONFIGS):] + CONFIGS[:i % len(CONFIGS)]:
                    children[name].ask("round")
            for name, child in children.items():
                summary = child.ask("done")
                if summary is None:
                    print(f"  {name}: FAILED ({child.failed})")
                else:
                    results[name] = summary
        finally:
            for child in children.values():
                child.close()
        together = [_together(workdir, n) for n in (2, 3)]
        capturing = _capturing_thread_us(workdir)
    _report(results, together)
    plain = _median(results.get("plain", {}).get("rounds") or [], "cpu_rate")
    share = f", {capturing / (1e6 / plain):.1%} of plain's CPU per event" if plain else ""
    print(f"  the inbox transport on the capturing thread (count per issue and minute, sample): "
          f"{capturing:.1f} us CPU per event{share}")


def _report(results: dict[str, dict[str, Any]], together: list[dict[str, Any]]) -> None:
    plain = results.get("plain", {}).get("rounds") or []
    plain_rate, plain_cpu = _median(plain, "rate"), _median(plain, "cpu_rate")
    print(f"  {'config':<10} {'events/s':>9} {'per CPU s':>10} {'x plain':>8} {'x plain CPU':>12} "
          f"{'flush s':>8}  counted / captured, kept, lost")
    for name in CONFIGS:
        r = results.get(name)
        if not r:
            continue
        rate, cpu = _median(r["rounds"], "rate"), _median(r["rounds"], "cpu_rate")
        exact = (f"{r['events']} / {r['captured']}, {r['kept']} kept, {r['losses']} lost" if "events" in r
                 else f"(discarded {r.get('received', 0)} / {r['captured']})")
        print(f"  {name:<10} {rate:9.0f} {cpu:10.0f} {rate / plain_rate if plain_rate else 0:8.2f} "
              f"{cpu / plain_cpu if plain_cpu else 0:12.2f} {_median(r['rounds'], 'flush'):8.3f}  {exact}")
    for name in ("inbox", "inbox-all", "inbox-one"):
        r = results.get(name)
        if r and r.get("captured"):
            per, batch = 1e6 / r["captured"], r["captured"] / max(1, r["batches"])
            cpu, wall = r["writer_cpu"] * per, r["writer_wall"] * per
            print(f"  {name} writer thread: {cpu:.0f} us CPU and {wall:.0f} us wall per captured event, "
                  f"in {r['batches']} batch writes ({batch:.0f} events a batch)")
            for where, share in r.get("profile") or []:
                print(f"      {share:6.1%}  {where}")
    for t in together:
        reports = t["reports"]
        if len(reports) != t["processes"]:
            print(f"  inbox x{t['processes']}: {len(reports)} of {t['processes']} processes reported")
            continue
        wall = max(r["wall"] for r in reports)
        cpu = sum(r["cpu"] for r in reports)
        events = EVENTS * t["processes"]
        captured = sum(r["captured"] for r in reports)
        versus = events / wall / plain_rate if plain_rate else 0.0
        print(f"  inbox x{t['processes']} on one file: {events / wall:.0f} events/s together "
              f"({events / cpu:.0f} per CPU s, {versus:.2f}x one plain process), "
              f"counted {t['events']} / captured {captured}, {t['kept']} kept")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(sys.argv[2])
    elif sys.argv[1:2] == ["--together"]:
        _together_child(int(sys.argv[2]))
    else:
        os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
        main()
