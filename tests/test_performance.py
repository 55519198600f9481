"""Query instrumentation: slow queries and N+1 are flagged on the request's transaction."""

from __future__ import annotations

import pytest
import requests
from django.conf import settings as django_settings

from infrastructure.performance import QueryStats
from infrastructure.sentry_config import init_sentry
from library.models import Author, Book
from tests.support.services import require_redis


@pytest.mark.parametrize("repeats, flagged", [(4, False), (5, True), (30, True)])
def test_a_select_repeated_to_the_threshold_is_an_n_plus_one(repeats, flagged):
    """The same SELECT shape run threshold (5) times in one request is reported; 4 times is not."""
    stats = QueryStats(slow_ms=100, n_plus_one_threshold=5)
    for _ in range(repeats):
        stats.record('SELECT "name" FROM "author" WHERE "id" = %s', 0.2)
    found = stats.n_plus_one()
    assert bool(found) is flagged
    if flagged:
        assert found[0]["count"] == repeats


def test_repeated_writes_are_not_called_n_plus_one():
    """Only reads count: a loop of INSERTs is a batching question, not an N+1 read."""
    stats = QueryStats(slow_ms=100, n_plus_one_threshold=5)
    for _ in range(10):
        stats.record('INSERT INTO "author" ("name") VALUES (%s)', 0.2)
    assert stats.n_plus_one() == []


def test_slow_statements_are_kept_up_to_a_bound():
    """Statements at or over the threshold are recorded, at most five, each with its duration."""
    stats = QueryStats(slow_ms=100, n_plus_one_threshold=5)
    assert stats.record("SELECT 1", 99.9) is False
    for _ in range(8):
        assert stats.record("SELECT pg_sleep(1)", 150.0) is True
    assert len(stats.slow) == 5 and stats.slow[0]["duration_ms"] == 150.0


@pytest.fixture
def catalogue(db):
    """Thirty books by ten authors."""
    authors = [Author.objects.create(name=f"A{i}") for i in range(10)]
    Book.objects.bulk_create(Book(title=f"B{i}", isbn=f"isbn-{i}", author=authors[i % 10]) for i in range(30))


def _transaction(rx, name: str) -> dict:
    assert rx.wait_for(lambda r: any(t["transaction"] == name for t in r.transactions()), timeout=10)
    return next(t for t in rx.transactions() if t["transaction"] == name)


@pytest.mark.django_db(transaction=True)
def test_an_n_plus_one_request_is_flagged_on_its_transaction(tracked, live_server, catalogue):
    """Listing books without a join flags N+1 on the transaction; with the join it does not."""
    requests.get(f"{live_server.url}/api/books/?naive=1", timeout=10)
    naive = _transaction(tracked, "/api/books/")
    assert naive["tags"]["db.n_plus_one"] == "yes"
    details = naive["contexts"]["trace"]["data"]["db_performance"]
    assert details["n_plus_one"][0]["count"] >= 10 and "library_author" in details["n_plus_one"][0]["sql"]
    tracked.clear()
    requests.get(f"{live_server.url}/api/books/", timeout=10)
    joined = _transaction(tracked, "/api/books/")
    assert joined.get("tags", {}).get("db.n_plus_one") is None


@pytest.mark.django_db(transaction=True)
def test_a_slow_query_is_flagged_on_its_transaction_with_a_breadcrumb(envelope_receiver, live_server):
    """A statement over SENTRY_SLOW_QUERY_MS is listed on the transaction with its duration."""
    original = django_settings.SENTRY
    init_sentry(original.with_overrides(dsn=envelope_receiver.dsn, traces_sample_rate=1.0,
                                        profiles_sample_rate=0.0, slow_query_ms=1))
    try:
        requests.get(f"{live_server.url}/api/reports/popular/?depth=200000", timeout=30)
        transaction = _transaction(envelope_receiver, "/api/reports/popular/")
    finally:
        init_sentry(original)
    assert int(transaction["tags"]["db.slow_queries"]) >= 1
    slow = transaction["contexts"]["trace"]["data"]["db_performance"]["slow"]
    assert "WITH RECURSIVE" in slow[0]["sql"] and slow[0]["duration_ms"] >= 1


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_an_n_plus_one_in_a_celery_task_is_flagged_on_its_transaction(tracked, catalogue):
    """A task on a real worker that looks up each book's author flags N+1 on the task's transaction."""
    require_redis()
    from celery.contrib.testing.worker import start_worker

    from config.celery import app
    from library.tasks import catalogue_report

    previous = {k: app.conf[k] for k in ("broker_url", "task_always_eager", "result_backend")}
    app.conf.update(broker_url="redis://127.0.0.1:6379/13", task_always_eager=False, result_backend=None)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            catalogue_report.delay()
            transaction = _transaction(tracked, "library.tasks.catalogue_report")
    finally:
        app.conf.update(previous)
    assert transaction["tags"]["db.n_plus_one"] == "yes"
    found = transaction["contexts"]["trace"]["data"]["db_performance"]["n_plus_one"]
    assert found[0]["count"] >= 10 and "library_author" in found[0]["sql"]
