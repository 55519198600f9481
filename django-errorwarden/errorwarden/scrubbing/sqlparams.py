"""SQL parameters never leave: the database layer's parameter locals become a type summary.

Django keeps a statement's parameters apart from its SQL, so the frames of the database layer
(Django's backends and ``django.db.backends.utils``, psycopg, sqlite3, MySQL drivers and our
own query wrapper in ``errorwarden.runtime`` and ``errorwarden.queries``) hold every
value a user typed in locals such as ``params``. Their shape helps debugging, their values never do:
``["'The Book'", "3", "'hunter2 is my password'"]`` becomes ``[3 params: str, int, str]``.
"""

from __future__ import annotations

import re
from types import MappingProxyType

# Modules whose frames hold SQL parameters in their locals.
DATABASE_MODULES = (
    "django.db.backends", "django.db.models.sql", "psycopg", "psycopg2", "psycopg_pool",
    "sqlite3", "MySQLdb", "pymysql", "asyncpg", "errorwarden.queries", "errorwarden.runtime",
)
# Local (and breadcrumb/span data) names that hold parameters in those modules.
PARAM_NAMES = frozenset({
    "params", "param_list", "parameters", "args", "vars", "values", "sql_params",
    "query_params", "params_list", "db.params",
})
_NUMBER = re.compile(r"-?[0-9]+\Z")
_FLOAT = re.compile(r"-?[0-9]*\.[0-9]+(?:e-?[0-9]+)?\Z|-?[0-9]+e-?[0-9]+\Z")
_CALL = re.compile(r"(?:[A-Za-z_][\w]*\.)*([A-Za-z_]\w*)\(")
_LITERALS = MappingProxyType({"None": "None", "True": "bool", "False": "bool"})
# What ``summarize`` writes, recognised by its start. A stored event scrubbed again (the leak
# audit, a relay) keeps its summary instead of summarizing the summary (``[params: 94
# characters]``). Nothing else starts this way: sentry-sdk sends a string local as its repr,
# which starts with a quote, and a list or dict as a list or dict. The rest of a summary may
# have been changed by the detectors (a key ``password=str`` becomes ``password=[Filtered]``),
# so only the start is matched; the detectors still read the whole string.
SUMMARY = re.compile(r"\[(?:[0-9]{1,12} )?params: ")


def is_database_frame(frame: dict) -> bool:
    """True for a frame of the database layer (by its module name)."""
    module = frame.get("module")
    return type(module) is str and module.startswith(DATABASE_MODULES)


def summarize(value: object) -> object:
    """``[n params: type, …]`` for a serialized parameter list or dict; other values as they are."""
    if value is None or value in ("None", "()", "[]", "{}", ""):
        return value
    if isinstance(value, str) and SUMMARY.match(value):
        return value  # summarized already: a summary of it would only say how long it is
    if isinstance(value, (list, tuple)):
        return f"[{len(value)} params: {', '.join(_type(v) for v in value)}]"
    if isinstance(value, dict):
        return f"[{len(value)} params: {', '.join(f'{k}={_type(v)}' for k, v in value.items())}]"
    if isinstance(value, str):
        return f"[params: {len(value)} characters]"
    return f"[params: {type(value).__name__}]"


def _type(value: object) -> str:
    """The type name of one serialized parameter (sentry-sdk sends locals as repr strings)."""
    if not isinstance(value, str):
        return "None" if value is None else type(value).__name__
    if value in _LITERALS:
        return _LITERALS[value]
    if value[:1] in "'\"":
        return "str"
    if value[:2] in ("b'", 'b"'):
        return "bytes"
    if _NUMBER.match(value):
        return "int"
    if _FLOAT.match(value):
        return "float"
    call = _CALL.match(value)
    if call:
        return call[1]  # datetime.datetime(…) -> datetime, Decimal('…') -> Decimal
    return {"[": "list", "{": "dict", "(": "tuple", "<": "object"}.get(value[:1], "str")


def summarize_frame_vars(frame: dict) -> None:
    """Replace the parameter locals of a database-layer frame by their summary, in place."""
    frame_vars = frame.get("vars")
    if type(frame_vars) is dict and is_database_frame(frame):
        for name in PARAM_NAMES.intersection(frame_vars):
            frame_vars[name] = summarize(frame_vars[name])


def summarize_data(data: object) -> None:
    """Replace ``db.params`` in a breadcrumb's or span's data by its summary, in place."""
    if type(data) is dict and "db.params" in data:
        data["db.params"] = summarize(data["db.params"])
