"""Browser-test helpers: finding Chromium, the app under gunicorn on loopback, screenshots."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.support.processes import stop

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "var" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
# Chromium as root on a machine with no outside network: no sandbox, no background fetches.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
_LISTENING = re.compile(r"Listening at: (http://127\.0\.0\.1:\d+)")


def require_browser() -> None:
    """Skip when Chromium, Playwright or gunicorn is missing; fail instead under CI=true."""
    missing = [name for name, ok in (
        (f"Chromium at {CHROMIUM} (apt-get install chromium)", Path(CHROMIUM).is_file()),
        ("the playwright package (pip install -e '.[test]')", _importable("playwright")),
        ("gunicorn (pip install -e '.[test]')", _importable("gunicorn")),
    ) if not ok]
    if not missing:
        return
    reason = "browser test needs " + ", ".join(missing)
    if os.environ.get("CI") == "true":  # CI must prove the pages render in a real browser
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def _importable(name: str) -> bool:
    try:
        __import__(name)
    except ImportError:
        return False
    return True


def app_env(folder: Path, debug: bool) -> dict[str, str]:
    """The environment of the fill script and the servers: throwaway inbox and database, no DSN."""
    return {**os.environ, "SENTRY_DSN": "", "SENTRY_INBOX_PATH": str(folder / "inbox.sqlite3"),
            "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
            "DJANGO_DEBUG": "true" if debug else "false", "SENTRY_TRACES_SAMPLE_RATE": "0",
            "SENTRY_PROFILES_SAMPLE_RATE": "0"}


class Gunicorn:
    """gunicorn serving config.wsgi on a free loopback port, two forked workers, until stop()."""

    def __init__(self, env: dict[str, str]):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", "127.0.0.1:0",
             "--workers", "2", "--timeout", "60", "--graceful-timeout", "5"],
            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.url = ""
        self.log: list[str] = []
        found = threading.Event()
        threading.Thread(target=self._read, args=(found,), daemon=True).start()
        if not found.wait(30) or not self.url:
            self.stop()
            raise RuntimeError("gunicorn did not start:\n" + "".join(self.log[-30:]))
        self._wait_ready()

    def _read(self, found: threading.Event) -> None:
        for line in self.process.stderr:
            self.log.append(line)
            match = _LISTENING.search(line)
            if match and not self.url:
                self.url = match.group(1)
                found.set()
        found.set()

    def _wait_ready(self) -> None:
        # A worker's first request loads the whole app; on a busy machine that can take seconds.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                requests.get(self.url + "/api/books/", timeout=15)
                return
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.1)
        raise RuntimeError("gunicorn never answered:\n" + "".join(self.log[-30:]))

    def stop(self) -> None:
        """Stop the arbiter (it stops its workers) and wait for it."""
        stop(self.process, signal.SIGTERM, 15, 5)


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot under var/screenshots/ and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def follow(page, target) -> None:
    """Click what navigates (a link, a submit button; a selector or a locator) and return once the
    new page has loaded. A bare click returns when the navigation has committed, before the new
    document is parsed, so a non-waiting read right after it (count(), evaluate_all(),
    all_inner_texts()) could see a half-built page: it did once in CI, an empty issue list."""
    with page.expect_navigation(wait_until="load"):
        (page.locator(target) if isinstance(target, str) else target).click()
