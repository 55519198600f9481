"""End to end: secrets planted in every part of a real request never reach the Sentry receiver."""

from __future__ import annotations

import json

import pytest
import requests
import sentry_sdk

from tests.planted_urls import SECRETS

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls("tests.planted_urls")]


@pytest.fixture
def reader(django_user_model):
    """A signed-in user whose email must not leave the process."""
    return django_user_model.objects.create_user("jane", email=SECRETS["email"])


def _send_planted_request(live_server) -> requests.Response:
    from library.auth import issue_token

    s = SECRETS
    return requests.post(
        f"{live_server.url}/pay/?email={s['email']}&api_key={s['api_key']}&page=2",
        json={"password": s["password"], "card": {"number": s["card"], "cvv": "123"},
              "profile": {"ssn": s["ssn"], "bio": f"call me at {s['email']}"}, "iban": s["iban"]},
        headers={"Authorization": f"Bearer {issue_token('jane')}", "X-Api-Key": s["api_key"],
                 "Cookie": f"sessionid={s['session']}; csrftoken={s['csrf']}",
                 "X-Forwarded-For": s["ipv4"], "X-Debug-Token": s["jwt"], "Referer": s["slack_hook"]},
        timeout=15)


def test_no_planted_secret_reaches_the_receiver(tracked, live_server, reader):
    """Nineteen kinds of secret in headers, cookies, query, body, locals, logs, SQL, tags, contexts,
    spans and the exception message: none arrives, and the event stays readable."""
    assert _send_planted_request(live_server).status_code == 500
    sentry_sdk.flush(timeout=10)
    assert tracked.wait_for(lambda rx: rx.events() and rx.transactions(), timeout=10)
    received = json.dumps([payload for _, payload in tracked.items()])
    leaked = {name: value for name, value in SECRETS.items() if value in received}
    assert leaked == {}
    for placeholder in ("[card]", "[email]", "[ip]", "[iban]", "[Filtered]", "[aws_key]", "[stripe_key]",
                        ":[password]@", "[github_token]", "[google_api_key]"):
        assert placeholder in received, placeholder

    event = next(e for e in tracked.events() if e.get("exception"))
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"
    assert event["request"]["url"].endswith("/pay/") and "page=2" in event["request"]["query_string"]
    assert event["user"] == {"id": str(reader.pk), "username": "jane"}
    assert any(c.get("category") == "query" for c in event["breadcrumbs"]["values"])


def test_an_event_whose_scrubbing_fails_is_dropped_not_sent(tracked, live_server, reader, monkeypatch):
    """If the scrubber raises, the event is dropped and counted: nothing unscrubbed goes out."""
    def broken(event):
        raise RecursionError("scrubber bug")

    monkeypatch.setattr(tracked.runtime.scrubber, "scrub_event", broken)
    assert _send_planted_request(live_server).status_code == 500
    sentry_sdk.flush(timeout=10)
    assert tracked.events() == []
    assert tracked.runtime.stats.snapshot()["dropped"].get("scrub_failed", 0) >= 1
