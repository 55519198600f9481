"""The dashboard in headless Chromium after hostile text was posted to the app under gunicorn.

The inbox is the one tests/support/hostile_server.py filled (session fixture `hostile_served`);
a DEBUG gunicorn serves the dashboard over it. What Chromium renders is what a person reads.
"""

from __future__ import annotations

import pytest

from tests.browser.support import CHROMIUM, CHROMIUM_ARGS, follow, require_browser, screenshot
from tests.reliability.server import Gunicorn
from tests.support.hostile import RAW

_PAGES = ("/_errors/", "/_errors/alerts/", "/_errors/performance/")


@pytest.fixture(scope="module")
def dashboard(hostile_served):
    """The dashboard (DEBUG on) over the hostile run's inbox; yields its base URL."""
    require_browser()
    env = {**hostile_served.env, "DJANGO_DEBUG": "true"}
    with Gunicorn(env, hostile_served.folder / "dashboard.log", workers=1, graceful_timeout=5,
                  ready_path="/hostile/ok/") as server:
        yield server.url("")


@pytest.fixture(scope="module")
def browser(dashboard):
    """Headless Debian Chromium (replaces the demo-filled one of tests/browser/conftest.py)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _assert_inert(page, base: str) -> None:
    """What the person sees and what the page links to: no raw control or bidi character, no
    script ran, every link stays on the dashboard."""
    shown = page.evaluate("() => document.body.innerText + document.title")
    assert not RAW.search(shown.replace("\n", "")), sorted({f"U+{ord(c):04X}" for c in RAW.findall(shown)})
    assert not RAW.search(page.content().replace("\n", ""))
    links = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
    assert all(link.startswith(base + "/") for link in links), [x for x in links if not x.startswith(base)]
    assert page.evaluate("() => document.scripts.length") == 0 and page.dialogs == []


def test_the_issue_list_shows_hostile_titles_as_escapes(page, dashboard):
    """Titles with an erase-display, an OSC 8 link and an RLO read as escapes, in order."""
    page.goto(f"{dashboard}/_errors/")
    _assert_inert(page, dashboard)
    title = page.locator("#issues a.title", has_text="could not parse \\x1b[2J")
    assert title.count() == 1
    assert title.inner_text().startswith("ValueError: could not parse \\x1b[2J\\x1b]8;;http://evil.example/\\x07")
    assert "\\u202egnp.exe" in title.inner_text()
    screenshot(page, "hostile-issues")


def test_every_issue_page_and_the_other_pages_are_inert(page, dashboard):
    """Each hostile issue's page (title, message, request, breadcrumbs, raw JSON), alerts, performance."""
    page.goto(f"{dashboard}/_errors/")
    issues = page.eval_on_selector_all("#issues a.title", "links => links.map(a => a.href)")
    assert len(issues) >= 20
    for url in issues:
        page.goto(url)
        _assert_inert(page, dashboard)
    for path in _PAGES:
        page.goto(dashboard + path)
        _assert_inert(page, dashboard)


def test_the_issue_page_shows_the_override_where_it_was(page, dashboard):
    """The event title and the exception show ESC and RLO as escapes; the bidi order is untouched."""
    page.goto(f"{dashboard}/_errors/")
    follow(page, page.locator("#issues a.title", has_text="could not parse \\x1b[2J"))
    heading = page.locator("h1#event-title").inner_text()
    assert heading.startswith("ValueError: could not parse \\x1b[2J") and heading.endswith("\\u202egnp.exe")
    assert page.evaluate("() => getComputedStyle(document.querySelector('h1')).direction") == "ltr"
    screenshot(page, "hostile-issue")
