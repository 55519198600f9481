"""End to end: real failures through the demo API, grouped as received by the envelope receiver."""

from __future__ import annotations

from collections import Counter

import pytest
import requests
import sentry_sdk
from django.conf import settings as django_settings

from infrastructure.sentry_config import init_sentry
from library.auth import issue_token
from library.models import Author, Book
from tests.support.external import unavailable_services

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica"])


@pytest.fixture
def books(django_user_model):
    """Two books, a reader and a member of staff."""
    author = Author.objects.create(id=1, name="Ada")  # explicit: SQLite keeps counting ids across tests
    Book.objects.create(id=1, title="One", isbn="isbn-1", author=author)
    Book.objects.create(id=2, title="Two", isbn="isbn-2", author=author)
    for pk in range(3, 31):
        Book.objects.create(id=pk, title=f"B{pk}", isbn=f"isbn-{pk}", author=author)
    django_user_model.objects.create_user("alice")


def _events(rx) -> list[dict]:
    # Events are queued before the server answers; flushing sends them all to the receiver.
    sentry_sdk.flush(timeout=5)
    return [e for e in rx.events() if e.get("fingerprint")]


def _groups(rx, category: str) -> Counter:
    return Counter(tuple(e["fingerprint"]) for e in _events(rx)
                   if e["tags"].get("error.category") == category)


def _call(live_server, method: str, path: str, times: int = 1, **kwargs) -> list[int]:
    return [requests.request(method, live_server.url + path, timeout=15, **kwargs).status_code
            for _ in range(times)]


def test_integrity_errors_group_by_verb_and_route(tracked, live_server, books):
    """Two duplicate INSERTs on one route are one issue; a duplicate UPDATE is another."""
    _call(live_server, "POST", "/api/books/", times=2, json={"title": "x", "isbn": "isbn-1", "author": 1})
    _call(live_server, "PATCH", "/api/books/2/", json={"isbn": "isbn-1"})
    groups = _groups(tracked, "database")
    assert groups == {("database", "integrity", "INSERT", "/api/books/"): 2,
                      ("database", "integrity", "UPDATE", "/api/books/{pk}/"): 1}
    event = next(e for e in _events(tracked) if e["tags"].get("query_type") == "INSERT")
    assert event["tags"]["error.kind"] == "integrity"


def test_an_id_in_the_message_never_splits_an_issue(tracked, live_server, books):
    """Fifty 'Order <n> not found' errors are one issue."""
    for number in range(50):
        _call(live_server, "GET", f"/api/orders/{number}/")
    groups = _groups(tracked, "generic")
    assert list(groups.values()) == [50]
    assert next(iter(groups)) == (
        "generic", "LookupError", "Order <num> not found", "library.views.OrderDetail.get")


def test_the_cancelled_report_and_the_dead_replica_are_timeout_and_connection(tracked, live_server, books):
    """A query the database cancels is a timeout; a refused replica connection is a connection error."""
    _call(live_server, "GET", "/api/reports/overdue/")
    _call(live_server, "GET", "/api/health/replica/")
    kinds = {e["tags"]["error.kind"]: e for e in _events(tracked)
             if e["tags"].get("error.category") == "database"}
    assert set(kinds) == {"timeout", "connection"}
    assert kinds["connection"]["level"] == "fatal"
    assert kinds["timeout"]["fingerprint"][2] == "SELECT"


def test_external_failures_group_by_service(tracked, live_server, books, settings):
    """S3, Clerk and Resend failures are three issues, one per service, however often they fail."""
    with unavailable_services(settings) as hosts:
        init_sentry(django_settings.SENTRY.with_overrides(dsn=tracked.dsn, service_hosts=hosts,
                                                          profiles_sample_rate=0.0))
        from library.models import Loan

        Loan.objects.create(id=1, book_id=1, reader="r", email="r@example.com", due="2030-01-01")
        _call(live_server, "POST", "/api/books/1/cover/", times=2, data=b"jpeg")
        _call(live_server, "POST", "/api/auth/verify/", times=2, json={"token": "sess_1"})
        _call(live_server, "POST", "/api/loans/1/remind/", times=2)
    groups = _groups(tracked, "external")
    assert groups == {("external", "s3", "http_5xx"): 2, ("external", "clerk", "http_5xx"): 2,
                      ("external", "resend", "http_5xx"): 2}


def test_rate_limits_group_by_route_not_by_url(tracked, live_server, books):
    """429s on twenty different book ids are one issue keyed by the route pattern and client kind."""
    _call(live_server, "GET", "/api/books/1/", times=30)  # the per-client budget of the minute
    statuses = [s for pk in range(1, 21) for s in _call(live_server, "GET", f"/api/books/{pk}/")]
    assert statuses == [429] * 20
    assert _groups(tracked, "rate_limit") == {("rate_limit", "ip", "/api/books/{pk}/"): 20}


def test_rate_limit_kinds_come_from_the_throttle_that_refused(tracked, live_server, books):
    """The book page counts per signed-in user; the report has one budget for the whole API."""
    alice = {"Authorization": f"Bearer {issue_token('alice')}"}
    statuses = _call(live_server, "GET", "/api/books/1/", times=32, headers=alice)
    assert statuses == [200] * 30 + [429] * 2
    statuses = _call(live_server, "GET", "/api/reports/popular/?depth=10", times=12)
    assert statuses == [200] * 10 + [429] * 2
    assert _groups(tracked, "rate_limit") == {
        ("rate_limit", "user", "/api/books/{pk}/"): 2,
        ("rate_limit", "api", "/api/reports/popular/"): 2,
    }


def test_auth_and_validation_errors_group_by_the_function_or_view_that_raised(tracked, live_server, books):
    """Bad tokens group at the authenticator; DRF-raised denials and validation group by view."""
    alice = {"Authorization": f"Bearer {issue_token('alice')}"}
    _call(live_server, "GET", "/api/me/", times=2, headers={"Authorization": "Bearer forged"})
    _call(live_server, "GET", "/api/admin/stats/", headers=alice)
    _call(live_server, "POST", "/api/loans/", json={})
    _call(live_server, "POST", "/api/loans/", times=2, headers=alice,
          json={"book": 1, "reader": "a", "email": "nope", "due": "1999-01-01"})
    assert _groups(tracked, "auth") == {
        ("auth", "invalid_token", "library.auth.BearerTokenAuthentication.authenticate"): 2,
        ("auth", "permission_denied", "library.views.AdminStats"): 1,
        ("auth", "authentication_failed", "library.views.LoanCreate"): 1,
    }
    assert _groups(tracked, "validation") == {("validation", "library.views.LoanCreate"): 2}
    assert all(e["level"] == "warning" for e in _events(tracked))
