"""Database errors for real: PostgreSQL (psycopg 3) and SQLite through Django and an execute wrapper."""

from __future__ import annotations

import os
from collections.abc import Iterator

import psycopg
import pytest
from django.db import DatabaseError
from django.db.backends.postgresql.base import DatabaseWrapper as PostgresWrapper
from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteWrapper

from errorwarden.grouping import Classifier
from errorwarden.runtime import execute_wrapper
from tests.test_grouping import HOSTS, _Capture, caught

pytestmark = pytest.mark.postgres

PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "test"}
ROUTE = "/api/loans/<int:pk>/"


def _require_postgres() -> None:
    """Skip when PostgreSQL cannot be reached with the test settings; under CI=true, fail instead."""
    try:
        psycopg.connect(**PG, connect_timeout=2).close()
    except psycopg.Error as exc:
        reason = f"PostgreSQL on {PG['host']}:{PG['port']} (db {PG['dbname']}) is unreachable: {exc}"
        # A skip in CI would hide that the real-database checks never ran.
        if os.environ.get("CI") == "true":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)


def _settings(engine: str, **overrides) -> dict:
    base = {"ENGINE": engine, "NAME": "", "USER": "", "PASSWORD": "", "HOST": "", "PORT": "",
            "OPTIONS": {}, "TIME_ZONE": None, "CONN_MAX_AGE": 0, "CONN_HEALTH_CHECKS": False,
            "AUTOCOMMIT": True, "ATOMIC_REQUESTS": False, "TEST": {}}
    return {**base, **overrides}


def _postgres(port: int = PG["port"]) -> PostgresWrapper:
    return PostgresWrapper(_settings("django.db.backends.postgresql", NAME=PG["dbname"], USER=PG["user"],
                                     HOST=PG["host"], PORT=str(port), OPTIONS={"connect_timeout": 2}),
                           alias="grouping_pg")


# The wrapper the project installs on every connection; grouping reads the failing statement
# from Django's own cursor frame in the traceback, wrapper or not.
mark = execute_wrapper


@pytest.fixture(autouse=True)
def _own_connections(django_db_blocker) -> Iterator[None]:
    """These tests open their own connections, never the project's test database: lift the block."""
    with django_db_blocker.unblock():
        yield


@pytest.fixture(scope="module")
def capture() -> Iterator[_Capture]:
    """Turns an exception into the (event, hint) pair before_send receives."""
    cap = _Capture()
    yield cap
    cap.client.close()


@pytest.fixture
def pg() -> Iterator[PostgresWrapper]:
    """A separate Django PostgreSQL connection with the marking execute wrapper and two temp tables."""
    _require_postgres()
    conn = _postgres()
    with conn.execute_wrapper(mark), conn.cursor() as cur:
        cur.execute("CREATE TEMP TABLE shelf (id int PRIMARY KEY, name text UNIQUE)")
        cur.execute("CREATE TEMP TABLE loan (id int PRIMARY KEY, shelf_id int REFERENCES shelf (id))")
        cur.execute("INSERT INTO shelf VALUES (1, 'fiction'), (2, 'poetry')")
        yield conn
    conn.close()


@pytest.fixture
def lite() -> Iterator[SQLiteWrapper]:
    """A separate in-memory Django SQLite connection with the marking execute wrapper."""
    conn = SQLiteWrapper(_settings("django.db.backends.sqlite3", NAME=":memory:"), alias="grouping_lite")
    with conn.execute_wrapper(mark), conn.cursor() as cur:
        cur.execute("CREATE TABLE shelf (id integer PRIMARY KEY, name text UNIQUE)")
        cur.execute("CREATE TABLE loan (id integer PRIMARY KEY, shelf_id integer REFERENCES shelf (id))")
        cur.execute("INSERT INTO shelf VALUES (1, 'fiction'), (2, 'poetry')")
        yield conn
    conn.close()


def run(conn, *statements: str) -> BaseException:
    """The exception the last of the statements raises on conn."""
    def go():
        with conn.cursor() as cur:
            for sql in statements:
                cur.execute(sql)
    return caught(go)


def verdict(capture, exc: BaseException) -> dict:
    """The classified event for a captured exception on the loan route."""
    event, hint = capture(exc, transaction=ROUTE)
    return Classifier(HOSTS)(event, hint)


def assert_database(event: dict, kind: str, verb: str | None) -> None:
    """Category, kind, fingerprint and query_type tag of a database event."""
    assert event["tags"]["error.category"] == "database"
    assert event["tags"]["error.kind"] == kind
    assert event["fingerprint"] == ["database", kind, verb or "unknown", "/api/loans/{pk}/"]
    assert event["tags"].get("query_type") == verb


INTEGRITY = [
    pytest.param(("INSERT INTO shelf VALUES (3, 'fiction')",), "INSERT", id="unique-on-insert"),
    pytest.param(("UPDATE shelf SET name = 'fiction' WHERE id = 2",), "UPDATE", id="unique-on-update"),
    pytest.param(("INSERT INTO loan VALUES (1, 99)",), "INSERT", id="fk-on-insert"),
    pytest.param(("INSERT INTO loan VALUES (1, 1)", "DELETE FROM shelf WHERE id = 1"), "DELETE",
                 id="fk-on-delete"),
]


@pytest.mark.parametrize(("statements", "verb"), INTEGRITY)
def test_postgres_integrity_errors_group_by_failing_verb(capture, pg, statements, verb):
    """Real unique and foreign-key violations are 'integrity', keyed by the failing statement's verb."""
    exc = run(pg, *statements)
    assert type(exc.__cause__).__module__ == "psycopg.errors"
    assert_database(verdict(capture, exc), "integrity", verb)


def test_postgres_statement_timeout_is_a_timeout(capture, pg):
    """'SET statement_timeout = 50; SELECT pg_sleep(1)' is a 'timeout' on SELECT."""
    exc = run(pg, "SET statement_timeout = 50", "SELECT pg_sleep(1)")
    assert type(exc.__cause__).__name__ == "QueryCanceled"
    assert_database(verdict(capture, exc), "timeout", "SELECT")


def test_refused_connection_is_a_fatal_connection_error_without_verb(capture):
    """Connecting to a closed port fails at connect time: 'connection', verb 'unknown', level fatal."""
    _require_postgres()
    conn = _postgres(port=1)
    with conn.execute_wrapper(mark):
        exc = run(conn, "SELECT 1")
    assert isinstance(exc, DatabaseError)
    event = verdict(capture, exc)
    assert_database(event, "connection", None)
    assert event["level"] == "fatal"


def test_terminated_backend_is_a_connection_error_on_the_running_statement(capture, pg):
    """A server-side kill of the session (as in a restart) is 'connection' on the running statement."""
    with pg.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    killer = _postgres()
    with killer.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(%s)", [pid])
    killer.close()
    assert_database(verdict(capture, run(pg, "SELECT 1")), "connection", "SELECT")


def test_verb_is_found_without_the_execute_wrapper(capture):
    """With no wrapper installed, the verb is read from Django's failing cursor frame instead."""
    _require_postgres()
    conn = _postgres()
    try:
        exc = run(conn, "CREATE TEMP TABLE t (id int PRIMARY KEY)", "INSERT INTO t VALUES (1)",
                  "INSERT INTO t VALUES (1)")
    finally:
        conn.close()
    assert_database(verdict(capture, exc), "integrity", "INSERT")


@pytest.mark.parametrize(("statements", "verb"), INTEGRITY)
def test_sqlite_integrity_errors_group_like_postgres(capture, lite, statements, verb):
    """The same violations on SQLite give the same kind and verb, so both backends group alike."""
    exc = run(lite, "PRAGMA foreign_keys = ON", *statements)
    assert type(exc.__cause__).__module__ == "sqlite3"
    assert_database(verdict(capture, exc), "integrity", verb)


@pytest.mark.parametrize(("ci", "outcome"), [("true", pytest.fail.Exception), ("", pytest.skip.Exception)])
def test_unreachable_postgres_skips_on_a_laptop_and_fails_in_ci(monkeypatch, ci, outcome):
    """The reachability helper skips with a reason locally but fails the test when CI=true."""
    monkeypatch.setitem(PG, "port", 1)
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="unreachable"):
        _require_postgres()
