"""Smoke test of `make demo`: migrate and run the demo command in a subprocess, on throwaway files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TIMEOUT = 120  # seconds for the whole demo; it takes about 25 s


def _manage(*args: str, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_the_demo_runs_to_completion_and_prints_every_summary_section(tmp_path):
    """`manage.py demo` exits 0 on a fresh database and inbox and reports categories, alerts, performance."""
    env = {**os.environ, "SENTRY_DSN": "", "SENTRY_INBOX_PATH": str(tmp_path / "inbox.sqlite3"),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    migrated = _manage("migrate", "-v", "0", "--skip-checks", env=env, timeout=60)
    assert migrated.returncode == 0, migrated.stderr

    demo = _manage("demo", env=env, timeout=TIMEOUT)
    assert demo.returncode == 0, demo.stderr[-4000:]
    out = demo.stdout
    assert "Issues in the local inbox, by category:" in out
    rows = out.split("Issues in the local inbox, by category:", 1)[1].split("\n\n", 1)[0]
    categories = {line.split()[0] for line in rows.splitlines()[2:-1]}
    assert {"database", "auth", "external", "rate_limit", "validation"} <= categories, rows
    assert "Alerts sent (email, rendered from scrubbed events):" in out
    alerts = out.split("Alerts sent (email, rendered from scrubbed events):", 1)[1].split("\n\n", 1)[0]
    assert "[CRITICAL]" in alerts and "none" not in alerts.split()
    assert "\nPerformance:\n" in out and "transactions traced" in out
    assert (tmp_path / "inbox.sqlite3").exists()  # the demo's events went to the throwaway inbox
