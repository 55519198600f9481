"""End to end against a real Sentry-compatible server (Bugsink): what it stores, groups and rejects.

Events travel through init_sentry()'s real wiring and sentry-sdk's HTTP transport; what arrived
is read back from Bugsink's own REST API, never from what we sent.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator

import pytest
import requests
import sentry_sdk
from django.conf import settings as django_settings
from django.urls import include, path
from rest_framework.response import Response
from rest_framework.views import APIView

from errorwarden.diagnostics import FAIL, OK, check_delivery
from errorwarden.issue_links import issue_url
from infrastructure.sentry_config import ErrorTracker, init_sentry
from library.auth import issue_token
from tests.planted_urls import SECRETS
from tests.support.bugsink import BugsinkServer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls("tests.test_real_server")]
logger = logging.getLogger("library.real_server")
PLANTED = {k: SECRETS[k] for k in ("card", "stripe", "jwt", "email", "password", "aws")}


class RealServerCheckError(Exception):
    """Raised only by this module's views: its type names one issue on the server."""


class PlantedSecretsError(Exception):
    """Raised by the view that plants secrets: its own issue on the server."""


class PaymentDeclined(Exception):
    """A handled error the capture view reports through ErrorTracker."""


def charge(amount: int) -> None:
    """Fails every charge: the crash frame the captured event must show."""
    raise PaymentDeclined(f"card declined for {amount} EUR")


class FailingOrder(APIView):
    """Fails unhandled, with the order number in the message."""

    def get(self, request, number: int):
        ErrorTracker.set_tag("feature", "real-server")
        logger.info("looking up order %s", number)
        raise RealServerCheckError(f"Order {number} not found")


class CapturedPayment(APIView):
    """Reports a handled error through ErrorTracker and answers with its event id."""

    def post(self, request):
        ErrorTracker.set_tag("feature", "checkout")
        ErrorTracker.set_user(user_id=request.user.pk, email=request.user.email,
                              username=request.user.username)
        try:
            charge(int(request.data["amount"]))
        except PaymentDeclined as exc:
            event_id = ErrorTracker.capture_exception(exc, context={"payment": {"amount": 10}})
        return Response({"event_id": event_id})


class PlantedSecrets(APIView):
    """Carries secrets in a local, a log line, an extra and a context, then fails."""

    def post(self, request):
        api_token = PLANTED["stripe"]  # noqa: F841  (a frame local the SDK records)
        logger.info("charging card %s for %s", PLANTED["card"], PLANTED["email"])
        sentry_sdk.set_extra("ledger_reply", f"session {PLANTED['jwt']} key {PLANTED['aws']}")
        ErrorTracker.set_context("billing", {"password": PLANTED["password"]})
        raise PlantedSecretsError("planted secrets")


urlpatterns = [
    path("rs/orders/<int:number>/", FailingOrder.as_view()),
    path("rs/pay/", CapturedPayment.as_view()),
    path("rs/planted/", PlantedSecrets.as_view()),
    path("", include("config.urls")),
]


@pytest.fixture
def on_bugsink(bugsink: BugsinkServer) -> Iterator[BugsinkServer]:
    """This process re-initialised by init_sentry() to send its errors to the real Bugsink."""
    original = django_settings.SENTRY
    # Bugsink takes errors only (it answers transactions with a day-long rate limit).
    init_sentry(original.with_overrides(dsn=bugsink.dsn, traces_sample_rate=0.0, profiles_sample_rate=0.0))
    try:
        yield bugsink
    finally:
        sentry_sdk.flush(timeout=5)
        init_sentry(original)


@pytest.fixture
def alice(django_user_model):
    """A signed-in reader with an email address that must never leave the process."""
    return django_user_model.objects.create_user("alice", email="alice@example.com")


def _auth(username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(username)}"}


def _crash_frame(event: dict) -> dict:
    frames = event["data"]["exception"]["values"][-1]["stacktrace"]["frames"]
    return [f for f in frames if f.get("in_app")][-1]


def _tags(event: dict) -> dict[str, str]:
    tags = event["data"].get("tags", {})
    return dict(tags) if isinstance(tags, dict) else {k: v for k, v in tags}


def test_an_unhandled_view_error_is_stored_with_stack_request_user_tags_and_release(on_bugsink, live_server,
                                                                                   alice):
    """A view's unhandled error is stored by Bugsink with its stack, request, user, tags and release."""
    response = requests.get(f"{live_server.url}/rs/orders/7/?ref=mail", headers=_auth("alice"), timeout=10)
    assert response.status_code == 500
    sentry_sdk.flush(timeout=10)
    issue = on_bugsink.wait_for_issue("RealServerCheckError")
    assert issue is not None, "Bugsink stored no RealServerCheckError issue"
    event = on_bugsink.latest_event(issue["id"])

    crash = _crash_frame(event)
    assert crash["function"] == "get" and "raise RealServerCheckError" in crash["context_line"]
    request = event["data"]["request"]
    assert request["method"] == "GET" and request["url"].endswith("/rs/orders/7/")
    assert "ref=mail" in request["query_string"]
    assert event["data"]["user"]["id"] == str(alice.pk) and event["data"]["user"]["username"] == "alice"
    assert "email" not in event["data"]["user"]
    assert _tags(event)["feature"] == "real-server"
    assert event["data"]["release"] == django_settings.SENTRY.release
    assert event["data"]["environment"] == django_settings.SENTRY.environment


def test_an_error_tracker_capture_is_stored_with_its_context_and_crash_frame(on_bugsink, live_server, alice):
    """ErrorTracker.capture_exception in a request is stored with its crash frame, context and user."""
    answer = requests.post(f"{live_server.url}/rs/pay/", json={"amount": 10}, headers=_auth("alice"),
                           timeout=10)
    event_id = answer.json()["event_id"]
    sentry_sdk.flush(timeout=10)
    event = on_bugsink.event(event_id)
    assert event is not None, f"Bugsink has no event {event_id}"

    data = event["data"]
    assert data["exception"]["values"][-1]["type"] == "PaymentDeclined"
    assert _crash_frame(event)["function"] == "charge"
    assert data["contexts"]["payment"] == {"amount": 10}
    assert data["request"]["url"].endswith("/rs/pay/")
    assert data["user"]["username"] == "alice" and "email" not in data["user"]
    assert _tags(event)["feature"] == "checkout"
    assert data["release"] == django_settings.SENTRY.release
    assert data["environment"] == django_settings.SENTRY.environment


def _declined(order: int) -> str:
    try:
        raise RuntimeError(f"Payment for order {order} declined")
    except RuntimeError as exc:
        return ErrorTracker.capture_exception(exc)


def _locked() -> str:
    try:
        raise sqlite3.OperationalError("database is locked")
    except sqlite3.OperationalError as exc:
        return ErrorTracker.capture_exception(exc)


def test_an_id_in_the_message_never_splits_an_issue_and_two_categories_never_merge(on_bugsink):
    """Two messages differing only by an order id are one Bugsink issue; a database error is another."""
    first, second, other = _declined(1001), _declined(2002), _locked()
    sentry_sdk.flush(timeout=10)
    issues = {name: on_bugsink.event(eid)["issue"] for name, eid in
              (("first", first), ("second", second), ("other", other))}
    assert issues["first"] == issues["second"]
    assert issues["other"] != issues["first"]


def test_a_planted_secret_never_reaches_the_servers_stored_event(on_bugsink, live_server, alice):
    """Secrets in a local, a log line, an extra and a context are absent from what Bugsink stored."""
    response = requests.post(f"{live_server.url}/rs/planted/?token={PLANTED['stripe']}",
                             json={"card": PLANTED["card"]}, headers=_auth("alice"), timeout=10)
    assert response.status_code == 500
    sentry_sdk.flush(timeout=10)
    issue = on_bugsink.wait_for_issue("PlantedSecretsError")
    assert issue is not None, "Bugsink stored no PlantedSecretsError issue"
    stored = on_bugsink.latest_event(issue["id"])

    text = json.dumps(stored)
    for name, secret in PLANTED.items():
        assert secret not in text, f"the {name} secret reached the server"
    # The fields arrived scrubbed in place, not dropped: their harmless words are still there.
    assert stored["data"]["extra"]["ledger_reply"].startswith("session ")
    assert any("charging card" in str(c.get("message")) for c in stored["data"]["breadcrumbs"]["values"])


@pytest.mark.parametrize(("case", "status", "meaning"), [
    ("wrong key", 403, "refused the key or the project"),
    ("wrong project", 403, "refused the key or the project"),
    ("oversized event", 413, "larger than the server accepts"),
])
def test_what_bugsink_rejects_is_what_the_delivery_probe_reports(bugsink, case, status, meaning):
    """The probe's verdict on each refusal matches the status Bugsink really answered."""
    dsn = {"wrong key": bugsink.dsn_with(key="0" * 32), "wrong project": bugsink.dsn_with(project=999),
           "oversized event": bugsink.dsn}[case]
    check, answer, event_id = check_delivery(dsn, pad_kb=1100 if case == "oversized event" else 0)
    assert answer is not None and answer.status == status
    assert check.status == FAIL and f"HTTP {status}: " in check.message and meaning in check.message
    assert bugsink.public_key not in check.message and "0" * 32 not in check.message
    assert bugsink.event(event_id, timeout=0) is None


def test_the_delivery_probe_event_is_stored_by_bugsink(bugsink):
    """An accepted probe event is really stored, and the answer carries Bugsink's errors-only limit."""
    check, answer, event_id = check_delivery(bugsink.dsn)
    assert check.status == OK and answer.status == 200
    assert bugsink.event(event_id)["data"]["message"] == "sentry_check: test event"
    assert "transaction" in answer.headers["x-sentry-rate-limits"]


def test_the_bugsink_alert_link_opens_the_event_after_login(bugsink):
    """The default Bugsink link redirects to login, then opens the event's page; a wrong id is 404."""
    _, _, event_id = check_delivery(bugsink.dsn)
    link = issue_url(bugsink.dsn, event_id, server="bugsink")
    assert link.startswith(bugsink.base_url + "/issues/event/")

    anonymous = requests.get(link, allow_redirects=False, timeout=10)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous.headers["Location"]
    session = bugsink.login()
    page = session.get(link, timeout=10)
    assert page.status_code == 200 and "/issues/issue/" in page.url
    assert "sentry_check: test event" in page.text
    unknown = session.get(issue_url(bugsink.dsn, "f" * 32, server="bugsink"), timeout=10)
    assert unknown.status_code == 404



@pytest.mark.parametrize(("ci", "outcome"), [("true", pytest.fail.Exception), ("", pytest.skip.Exception)])
def test_a_server_that_cannot_start_fails_under_ci_and_skips_elsewhere(monkeypatch, ci, outcome):
    """CI must prove the real server ran; a laptop without it skips with the reason."""
    from tests.support.bugsink import _unavailable

    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="Bugsink did not start: port in use"):
        _unavailable("Bugsink did not start: port in use")
