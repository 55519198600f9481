"""Database errors: the failing statement's verb, and what kind of failure it was."""

from __future__ import annotations

import re
from typing import Any

from errorwarden.grouping.sources import (
    Facts,
    Verdict,
    class_names,
    frame_local,
    safe_attr,
    traceback_frames,
)

VERBS = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE"})
UNKNOWN = "unknown"

_LEADING = re.compile(r"(?:\s++|--[^\n]*+|/\*(?:[^*]|\*(?!/))*+\*/|\()*+")
_WORD = re.compile(r"[A-Za-z]++")
_TOKEN = re.compile(r"'(?:[^']|'')*+'|\"[^\"]*+\"|[()]|[A-Za-z_]++")
_HEAD = 4096

_DB_BASES = frozenset({"django.db.utils.Error", "psycopg.Error", "psycopg2.Error", "sqlite3.Error"})
_INTEGRITY = frozenset({
    "django.db.utils.IntegrityError", "psycopg.IntegrityError", "psycopg2.IntegrityError",
    "sqlite3.IntegrityError",
})
_TIMEOUT = frozenset({"psycopg.errors.QueryCanceled", "psycopg.errors.LockNotAvailable"})
# SQLSTATE classes: 23 integrity; 57014 query_canceled and 55P03 lock_not_available are
# timeouts; 08 connection exception, 53300 too_many_connections, 57P0x server shutdown.
_SQLSTATE = (("23", "integrity"), ("57014", "timeout"), ("55P03", "timeout"),
             ("08", "connection"), ("53300", "connection"), ("57P0", "connection"))
_CONNECTION_TEXT = re.compile(
    r"connection refused|server closed the connection unexpectedly|too many clients"
    r"|could not connect|connection failed|terminating connection|connection is (?:closed|lost)"
    r"|connection already closed|could not translate host name|no route to host"
    r"|unable to open database file|ssl syscall error",
    re.IGNORECASE,
)
# "interrupted": SQLite's answer when a progress handler or sqlite3_interrupt() cancels a
# statement (its only way to bound a query), and MySQL's "Query execution was interrupted".
_TIMEOUT_TEXT = re.compile(
    r"statement timeout|lock timeout|canceling statement|database is locked|\binterrupted\b",
    re.IGNORECASE,
)
_SNAKE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def query_verb(sql: Any) -> str:
    """'SELECT', 'INSERT', 'UPDATE', 'DELETE' or 'OTHER' for one SQL statement.

    sqlparse reads the statement type (comments, CTEs); our small scan covers what it leaves
    UNKNOWN, such as a parenthesised '(SELECT ...) UNION ...'.
    """
    if isinstance(sql, bytes | bytearray):
        sql = bytes(sql[:_HEAD]).decode("utf-8", "replace")
    head = sql[:_HEAD] if isinstance(sql, str) else str(sql)[:_HEAD]
    verb = _sqlparse_verb(head)
    return verb if verb in VERBS else _scanned_verb(head)


def _sqlparse_verb(head: str) -> str:
    import sqlparse

    try:
        statements = sqlparse.parse(head)
    except Exception:  # sqlparse refuses some inputs (e.g. nesting limits); our scan still answers
        return ""
    return statements[0].get_type() if statements else ""


def _scanned_verb(head: str) -> str:
    word = _WORD.match(head, _LEADING.match(head).end())
    verb = word.group(0).upper() if word else ""
    if verb == "WITH":
        verb = _verb_after_cte(head)
    return verb if verb in VERBS else "OTHER"


def _verb_after_cte(head: str) -> str:
    # 'WITH x AS (SELECT ...) UPDATE ...' runs the UPDATE: the first verb outside parentheses.
    depth = 0
    for token in _TOKEN.findall(head):
        if token == "(":
            depth += 1
        elif token == ")":
            depth = max(depth - 1, 0)
        elif depth == 0 and token.upper() in VERBS:
            return token.upper()
    return "OTHER"


def failed_verb(chain: tuple[BaseException, ...]) -> str:
    """The verb of the 'sql' in Django's failing CursorWrapper frame, else 'unknown'."""
    for exc in chain:
        for frame in traceback_frames(exc):
            code = frame.f_code.co_name
            if code in ("_execute", "_executemany") and \
                    frame.f_globals.get("__name__") == "django.db.backends.utils":
                sql = frame_local(frame, "sql")
                if isinstance(sql, str):
                    return query_verb(sql)
    return UNKNOWN


def _sqlstate_kind(exc: BaseException) -> str | None:
    state = safe_attr(exc, "sqlstate") or safe_attr(exc, "pgcode")
    if isinstance(state, str):
        for prefix, kind in _SQLSTATE:
            if state.startswith(prefix):
                return kind
    return None


def _text_kind(exc: BaseException) -> str | None:
    try:
        text = str(exc)[:2000]  # only matched, never stored: it may hold row values
    except Exception:
        return None
    if _CONNECTION_TEXT.search(text):
        return "connection"
    return "timeout" if _TIMEOUT_TEXT.search(text) else None


def database_kind(chain: tuple[BaseException, ...]) -> str:
    """integrity, timeout, connection, or the snake-cased class name ('programming_error')."""
    db = [e for e in chain if class_names(type(e)) & _DB_BASES]
    for exc in db:
        kind = _sqlstate_kind(exc)
        if kind:
            return kind
    for exc in db:
        names = class_names(type(exc))
        if names & _INTEGRITY:
            return "integrity"
        if names & _TIMEOUT:
            return "timeout"
    for exc in db:
        kind = _text_kind(exc)
        if kind:
            return kind
    return _SNAKE.sub("_", type(db[0]).__name__).lower()


def database_verdict(chain: tuple[BaseException, ...], facts: Facts) -> Verdict | None:
    """['database', kind, VERB, route] when the first exception of `chain` is a database error."""
    if not chain or not class_names(type(chain[0])) & _DB_BASES:
        return None
    kind = database_kind(chain)
    verb = failed_verb(chain)
    tags = {"error.category": "database", "error.kind": kind}
    if verb != UNKNOWN:
        tags["query_type"] = verb
    level = "fatal" if kind == "connection" else None
    return Verdict("database", kind, ("database", kind, verb, facts.route), tags, level)
