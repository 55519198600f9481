"""Tests for the alert log: one row per alert and channel, updated in place, capped, never raising."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from infrastructure.alerting.render import build_alert
from infrastructure.local.alert_log import OUTCOMES, AlertLog, alert_id_of


class Clock:
    """A settable clock."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    """Time that moves only when a test moves it."""
    return Clock()


@pytest.fixture
def log(tmp_path: Path, clock: Clock) -> Iterator[AlertLog]:
    """An alert log beside a fresh inbox path."""
    alert_log = AlertLog.for_inbox(tmp_path / "sentry_inbox.sqlite3", clock=clock, max_rows=5)
    yield alert_log
    alert_log.close()


def test_outcomes_update_one_row_per_alert_and_channel(log, clock):
    """queued then delivered is one row per channel, keeping when it fired and the attempts spent."""
    assert log.record("a1", "critical_burst", "LookupError: Order 1 not found", "critical", "email", "queued",
                      attempts=0, event_id="e" * 32)
    log.record("a1", "critical_burst", "LookupError: Order 1 not found", "critical", "slack", "queued", 0)
    clock.now += 7
    log.record("a1", "critical_burst", "LookupError: Order 1 not found", "critical", "slack", "failed",
               attempts=5, detail="HTTP 500 (gave up)")
    log.record("a1", "critical_burst", "LookupError: Order 1 not found", "critical", "email", "delivered", 1)
    rows = {row["channel"]: row for row in log.recent()}
    assert set(rows) == {"email", "slack"}
    assert (rows["email"]["outcome"], rows["email"]["attempts"], rows["email"]["event_id"]) == \
        ("delivered", 1, "e" * 32)
    assert (rows["slack"]["outcome"], rows["slack"]["attempts"], rows["slack"]["detail"]) == \
        ("failed", 5, "HTTP 500 (gave up)")
    assert rows["slack"]["fired"] == clock.now - 7 and rows["slack"]["updated"] == clock.now


def test_record_alert_takes_the_dict_alerting_builds(log):
    """record_alert() reads rule, title, severity and event id from a build_alert() dict."""
    alert = build_alert(rule="external_service", severity="error", title="s3 is failing",
                        error_type="ClientError", message="503", event_id="a" * 32, first_seen=1.0,
                        last_seen=2.0)
    assert log.record_alert(alert, "email", "delivered", attempts=2)
    [row] = log.recent()
    assert (row["rule"], row["title"], row["severity"], row["event_id"], row["alert_id"]) == \
        ("external_service", "s3 is failing", "error", "a" * 32, alert_id_of(alert))
    assert alert_id_of({**alert, "id": "given"}) == "given"
    assert alert_id_of(alert) == alert_id_of(dict(alert)) != alert_id_of({**alert, "last_seen": "later"})


def test_the_newest_rows_are_kept(log, clock):
    """Past max_rows the oldest rows go, and recent() lists newest first."""
    for n in range(8):
        clock.now += 1
        log.record(f"a{n}", "critical_burst", f"burst {n}", "critical", "email", "delivered")
    assert [row["alert_id"] for row in log.recent()] == ["a7", "a6", "a5", "a4", "a3"]
    assert log.clear() == 5 and log.recent() == []


def test_an_unknown_outcome_is_refused_naming_the_allowed_ones(log):
    """A misspelt outcome is a ValueError listing OUTCOMES."""
    with pytest.raises(ValueError, match="outcome must be one of queued, delivered, retrying, failed, drop"):
        log.record("a1", "r", "t", "error", "email", "sent")
    assert OUTCOMES == ("queued", "delivered", "retrying", "failed", "dropped")


def test_storage_failure_returns_false_and_never_raises(tmp_path, caplog):
    """A directory where the file should be makes record() return False and log once, without the title."""
    target = tmp_path / "in-the-way"
    target.mkdir()
    broken = AlertLog(target)
    with caplog.at_level(logging.WARNING, logger="infrastructure.local.alert_log"):
        assert broken.record("a1", "r", "secret-looking title", "error", "email", "delivered") is False
    assert "not written" in caplog.text and "secret-looking" not in caplog.text


def test_long_text_is_cut(log):
    """Every text field is cut to TEXT_MAX characters so a huge title cannot bloat the file."""
    log.record("a1", "r", "x" * 5000, "error", "email", "delivered")
    assert len(log.recent()[0]["title"]) == 300
