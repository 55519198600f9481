"""One grouping identity: the inbox and the alert rules agree on the issue, classifier or not.

`event.default_fingerprint` is the classifier's generic fingerprint and the fallback of the inbox
and the alert rules; `event.issue_fingerprint` is the key both group by. Here the classifier is
broken (it raises inside, so the pipeline's SKIP policy sends the event on unclassified) and a
real capture goes to the local inbox while the burst rule pages a Slack stand-in: the issue the
inbox lists and the issue the alert counted are the same, one for one.
"""

from __future__ import annotations

import sqlite3

import pytest
import sentry_sdk

from errorwarden import event as ev
from errorwarden.alerting.rules import digest
from errorwarden.grouping import Classifier
from errorwarden.local import InboxStore
from infrastructure.sentry_alerts import flush
from infrastructure.sentry_config import ErrorTracker
from tests.support.slack import SlackStandIn


def _charge_card() -> None:
    raise LookupError("card 4 was declined")


def _refund_order() -> None:
    raise LookupError("order 7 has no payment")


def _capture(raising) -> None:
    try:
        raising()
    except LookupError as exc:
        ErrorTracker.capture_exception(exc)


@pytest.mark.parametrize("broken", [True, False], ids=["classifier-raises", "classifier-works"])
def test_the_inbox_and_the_alerts_agree_on_the_issue(error_tracking, tmp_path, monkeypatch, broken):
    calls = []

    def raising(self, event, hint):
        calls.append(event.get("event_id"))
        raise RuntimeError("classifier bug")

    if broken:
        monkeypatch.setattr(Classifier, "classify", raising)
    with SlackStandIn() as slack:
        runtime = error_tracking(dsn="", inbox_path=tmp_path / "inbox.sqlite3", critical_error_threshold=2,
                                 slack_alerts_enabled=True, slack_webhook_url=slack.url,
                                 email_alerts_enabled=False, traces_sample_rate=0.0, profiles_sample_rate=0.0)
        for raising_function in (_charge_card, _charge_card, _refund_order, _refund_order):
            _capture(raising_function)
        sentry_sdk.flush(timeout=10)
        assert flush(10) and slack.wait_for(accepted=2)

    failures = runtime.stats.snapshot()["failures"]
    # (The pipeline's own ERROR log about the failure is an event too: a fifth classify call.)
    assert (failures.get("classify:RuntimeError") == len(calls) >= 4) if broken else not failures
    store = InboxStore(tmp_path / "inbox.sqlite3")
    issues = [issue for issue in store.issues() if issue["title"].startswith("LookupError")]
    store.close()
    assert sorted(issue["count"] for issue in issues) == [2, 2]
    with sqlite3.connect(runtime.settings.alert_spool) as spool:
        alert_keys = {key for (key,) in spool.execute("SELECT key FROM alert_deliveries")}
    # Each issue the inbox lists is the issue one alert counted (the burst rule keys by the digest).
    assert alert_keys == {f"burst:{digest(tuple(issue['fingerprint']))}" for issue in issues}
    functions = sorted(issue["fingerprint"][-1] for issue in issues)
    assert functions == [f"{__name__}._charge_card", f"{__name__}._refund_order"]
    for issue in issues:
        kind, type_name, text, _ = issue["fingerprint"]
        assert (kind, type_name) == ("generic", "LookupError")
        # Working, the classifier adds the normalized text; without it the code location groups.
        assert text == ("" if broken else text) and (broken or "<num>" in text)


def test_default_fingerprint_is_the_classifiers_generic_shape():
    """The classifier's generic verdict is default_fingerprint with the live facts; an event no
    classifier saw gets the same shape from the event alone."""
    frame = {"module": "shop.views", "function": "refund", "in_app": True}
    event = {"exception": {"values": [{"type": "LookupError", "value": "order 7 has no payment",
                                       "stacktrace": {"frames": [frame]}}]}}
    try:
        raise LookupError("order 7 has no payment")
    except LookupError as exc:
        verdict = Classifier({}).classify(event, {"exc_info": (type(exc), exc, exc.__traceback__)})
    generic = ("generic", "LookupError", "order <num> has no payment", "shop.views.refund")
    assert verdict.fingerprint == generic
    assert ev.default_fingerprint(event) == ["generic", "LookupError", "", "shop.views.refund"]
    assert ev.issue_fingerprint({**event, "fingerprint": list(generic)}) == list(generic)
    assert ev.issue_fingerprint({"message": "user 7 failed", "fingerprint": ["{{ default }}", "x"]}) == \
        ["message", "user 7 failed", "x"]
    assert ev.default_fingerprint({"type": "transaction", "transaction": "/api/books/"}) == ["/api/books/"]


def test_only_event_py_walks_the_exception_chain_and_the_frames():
    """Reading `exception`/`threads` values or a stack's `frames` out of an event happens in
    errorwarden/event.py only (the scrubber's generic walk, which visits every field of any
    shape, is the one other reader)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    reads = re.compile(r"""(?:get\(|\[)\s*["'](?:frames|exception|threads|stacktrace)["']""")
    allowed = {"errorwarden/event.py"}
    found = [f"{path.relative_to(root)}:{n}" for path in sorted((root / "errorwarden").rglob("*.py"))
             if str(path.relative_to(root)) not in allowed and "scrubbing" not in path.parts
             for n, line in enumerate(path.read_text().splitlines(), 1) if reads.search(line)]
    assert found == []
