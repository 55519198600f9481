"""The app on PostgreSQL (make test's second pass): real psycopg errors, grouped as received."""

from __future__ import annotations

import pytest
import requests
import sentry_sdk
from django.db import connection

from library.models import Author, Book

pytestmark = [pytest.mark.pg_app, pytest.mark.postgres,
              pytest.mark.django_db(transaction=True, databases=["default", "replica"])]


@pytest.fixture
def books():
    """Two books on PostgreSQL."""
    assert connection.vendor == "postgresql", "the pg_app pass runs with DATABASE_URL=postgres://..."
    author = Author.objects.create(id=1, name="Ada")
    Book.objects.create(id=1, title="One", isbn="isbn-1", author=author)
    Book.objects.create(id=2, title="Two", isbn="isbn-2", author=author)


def _database_events(rx) -> list[dict]:
    sentry_sdk.flush(timeout=5)
    return [e for e in rx.events() if e.get("tags", {}).get("error.category") == "database"]


def test_postgres_unique_violations_group_by_verb(tracked, live_server, books):
    """Real psycopg UniqueViolations: two INSERTs are one issue, an UPDATE is another."""
    for _ in range(2):
        requests.post(f"{live_server.url}/api/books/", json={"title": "x", "isbn": "isbn-1", "author": 1},
                      timeout=10)
    requests.patch(f"{live_server.url}/api/books/2/", json={"isbn": "isbn-1"}, timeout=10)
    fingerprints = sorted(tuple(e["fingerprint"]) for e in _database_events(tracked))
    assert fingerprints == [("database", "integrity", "INSERT", "/api/books/")] * 2 + [
        ("database", "integrity", "UPDATE", "/api/books/{pk}/")]
    causes = {v["type"] for e in _database_events(tracked) for v in e["exception"]["values"]}
    assert "UniqueViolation" in causes


def test_postgres_statement_timeout_is_a_timeout(tracked, live_server, books):
    """SET LOCAL statement_timeout + pg_sleep cancels the query: kind timeout, verb SELECT."""
    assert requests.get(f"{live_server.url}/api/reports/overdue/", timeout=10).status_code == 500
    [event] = _database_events(tracked)
    assert event["fingerprint"] == ["database", "timeout", "SELECT", "/api/reports/overdue/"]
    assert "QueryCanceled" in {v["type"] for v in event["exception"]["values"]}


def test_a_refused_postgres_connection_is_a_connection_error(tracked, live_server, books):
    """The replica on a closed port refuses the connection: kind connection, level fatal."""
    requests.get(f"{live_server.url}/api/health/replica/", timeout=10)
    [event] = _database_events(tracked)
    assert event["tags"]["error.kind"] == "connection" and event["level"] == "fatal"
