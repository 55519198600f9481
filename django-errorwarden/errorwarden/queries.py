"""Query instrumentation: one Django execute wrapper times statements, spots slow ones and N+1.

Cost matters here: the wrapper runs for every statement of every request, sampled or not. It
does one perf_counter pair and one dict increment keyed by the SQL template (Django keeps
parameters apart, so the template already is the query's shape). Only when a SELECT shape
reaches the N+1 threshold is the stack read, once per shape, to name the ORM field and the
application line that repeated it. Findings go onto the request's or task's transaction when it
is sampled, and always into the runtime's counts (the local aggregates); each slow statement
also leaves a breadcrumb for a later error event.
"""

from __future__ import annotations

import contextvars
import os
import sys
import sysconfig
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

import sentry_sdk

_MAX_SHAPES = 200  # a request with more distinct statements stops tracking new shapes
_MAX_REPORTED = 5
_MAX_FRAMES = 150  # walked once per repeated shape per request, never per statement
_DESCRIPTORS = "django.db.models.fields.related_descriptors"
_LIBRARY_PREFIXES = ("django.", "rest_framework.", "errorwarden.", "sentry_sdk.")
_STDLIB = sysconfig.get_paths()["stdlib"]
_CWD = os.getcwd().rstrip("/") + "/"


@dataclass
class QueryStats:
    """What one request or Celery task did with the database."""

    slow_ms: int
    n_plus_one_threshold: int
    count: int = 0
    total_ms: float = 0.0
    slow_count: int = 0
    slow: list[dict[str, Any]] = field(default_factory=list)
    shapes: dict[str, int] = field(default_factory=dict)
    origins: dict[str, dict[str, str]] = field(default_factory=dict)
    expected_n_plus_one: bool = False

    def record(self, sql: str, elapsed_ms: float) -> bool:
        """Count one statement; True when it was slow."""
        self.count += 1
        self.total_ms += elapsed_ms
        shapes = self.shapes
        if self.expected_n_plus_one:
            pass  # repeated by design (see expected_n_plus_one): not an N+1 finding
        elif sql in shapes:
            shapes[sql] += 1
            if shapes[sql] == self.n_plus_one_threshold and sql not in self.origins:
                self.origins[sql] = query_origin()
        elif len(shapes) < _MAX_SHAPES:
            shapes[sql] = 1
        if elapsed_ms < self.slow_ms:
            return False
        self.slow_count += 1
        if len(self.slow) < _MAX_REPORTED:
            self.slow.append({"sql": sql[:500], "duration_ms": round(elapsed_ms, 1)})
        return True

    def n_plus_one(self) -> list[dict[str, Any]]:
        """Statements repeated at least the threshold number of times, most repeated first, each
        with the ORM field and the application line behind it when known."""
        found = [(n, sql) for sql, n in self.shapes.items()
                 if n >= self.n_plus_one_threshold and sql.lstrip()[:6].upper() == "SELECT"]
        found.sort(reverse=True)
        return [{"sql": sql[:500], "count": n, **self.origins.get(sql, {})}
                for n, sql in found[:_MAX_REPORTED]]


def query_origin() -> dict[str, str]:
    """Where the repeated query came from: the ORM relation that loaded it, with the fix to use,
    and the first application frame (file:line in function) outside Django and our code."""
    found: dict[str, str] = {}
    frame = sys._getframe(2)
    for _ in range(_MAX_FRAMES):
        if frame is None:
            break
        module = frame.f_globals.get("__name__", "")
        if module == _DESCRIPTORS and "field" not in found:
            found.update(_relation(frame))
        elif "call_site" not in found and _is_project(module, frame.f_code.co_filename):
            code = frame.f_code
            found["call_site"] = f"{_short(code.co_filename)}:{frame.f_lineno} in {code.co_qualname}"
        if "call_site" in found:
            break
        frame = frame.f_back
    return found


def _is_project(module: str, filename: str) -> bool:
    """A frame of the application itself: not Django, DRF, the SDK, ours, the stdlib or a package."""
    return not (module.startswith(_LIBRARY_PREFIXES) or filename.startswith(_STDLIB)
                or "site-packages" in filename or "dist-packages" in filename or filename.startswith("<"))


def _short(filename: str) -> str:
    return filename.removeprefix(_CWD)


def _relation(frame: Any) -> dict[str, str]:
    descriptor = frame.f_locals.get("self")
    field = getattr(descriptor, "field", None)
    model = getattr(field, "model", None)
    if field is None or model is None:
        return {}
    forward = type(descriptor).__name__.startswith("Forward")
    name = field.name if forward else (field.related_query_name() if hasattr(field, "related_query_name")
                                       else field.name)
    fix = f"select_related({name!r})" if forward else f"prefetch_related({name!r})"
    return {"field": f"{model.__name__}.{field.name}", "suggestion": f"use {fix} on the queryset"}


_current: contextvars.ContextVar[QueryStats | None] = contextvars.ContextVar(
    "infrastructure_query_stats", default=None
)


@contextmanager
def expected_n_plus_one() -> Iterator[None]:
    """Within this block (or a view decorated with `allow_n_plus_one`) repeated SELECTs are by design."""
    stats = _current.get()
    before = stats.expected_n_plus_one if stats is not None else False
    if stats is not None:
        stats.expected_n_plus_one = True
    try:
        yield
    finally:
        if stats is not None:
            stats.expected_n_plus_one = before


def allow_n_plus_one(view: Callable) -> Callable:
    """Decorate a view whose repeated queries are intended (a capped fan-out, say): no N+1 finding."""
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        with expected_n_plus_one():
            return view(*args, **kwargs)

    return wrapped


class QueryInstrumentation:
    """Times statements and collects per-request findings; `execute_wrapper` calls the current one."""

    def __init__(self, slow_ms: int, n_plus_one_threshold: int):
        self.slow_ms = slow_ms
        self.n_plus_one_threshold = n_plus_one_threshold
        self._task_tokens: dict[str, contextvars.Token] = {}

    def __call__(self, execute, sql, params, many, context):
        # A failing statement needs nothing from us: grouping reads its verb from Django's own
        # CursorWrapper frame in the traceback.
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000.0
            stats = _current.get()
            slow = stats.record(sql, elapsed_ms) if stats is not None else elapsed_ms >= self.slow_ms
            if slow:
                _report_slow(sql, elapsed_ms)

    def start(self) -> contextvars.Token:
        """Begin collecting for one request or task."""
        return _current.set(QueryStats(self.slow_ms, self.n_plus_one_threshold))

    def finish(self, token: contextvars.Token) -> QueryStats | None:
        """Stop collecting; write findings onto the current transaction."""
        stats = _current.get()
        _current.reset(token)
        if stats is not None:
            _annotate_transaction(stats)
        return stats

    def task_started(self, task_id: str) -> None:
        """Begin collecting for one Celery task (task_prerun)."""
        self._task_tokens[task_id] = self.start()

    def task_finished(self, task_id: str) -> QueryStats | None:
        """Stop collecting for one Celery task and annotate its transaction (task_postrun)."""
        token = self._task_tokens.pop(task_id, None)
        return self.finish(token) if token is not None else None


def _findings(stats: QueryStats) -> dict[str, Any] | None:
    if not stats.slow and stats.count < stats.n_plus_one_threshold:
        return None
    n_plus_one = stats.n_plus_one()
    if not stats.slow and not n_plus_one:
        return None
    return {"queries": stats.count, "total_ms": round(stats.total_ms, 1), "slow_count": stats.slow_count,
            "slow": stats.slow, "n_plus_one": n_plus_one}


def _report_slow(sql: str, elapsed_ms: float) -> None:
    sentry_sdk.add_breadcrumb(category="db.slow_query", level="warning",
                              message=sql[:500], data={"duration_ms": round(elapsed_ms, 1)})


def _annotate_transaction(stats: QueryStats) -> None:
    details = _findings(stats)
    if details is None:
        return
    transaction = sentry_sdk.get_current_scope().transaction
    if transaction is not None and transaction.sampled:  # unsampled: the counts still reach the aggregates
        transaction.set_tag("db.slow_queries", stats.slow_count)
        transaction.set_tag("db.n_plus_one", "yes" if details["n_plus_one"] else "no")
        transaction.set_data("db_performance", details)
