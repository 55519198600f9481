"""Triage in a real browser: headless Chromium resolves an issue, then sees it come back as a regression."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.browser.support import REPO, Gunicorn, app_env, follow, require_browser, screenshot

BURST = "LookupError: Order"


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory) -> Path:
    """The scripted demo run with every request traced, so the inbox holds transactions to open."""
    require_browser()
    folder = tmp_path_factory.mktemp("triage")
    env = {**app_env(folder, debug=False), "SENTRY_TRACES_SAMPLE_RATE": "1.0"}
    done = subprocess.run([sys.executable, "-m", "tests.browser.fill_demo"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-4000:]
    return folder


def _wait_for_status(page, url: str, status: str, timeout: float = 20.0) -> None:
    """Reload until the issue reaches the status: the server's inbox writer stores events off-thread."""
    deadline = time.monotonic() + timeout
    while True:
        page.goto(url)
        if page.locator("#triage").get_attribute("data-status") == status or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert page.locator("#triage").get_attribute("data-status") == status


def test_resolve_an_issue_then_see_it_come_back_as_a_regression(page, debug_server):
    """Resolve from the issue page (a POST form, no script); a new event marks it regressed in the list."""
    page.goto(f"{debug_server}/_errors/")
    follow(page, page.locator("#issues a.title", has_text=BURST))
    issue_url = page.url
    assert page.locator("#triage").get_attribute("data-status") == "unresolved"
    follow(page, "button#resolve")
    assert page.url == issue_url  # redirected back after the POST
    assert page.locator("#triage").get_attribute("data-status") == "resolved"
    assert "by anonymous (DEBUG on)" in page.locator("#decided").inner_text()
    assert page.locator("#history tbody tr").first.get_attribute("data-action") == "resolve"
    assert page.context.cookies() == [] and page.dialogs == []
    screenshot(page, "issue-resolved")

    page.goto(f"{debug_server}/_errors/")
    row = page.locator("#issues tbody tr", has_text=BURST)
    assert row.get_attribute("data-status") == "resolved"

    assert requests.get(f"{debug_server}/api/orders/1011/", timeout=15).status_code == 500
    _wait_for_status(page, issue_url, "regressed")
    assert "1 event since it was resolved" in page.locator("#triage h2").inner_text()
    page.goto(f"{debug_server}/_errors/")
    row = page.locator("#issues tbody tr", has_text=BURST)
    assert row.get_attribute("data-status") == "regressed"
    assert row.locator(".status-regressed").inner_text() == "regressed"
    screenshot(page, "issues-regressed")


def test_mute_for_hours_and_reopen(page, debug_server):
    """Mute for 2 hours shows as muted with its end; Reopen makes it unresolved again; both recorded."""
    page.goto(f"{debug_server}/_errors/")
    follow(page, page.locator('#issues tr[data-status="unresolved"] a.title').last)
    issue_url = page.url
    page.fill("input[name=hours]", "2")
    follow(page, "button#mute-hours")
    assert page.url == issue_url and page.locator("#triage").get_attribute("data-status") == "muted"
    assert " until " in page.locator("#decided").inner_text()
    follow(page, "button#reopen")
    assert page.locator("#triage").get_attribute("data-status") == "unresolved"
    actions = page.locator("#history tbody tr").evaluate_all("rows => rows.map(r => r.dataset.action)")
    assert actions[:2] == ["reopen", "mute"]


@pytest.fixture(scope="module")
def keep_all_server(demo_folder) -> Iterator[str]:
    """A second server on the same inbox that keeps every payload of a burst (SENTRY_STORM_KEEP), so
    the events to page through do not depend on how the storm sampler's windows fell."""
    server = Gunicorn({**app_env(demo_folder, debug=True), "SENTRY_STORM_KEEP": "1000"})
    yield server.url
    server.stop()


def test_page_through_the_events_of_an_issue(page, keep_all_server):
    """After 30 more failures of one view the issue's events span two pages; older/newer walk them."""
    debug_server = keep_all_server
    for number in range(2000, 2030):
        assert requests.get(f"{debug_server}/api/orders/{number}/", timeout=15).status_code == 500
    page.goto(f"{debug_server}/_errors/")
    follow(page, page.locator("#issues a.title", has_text=BURST))
    deadline = time.monotonic() + 20
    while page.locator("#event-pages").count() == 0 and time.monotonic() < deadline:
        time.sleep(0.3)
        page.reload()
    assert page.locator("#events tbody tr").count() == 25
    newest = page.locator("#events tbody tr").first.get_attribute("data-event")
    assert page.locator("#events tbody tr").first.locator("td").nth(5).inner_text() == "/api/orders/{number}/"
    follow(page, "#page-older")
    assert "page=2" in page.url and page.locator("#events tbody tr").count() >= 1
    assert newest not in page.locator("#events").inner_text()
    follow(page, page.locator("#events tbody tr a").first)
    shown = page.url.rstrip("/").rsplit("/", 1)[1]
    follow(page, "#newer-event")
    newer = page.url.rstrip("/").rsplit("/", 1)[1]
    assert newer != shown
    follow(page, "#older-event")
    assert page.url.rstrip("/").rsplit("/", 1)[1] == shown
    assert page.locator('#tag-distribution .tag[data-tag="error.category"]').count() == 1
    assert "first seen in" in page.locator("#releases").inner_text()
    screenshot(page, "issue-events")


def test_search_the_issues_by_tag_and_by_text(page, debug_server):
    """The search box: a tag term keeps one category's issues, a phrase finds its title, is: by status."""
    page.goto(f"{debug_server}/_errors/")
    every = page.locator("#issues tbody tr").count()
    page.fill("input[name=q]", "category:external")
    follow(page, "button[type=submit]")
    categories = page.locator("#issues tbody tr").evaluate_all("rows => rows.map(r => r.dataset.category)")
    assert categories and set(categories) == {"external"} and len(categories) < every
    assert "q=category%3Aexternal" in page.url
    page.fill("input[name=q]", '"order 1011 NOT found"')
    follow(page, "button[type=submit]")
    titles = page.locator("#issues a.title").all_inner_texts()
    assert titles == ["LookupError: Order 1011 not found"]
    page.fill("input[name=q]", "is:muted")
    follow(page, "button[type=submit]")
    assert page.locator("#issues tbody tr").count() == 0  # nothing of this module stays muted
    page.fill("input[name=q]", "is:unresolved category:generic")
    follow(page, "button[type=submit]")
    rows = page.locator("#issues tbody tr")
    statuses = rows.evaluate_all("rows => rows.map(r => r.dataset.status)")
    assert statuses and set(statuses) <= {"unresolved", "regressed"}
    assert set(rows.evaluate_all("rows => rows.map(r => r.dataset.category)")) == {"generic"}
    screenshot(page, "issues-search")


def test_open_an_endpoints_traces_and_read_the_n_plus_one_fix(page, debug_server):
    """From the performance table: the N+1 trace of /api/books/ names the ORM field and the fix and
    marks the repeated spans; the slowest trace of the slow report marks its slow query."""
    page.goto(f"{debug_server}/_errors/performance/")
    books = page.locator('#endpoints tr[data-endpoint="/api/books/"]')
    follow(page, books.locator("a.n1"))
    assert page.locator("h1#transaction-name").inner_text() == "/api/books/"
    finding = page.locator(".n1-finding").first
    assert finding.locator(".orm-field").inner_text() == "Book.author"
    assert finding.locator(".fix").inner_text() == "use select_related('author') on the queryset"
    assert page.locator("#waterfall tr.n1").count() >= 5 and page.dialogs == []
    screenshot(page, "transaction-n-plus-one")

    page.goto(f"{debug_server}/_errors/performance/")
    follow(page, page.locator('#endpoints tr[data-endpoint="/api/reports/popular/"] a.slowest'))
    assert page.locator(".slow-finding").count() >= 1
    assert page.locator("#waterfall tr.slow").count() >= 1
    bar = page.locator("#waterfall tr.slow .span-bar").first
    assert bar.evaluate("bar => getComputedStyle(bar).backgroundColor") == "rgb(220, 38, 38)"
    screenshot(page, "transaction-slow-query")
