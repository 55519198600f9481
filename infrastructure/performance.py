"""Query instrumentation: one Django execute wrapper times statements, spots slow ones and N+1.

Cost matters here: the wrapper runs for every statement. It does one perf_counter pair and one
dict increment keyed by the SQL template (Django keeps parameters apart, so the template already
is the query's shape). Findings are written onto the request's or task's transaction only when
there are some; each slow statement also leaves a breadcrumb for a later error event.
"""

from __future__ import annotations

import contextvars
import time
from dataclasses import dataclass, field
from typing import Any

import sentry_sdk

_MAX_SHAPES = 200  # a request with more distinct statements stops tracking new shapes
_MAX_REPORTED = 5


@dataclass
class QueryStats:
    """What one request or Celery task did with the database."""

    slow_ms: int
    n_plus_one_threshold: int
    count: int = 0
    total_ms: float = 0.0
    slow: list[dict[str, Any]] = field(default_factory=list)
    shapes: dict[str, int] = field(default_factory=dict)

    def record(self, sql: str, elapsed_ms: float) -> bool:
        """Count one statement; True when it was slow."""
        self.count += 1
        self.total_ms += elapsed_ms
        shapes = self.shapes
        if sql in shapes:
            shapes[sql] += 1
        elif len(shapes) < _MAX_SHAPES:
            shapes[sql] = 1
        if elapsed_ms < self.slow_ms:
            return False
        if len(self.slow) < _MAX_REPORTED:
            self.slow.append({"sql": sql[:500], "duration_ms": round(elapsed_ms, 1)})
        return True

    def n_plus_one(self) -> list[dict[str, Any]]:
        """Statements repeated at least the threshold number of times, most repeated first."""
        found = [(n, sql) for sql, n in self.shapes.items()
                 if n >= self.n_plus_one_threshold and sql.lstrip()[:6].upper() == "SELECT"]
        found.sort(reverse=True)
        return [{"sql": sql[:500], "count": n} for n, sql in found[:_MAX_REPORTED]]


_current: contextvars.ContextVar[QueryStats | None] = contextvars.ContextVar(
    "infrastructure_query_stats", default=None
)


class QueryInstrumentation:
    """Times statements and collects per-request findings; `execute_wrapper` calls the active one."""

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

    def task_finished(self, task_id: str) -> None:
        """Stop collecting for one Celery task and annotate its transaction (task_postrun)."""
        token = self._task_tokens.pop(task_id, None)
        if token is not None:
            self.finish(token)


def _findings(stats: QueryStats) -> dict[str, Any] | None:
    if not stats.slow and stats.count < stats.n_plus_one_threshold:
        return None
    n_plus_one = stats.n_plus_one()
    if not stats.slow and not n_plus_one:
        return None
    return {"queries": stats.count, "total_ms": round(stats.total_ms, 1),
            "slow": stats.slow, "n_plus_one": n_plus_one}


def _report_slow(sql: str, elapsed_ms: float) -> None:
    sentry_sdk.add_breadcrumb(category="db.slow_query", level="warning",
                              message=sql[:500], data={"duration_ms": round(elapsed_ms, 1)})


def _annotate_transaction(stats: QueryStats) -> None:
    details = _findings(stats)
    if details is None:
        return
    transaction = sentry_sdk.get_current_scope().transaction
    if transaction is not None:  # an unsampled request still has one; outside a request there is none
        transaction.set_tag("db.slow_queries", len(stats.slow))
        transaction.set_tag("db.n_plus_one", "yes" if details["n_plus_one"] else "no")
        transaction.set_data("db_performance", details)
