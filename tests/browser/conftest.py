"""Browser-test fixtures: the scripted demo run, gunicorn servers, and Debian's Chromium under Playwright."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.support import CHROMIUM, CHROMIUM_ARGS, REPO, Gunicorn, app_env, require_browser


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory) -> Path:
    """A folder whose inbox, aggregates and alert log the scripted demo run filled."""
    require_browser()
    folder = tmp_path_factory.mktemp("dashboard")
    done = subprocess.run([sys.executable, "-m", "tests.browser.fill_demo"], cwd=REPO,
                          env=app_env(folder, debug=False), capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-4000:]
    return folder


@pytest.fixture(scope="module")
def debug_server(demo_folder) -> Iterator[str]:
    """The dashboard served by gunicorn with DEBUG on; yields its base URL."""
    server = Gunicorn(app_env(demo_folder, debug=True))
    yield server.url
    server.stop()


@pytest.fixture(scope="module")
def production_server(demo_folder) -> Iterator[str]:
    """The same app and inbox with DEBUG off, as production runs it; yields its base URL."""
    server = Gunicorn(app_env(demo_folder, debug=False))
    yield server.url
    server.stop()


@pytest.fixture(scope="module")
def browser(demo_folder):
    """Headless Debian Chromium under Playwright (no browser download: executable_path)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh page (own context: no state carried between tests) that records any script dialog."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    yield page
    context.close()
