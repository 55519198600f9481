"""Benchmark: the per-event cost of capture_exception, plain sentry-sdk against our init, in one run.

Run with ``.venv/bin/python -m bench.bench_capture``. The error is raised three frames deep with
a few large locals (a 20 KB string, a 200-entry dict, a 500-item list, a token and an email).

    plain  sentry_sdk.init(dsn, DjangoIntegration()): the SDK's default EventScrubber runs
    ours   the real init_sentry from the project's settings: before_send runs
           drop-ignored -> scrub -> classify -> alert observe (the SDK's scrubber is off);
           ours-hyperscan and ours-python are the same with the scrubber's prefilter narrowed
           to hyperscan or to none (prefilter.AUTO), where those paths can run; ours takes
           'auto', which is google-re2

Both cap values at max_value_length=8192, as sentry_config.py does (docs/scrubbing.md).

Both hand envelopes to the same discarding transport (bench.bench_request.DiscardTransport), so
no I/O is measured. Each configuration runs in its own subprocess, because sentry_sdk.init is
process-global and re-initialising in one process would carry one setup's state into the other;
the parent asks the two children for short timed rounds in turn, so drift on the shared machine
hits both alike. The ``ours`` child also totals the time its before_send takes inside the capture
loop, and afterwards times each before_send step on one captured event, against the SDK's
EventScrubber on the same event (those warm medians run lower than the in-loop total: there the
steps follow the SDK's serializer through the caches). Times are noise; the ratios are the result.
It never asserts.
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

from bench.bench_request import Child, boot, child_env, interleave, paired, serve, timed

CONFIGS = ("plain", "ours", "ours-hyperscan", "ours-python")
MAX_VALUE_LENGTH = 8192
WARMUP_SECONDS = 0.5
ROUND_SECONDS = 0.2
ROUNDS = 25
STEP_CALLS = 200
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
    """Raise the benchmark's error and capture it, as a view's except block would."""
    import sentry_sdk

    log_text = "GET /api/books/?page=2 HTTP/1.1 200 1432 0.004s " * 420  # about 20 KB
    try:
        _handle(42, log_text)
    except LookupError as exc:
        sentry_sdk.capture_exception(exc)


def _interleaved_us(funcs: dict[str, Callable[[], Callable[[], Any]]], calls: int) -> dict[str, float]:
    """Median microseconds per call of each function, timed in turn so drift hits them alike.

    Each entry makes a fresh zero-argument call (its input copied outside the clock).
    """
    times: dict[str, list[float]] = {name: [] for name in funcs}
    for _ in range(calls):
        for name, make in funcs.items():
            call = make()
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) * 1e6 for name, values in times.items()}


def _steps() -> dict[str, Any]:
    """Time each before_send step of ours, and the SDK's EventScrubber, on one captured event."""
    import sentry_sdk
    from sentry_sdk.scrubber import EventScrubber

    from errorwarden.runtime import current_runtime

    runtime = current_runtime()
    client = sentry_sdk.get_client()
    original = client.options["before_send"]
    seen: list[tuple[dict, dict]] = []

    def grab(event: dict, hint: dict) -> dict | None:
        seen.append((copy.deepcopy(event), hint))
        return original(event, hint)

    client.options["before_send"] = grab
    try:
        capture_once()
    finally:
        client.options["before_send"] = original
    if runtime is None or not seen:
        return {"error": "no event reached before_send"}
    event, hint = seen[0]
    scrubbed = runtime.scrubber.scrub_event(copy.deepcopy(event))
    sdk_scrubber = EventScrubber()

    def on_copy(func: Callable[[dict], Any], source: dict) -> Callable[[], Callable[[], Any]]:
        def make() -> Callable[[], Any]:
            item = copy.deepcopy(source)
            return lambda: func(item)
        return make

    stage = {s.name: s.step for s in runtime.before_send.stages}
    steps: dict[str, Any] = _interleaved_us({
        "before_send": on_copy(lambda e: runtime.before_send(e, hint), event),
        "ignore": on_copy(lambda e: stage["ignore"](e, hint), event),
        "trim": on_copy(lambda e: stage["trim"](e, hint), event),
        "scrub": on_copy(runtime.scrubber.scrub_event, event),
        "classify": on_copy(lambda e: runtime.classifier(e, hint), scrubbed),
        "alert observe": lambda: lambda: runtime.alerts.observe_event(scrubbed),
        "sdk EventScrubber": on_copy(sdk_scrubber.scrub_event, event),
    }, STEP_CALLS)
    steps["event_kb"] = len(json.dumps(event, default=str)) / 1024
    return steps


def _time_before_send() -> list[float]:
    """Wrap the client's before_send to total its time inside the capture loop: [seconds, calls].

    The step medians of _steps run one warm event in a tight loop; inside capture_exception the
    same steps run after the SDK's serializer has gone through the caches, and cost more. The
    wrapper itself adds two clock reads per event.
    """
    import sentry_sdk

    client = sentry_sdk.get_client()
    original = client.options["before_send"]
    spent = [0.0, 0.0]
    clock = time.perf_counter

    def before_send(event: dict, hint: dict) -> dict | None:
        start = clock()
        try:
            return original(event, hint)
        finally:
            spent[0] += clock() - start
            spent[1] += 1

    client.options["before_send"] = before_send
    return spent


def _cap_values() -> None:
    """Every sentry_sdk.init in this process gets max_value_length (unless it sets one)."""
    import sentry_sdk

    real = sentry_sdk.init

    def init(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("max_value_length", MAX_VALUE_LENGTH)
        return real(*args, **kwargs)

    sentry_sdk.init = init


def _child(config: str) -> None:
    from errorwarden.scrubbing import prefilter

    _cap_values()
    engine = config.partition("-")[2]
    if engine:
        prefilter.AUTO = () if engine == "python" else (engine,)
    discard = boot("ours" if engine else config, 0.1)
    in_loop = _time_before_send() if config.startswith("ours") else None
    rates: list[float] = []
    cpu_rates: list[float] = []
    total = captured = 0

    def warm() -> dict[str, Any]:
        nonlocal captured
        count, elapsed, _ = timed(capture_once, WARMUP_SECONDS)
        captured += count
        return {"value": count / elapsed}

    def one_round() -> dict[str, Any]:
        nonlocal total, captured
        count, elapsed, cpu = timed(capture_once, ROUND_SECONDS)
        total += count
        captured += count
        rates.append(count / elapsed)
        cpu_rates.append(count / cpu if cpu else 0.0)
        return {"value": rates[-1], "cpu": cpu_rates[-1]}

    def done() -> dict[str, Any]:
        events = discard.items.get("event", 0) if discard is not None else 0
        summary = {"config": config, "value": statistics.median(rates) if rates else 0.0,
                   "rounds": rates, "cpu": statistics.median(cpu_rates) if cpu_rates else 0.0,
                   "cpu_rounds": cpu_rates, "timed": total, "captured": captured, "events": events}
        if in_loop is not None:
            summary["in_loop_us"] = in_loop[0] / in_loop[1] * 1e6 if in_loop[1] else 0.0
            summary["steps"] = _steps()
        return summary

    serve({"warm": warm, "round": one_round, "done": done})


def _cost_text(results: dict[str, dict[str, Any]], ours: str) -> str:
    # A cost ratio ours/plain in time per event is plain/ours in events per second.
    parts = []
    for key, label in (("value", "wall"), ("cpu", "cpu")):
        value = paired(results, "plain", ours, key)
        parts.append(f"{label} n/a" if value is None
                     else f"{label} {value[0]:.2f}x ({value[1]:.2f}-{value[2]:.2f})")
    return ", ".join(parts)


def _runs_here(config: str) -> bool:
    """False for an ours-<engine> configuration whose wheel is not installed."""
    import importlib.util

    engine = config.partition("-")[2]
    return engine in ("", "python") or importlib.util.find_spec(engine) is not None


def main() -> None:
    """Print microseconds per captured event for plain and ours, the ratio, and ours' steps."""
    print("Per-event cost of sentry_sdk.capture_exception: an error with a few large locals "
          "(20 KB str, 200-key dict, 500-item list)")
    print(f"  plain and ours each in its own subprocess, discarding transport; {ROUNDS} rounds of "
          f"{ROUND_SECONDS} s after warm-up, interleaved; us/event = median of rounds")
    print("  absolute times are noise on a shared machine; the ratio ours/plain is the result")
    with tempfile.TemporaryDirectory(prefix="bench-capture-") as tmp:
        workdir = Path(tmp)
        children = {name: Child(name, ["-m", "bench.bench_capture", "--child", name],
                                child_env(workdir, 0.1), workdir) for name in CONFIGS if _runs_here(name)}
        try:
            results = interleave(children, ROUNDS)
        finally:
            for child in children.values():
                child.close()
    print(f"  {'config':<14} {'us/event':>9} {'CPU us/event':>13}  {'timed':>6}  events sent / captured")
    for name in CONFIGS:
        r = results.get(name)
        if r is not None and r["value"] and r["cpu"]:
            print(f"  {name:<14} {1e6 / r['value']:9.0f} {1e6 / r['cpu']:13.0f}  {r['timed']:6d}  "
                  f"{r['events']} / {r['captured']}")
    plain = results.get("plain", {}).get("cpu")
    for name in CONFIGS[1:]:
        if name not in results:
            continue
        print(f"  {name}/plain cost per event: {_cost_text(results, name)}  <- result (>1: costs more)")
        steps = results[name].get("steps") or {}
        if "before_send" in steps and plain:
            plain_us = 1e6 / plain
            in_loop = results[name].get("in_loop_us")
            if in_loop:
                print(f"    before_send inside the capture loop (all rounds, warm-up included): "
                      f"{in_loop:.1f} us/event, {in_loop / plain_us:.1%} of plain's CPU us/event")
            print(f"    before_send steps on one captured event ({steps['event_kb']:.1f} KB JSON), median"
                  f" of {STEP_CALLS} interleaved calls, as a share of plain's CPU us/event:")
            for step in ("before_send", "ignore", "trim", "scrub", "classify", "alert observe",
                         "sdk EventScrubber"):
                print(f"      {step:<18} {steps[step]:8.1f} us  {steps[step] / plain_us:6.1%}")
            print(f"    our scrub / the SDK's EventScrubber on the same event: "
                  f"{steps['scrub'] / steps['sdk EventScrubber']:.2f}x")
        elif steps:
            print(f"    step timing unavailable: {steps}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(sys.argv[2])
    else:
        main()
