"""Benchmark: the per-event cost of capture_exception, plain sentry-sdk against our init, in one run.

Run with ``.venv/bin/python -m bench.bench_capture``. Two workloads, each captured from a view-like
except block:

    locals  a few large locals, three frames deep (a 20 KB string, a 200-entry dict, a 500-item
            list, a token and an email); the same message every time
    ledger  the shape measured from outside the project (issue 16): a 50-key dict of short
            sentences, 100 row strings with dates and a 2 KB text as locals, and a message that
            changes with every capture ("could not reconcile ledger entry <n>")

Three configurations, each in its own subprocess (sentry_sdk.init is process-global):

    plain        sentry_sdk.init(dsn, DjangoIntegration()) with the SDK's own defaults: its
                 EventScrubber runs and max_value_length is unset (no cut): what a project has
                 before it switches to ours
    plain-8192   the same with max_value_length=8192: the SDK cutting strings at ours' string cap
                 (ours leaves max_value_length unset and cuts at trimming.STRING_CAP in its trim)
    ours         the real init_sentry from the project's settings: before_send runs
                 drop-ignored -> trim -> scrub -> classify -> alert observe

So two ratios come out of one run: ours/plain is the user's real switch (each side's defaults),
ours/plain-8192 compares at an equal string cap. All hand envelopes to the same discarding transport
(bench.bench_request.DiscardTransport), so no I/O is measured. The parent asks the children for
short timed rounds in turn, so drift on the shared machine hits all alike. The result is the ratio
of process CPU time per event (time.process_time, the SDK's threads included); wall-clock ratios
are printed beside it but are noise on a busy machine.

The ``ours`` child also times each before_send step, by thread CPU time (time.thread_time), on two
events: the locals event, and a small event seen before (a short message and locals the scrubber
has met), where the scrub's caches answer and the other steps' fixed costs show. Beside them the
SDK's EventScrubber on the same event. It never asserts.
"""

from __future__ import annotations

import copy
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.bench_request import SMOKE, Child, boot, child_env, report_failures, serve, timed

CONFIGS = ("plain", "plain-8192", "ours")
WORKLOADS = ("locals", "ledger")
MAX_VALUE_LENGTH = 8192
WARMUP_SECONDS = 0.02 if SMOKE else 0.5  # BENCH_SMOKE=1: see bench.bench_request.SMOKE
ROUND_SECONDS = 0.02 if SMOKE else 0.2
ROUNDS = 2 if SMOKE else 15
STEP_CALLS = 3 if SMOKE else 300
SECRET_TOKEN = "Bearer 9fQ2xL7vK3pZ8rT1wY6uN4mBq7w8e9r0"


def _reserve(order_id: int, catalogue: dict[str, Any], readers: list[str]) -> None:
    reader = readers[order_id % len(readers)]
    headers = {"Authorization": SECRET_TOKEN, "X-Reader": reader}
    if order_id not in catalogue:
        raise LookupError(f"Order {order_id} not found for {reader} ({len(headers)} headers)")


def _handle(order_id: int, log_text: str) -> None:
    catalogue = {f"book-{i}": {"title": f"The Book of {i}", "isbn": f"978-0-{i:09d}",
                               "notes": "returned late, cover torn " * 8} for i in range(200)}
    readers = [f"reader{i}@example.com" for i in range(500)]
    _reserve(order_id, catalogue, readers)


def capture_once() -> None:
    """The locals workload: raise the benchmark's error and capture it, as a view's except block would."""
    import sentry_sdk

    log_text = "GET /api/books/?page=2 HTTP/1.1 200 1432 0.004s " * 420  # about 20 KB
    try:
        _handle(42, log_text)
    except LookupError as exc:
        sentry_sdk.capture_exception(exc)


_LEDGER = {"n": 0}
_SENTENCES = {f"field_{i:02d}": f"the reader returned volume {i} two days after the due date"
              for i in range(50)}
_ROWS = [f"2026-11-{1 + i % 28:02d} 09:{i % 60:02d}:00 loan {1000 + i} closed by branch {i % 7}"
         for i in range(100)]
_TEXT = ("Reconciliation notes: totals are compared per branch and per day; " * 32)[:2048]


def _reconcile(entry: int, fields: dict[str, str], rows: list[str], notes: str) -> None:
    raise RuntimeError(f"could not reconcile ledger entry {entry}")


def capture_ledger() -> None:
    """The ledger workload (issue 16's measurement): a new message with every capture."""
    import sentry_sdk

    _LEDGER["n"] += 1
    try:
        _reconcile(_LEDGER["n"], dict(_SENTENCES), list(_ROWS), _TEXT)
    except RuntimeError as exc:
        sentry_sdk.capture_exception(exc)


def _small(order: int) -> None:
    note = "reader asked twice"
    raise LookupError(f"Order {order} not found ({note})")


def capture_small() -> None:
    """A small event whose every string the scrubber has seen before (the same order each time)."""
    import sentry_sdk

    try:
        _small(42)
    except LookupError as exc:
        sentry_sdk.capture_exception(exc)


CAPTURES = {"locals": capture_once, "ledger": capture_ledger}


def _interleaved_us(funcs: dict[str, Callable[[], Callable[[], Any]]], calls: int) -> dict[str, float]:
    """Median thread-CPU microseconds per call of each function, timed in turn so drift hits them alike.

    Each entry makes a fresh zero-argument call (its input copied outside the clock). Thread CPU
    time leaves out the time other tenants of the machine hold the core.
    """
    clock = time.thread_time
    times: dict[str, list[float]] = {name: [] for name in funcs}
    for _ in range(calls):
        for name, make in funcs.items():
            call = make()
            start = clock()
            call()
            times[name].append(clock() - start)
    return {name: statistics.median(values) * 1e6 for name, values in times.items()}


def _grab(capture: Callable[[], None]) -> tuple[dict, dict] | None:
    """The event and hint before_send receives for one capture (the pipeline still runs)."""
    import sentry_sdk

    client = sentry_sdk.get_client()
    original = client.options["before_send"]
    seen: list[tuple[dict, dict]] = []

    def grab(event: dict, hint: dict) -> dict | None:
        seen.append((copy.deepcopy(event), hint))
        return original(event, hint)

    client.options["before_send"] = grab
    try:
        capture()
    finally:
        client.options["before_send"] = original
    return seen[-1] if seen else None


def _steps(capture: Callable[[], None]) -> dict[str, Any]:
    """Time each before_send step of ours, and the SDK's EventScrubber, on one captured event."""
    from sentry_sdk.scrubber import EventScrubber

    from errorwarden.event import VERDICT
    from errorwarden.runtime import current_runtime

    runtime = current_runtime()
    for _ in range(3):  # seen before: the scrubber's and the classifier's caches know its strings
        capture()
    grabbed = _grab(capture)
    if runtime is None or grabbed is None:
        return {"error": "no event reached before_send"}
    event, hint = grabbed
    scrubbed = runtime.scrubber.scrub_event(copy.deepcopy(event))
    classified_hint = dict(hint)
    # Alert observe runs on the classified event (the pipeline's order), so it is timed on one.
    classified = runtime.classifier(copy.deepcopy(scrubbed), classified_hint)
    sdk_scrubber = EventScrubber()

    def on_copy(func: Callable[[dict], Any], source: dict) -> Callable[[], Callable[[], Any]]:
        def make() -> Callable[[], Any]:
            item = copy.deepcopy(source)
            return lambda: func(item)
        return make

    stage = {s.name: s.step for s in runtime.before_send.stages}
    observe_hint = {VERDICT: classified_hint.get(VERDICT)}
    steps: dict[str, Any] = _interleaved_us({
        "before_send": on_copy(lambda e: runtime.before_send(e, dict(hint)), event),
        "ignore": on_copy(lambda e: stage["ignore"](e, hint), event),
        "trim": on_copy(lambda e: stage["trim"](e, hint), event),
        "scrub": on_copy(runtime.scrubber.scrub_event, event),
        "classify": on_copy(lambda e: runtime.classifier(e, dict(hint)), scrubbed),
        "alert observe": on_copy(lambda e: runtime.alerts.observe_event(e, observe_hint), classified),
        "sdk EventScrubber": on_copy(sdk_scrubber.scrub_event, event),
    }, STEP_CALLS)
    steps["event_kb"] = len(json.dumps(event, default=str)) / 1024
    return steps


def _cap_values() -> None:
    """Every sentry_sdk.init in this process gets max_value_length (unless it sets one)."""
    import sentry_sdk

    real = sentry_sdk.init

    def init(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("max_value_length", MAX_VALUE_LENGTH)
        return real(*args, **kwargs)

    sentry_sdk.init = init


def _child(config: str) -> None:
    if config == "plain-8192":
        _cap_values()
    discard = boot("plain" if config.startswith("plain") else config, 0.1)
    import sentry_sdk

    options = sentry_sdk.get_client().options
    rates: dict[str, list[float]] = {w: [] for w in WORKLOADS}
    cpu_rates: dict[str, list[float]] = {w: [] for w in WORKLOADS}
    counts = {"timed": 0, "captured": 0}

    def warm() -> dict[str, Any]:
        for capture in CAPTURES.values():
            count, _, _ = timed(capture, WARMUP_SECONDS)
            counts["captured"] += count
        return {"value": 0.0}

    def one_round(workload: str) -> Callable[[], dict[str, Any]]:
        def run() -> dict[str, Any]:
            count, elapsed, cpu = timed(CAPTURES[workload], ROUND_SECONDS)
            counts["timed"] += count
            counts["captured"] += count
            rates[workload].append(count / elapsed)
            cpu_rates[workload].append(count / cpu if cpu else 0.0)
            return {"value": rates[workload][-1], "cpu": cpu_rates[workload][-1]}
        return run

    def done() -> dict[str, Any]:
        events = discard.items.get("event", 0) if discard is not None else 0
        summary: dict[str, Any] = {"config": config, "max_value_length": options.get("max_value_length"),
                                   "events": events, **counts}
        for w in WORKLOADS:
            summary[w] = {"value": statistics.median(rates[w]) if rates[w] else 0.0, "rounds": rates[w],
                          "cpu": statistics.median(cpu_rates[w]) if cpu_rates[w] else 0.0,
                          "cpu_rounds": cpu_rates[w]}
        if config == "ours":
            summary["steps"] = {"locals": _steps(capture_once), "small": _steps(capture_small)}
        return summary

    serve({"warm": warm, **{f"round-{w}": one_round(w) for w in WORKLOADS}, "done": done})


def _interleave(children: dict[str, Child]) -> dict[str, dict[str, Any]]:
    """Warm every child up, then ROUNDS rounds per workload in rotating order, one child at a time."""
    names = list(children)
    for name in names:
        children[name].ask("warm")
    for i in range(ROUNDS):
        for workload in WORKLOADS:
            for name in names[i % len(names):] + names[:i % len(names)]:
                children[name].ask(f"round-{workload}")
    results = {}
    for name in names:
        summary = children[name].ask("done")
        if summary is not None:
            results[name] = summary
    report_failures(children)
    return results


def _ratio(results: dict[str, dict[str, Any]], ours: str, plain: str, workload: str,
           key: str) -> tuple[float, float, float] | None:
    """Cost per event ours/plain (= plain's events per second over ours'), with the range over rounds."""
    a, b = results.get(ours, {}).get(workload), results.get(plain, {}).get(workload)
    rounds = "rounds" if key == "value" else "cpu_rounds"
    if not a or not b or not a.get(key) or not b.get(key):
        return None
    pairs = [y / x for x, y in zip(a[rounds], b[rounds], strict=False) if x]
    return b[key] / a[key], min(pairs), max(pairs)


def _ratio_text(results: dict[str, dict[str, Any]], plain: str, workload: str) -> str:
    missing = [name for name in ("ours", plain) if name not in results]
    if missing:
        return f"FAILED ({', '.join(missing)} did not run)"
    parts = []
    for key, label in (("cpu", "process CPU"), ("value", "wall")):
        value = _ratio(results, "ours", plain, workload, key)
        parts.append(f"{label} n/a" if value is None
                     else f"{label} {value[0]:.2f}x (rounds {value[1]:.2f}-{value[2]:.2f})")
    return ", ".join(parts)


def _print_steps(steps: dict[str, Any], plain_us: float | None) -> None:
    if "before_send" not in steps:
        print(f"      step timing unavailable: {steps}")
        return
    for step in ("before_send", "ignore", "trim", "scrub", "classify", "alert observe", "sdk EventScrubber"):
        share = f"  {steps[step] / plain_us:6.1%} of plain's CPU us/event" if plain_us else ""
        print(f"        {step:<18} {steps[step]:8.1f} us{share}")
    scrub = steps["scrub"]
    cheaper = [s for s in ("trim", "classify", "alert observe") if steps[s] < scrub]
    dearer = [s for s in ("trim", "classify", "alert observe") if steps[s] >= scrub]
    print(f"      cheaper than the scrub: {', '.join(cheaper) or 'none'}; not: {', '.join(dearer) or 'none'}")


def main() -> None:
    """Print CPU microseconds per captured event per configuration and workload, both ratios, ours' steps."""
    print("Per-event cost of sentry_sdk.capture_exception; workloads: locals (20 KB str, 200-key dict, "
          "500-item list; one message), ledger (50-key dict, 100 rows, 2 KB text; a new message each time)")
    print(f"  plain, plain-8192 and ours each in its own subprocess, discarding transport; {ROUNDS} rounds "
          f"of {ROUND_SECONDS} s per workload after warm-up, interleaved; us/event = median of rounds")
    print("  the result is process CPU per event (the SDK's threads included); wall time is noise on a "
          "shared machine")
    if SMOKE:
        print("  BENCH_SMOKE=1: a tiny workload that only shows every side runs; its numbers mean nothing")
    with tempfile.TemporaryDirectory(prefix="bench-capture-") as tmp:
        workdir = Path(tmp)
        children = {name: Child(name, ["-m", "bench.bench_capture", "--child", name],
                                child_env(workdir, 0.1), workdir) for name in CONFIGS}
        try:
            results = _interleave(children)
        finally:
            for child in children.values():
                child.close()
    print(f"  {'config':<11} {'max_value_length':>16} {'workload':<8} {'CPU us/event':>13} {'us/event':>9}  "
          f"events sent / captured")
    for name in CONFIGS:
        r = results.get(name)
        if r is None:
            continue
        for w in WORKLOADS:
            if r[w]["cpu"] and r[w]["value"]:
                print(f"  {name:<11} {r['max_value_length']!s:>16} {w:<8} {1e6 / r[w]['cpu']:13.0f} "
                      f"{1e6 / r[w]['value']:9.0f}  {r['events']} / {r['captured']}")
    for w in WORKLOADS:
        print(f"  {w}: ours/plain (each side's defaults: the user's switch) "
              f"{_ratio_text(results, 'plain', w)}  <- result (target <= 1.2x)")
        print(f"  {w}: ours/plain-8192 (equal string cap, 8192 characters)  "
              f"{_ratio_text(results, 'plain-8192', w)}")
    steps = results.get("ours", {}).get("steps") or {}
    plain_cpu = results.get("plain", {}).get("locals", {}).get("cpu")
    for label, key, anchor in (("the locals event", "locals", plain_cpu),
                               ("a small event seen before", "small", None)):
        if key in steps:
            kb = steps[key].get("event_kb", 0.0)
            print(f"    ours' before_send steps on {label} ({kb:.1f} KB JSON), median thread CPU of "
                  f"{STEP_CALLS} interleaved calls:")
            _print_steps(steps[key], 1e6 / anchor if anchor else None)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(sys.argv[2])
    else:
        main()
