"""SQL parameters never leave: database-layer locals become a type summary, proven on PostgreSQL."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest
import sentry_sdk
from django.db import IntegrityError
from django.db.backends.postgresql.base import DatabaseWrapper as PostgresWrapper

from errorwarden.queries import QueryInstrumentation
from errorwarden.scrubbing import Scrubber
from errorwarden.scrubbing.sqlparams import summarize
from tests.support.services import require_postgres

SCRUBBER = Scrubber()
PASSWORD = "my password is Hunter2-Correct-Horse"  # free text a reader typed into a title


@pytest.mark.parametrize(("value", "summary"), [
    (["'The Book'", "3", "'hunter2'"], "[3 params: str, int, str]"),
    (["None", "True", "2.5", "b'x'", "datetime.datetime(2025, 1, 1, 0, 0)", "Decimal('1.0')"],
     "[6 params: None, bool, float, bytes, datetime, Decimal]"),
    ({"title": "'x'", "n": "7"}, "[2 params: title=str, n=int]"),
    ("('a', 'b')", "[params: 10 characters]"),
    (None, None), ("()", "()"),
])
def test_parameters_become_a_type_summary(value, summary):
    """A serialized parameter list, dict or repr keeps its length and types, never its values."""
    assert summarize(value) == summary


@pytest.mark.parametrize("module", ["django.db.backends.utils", "psycopg.cursor", "sqlite3.dbapi2",
                                    "errorwarden.queries", "django.db.backends.postgresql.base"])
def test_database_frames_lose_their_parameter_values(module):
    """The params/args locals of a database-layer frame are summarized; other frames keep theirs,
    but for a password named in their free text (structure.prose: ``password is …``)."""
    params = ["'The Book'", "3", f"'{PASSWORD}'"]
    frames = [{"module": module, "function": "execute",
               "vars": {"sql": "'INSERT ...'", "params": list(params)}},
              {"module": "library.views", "function": "post", "vars": {"params": list(params)}}]
    event = SCRUBBER.scrub_event({"exception": {"values": [{"stacktrace": {"frames": frames}}]}})
    db_frame, app_frame = event["exception"]["values"][0]["stacktrace"]["frames"]
    assert db_frame["vars"]["params"] == "[3 params: str, int, str]"
    assert app_frame["vars"]["params"] == [*params[:2], "'my password is [Filtered]'"]


def test_db_params_in_breadcrumbs_and_spans_are_summarized():
    """``db.params`` of query breadcrumbs and spans keeps only its shape."""
    event = {"breadcrumbs": {"values": [{"category": "query", "message": "SELECT %s",
                                         "data": {"db.params": [f"'{PASSWORD}'"]}}]},
             "spans": [{"op": "db", "description": "SELECT %s", "data": {"db.params": ["1", "'x'"]}}]}
    SCRUBBER.scrub_event(event)
    assert event["breadcrumbs"]["values"][0]["data"]["db.params"] == "[1 params: str]"
    assert event["spans"][0]["data"]["db.params"] == "[2 params: int, str]"
    crumb = SCRUBBER.scrub_breadcrumb({"data": {"db.params": ["'a'"]}})
    assert crumb["data"]["db.params"] == "[1 params: str]"


@pytest.fixture
def pg(django_db_blocker) -> Iterator[PostgresWrapper]:
    """A Django PostgreSQL connection of its own (db test) with the project's execute wrapper."""
    require_postgres()
    settings = {"ENGINE": "django.db.backends.postgresql", "NAME": "test", "USER": "postgres",
                "PASSWORD": "", "HOST": "127.0.0.1", "PORT": "5432", "OPTIONS": {"connect_timeout": 2},
                "TIME_ZONE": None, "CONN_MAX_AGE": 0, "CONN_HEALTH_CHECKS": False, "AUTOCOMMIT": True,
                "ATOMIC_REQUESTS": False, "TEST": {}}
    with django_db_blocker.unblock():
        conn = PostgresWrapper(settings, alias="scrub_sql")
        try:
            yield conn
        finally:
            conn.close()


def _insert_twice(conn: PostgresWrapper) -> None:
    """Violate a unique constraint with PASSWORD through Django's cursor and our wrapper.

    The value is read from a module global, so no frame of the test itself holds it as a local:
    free text in an application's own variables is out of the detectors' reach (docs/scrubbing.md).
    """
    table = f"scrub_books_{os.getpid()}"
    wrapper = QueryInstrumentation(slow_ms=10_000, n_plus_one_threshold=100)
    with conn.execute_wrapper(wrapper), conn.cursor() as cur:
        cur.execute(f"CREATE TEMP TABLE {table} (id serial PRIMARY KEY, title text UNIQUE)")
        for _ in range(2):
            cur.execute(f"INSERT INTO {table} (title) VALUES (%s)", [PASSWORD])


def test_a_postgres_error_with_a_password_in_a_parameter_never_reaches_the_receiver(tracked, pg):
    """A real psycopg UniqueViolation whose parameter and DETAIL carry a password, captured and sent
    through sentry-sdk's HTTP transport: the receiver gets type summaries and a filtered DETAIL only."""
    try:
        _insert_twice(pg)
    except IntegrityError as exc:
        sentry_sdk.capture_exception(exc)
    else:
        pytest.fail("the second INSERT should have violated the unique constraint")
    sentry_sdk.flush(timeout=10)
    assert tracked.wait_for(lambda rx: rx.events(), timeout=10)
    [event] = [e for e in tracked.events() if e.get("exception")]
    received = json.dumps([payload for _, payload in tracked.items()])
    assert "Hunter2" not in received and "Correct-Horse" not in received
    values = event["exception"]["values"]
    assert {"UniqueViolation", "IntegrityError"} <= {v["type"] for v in values}
    assert any("Key (title)=([Filtered]) already exists" in v["value"] for v in values)
    frames = [f for v in values for f in (v.get("stacktrace") or {}).get("frames", [])]
    summaries = {f["module"]: f["vars"]["params"] for f in frames
                 if f.get("module", "").startswith(("django.db", "errorwarden.queries", "psycopg"))
                 and "params" in f.get("vars", {})}
    assert summaries.get("django.db.backends.utils") == "[1 params: str]"
    assert summaries.get("errorwarden.queries") == "[1 params: str]"
