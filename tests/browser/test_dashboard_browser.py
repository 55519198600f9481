"""The dashboard in a real browser: headless Chromium against gunicorn, after a scripted demo run."""

from __future__ import annotations

from django.conf import settings as django_settings

from tests.browser.fill_demo import SCRIPT_TITLE
from tests.browser.support import follow, screenshot

RED = "rgb(185, 28, 28)"  # .slow in the dashboard's stylesheet


def test_issue_list_shows_the_demo_issues_and_filters_them(page, debug_server):
    """The list shows every category, the burst's count and sparkline, escapes <script>, and filters."""
    page.goto(f"{debug_server}/_errors/")
    rows = page.locator("#issues tbody tr")
    assert rows.count() >= 6
    categories = set(rows.evaluate_all("rows => rows.map(r => r.dataset.category)"))
    assert {"generic", "external", "auth"} <= categories
    burst = page.locator("#issues tbody tr", has_text="LookupError: Order")
    assert burst.locator("td.num").first.inner_text() == "12"  # every event counted
    # A storm's sample (1-7, 9 and the newest), and the 10th, which fired the burst alert: the
    # event an alert names is always kept (its "Inspect locally" command opens it).
    assert burst.locator("td.kept").inner_text() == "10"
    assert burst.locator("svg.spark title").text_content() == "12 events in the last 60 minutes"
    xss = page.locator("#issues a.title", has_text="alert('xss')")
    assert xss.inner_text() == SCRIPT_TITLE and page.dialogs == []  # shown as text, never run
    screenshot(page, "issues")

    page.select_option("select[name=category]", "external")
    follow(page, "button[type=submit]")
    shown = page.locator("#issues tbody tr").evaluate_all("rows => rows.map(r => r.dataset.category)")
    assert shown and set(shown) == {"external"}
    assert "category=external" in page.url


def test_issue_page_shows_the_latest_event_with_its_stack(page, debug_server):
    """Following an issue opens its latest event: crash line highlighted, request, tags, breadcrumbs."""
    page.goto(f"{debug_server}/_errors/")
    follow(page, page.locator("#issues a.title", has_text="LookupError: Order"))
    assert page.locator("h1#event-title").inner_text() == "LookupError: Order 1011 not found"
    crash = page.locator("details.frame.app .hit").last
    assert "raise LookupError" in crash.inner_text() and crash.is_visible()
    assert "/api/orders/1011/" in page.locator("#request").inner_text()
    assert "orders" in page.locator("#tags").inner_text()
    assert "looking up order 1011" in page.locator("#breadcrumbs").inner_text()
    screenshot(page, "issue")


def test_performance_table_shows_the_slow_endpoint_over_the_threshold(page, debug_server):
    """The slow report's p95 exceeds SENTRY_SLOW_QUERY_MS and renders red; headers sort; services, tasks."""
    page.goto(f"{debug_server}/_errors/performance/")
    p95 = page.locator('#endpoints tr[data-endpoint="/api/reports/popular/"] td.p95')
    assert float(p95.get_attribute("data-ms")) > django_settings.SENTRY.slow_query_ms
    assert p95.evaluate("cell => getComputedStyle(cell).color") == RED
    slow_queries = page.locator('#endpoints tr[data-endpoint="/api/reports/popular/"] td').nth(8)
    assert slow_queries.inner_text() == "2"
    assert page.locator('#endpoints tr[data-endpoint="/api/books/"] td').nth(9).inner_text() == "2"  # N+1
    services = page.locator("#services tbody tr").evaluate_all("rows => rows.map(r => r.dataset.service)")
    assert sorted(services) == ["clerk", "resend", "s3"]
    assert page.locator('#tasks tr[data-task="library.tasks.send_overdue_reminders"]').count() == 1
    assert page.locator("#queues tbody tr").count() == 1 and page.locator("svg.chart circle").count() >= 1
    screenshot(page, "performance")

    follow(page, "#endpoints th a:text-is('Endpoint')")
    names = page.locator("#endpoints tbody tr").evaluate_all("rows => rows.map(r => r.dataset.endpoint)")
    assert names == sorted(names, reverse=True) and "sort=name" in page.url


def test_alerts_page_shows_what_fired_and_where_it_went(page, debug_server):
    """The critical burst and the service failures appear with their channel and delivery outcome."""
    page.goto(f"{debug_server}/_errors/alerts/")
    burst = page.locator("#alerts tbody tr", has_text="Critical error burst")
    assert burst.count() == 1 and burst.get_attribute("data-outcome") == "delivered"
    assert burst.get_attribute("data-channel") == "email"
    assert page.locator("#alerts tbody tr", has_text="External service failure").count() == 3
    screenshot(page, "alerts")


def test_monitors_page_lists_the_beat_schedule(page, debug_server):
    """The demo's beat schedule (the queue-depth probe) is a monitor; no beat ran: it awaits a check-in."""
    page.goto(f"{debug_server}/_errors/monitors/")
    row = page.locator('#monitors tr[data-monitor="queue-depth"]')
    assert row.count() == 1 and row.get_attribute("data-status") == "no check-in yet"
    assert "every 60s" in row.inner_text() and "errorwarden.probe_queue_depth" in row.inner_text()
    assert page.locator("header a.on").inner_text() == "Monitors"
    screenshot(page, "monitors")


def test_anonymous_visitor_gets_404_when_debug_is_off(page, production_server):
    """With DEBUG off the same inbox is invisible: each dashboard page is a plain 404; the API serves."""
    for path in ("/_errors/", "/_errors/performance/", "/_errors/alerts/", "/_errors/monitors/"):
        response = page.goto(production_server + path)
        assert response.status == 404, path
        assert "Local error tracking" not in page.content()
    screenshot(page, "anonymous-404")
    assert page.goto(production_server + "/api/books/").status == 200
