"""End to end: the real app on a real WSGI server, the SDK's real HTTP transport, a loopback receiver."""

from __future__ import annotations

import pytest
import requests
import sentry_sdk
from django.conf import settings as django_settings

from library.auth import issue_token
from library.models import Author, Book

pytestmark = pytest.mark.django_db(transaction=True)


def _error_events(rx, exc_type: str) -> list[dict]:
    return [e for e in rx.events() if e.get("exception", {}).get("values", [{}])[-1].get("type") == exc_type]


@pytest.fixture
def alice(django_user_model):
    """A signed-in reader with an email address that must never leave the process."""
    return django_user_model.objects.create_user("alice", email="alice@example.com")


def test_unhandled_view_error_arrives_with_everything_a_developer_needs(tracked, live_server, alice):
    """An unhandled view error reaches Sentry with trace, context lines, request, user, breadcrumbs, tags."""
    response = requests.post(f"{live_server.url}/api/orders/42/?ref=mail",
                             json={"note": "gift wrap"}, timeout=10,
                             headers={"Authorization": f"Bearer {issue_token('alice')}", "X-Client": "ios"})
    assert response.status_code == 500
    assert tracked.wait_for(lambda rx: _error_events(rx, "LookupError"), timeout=10)
    event = _error_events(tracked, "LookupError")[0]

    frames = event["exception"]["values"][-1]["stacktrace"]["frames"]
    crash = [f for f in frames if f.get("in_app")][-1]
    assert crash["function"] == "get" and crash["module"] == "library.views"
    assert "raise LookupError" in crash["context_line"] and crash["pre_context"]
    request = event["request"]
    assert request["method"] == "POST"
    assert request["url"].endswith("/api/orders/42/")
    assert "ref=mail" in request["query_string"]
    assert request["headers"]["X-Client"] == "ios"
    assert request["data"] == {"note": "gift wrap"}
    assert event["user"]["id"] == str(alice.pk) and event["user"]["username"] == "alice"
    assert "email" not in event["user"] and "ip_address" not in event["user"]
    crumbs = event["breadcrumbs"]["values"]
    assert any(c.get("message") == "looking up order 42" for c in crumbs)
    assert any(c.get("category") == "query" and "library_book" in c.get("message", "") for c in crumbs)
    assert event["release"] == django_settings.SENTRY.release
    assert event["environment"] == django_settings.SENTRY.environment
    assert event["tags"]["feature"] == "orders"


def test_each_request_is_traced_under_its_url_pattern(tracked, live_server):
    """A request for a concrete book is named after its route pattern, never its concrete URL."""
    author = Author.objects.create(id=1, name="Ada")  # explicit: SQLite keeps counting ids across tests
    Book.objects.create(id=1, title="One", isbn="isbn-1", author=author)
    assert requests.get(f"{live_server.url}/api/books/1/", timeout=10).status_code == 200
    sentry_sdk.flush(timeout=10)
    assert tracked.wait_for(lambda rx: rx.transactions(), timeout=10)
    names = {t["transaction"] for t in tracked.transactions()}
    assert "/api/books/{pk}/" in names
    assert "/api/books/1/" not in names
