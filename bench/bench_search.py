"""Benchmark: issue search over a full 10,000-event inbox, against today's issue list view.

Run with ``.venv/bin/python -m bench.bench_search``. Anchor, measured in the same run on the
same file: the issue list as the dashboard built it before search existed (the 200 most recent
issues, their latest payloads, the per-minute sparklines: ``issue_list`` with no search and no
triage). Each search is timed the way the view runs it: the indexed query, then the same list
building over what it found (and the triage status of each issue for ``is:``).

The machine is shared, so the figure is process CPU time (time.process_time, this process
only: SQLite runs in it), median of interleaved rounds, and its ratio to the anchor. The cost
the index adds to the inbox writer is measured too: CPU per event of add_many in batches of 200
with and without the index's triggers. It prints and never asserts.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from errorwarden.dashboard import issues
from errorwarden.local.search import SearchIndex, as_rows, parse
from errorwarden.local.store import InboxStore
from errorwarden.local.triage import TriageStore

EVENTS = 10_000
ISSUES = 60
ROUNDS = 9
SEARCHES = ('"no such table"', "category:external", "release:app@1.4.0 user.id:42", "timed out region:eu",
            "is:unresolved", "Order level:error")


def event(n: int) -> dict[str, Any]:
    """An error event of about 2.5 KB: a chain with frames and context, request, user, tags, breadcrumbs."""
    issue = n % ISSUES
    kinds = [("OperationalError", "no such table: library_book", "database"),
             ("LookupError", f"Order {n} not found", "generic"),
             ("TimeoutError", "clerk timed out after 5.0 s", "external")]
    kind, value, category = kinds[issue % 3]
    frames = [{"module": f"shop.module{issue}", "function": f"view{issue}",
               "filename": f"shop/module{issue}.py",
               "lineno": 10 + i, "in_app": True, "context_line": "    raise " + kind + "(...)",
               "pre_context": ["def view():", "    value = load()"], "post_context": ["", "# end"],
               "vars": {"pk": str(n), "user": "<User 42>"}} for i in range(4)]
    return {"event_id": f"{n:032x}", "level": "error" if n % 7 else "fatal", "platform": "python",
            "release": f"app@1.{n % 5}.0", "environment": "development",
            "transaction": f"/api/route{issue}/{{pk}}/",
            "user": {"id": n % 100}, "tags": {"error.category": category, "region": "eu" if n % 2 else "us",
                                              "browser": "firefox"},
            "request": {"method": "GET", "url": f"http://127.0.0.1/api/route{issue}/{n}/",
                        "headers": {"User-Agent": "bench", "Accept": "application/json"}},
            "breadcrumbs": {"values": [{"category": "query", "message": "SELECT 1", "level": "info"}] * 5},
            "exception": {"values": [{"type": kind, "value": value, "stacktrace": {"frames": frames}}]}}


def fill(path: Path, count: int, indexed: bool, cap: int = EVENTS) -> float:
    """Write `count` events in batches of 200 (as the transport does); CPU seconds per event."""
    store = InboxStore(path, max_events=cap)
    if indexed:
        store.add("event", event(0))
        SearchIndex(path).ensure()
    batch = 200
    started = time.process_time()
    for start in range(0, count, batch):
        store.add_many([("event", event(n)) for n in range(start, min(start + batch, count))])
    spent = time.process_time() - started
    store.close()
    return spent / count


def _cpu(fn: Callable[[], Any]) -> float:
    started = time.process_time()
    fn()
    return time.process_time() - started


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        plain = fill(Path(folder) / "plain.sqlite3", 2000, indexed=False)
        with_index = fill(Path(folder) / "indexed.sqlite3", 2000, indexed=True)
        # At the cap every insert also trims one event: the delete trigger runs too.
        full_plain = fill(Path(folder) / "full-plain.sqlite3", 3000, indexed=False, cap=1000)
        full_index = fill(Path(folder) / "full-indexed.sqlite3", 3000, indexed=True, cap=1000)
        path = Path(folder) / "inbox.sqlite3"
        fill(path, EVENTS, indexed=False)
        store, triage, index = InboxStore(path, EVENTS), TriageStore(path), SearchIndex(path)
        built = _cpu(index.ensure)
        now = time.time()

        def today() -> None:
            issues.issue_list(store, [], now)

        def searching(q: str) -> Callable[[], None]:
            query = parse(q)

            def run() -> None:
                found = as_rows(index.search(query))
                issues.issue_list(store, [], now, triage=triage, found=found, statuses=tuple(query.statuses))
            return run

        candidates = {"list view (anchor)": today, **{f"search {q}": searching(q) for q in SEARCHES}}
        for fn in candidates.values():  # warm the page cache and the statement cache
            fn()
        samples: dict[str, list[float]] = {name: [] for name in candidates}
        for _ in range(ROUNDS):
            for name, fn in candidates.items():
                samples[name].append(_cpu(fn))
        anchor = statistics.median(samples["list view (anchor)"])
        print(f"Issue search on a {EVENTS:,}-event inbox ({ISSUES} issues), process CPU, median of {ROUNDS}:")
        for name, values in samples.items():
            cost = statistics.median(values)
            print(f"  {name:40s} {cost * 1000:8.1f} ms   {cost / anchor:5.2f}x the list view")
        print(f"  building the index over the {EVENTS:,} stored events once: {built * 1000:.0f} ms")
        print(f"Inbox writer, CPU per event in batches of 200: {plain * 1e6:.0f} us without the index, "
              f"{with_index * 1e6:.0f} us with its triggers ({with_index / plain:.2f}x); inbox at its cap "
              f"(each insert trims one): {full_plain * 1e6:.0f} us and {full_index * 1e6:.0f} us "
              f"({full_index / full_plain:.2f}x)")
        store.close()
        triage.close()
        index.close()


if __name__ == "__main__":
    main()
