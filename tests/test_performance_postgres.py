"""Query findings with the app on PostgreSQL (make test's second pass): psycopg's real statements.

The same findings as tests/test_performance.py, where the suite runs on SQLite: an N+1 named by
its ORM field with the fix, a slow statement with its duration, and both counted for unsampled
requests in the local figures.
"""

from __future__ import annotations

import pytest
import requests
from django.conf import settings as django_settings
from django.db import connection

from infrastructure.sentry_config import init_sentry
from library.models import Author, Book

pytestmark = [pytest.mark.pg_app, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def catalogue():
    """Thirty books by ten authors, on PostgreSQL."""
    assert connection.vendor == "postgresql", "the pg_app pass runs with DATABASE_URL=postgres://..."
    authors = [Author.objects.create(name=f"A{i}") for i in range(10)]
    Book.objects.bulk_create(Book(title=f"B{i}", isbn=f"isbn-{i}", author=authors[i % 10]) for i in range(30))


def _transaction(rx, name: str) -> dict:
    assert rx.wait_for(lambda r: any(t["transaction"] == name for t in r.transactions()), timeout=10)
    return next(t for t in rx.transactions() if t["transaction"] == name)


def test_an_n_plus_one_on_postgres_names_the_orm_field_and_the_fix(tracked, live_server, catalogue):
    """The naive list's one query per author is an N+1 of Book.author; the joined list is not."""
    requests.get(f"{live_server.url}/api/books/?naive=1", timeout=10)
    naive = _transaction(tracked, "/api/books/")
    assert naive["tags"]["db.n_plus_one"] == "yes"
    [found] = naive["contexts"]["trace"]["data"]["db_performance"]["n_plus_one"]
    assert found["count"] >= 10 and '"library_author"' in found["sql"]
    assert found["field"] == "Book.author"
    assert found["suggestion"] == "use select_related('author') on the queryset"
    assert "call_site" not in found  # DRF's serializer reads the field: no application line to name
    tracked.clear()
    requests.get(f"{live_server.url}/api/books/", timeout=10)
    assert _transaction(tracked, "/api/books/").get("tags", {}).get("db.n_plus_one") is None


def test_a_slow_postgres_statement_is_listed_with_its_duration(envelope_receiver, live_server, catalogue):
    """A recursive CTE over SENTRY_SLOW_QUERY_MS on PostgreSQL is listed on the transaction."""
    original = django_settings.SENTRY
    init_sentry(original.with_overrides(dsn=envelope_receiver.dsn, traces_sample_rate=1.0,
                                        profiles_sample_rate=0.0, slow_query_ms=1))
    try:
        assert requests.get(f"{live_server.url}/api/reports/popular/?depth=200000", timeout=30).ok
        transaction = _transaction(envelope_receiver, "/api/reports/popular/")
    finally:
        init_sentry(original)
    assert int(transaction["tags"]["db.slow_queries"]) >= 1
    [slow, *_] = transaction["contexts"]["trace"]["data"]["db_performance"]["slow"]
    assert "WITH RECURSIVE" in slow["sql"] and slow["duration_ms"] >= 1


def test_unsampled_postgres_requests_reach_the_local_figures(live_server, catalogue, error_tracking,
                                                            tmp_path):
    """With tracing off, each request on PostgreSQL is counted with its N+1 and slow statements."""
    runtime = error_tracking(dsn="", inbox_path=tmp_path / "inbox.sqlite3", traces_sample_rate=0.0,
                             profiles_sample_rate=0.0, slow_query_ms=1)
    for _ in range(3):
        requests.get(f"{live_server.url}/api/books/?naive=1", timeout=10)
    requests.get(f"{live_server.url}/api/reports/popular/?depth=200000", timeout=30)
    runtime.aggregates.flush()
    endpoints = {s.name: s for s in runtime.aggregates.endpoints(3600)}
    assert endpoints["/api/books/"].count == 3 and endpoints["/api/books/"].n_plus_one == 3
    assert endpoints["/api/reports/popular/"].slow_queries >= 1
