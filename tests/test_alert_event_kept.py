"""The event an alert names is stored: its "Inspect locally" command opens it.

A newcomer's burst alert said `sentry_inbox --show <id>`, and the inbox had no such event: in a
storm the inbox keeps a sample of each issue's payloads (SENTRY_STORM_KEEP), and the event that
made the burst rule fire was not in it. The alert engine now pins the event it names and the
storm samplers keep a pinned event, whatever their window's budget.
"""

from __future__ import annotations

import re

import sentry_sdk

from errorwarden.delivery.sampler import FIRST, SPREAD, IssueWindows, Pins
from errorwarden.local import InboxStore
from infrastructure.sentry_alerts import flush
from infrastructure.sentry_config import ErrorTracker
from tests.support.slack import SlackStandIn

THRESHOLD = 7  # the burst fires on the 7th event: SPREAD with keep 4 keeps 1, 2, 3 and the newest


def _fail(number: int) -> None:
    try:
        raise LookupError(f"order {number} not found")
    except LookupError as exc:
        ErrorTracker.capture_exception(exc)


def _named_event(slack: SlackStandIn) -> str:
    text = repr(slack.accepted[0])
    found = re.search(r"sentry_inbox --show ([0-9a-f]{32})", text)
    assert found, text
    return found.group(1)


def test_the_event_a_burst_alert_names_is_in_the_local_inbox(error_tracking, tmp_path):
    inbox = tmp_path / "inbox.sqlite3"
    with SlackStandIn() as slack:
        error_tracking(dsn="", inbox_path=inbox, critical_error_threshold=THRESHOLD, storm_keep=4,
                       storm_window=3600, slack_alerts_enabled=True, slack_webhook_url=slack.url,
                       email_alerts_enabled=False, traces_sample_rate=0.0, profiles_sample_rate=0.0)
        for number in range(12):
            _fail(number)
        sentry_sdk.flush(timeout=10)
        assert flush(10) and slack.wait_for(accepted=1)
        named = _named_event(slack)
    store = InboxStore(inbox)
    try:
        (issue,) = [i for i in store.issues() if i["title"].startswith("LookupError")]
        assert issue["count"] == 12 and issue["kept"] == 5  # 1, 2, 3, the named 7th and the newest
        shown = store.get(named)
        assert shown is not None and shown["exception"]["values"][-1]["value"] == "order 6 not found"
    finally:
        store.close()


def test_without_the_pin_the_spread_window_would_have_left_the_7th_event_out():
    """The control: the inbox's policy alone keeps 1, 2, 3 and holds the newest, not the 7th."""
    windows = IssueWindows(4, 3600.0, policy=SPREAD, clock=lambda: 0.0)
    kept = [n for n in range(1, 13) if windows.admit("issue", n).kept]
    assert kept == [1, 2, 3]
    pinned = IssueWindows(4, 3600.0, policy=SPREAD, clock=lambda: 0.0)
    kept = [n for n in range(1, 13) if pinned.admit("issue", n, pinned=n == THRESHOLD).kept]
    assert kept == [1, 2, 3, THRESHOLD]


def test_a_pinned_event_is_kept_past_the_outbox_budget_too():
    windows = IssueWindows(2, 3600.0, policy=FIRST, clock=lambda: 0.0)
    kept = [n for n in range(1, 6) if windows.admit("issue", n, pinned=n == 4).kept]
    assert kept == [1, 2, 4]


def test_pins_are_taken_once_and_bounded():
    pins = Pins(limit=2)
    for event_id in ("a", "b", "c"):
        pins.pin(event_id)
    pins.pin("")  # no id: nothing to pin
    pins.pin(None)
    assert len(pins) == 2
    assert not pins.take("a")  # the oldest pin went first
    assert pins.take("b") and not pins.take("b")
    assert pins.take("c") and not pins.take(None)
