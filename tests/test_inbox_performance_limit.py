"""`manage.py sentry_inbox --performance` as an operator runs it: --limit per table, and a line saying
how many rows it left out instead of silently showing the first 20."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from errorwarden.local.aggregates import Aggregates

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    """An inbox whose figures hold 25 endpoints, 3 services and 1 task."""
    path = tmp_path / "inbox.sqlite3"
    aggregates = Aggregates.for_inbox(path)
    try:
        for n in range(25):
            for _ in range(n + 1):  # busiest first: /api/e24/ has 25 requests
                aggregates.observe_request(f"/api/e{n:02d}/", 10.0 + n, failed=False)
        for service in ("s3", "clerk", "resend"):
            aggregates.observe_service(service, 30.0, failed=False)
        aggregates.observe_task("library.tasks.catalogue_report", 12.0, failed=False)
    finally:
        aggregates.close()
    return path


def _performance(inbox: Path, *args: str) -> str:
    env = {**os.environ, "SENTRY_DSN": "", "SENTRY_INBOX_PATH": str(inbox)}
    done = subprocess.run([sys.executable, "manage.py", "sentry_inbox", "--performance", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _endpoint_rows(output: str) -> list[str]:
    table = output.split("\nEndpoints:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    return [row.split()[0] for row in table[1:] if row.startswith("/api/")]


def test_the_default_limit_says_how_many_endpoints_it_left_out(inbox):
    """20 of 25 endpoints, busiest first, and a line naming the 5 left out and the option that shows them."""
    output = _performance(inbox)
    assert _endpoint_rows(output) == [f"/api/e{n:02d}/" for n in range(24, 4, -1)]
    assert "  ... 5 more endpoints in this window not shown (20 of 25); --limit 25 lists them all" in output
    assert "more external services" not in output and "more Celery tasks" not in output


def test_limit_applies_to_every_table(inbox):
    """--limit 2 keeps two rows of each table and says what each left out; --limit 25 leaves nothing out."""
    output = _performance(inbox, "--limit", "2")
    assert _endpoint_rows(output) == ["/api/e24/", "/api/e23/"]
    assert "... 23 more endpoints in this window not shown (2 of 25)" in output
    assert "... 1 more external services in this window not shown (2 of 3); --limit 3 lists them all" \
        in output
    assert "more Celery tasks" not in output
    everything = _performance(inbox, "--limit", "25")
    assert len(_endpoint_rows(everything)) == 25 and "not shown" not in everything
