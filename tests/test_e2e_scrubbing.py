"""End to end: secrets planted in every part of a real request never reach the Sentry receiver."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import quote, quote_plus

import pytest
import requests
import sentry_sdk

from tests.planted_urls import SECRETS, UPSTREAM
from tests.support.http import LoopbackHTTP, Reply, Request

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls("tests.planted_urls")]


@pytest.fixture
def reader(django_user_model):
    """A signed-in user whose email must not leave the process."""
    return django_user_model.objects.create_user("jane", email=SECRETS["email"])


@pytest.fixture
def upstream(monkeypatch) -> Iterator[list[str]]:
    """A listening loopback stub for the view's outgoing call; yields the paths it was asked for."""
    paths: list[str] = []

    def answer(request: Request) -> Reply:
        paths.append(request.path)
        return Reply(200, "ok")

    with LoopbackHTTP(answer) as server:
        monkeypatch.setitem(UPSTREAM, "url", server.url)
        yield paths


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


def test_no_planted_secret_reaches_the_receiver(tracked, live_server, reader, upstream):
    """Every planted secret, in headers, cookies, query, body, locals, logs, SQL, tags, contexts, extra,
    dict keys, an outgoing call's span and breadcrumb and the exception message, arrives neither as
    planted nor percent-encoded; typed placeholders stand where value detectors alone could find it."""
    assert _send_planted_request(live_server).status_code == 500
    sentry_sdk.flush(timeout=10)
    assert tracked.wait_for(lambda rx: rx.events() and rx.transactions(), timeout=10)
    # The outgoing call really went out, with the address percent-encoded in its query string.
    assert any(f"email={quote(SECRETS['email'], safe='')}" in path for path in upstream)
    event = next(e for e in tracked.events() if e.get("exception"))
    transaction = next(t for t in tracked.transactions() if t["transaction"] == "/pay/")
    span = next(s for s in transaction["spans"] if s.get("op") == "http.client"
                and s["description"].endswith("/charge"))
    http_crumb = next(c for c in event["breadcrumbs"]["values"] if c.get("category") == "httplib"
                      and c["data"]["url"].endswith("/charge"))
    for query in (span["data"]["http.query"], http_crumb["data"]["http.query"]):
        assert "email=[email]" in query and "page=2" in query, query

    received = json.dumps([payload for _, payload in tracked.items()])
    leaked = {name: value for name, value in SECRETS.items() if value in received}
    assert leaked == {}
    encoded = {name: form for name, value in SECRETS.items()
               for form in {quote(value), quote(value, safe=""), quote_plus(value)} if form in received}
    assert encoded == {}
    for placeholder in ("[card]", "[email]", "[ip]", "[iban]", "[Filtered]", "[aws_key]", "[stripe_key]",
                        ":[password]@", "[github_token]", "[google_api_key]", "[jwt]", "[token]",
                        "[slack_token]"):
        assert placeholder in received, placeholder

    messages = [c.get("message") for c in event["breadcrumbs"]["values"]]
    assert "calling the ledger with Bearer [token]" in messages
    assert "ledger handed back [jwt]" in messages
    assert "after the ledger refused Bearer [token]" in event["exception"]["values"][-1]["value"]
    assert event["extra"]["ledger_reply"] == "session [jwt] for [email]"
    assert event["extra"]["notify_via"] == "slack [slack_token]"
    assert event["extra"]["recipients"] == {"[email]": 1}
    assert event["contexts"]["mailing"] == {"[email]": "subscribed", "bot": "[slack_token]"}

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


def _raise_with(text: str) -> None:
    raise RuntimeError(f"upstream refused: {text}")


def test_one_secret_of_every_catalogue_format_never_reaches_the_receiver(tracked):
    """One value of each catalogue format, set as extra, tag, context, breadcrumb, user and the
    exception message of a real capture, arrives at the loopback receiver with none of them left."""
    from tests.test_scrub_catalogue import POSITIVES, leaked

    firsts = list({entry.kind: entry for entry in reversed(POSITIVES)}.values())
    with sentry_sdk.new_scope() as scope:
        for i, entry in enumerate(firsts):
            scope.set_extra(f"note_{i}", entry.text)
            scope.set_tag(f"note_{i}", entry.text[:190])
            scope.set_context(f"ctx_{i}", {"detail": entry.text})
            sentry_sdk.add_breadcrumb(category="app", message=f"processing {entry.text}")
        scope.set_user({"id": "42", "username": firsts[0].text})
        try:
            _raise_with(" ".join(entry.text for entry in firsts[:20]))
        except RuntimeError as exc:
            sentry_sdk.capture_exception(exc)
    sentry_sdk.flush(timeout=10)
    assert tracked.wait_for(lambda rx: rx.events(), timeout=10)
    received = json.dumps([payload for _, payload in tracked.items()], ensure_ascii=False)
    assert len(firsts) >= 40
    assert [entry.kind for entry in firsts if leaked(entry.secret, received)] == []
