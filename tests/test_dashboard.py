"""Tests for the /_errors/ dashboard: pages over an inbox filled by the real pipeline; access; escaping."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests
import sentry_sdk
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core.wsgi import get_wsgi_application
from django.test import RequestFactory

from errorwarden.alerting.alert_queue import AlertSpool
from errorwarden.dashboard import views
from errorwarden.dashboard.charts import line_chart, sparkline
from errorwarden.local import InboxStore
from errorwarden.local.aggregates import Aggregates
from errorwarden.runtime import Runtime
from infrastructure.sentry_config import ErrorTracker
from library.auth import issue_token

# A real server: the SDK's WSGI middleware, which records the request, runs only there.
pytestmark = pytest.mark.django_db(transaction=True)
SCRIPT_TITLE = "<script>alert('owned')</script> in a title"
PAGES = ("/_errors/", "/_errors/performance/", "/_errors/alerts/", "/_errors/monitors/")


@pytest.fixture(autouse=True)
def _own_scopes() -> Iterator[None]:
    """Django's test client runs views on this thread: keep the transaction names they set to each test."""
    with sentry_sdk.isolation_scope():
        yield


@pytest.fixture
def local_inbox(tmp_path, error_tracking) -> Runtime:
    """The process re-initialised on a fresh local inbox file (events go through the real pipeline)."""
    return error_tracking(dsn="", inbox_path=tmp_path / "inbox.sqlite3", profiles_sample_rate=0.0,
                          traces_sample_rate=0.0)


def _fired(runtime: Runtime, title: str, event_id: str, outcomes: dict[str, tuple[str, int, str]]) -> None:
    """One alert in the runtime's spool, as the dispatcher writes it, with each channel's outcome."""
    spool = AlertSpool(runtime.settings.alert_spool)
    alert = {"rule": "critical_burst", "title": title, "severity": "critical", "event_id": event_id}
    spool.enqueue(f"test:{title}", 1e12, alert, list(outcomes), now=1_700_000_000.0)
    for channel, (status, attempts, error) in outcomes.items():
        for attempt in range(attempts):  # each attempt after the previous one's lease ran out
            delivery = spool.take(channel, now=1e11 + attempt * 1000)
        if status != "pending":
            spool.finish(delivery.id, status, now=1_700_000_005.0, error=error)
    spool.close()


@pytest.fixture
def debug(settings):
    """DEBUG on, as `make dashboard` runs it."""
    settings.DEBUG = True
    return settings


def _reserve(shelf: int, card: str) -> None:
    raise LookupError(f"shelf {shelf} is empty")


@pytest.fixture
def server() -> Iterator[str]:
    """The app on the demo's threaded WSGI server on a free loopback port; yields its base URL."""
    from library.demo.standins import wsgi_server

    running = wsgi_server(get_wsgi_application())
    yield running.url
    running.stop()


@pytest.fixture
def filled(local_inbox, server, django_user_model) -> dict[str, str]:
    """Three 500s from the orders view over HTTP, a user-bearing error and a <script> message."""
    django_user_model.objects.create_user("alice", email="alice@example.com")
    alice = {"Authorization": f"Bearer {issue_token('alice')}"}
    for number in (1001, 1002, 1003):
        response = requests.get(f"{server}/api/orders/{number}/?ref=mail", headers=alice, timeout=10)
        assert response.status_code == 500
    with sentry_sdk.isolation_scope():  # set_user writes the isolation scope: keep it to this block
        ErrorTracker.set_user(user_id=7, email="reader@example.com", username="ada")
        try:
            _reserve(3, card="4111 1111 1111 1111")
        except LookupError as exc:
            reserved = ErrorTracker.capture_exception(exc, context={"shelf": {"row": 2}})
    script = ErrorTracker.capture_message(SCRIPT_TITLE, level="warning")
    sentry_sdk.flush(timeout=5)
    store = InboxStore.from_settings(local_inbox.settings)
    orders = next(i for i in store.issues() if i["title"].startswith("LookupError: Order"))
    store.close()
    return {"orders": orders["last_event_id"], "reserved": reserved, "script": script}


def _text(response) -> str:
    return response.content.decode()


def _issue_row(page: str, event_id: str) -> str:
    return re.search(rf'<tr id="issue-{event_id}" data-category="generic" data-level="error" '
                     r'data-status="[a-z]+">(.*?)</tr>', page, re.S).group(1)


# --- access ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [*PAGES, "/_errors/issues/" + "0" * 32 + "/"])
def test_anonymous_visitor_gets_404_when_debug_is_off(client, settings, path, local_inbox):
    """With DEBUG off and no staff user every dashboard URL answers 404, revealing nothing."""
    settings.DEBUG = False
    response = client.get(path)
    assert response.status_code == 404
    assert "Local error tracking" not in _text(response)


@pytest.mark.parametrize(("is_staff", "is_active", "status"), [(True, True, 200), (False, True, 404),
                                                                (True, False, 404)])
def test_only_active_staff_users_see_it_without_debug(settings, local_inbox, is_staff, is_active, status):
    """A request.user set by auth middleware opens the dashboard only when active and staff."""
    settings.DEBUG = False
    request = RequestFactory().get("/_errors/")
    request.user = get_user_model()(username="ops", is_staff=is_staff, is_active=is_active)
    if status == 200:
        assert views.issue_list(request).status_code == 200
    else:
        with pytest.raises(views.Http404):
            views.issue_list(request)


@pytest.mark.parametrize(("user", "status"), [("ops-staff", 200), ("ops-reader", 404), ("forged", 404)])
def test_a_staff_bearer_token_opens_it_without_debug_and_sets_no_cookie(client, settings, local_inbox, user,
                                                                        status):
    """With DEBUG off, the project's API authentication finds the user: a staff token opens the pages,
    a reader's token or a forged one gets the 404, and no response sets a cookie."""
    get_user_model().objects.create(username="ops-staff", is_staff=True)
    get_user_model().objects.create(username="ops-reader", is_staff=False)
    settings.DEBUG = False
    token = issue_token(user) if user != "forged" else "forged.token"
    for path in PAGES:
        response = client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}")
        assert response.status_code == status and not response.cookies


def test_only_get_is_served(client, debug, local_inbox):
    """Even with DEBUG on the dashboard accepts no writes: POST answers 404."""
    assert client.post("/_errors/").status_code == 404


@pytest.mark.parametrize("path", PAGES)
def test_pages_set_no_cookie_and_forbid_scripts(client, debug, filled, path):
    """No Set-Cookie, no caching, and a Content-Security-Policy with no script source at all."""
    response = client.get(path)
    assert response.status_code == 200
    assert "Set-Cookie" not in response and not response.cookies
    assert response["Cache-Control"] == "no-store"
    assert "default-src 'none'" in response["Content-Security-Policy"]
    assert "script-src" not in response["Content-Security-Policy"]


# --- issues ---------------------------------------------------------------------------------


def test_issue_list_shows_category_count_sparkline_and_times(client, debug, filled):
    """Each issue has its category, level, title, count, a per-minute SVG sparkline and first/last seen."""
    page = _text(client.get("/_errors/"))
    row = _issue_row(page, filled["orders"])
    assert "LookupError: Order 1003 not found" in row and "/api/orders/{number}/" in row
    assert '<td class="num">3</td>' in row
    assert "<svg" in row and "<title>3 events in the last 60 minutes</title>" in row
    assert len(re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", row)) == 2
    assert f'href="/_errors/issues/{filled["orders"]}/"' in row


def test_a_sparkline_counts_every_event_of_the_hour(client, debug, local_inbox):
    """2,500 events of one issue in the last hour show as 2,500 (the page used to count a sample of
    the newest 2,000 payloads)."""
    import time

    from errorwarden.local import InboxStore

    event = {"level": "error", "fingerprint": ["storm"], "platform": "python", "timestamp": time.time(),
             "exception": {"values": [{"type": "LookupError", "value": "storm"}]}}
    InboxStore(local_inbox.settings.inbox_path).add_many(
        [("event", {**event, "event_id": f"{n:032x}"}) for n in range(2500)])
    page = _text(client.get("/_errors/"))
    assert "<title>2500 events in the last 60 minutes</title>" in page
    assert '<td class="num">2500</td>' in page


def test_issue_list_filters_by_category_and_level(client, debug, filled):
    """?category= and ?level= keep only matching issues; the choices come from what is stored."""
    warnings = _text(client.get("/_errors/?level=warning"))
    assert "alert(&#x27;owned&#x27;)" in warnings and "LookupError" not in warnings
    generic = _text(client.get("/_errors/?category=generic&level=error"))
    assert "LookupError: Order" in generic and "owned" not in generic
    assert '<option value="generic" selected>' in generic
    assert "No issue matches these filters." in _text(client.get("/_errors/?category=nothing-like-this"))


def test_issue_list_shows_the_last_alert(client, debug, filled, local_inbox):
    """An alert whose triggering event belongs to an issue shows in that issue's row."""
    _fired(local_inbox, "LookupError: Order 1003 not found", filled["orders"],
           {"email": ("delivered", 1, "")})
    page = _text(client.get("/_errors/"))
    row = _issue_row(page, filled["orders"])
    assert 'class="sev-critical">critical</span>' in row and "email: delivered" in row


def test_everything_is_escaped(client, debug, filled):
    """A title holding <script> is shown as text on the list and on its page, never as markup."""
    for path in ("/_errors/", f"/_errors/issues/{filled['script']}/"):
        page = _text(client.get(path))
        assert "<script" not in page
        assert "&lt;script&gt;alert(&#x27;owned&#x27;)&lt;/script&gt; in a title" in page


def test_issue_page_shows_stack_source_request_tags_and_breadcrumbs(client, debug, filled):
    """The latest event of a request error shows frames with source context, the request, tags, crumbs."""
    page = _text(client.get(f"/_errors/issues/{filled['orders']}/"))
    assert '<h1 id="event-title">LookupError: Order 1003 not found</h1>' in page
    assert "3 events, 3 kept, first seen" in page
    *_, crash = re.findall(r'<span class="hit"><b>\d+</b>(.*?)</span>', page)  # most recent call last
    assert "raise LookupError" in crash
    assert "library/views.py" in page and "in <code>get</code>" in page
    request = re.search(r'<dl class="kv" id="request">(.*?)</dl>', page, re.S).group(1)
    assert "<dt>Method</dt><dd>GET</dd>" in request and "/api/orders/1003/" in request
    assert "<dt>Query</dt><dd>ref=mail</dd>" in request and "<dt>Authorization</dt><dd>[Filtered]" in request
    user = re.search(r'<dl class="kv" id="user">(.*?)</dl>', page, re.S).group(1)
    assert "<dt>username</dt><dd>alice</dd>" in user and "alice@example.com" not in page
    tags = re.search(r'<dl class="kv" id="tags">(.*?)</dl>', page, re.S).group(1)
    assert "<dt>error.category</dt><dd>generic</dd>" in tags and "<dt>feature</dt><dd>orders</dd>" in tags
    crumbs = re.search(r'<table id="breadcrumbs">(.*?)</table>', page, re.S).group(1)
    assert "looking up order 1003" in crumbs


def test_issue_page_shows_the_user_and_locals_as_scrubbed_when_stored(client, debug, filled):
    """User id and name appear; the email and a card number in a local never do: the page shows the store."""
    page = _text(client.get(f"/_errors/issues/{filled['reserved']}/"))
    user = re.search(r'<dl class="kv" id="user">(.*?)</dl>', page, re.S).group(1)
    assert "<dt>id</dt><dd>7</dd>" in user and "<dt>username</dt><dd>ada</dd>" in user
    assert "reader@example.com" not in page and "4111 1111 1111 1111" not in page
    assert "<dt>card</dt>" in page  # the local is listed, with its scrubbed value


def test_unknown_or_transaction_ids_are_404(client, debug, local_inbox):
    """An id the inbox does not hold, or one of a transaction, is not an issue page."""
    with sentry_sdk.start_transaction(name="GET /api/books/", op="http.server", sampled=True):
        pass
    sentry_sdk.flush(timeout=5)
    transaction = InboxStore.from_settings(local_inbox.settings).events(type="transaction")[0]
    assert client.get(f"/_errors/issues/{'f' * 32}/").status_code == 404
    assert client.get(f"/_errors/issues/{transaction['event_id']}/").status_code == 404
    assert client.get("/_errors/issues/not-an-id/").status_code == 404


# --- performance and alerts ----------------------------------------------------------------


@pytest.fixture
def figures(local_inbox) -> None:
    """Aggregates beside the test inbox: a fast and a slow endpoint, a service, a task, queue depth."""
    aggregates = Aggregates.for_inbox(local_inbox.settings.inbox_path)
    for i in range(40):
        aggregates.observe_request("/api/books/", 8.0 + i % 5, failed=i == 0, n_plus_one=1 if i < 3 else 0)
    for _ in range(4):
        aggregates.observe_request("/api/reports/popular/", 450.0, False, slow_queries=1)
    aggregates.observe_service("s3", 31.0, failed=True)
    aggregates.observe_task("library.tasks.send_overdue_reminders", 18.0, failed=False)
    aggregates.observe_queue_depth("celery", 6)
    aggregates.close()


def _endpoint(page: str, name: str) -> str:
    return re.search(rf'<tr data-endpoint="{re.escape(name)}">(.*?)</tr>', page, re.S).group(1)


def test_performance_page_lists_endpoints_services_tasks_and_queue_depth(client, debug, figures):
    """Endpoints with percentiles, rates and query findings; services; tasks; a queue-depth chart."""
    page = _text(client.get("/_errors/performance/"))
    slow = _endpoint(page, "/api/reports/popular/")
    p95 = float(re.search(r'class="num p95 slow" data-ms="([\d.]+)"', slow).group(1))
    assert p95 > django_settings.SENTRY.slow_query_ms
    books = _endpoint(page, "/api/books/")
    assert '<td class="num">40</td>' in books and "2.5%" in books and 'class="num p95"' in books
    assert re.search(r'<td class="num">3</td><td><svg', books)  # N+1 findings, then the sparkline
    assert '<tr data-service="s3"><td>s3</td><td class="num">1</td><td class="num">1</td>' in page
    assert '<tr data-task="library.tasks.send_overdue_reminders">' in page
    assert '<tr data-queue="celery"><td>celery</td><td class="num">6</td>' in page
    assert "<polyline" in page and "Celery queue depth over time" in page


@pytest.mark.parametrize(("query", "first"), [
    ("", "/api/reports/popular/"), ("?sort=name&dir=asc", "/api/books/"),
    ("?sort=count&dir=desc", "/api/books/"), ("?sort=p95&dir=asc", "/api/books/"),
])
def test_endpoints_sort_by_any_column(client, debug, figures, query, first):
    """Column links sort the endpoint table server-side; the default is p95, slowest first."""
    page = _text(client.get("/_errors/performance/" + query))
    assert re.findall(r'<tr data-endpoint="([^"]+)">', page)[0] == first


@pytest.mark.parametrize(("query", "message"), [("?window=9y", "window must be one of 5m, 1h, 6h, not '9y'"),
                                                ("?sort=colour", "sort must be one of name, count"),
                                                ("?dir=up", "dir must be one of asc, desc")])
def test_bad_performance_parameters_are_400_naming_allowed_values(client, debug, local_inbox, query, message):
    """A query parameter outside its values is a 400 whose text names the allowed ones."""
    response = client.get("/_errors/performance/" + query)
    assert response.status_code == 400 and message in _text(response)


def test_alerts_page_lists_channels_outcomes_and_attempts(client, debug, filled, local_inbox):
    """Each alert shows per channel whether it was delivered, with attempts, linked to its event."""
    _fired(local_inbox, "LookupError burst", filled["orders"],
           {"email": ("delivered", 1, ""), "slack": ("lost", 5, "slack: HTTP 500; its cooldown ended")})
    page = _text(client.get("/_errors/alerts/"))
    assert '<tr data-channel="email" data-outcome="delivered">' in page
    slack = re.search(r'<tr data-channel="slack" data-outcome="failed">(.*?)</tr>', page, re.S).group(1)
    assert "HTTP 500; its cooldown ended" in slack and '<td class="num">5</td>' in slack
    assert f'href="/_errors/issues/{filled["orders"]}/"' in slack


def test_empty_inbox_pages_say_so(client, debug, local_inbox):
    """With nothing recorded every page renders and says there is nothing yet."""
    assert "No events in the local inbox yet." in _text(client.get("/_errors/"))
    assert "No requests in this window." in _text(client.get("/_errors/performance/"))
    assert "No alerts recorded yet." in _text(client.get("/_errors/alerts/"))


# --- charts -----------------------------------------------------------------------------------


def test_charts_escape_their_labels_and_scale_to_the_peak():
    """Labels are escaped text; bars scale to the largest value; no readings is a sentence, not an SVG."""
    svg = sparkline([0, 2, 4], label="<b>x</b>", height=22)
    assert "&lt;b&gt;x&lt;/b&gt;" in svg and "<b>" not in svg
    heights = [float(h) for h in re.findall(r'height="([\d.]+)" fill="#2563eb"', svg)]
    assert heights == [10.0, 20.0]
    assert "No readings" in line_chart({})
    assert "&lt;q&gt;" in line_chart({"<q>": [(0.0, 1.0), (60.0, 3.0)]})
