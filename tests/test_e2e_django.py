"""End to end: the real app on a real WSGI server, the SDK's real HTTP transport, a loopback receiver."""

from __future__ import annotations

import pytest
import requests

from library.auth import issue_token

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
    assert event["release"] == "muejam-backend@1.0.0"
    assert event["environment"] == "development"
    assert event["tags"]["feature"] == "orders"


def test_each_request_is_traced_under_its_url_pattern(tracked, live_server):
    """A request produces one transaction named after its route pattern, not its concrete URL."""
    requests.get(f"{live_server.url}/api/books/", timeout=10)
    assert tracked.wait_for(lambda rx: rx.transactions(), timeout=10)
    names = {t["transaction"] for t in tracked.transactions()}
    assert "/api/books/" in names
