"""Trace sampling by rule, the never-traced probes, the parent's decision, and services on spans."""

from __future__ import annotations

import pytest
import requests
import sentry_sdk

from errorwarden.settings import load_settings
from errorwarden.tracing import SpanServices, TracesSampler
from tests.support.external import unavailable_services

RULES = (("/api/payments/*", 1.0), ("/api/books/{pk}/", 0.5), ("/api/health/deep/", 1.0))


def wsgi(path: str, parent: bool | None = None) -> dict:
    """The sampling context sentry-sdk's WSGI middleware gives the sampler."""
    return {"parent_sampled": parent, "wsgi_environ": {"PATH_INFO": path}, "transaction_context": {}}


@pytest.mark.parametrize(("context", "rate"), [
    pytest.param(wsgi("/api/payments/42/refund"), 1.0, id="rule-on-path"),
    pytest.param(wsgi("/api/books/7/"), 0.5, id="rule-on-route-pattern"),
    pytest.param(wsgi("/api/books/"), 0.1, id="no-rule-base-rate"),
    pytest.param(wsgi("/api/health/replica/"), 0.0, id="health-never"),
    pytest.param(wsgi("/healthz"), 0.0, id="healthz-never"),
    pytest.param(wsgi("/readyz"), 0.0, id="readiness-never"),
    pytest.param(wsgi("/static/app.css"), 0.0, id="static-never"),
    pytest.param(wsgi("/media/covers/1.jpg"), 0.0, id="media-never"),
    pytest.param(wsgi("/_errors/performance/"), 0.0, id="dashboard-never"),
    pytest.param(wsgi("/api/health/deep/"), 1.0, id="a-rule-overrides-the-defaults"),
    pytest.param(wsgi("/api/payments/1/", parent=False), 0.0, id="incoming-unsampled-followed"),
    pytest.param(wsgi("/api/health/replica/", parent=True), 1.0, id="incoming-sampled-followed"),
    pytest.param({"parent_sampled": True, "celery_job": {"task": "t"}}, 1.0, id="task-continues-parent"),
    pytest.param({"parent_sampled": None, "celery_job": {"task": "t"}}, 0.1, id="task-without-parent"),
    pytest.param({"parent_sampled": None, "asgi_scope": {"type": "http", "path": "/api/payments/x"}}, 1.0,
                 id="asgi-path"),
])
def test_the_sampler_follows_parent_then_rules_then_defaults_then_the_base(context, rate):
    """Parent decision first; then the first rule matching the path or its route; probes never; else base."""
    assert TracesSampler(0.1, RULES)(context) == rate


@pytest.mark.parametrize("raw", ["/api/*", "/api/*=2", "/api/*=x", "api/*=0.5", "=0.5"])
def test_a_bad_rule_stops_start_up_naming_the_variable(raw):
    """SENTRY_TRACES_SAMPLE_RULES is validated at start-up with what is allowed."""
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="SENTRY_TRACES_SAMPLE_RULES="):
        load_settings({"SENTRY_TRACES_SAMPLE_RULES": raw})


def test_rules_parse_in_order():
    """The documented example parses to its pairs, first match first."""
    settings = load_settings({"SENTRY_TRACES_SAMPLE_RULES": "/api/payments/*=1.0, /api/health*=0"})
    assert settings.traces_sample_rules == (("/api/payments/*", 1.0), ("/api/health*", 0.0))


def _transactions(rx, name: str) -> list[dict]:
    return [t for t in rx.transactions() if t.get("transaction") == name]


@pytest.mark.django_db(transaction=True)
def test_health_checks_are_never_traced_even_at_rate_one(tracked, live_server):
    """At SENTRY_TRACES_SAMPLE_RATE=1.0 the replica health check sends no transaction; a book list does."""
    requests.get(f"{live_server.url}/api/health/replica/", timeout=10)
    requests.get(f"{live_server.url}/api/books/", timeout=10)
    sentry_sdk.flush(timeout=5)
    assert tracked.wait_for(lambda rx: _transactions(rx, "/api/books/"))
    assert _transactions(tracked, "/api/health/replica/") == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("rate", "flag", "traced"), [(1.0, "0", False), (0.0, "1", True)])
def test_an_incoming_trace_decision_is_followed(envelope_receiver, live_server, error_tracking, rate, flag,
                                                traced):
    """A sentry-trace header saying 'not sampled' wins over rate 1.0, and 'sampled' over rate 0."""
    error_tracking(dsn=envelope_receiver.dsn, traces_sample_rate=rate, profiles_sample_rate=0.0)
    header = f"{'a' * 32}-{'b' * 16}-{flag}"
    requests.get(f"{live_server.url}/api/books/", headers={"sentry-trace": header}, timeout=10)
    requests.get(f"{live_server.url}/api/reports/overdue/", timeout=10)  # a marker request after it
    sentry_sdk.flush(timeout=5)
    if traced:
        assert envelope_receiver.wait_for(lambda rx: _transactions(rx, "/api/books/"))
        assert _transactions(envelope_receiver, "/api/books/")[0]["contexts"]["trace"]["trace_id"] == "a" * 32
    else:
        assert envelope_receiver.wait_for(lambda rx: _transactions(rx, "/api/reports/overdue/"))
        assert _transactions(envelope_receiver, "/api/books/") == []


def test_outgoing_spans_name_their_service():
    """An http.client span to a mapped host, a boto3 span and a span with the URL in its description
    each get the logical service in data and tags; other spans are left alone."""
    step = SpanServices({"api.clerk.com": "clerk", "*.amazonaws.com": "s3", "127.0.0.1:9000": "resend"})
    event = {"spans": [
        {"op": "http.client", "data": {"url": "https://api.clerk.com/v1/sessions/verify"}},
        {"op": "http.client", "data": {"aws.request.url": "https://bucket.s3.amazonaws.com/covers/1.jpg"}},
        {"op": "http.client", "description": "POST http://127.0.0.1:9000/emails"},
        {"op": "db", "description": "SELECT 1"},
    ]}
    spans = step(event, {})["spans"]
    assert [s.get("data", {}).get("service") for s in spans] == ["clerk", "s3", "resend", None]
    assert spans[0]["tags"]["service"] == "clerk"


@pytest.mark.django_db(transaction=True)
def test_spans_of_a_real_request_carry_the_services_it_called(envelope_receiver, live_server, error_tracking,
                                                              settings):
    """A traced request that calls S3 (boto3), Clerk (requests) and Resend (httpx) stand-ins sends
    spans naming s3, clerk and resend."""
    from library.models import Author, Book, Loan

    author = Author.objects.create(id=1, name="Ada")
    Book.objects.create(id=1, title="One", isbn="isbn-1", author=author)
    Loan.objects.create(id=1, book_id=1, reader="r", email="r@example.com", due="2030-01-01")
    with unavailable_services(settings) as hosts:
        error_tracking(dsn=envelope_receiver.dsn, traces_sample_rate=1.0, profiles_sample_rate=0.0,
                       service_hosts=hosts)
        requests.post(f"{live_server.url}/api/books/1/cover/", data=b"\xff\xd8", timeout=30)
        requests.post(f"{live_server.url}/api/auth/verify/", json={"token": "t"}, timeout=30)
        requests.post(f"{live_server.url}/api/loans/1/remind/", timeout=30)
        sentry_sdk.flush(timeout=5)
    names = ("/api/books/{pk}/cover/", "/api/auth/verify/", "/api/loans/{pk}/remind/")
    assert envelope_receiver.wait_for(lambda rx: all(_transactions(rx, n) for n in names))
    services = {s["data"]["service"] for n in names for t in _transactions(envelope_receiver, n)
                for s in t.get("spans", []) if "service" in s.get("data", {})}
    assert {"s3", "clerk", "resend"} <= services


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("rate", "parent_sampled"), [(0.0, True), (1.0, False)])
def test_a_celery_task_continues_its_publishers_decision(envelope_receiver, error_tracking, rate,
                                                         parent_sampled):
    """A task published inside a traced request is traced even at rate 0; inside an untraced one it
    is not, even at rate 1.0 (real worker, Redis broker, tasks run in publishing order)."""
    from celery.contrib.testing.worker import start_worker

    from config.celery import app
    from library.tasks import catalogue_report
    from tests.support.services import require_redis

    require_redis()
    error_tracking(dsn=envelope_receiver.dsn, traces_sample_rate=rate, profiles_sample_rate=0.0)
    previous = {k: app.conf[k] for k in ("broker_url", "task_always_eager", "result_backend")}
    app.conf.update(broker_url="redis://127.0.0.1:6379/13", task_always_eager=False, result_backend=None)

    def tasks(rx, with_parent: bool) -> list[dict]:
        return [t for t in _transactions(rx, "library.tasks.catalogue_report")
                if bool(t["contexts"]["trace"].get("parent_span_id")) is with_parent]

    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            # An isolation scope of its own: the publisher's transaction name must not stay on this thread.
            with sentry_sdk.isolation_scope(), sentry_sdk.start_transaction(
                    name="publisher", op="http.server", sampled=parent_sampled):
                catalogue_report.delay()
            if parent_sampled:
                assert envelope_receiver.wait_for(lambda rx: tasks(rx, with_parent=True), timeout=20)
            else:
                catalogue_report.delay()  # no parent, rate 1.0: traced, and it runs after the first
                assert envelope_receiver.wait_for(lambda rx: tasks(rx, with_parent=False), timeout=20)
                assert tasks(envelope_receiver, with_parent=True) == []
    finally:
        app.conf.update(previous)
