"""Query instrumentation: slow queries and N+1 are flagged on the request's transaction."""

from __future__ import annotations

import time

import pytest
import requests
from django.conf import settings as django_settings

from errorwarden.queries import QueryStats
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


@pytest.mark.django_db(transaction=True)
def test_an_n_plus_one_names_the_orm_field_and_the_fix(tracked, live_server, catalogue):
    """The N+1 of the naive book list names Book.author and suggests select_related('author')."""
    requests.get(f"{live_server.url}/api/books/?naive=1", timeout=10)
    found = _transaction(tracked, "/api/books/")["contexts"]["trace"]["data"]["db_performance"]["n_plus_one"]
    assert found[0]["field"] == "Book.author"
    assert found[0]["suggestion"] == "use select_related('author') on the queryset"


def test_the_call_site_is_the_applications_line(db):
    """A loop in application code that reads a foreign key names that line as the call site."""
    from errorwarden.queries import QueryInstrumentation, _current

    authors = [Author.objects.create(name=f"C{i}") for i in range(6)]
    for i, author in enumerate(authors):
        Book.objects.create(title=f"T{i}", isbn=f"call-site-{i}", author=author)
    instrumentation = QueryInstrumentation(slow_ms=10_000, n_plus_one_threshold=5)
    token = instrumentation.start()
    try:
        names = [book.author.name for book in Book.objects.filter(isbn__startswith="call-site-")]
        stats = _current.get()
    finally:
        instrumentation.finish(token)
    [finding] = stats.n_plus_one()
    assert len(names) == 6 and finding["field"] == "Book.author"
    assert finding["call_site"].startswith("tests/test_performance.py:")


def test_a_view_may_declare_an_expected_n_plus_one():
    """Inside expected_n_plus_one() (or a view decorated with allow_n_plus_one) repeats are not findings."""
    from errorwarden.queries import (
        QueryInstrumentation,
        _current,
        allow_n_plus_one,
        expected_n_plus_one,
    )

    sql = "SELECT x FROM t WHERE id = %s"

    def fan_out() -> None:
        for _ in range(6):
            _current.get().record(sql, 0.1)

    def declared_block() -> None:
        with expected_n_plus_one():
            fan_out()

    instrumentation = QueryInstrumentation(slow_ms=10_000, n_plus_one_threshold=5)
    for run, expected in ((fan_out, 1), (declared_block, 0), (allow_n_plus_one(fan_out), 0)):
        token = instrumentation.start()
        stats = _current.get()
        run()
        instrumentation.finish(token)
        assert len(stats.n_plus_one()) == expected and stats.count == 6


@pytest.mark.django_db(transaction=True)
def test_unsampled_requests_still_reach_the_local_figures(live_server, catalogue, error_tracking, tmp_path,
                                                          settings):
    """With tracing off, every request is counted per route with its slow queries and N+1 findings,
    and the S3 stand-in call per service: the local aggregates, not the 10% of traced requests."""
    from tests.support.external import unavailable_services

    with unavailable_services(settings) as hosts:
        runtime = error_tracking(dsn="", inbox_path=tmp_path / "inbox.sqlite3", traces_sample_rate=0.0,
                                 profiles_sample_rate=0.0, slow_query_ms=1, service_hosts=hosts)
        for _ in range(3):
            requests.get(f"{live_server.url}/api/books/?naive=1", timeout=10)
        requests.get(f"{live_server.url}/api/reports/popular/?depth=200000", timeout=30)
        requests.post(f"{live_server.url}/api/books/1/cover/", data=b"\\xff\\xd8", timeout=30)
    runtime.aggregates.flush()
    endpoints = {s.name: s for s in runtime.aggregates.endpoints(3600)}
    books = endpoints["/api/books/"]
    assert books.count == 3 and books.n_plus_one == 3
    assert endpoints["/api/reports/popular/"].slow_queries >= 1
    assert "/api/books/{pk}/cover/" in endpoints and endpoints["/api/books/{pk}/cover/"].failed == 1
    services = {s.name: s for s in runtime.aggregates.services(3600)}
    assert services["s3"].count >= 1 and services["s3"].failed == services["s3"].count


@pytest.mark.django_db(transaction=True)
def test_outgoing_calls_are_not_measured_when_the_setting_is_off(live_server, catalogue, error_tracking,
                                                                 tmp_path, settings):
    """SENTRY_MEASURE_OUTGOING=false: the same S3 stand-in call leaves urllib3 unwrapped and the
    service table empty, while the request itself is still counted."""
    from urllib3.connectionpool import HTTPConnectionPool

    from tests.support.external import unavailable_services

    with unavailable_services(settings) as hosts:
        runtime = error_tracking(dsn="", inbox_path=tmp_path / "inbox.sqlite3", traces_sample_rate=0.0,
                                 profiles_sample_rate=0.0, service_hosts=hosts, measure_outgoing=False)
        assert runtime.outgoing is None and not hasattr(HTTPConnectionPool.urlopen, "__wrapped__")
        requests.post(f"{live_server.url}/api/books/1/cover/", data=b"\\xff\\xd8", timeout=30)
    runtime.aggregates.flush()
    assert "/api/books/{pk}/cover/" in {s.name for s in runtime.aggregates.endpoints(3600)}
    assert runtime.aggregates.services(3600) == []


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_task_runs_and_queue_depth_reach_the_local_figures(error_tracking, tmp_path, catalogue):
    """A task run by a real worker is counted with its time, and the queue-depth probe's reading is kept."""
    require_redis()
    import uuid

    from celery.contrib.testing.worker import start_worker

    from config.celery import app
    from errorwarden.queue_depth import report
    from library.tasks import catalogue_report

    runtime = error_tracking(dsn="", inbox_path=tmp_path / "inbox.sqlite3", profiles_sample_rate=0.0)
    previous = {k: app.conf[k] for k in ("broker_url", "task_always_eager", "result_backend")}
    app.conf.update(broker_url="redis://127.0.0.1:6379/13", task_always_eager=False, result_backend=None)
    queue = f"depth-{uuid.uuid4().hex}"
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            catalogue_report.delay()
            for _ in range(3):
                app.send_task("library.tasks.catalogue_report", queue=queue)  # nobody consumes this queue
            assert report(app, [queue]) == {queue: 3}
            deadline = time.monotonic() + 20
            while not runtime.aggregates.tasks(3600) and time.monotonic() < deadline:
                runtime.aggregates.flush()  # the task's run is counted when the worker finishes it
                time.sleep(0.1)
        with app.connection_for_write() as connection:
            connection.default_channel.client.delete(queue)
    finally:
        app.conf.update(previous)
    runtime.aggregates.flush()
    [task] = runtime.aggregates.tasks(3600)
    assert task.name == "library.tasks.catalogue_report" and task.count == 1 and task.failed == 0
    assert [(q, depth) for _, q, depth in runtime.aggregates.queue_depth()] == [(queue, 3)]


@pytest.mark.django_db(transaction=True)
def test_unsampled_requests_write_no_sqlite_on_the_request_thread(live_server, catalogue, error_tracking,
                                                                  tmp_path, monkeypatch):
    """Twenty unsampled requests are counted in memory: every write of the local figures happens on
    the flusher (or here, at the explicit flush), none on a thread that served a request."""
    import threading

    import errorwarden.local.aggregates as aggregates_module

    writers: list[str] = []
    real_write = aggregates_module.write

    def recording_write(*args, **kwargs):
        writers.append(threading.current_thread().name)
        return real_write(*args, **kwargs)

    monkeypatch.setattr(aggregates_module, "write", recording_write)
    runtime = error_tracking(dsn="", inbox_path=tmp_path / "inbox.sqlite3", traces_sample_rate=0.0,
                             profiles_sample_rate=0.0)
    served: set[str] = set()
    real_observe = runtime.aggregates.observe_request

    def observe(*args, **kwargs):
        served.add(threading.current_thread().name)  # the thread that served the request
        return real_observe(*args, **kwargs)

    monkeypatch.setattr(runtime.aggregates, "observe_request", observe)
    for _ in range(20):
        assert requests.get(f"{live_server.url}/api/books/", timeout=10).ok
    runtime.aggregates.flush()
    assert served and not served & set(writers), (served, writers)
    assert len(writers) < 20
    assert {s.name: s.count for s in runtime.aggregates.endpoints(3600)}["/api/books/"] == 20
