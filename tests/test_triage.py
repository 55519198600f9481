"""Triage: resolve, mute and reopen an issue from its page; regressions marked and alerted once."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import requests
import sentry_sdk
from django.contrib.auth import get_user_model

from errorwarden.alerting.alert_queue import AlertSpool
from errorwarden.local import InboxStore, fingerprint_of
from errorwarden.local.triage import BadAction, TriageStore, issue_key
from infrastructure.sentry_alerts import flush
from library.auth import issue_token
from tests.support.fixtures import tracking
from tests.support.slack import SlackStandIn

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _own_scopes():
    """Django's test client runs views on this thread: keep the transaction names they set to each test."""
    with sentry_sdk.isolation_scope():
        yield


START = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _error(n: int, release: str = "app@1.0.0") -> dict:
    return {"event_id": f"{n:032x}", "level": "error", "release": release, "environment": "development",
            "exception": {"values": [{"type": "KeyError", "value": f"k{n}", "stacktrace": {"frames": [
                {"module": "shop.views", "function": "checkout", "in_app": True}]}}]}}


@pytest.fixture
def stores(tmp_path):
    inbox = InboxStore(tmp_path / "inbox.sqlite3")
    triage = TriageStore(inbox.path)
    yield inbox, triage
    inbox.close()
    triage.close()


KEY = issue_key(fingerprint_of("event", _error(1)))


def test_a_resolved_issue_regresses_on_a_new_event(stores):
    """Resolved stays resolved until an event arrives after it; then it is a regression (and open)."""
    inbox, triage = stores
    inbox.add("event", _error(1))
    assert triage.state(KEY).status == "unresolved"
    triage.apply(KEY, "resolve", "ada")
    assert triage.state(KEY).status == "resolved"
    inbox.add("event", _error(2))
    state = triage.state(KEY)
    assert state.status == "regressed" and state.open and "1 event since" in state.note
    triage.apply(KEY, "resolve", "ada")  # resolving again starts over
    assert triage.state(KEY).status == "resolved"


def test_resolved_in_a_release_regresses_only_on_another_release(stores):
    """Resolved in release 1.0.0: more events of 1.0.0 are expected; one of 1.1.0 is a regression."""
    inbox, triage = stores
    inbox.add("event", _error(1))
    triage.apply(KEY, "resolve_in_release", "ada", release="app@1.0.0")
    inbox.add("event", _error(2, "app@1.0.0"))
    assert triage.state(KEY).status == "resolved"
    inbox.add("event", _error(3, "app@1.1.0"))
    assert triage.state(KEY).status == "regressed"


def test_mutes_end_after_hours_or_events_and_last_for_good(stores):
    """Mute for N hours ends at the moment; until N events ends at the Nth; for good never ends."""
    inbox, triage = stores
    inbox.add("event", _error(1))
    triage.apply(KEY, "mute", "ada", hours=2, now=START)
    assert triage.state(KEY, now=START + timedelta(hours=1)).status == "muted"
    assert triage.state(KEY, now=START + timedelta(hours=2)).status == "unresolved"
    triage.apply(KEY, "mute", "ada", events=2)
    inbox.add("event", _error(2))
    assert triage.state(KEY).status == "muted"
    inbox.add("event", _error(3))
    assert triage.state(KEY).status == "unresolved"
    triage.apply(KEY, "mute", "ada")
    inbox.add_many([("event", _error(n)) for n in range(4, 20)])
    assert triage.state(KEY).status == "muted"
    triage.apply(KEY, "reopen", "bob")
    assert triage.state(KEY).status == "unresolved"
    history = triage.history(KEY)
    assert [h["action"] for h in history] == ["reopen", "mute", "mute", "mute"]
    assert history[0]["actor"] == "bob" and [h["detail"] for h in history[1:]] == [
        "for good", "until 2 more events", "for 2 hours"]


@pytest.mark.parametrize(("change", "message"), [
    ({"action": "delete"}, "action must be one of resolve, resolve_in_release, mute, reopen, not 'delete'"),
    ({"action": "mute", "hours": 0}, "hours must be a whole number from 1 to 8760, not 0"),
    ({"action": "mute", "events": -3}, "events must be a whole number from 1 to 1000000, not -3"),
    ({"action": "resolve_in_release"}, "resolving in a release needs the release"),
])
def test_bad_changes_name_what_is_allowed(stores, change, message):
    """A bad action or count is refused with what was wrong and what is allowed; nothing is stored."""
    _, triage = stores
    action = change.pop("action")
    with pytest.raises(BadAction, match=message):
        triage.apply(KEY, action, "ada", **change)
    assert triage.history(KEY) == []


def test_the_regression_is_claimed_once_per_resolution(stores):
    """Only the first event after a resolution claims it; a new resolution can be claimed again."""
    _, triage = stores
    assert not triage.claim_regression(KEY, "app@1.0.0")  # never resolved
    triage.apply(KEY, "resolve_in_release", "ada", release="app@1.0.0")
    assert not triage.claim_regression(KEY, "app@1.0.0")  # the release it was resolved in
    assert triage.claim_regression(KEY, "app@1.1.0")
    assert not triage.claim_regression(KEY, "app@1.1.0")
    triage.apply(KEY, "resolve", "ada")
    assert triage.claim_regression(KEY, "")


# --- the pages ------------------------------------------------------------------------------


@pytest.fixture
def inbox_with_issue(tmp_path, error_tracking):
    """The process on a fresh local inbox holding one captured KeyError; yields (runtime, event id)."""
    runtime = error_tracking(dsn="", inbox_path=tmp_path / "inbox.sqlite3", profiles_sample_rate=0.0,
                             traces_sample_rate=0.0)
    with sentry_sdk.isolation_scope():
        try:
            {}["missing"]
        except KeyError as exc:
            event_id = sentry_sdk.capture_exception(exc)
    sentry_sdk.flush(timeout=5)
    return runtime, event_id


def _token(page: str) -> str:
    return page.split('name="token" value="', 1)[1].split('"', 1)[0]


def test_resolve_from_the_issue_page_and_see_who_did_it(client, settings, inbox_with_issue):
    """DEBUG on: the page's form resolves (303 back), the page says resolved by whom; no cookie, no script."""
    settings.DEBUG = True
    _, event_id = inbox_with_issue
    page = client.get(f"/_errors/issues/{event_id}/")
    assert page.status_code == 200 and not page.cookies
    assert "script-src" not in page["Content-Security-Policy"]
    assert 'data-status="unresolved"' in page.content.decode()
    done = client.post(f"/_errors/issues/{event_id}/triage/", {"token": _token(page.content.decode()),
                                                              "action": "resolve"})
    assert done.status_code == 303 and done["Location"] == f"/_errors/issues/{event_id}/"
    assert not done.cookies and done["Cache-Control"] == "no-store"
    after = client.get(f"/_errors/issues/{event_id}/").content.decode()
    assert 'data-status="resolved"' in after and "by anonymous (DEBUG on)" in after
    listing = client.get("/_errors/").content.decode()
    assert 'data-status="resolved"' in listing


@pytest.mark.parametrize(("form", "headers", "why"), [
    ({"action": "resolve"}, {}, "token is missing or wrong"),
    ({"action": "resolve", "token": "forged:1:abc"}, {}, "token is missing or wrong"),
    ({"action": "resolve"}, {"HTTP_ORIGIN": "https://evil.example"}, "another origin"),
    ({"action": "resolve"}, {"HTTP_SEC_FETCH_SITE": "cross-site"}, "another site"),
])
def test_a_forged_post_is_refused(client, settings, inbox_with_issue, form, headers, why):
    """Without the page's token, or from another origin, a POST changes nothing (403 naming why)."""
    settings.DEBUG = True
    _, event_id = inbox_with_issue
    if "token" not in form and headers:
        form = {**form, "token": _token(client.get(f"/_errors/issues/{event_id}/").content.decode())}
    response = client.post(f"/_errors/issues/{event_id}/triage/", form, **headers)
    assert response.status_code == 403 and why in response.content.decode()
    assert 'data-status="unresolved"' in client.get(f"/_errors/issues/{event_id}/").content.decode()


def test_bad_mute_values_are_400_naming_what_is_allowed(client, settings, inbox_with_issue):
    """A mute with a non-number or out-of-range count is a 400 that says what is allowed."""
    settings.DEBUG = True
    _, event_id = inbox_with_issue
    token = _token(client.get(f"/_errors/issues/{event_id}/").content.decode())
    for form, text in (({"mute": "hours", "hours": "soon"}, "hours must be a whole number, not 'soon'"),
                       ({"mute": "hours", "hours": "0"}, "from 1 to 8760"),
                       ({"mute": "later"}, "mute must be one of hours, events, forever")):
        response = client.post(f"/_errors/issues/{event_id}/triage/",
                               {"token": token, "action": "mute", **form})
        assert response.status_code == 400 and text in response.content.decode()


def test_without_debug_only_staff_may_change_and_are_recorded(client, settings, inbox_with_issue):
    """DEBUG off: anonymous POSTs are 404; a staff bearer token resolves, recorded under its name; a
    token made for one staff user does not work for another."""
    _, event_id = inbox_with_issue
    settings.DEBUG = False
    get_user_model().objects.create(username="ops-staff", is_staff=True)
    get_user_model().objects.create(username="ops-other", is_staff=True)
    url = f"/_errors/issues/{event_id}/triage/"
    assert client.post(url, {"action": "resolve"}).status_code == 404
    staff = {"HTTP_AUTHORIZATION": f"Bearer {issue_token('ops-staff')}"}
    other = {"HTTP_AUTHORIZATION": f"Bearer {issue_token('ops-other')}"}
    token = _token(client.get(f"/_errors/issues/{event_id}/", **staff).content.decode())
    refused = client.post(url, {"token": token, "action": "mute", "mute": "forever"}, **other)
    assert refused.status_code == 403 and "made for someone else" in refused.content.decode()
    done = client.post(url, {"token": token, "action": "mute", "mute": "forever"}, **staff)
    assert done.status_code == 303 and not done.cookies
    page = client.get(f"/_errors/issues/{event_id}/", **staff).content.decode()
    assert 'data-status="muted"' in page and "by ops-staff" in page


def test_get_on_the_triage_url_is_404(client, settings, inbox_with_issue):
    """Only POST changes state."""
    settings.DEBUG = True
    _, event_id = inbox_with_issue
    assert client.get(f"/_errors/issues/{event_id}/triage/").status_code == 404


# --- the alert ------------------------------------------------------------------------------


def test_a_regression_pages_slack_once_when_the_rule_is_on(live_server, tmp_path):
    """Real requests: resolve the orders issue, then two more failures; Slack gets one regression alert."""
    with SlackStandIn() as slack, tracking(dsn="", inbox_path=tmp_path / "inbox.sqlite3",
                                           traces_sample_rate=0.0, profiles_sample_rate=0.0,
                                           email_alerts_enabled=False, slack_alerts_enabled=True,
                                           slack_webhook_url=slack.url, regression_alerts="on",
                                           error_rate_min_requests=10_000) as runtime:
        requests.get(f"{live_server.url}/api/orders/1/", timeout=10)
        sentry_sdk.flush(timeout=5)
        inbox = InboxStore.from_settings(runtime.settings)
        issue = next(i for i in inbox.issues() if i["title"].startswith("LookupError: Order"))
        TriageStore(inbox.path).apply(issue_key(issue["fingerprint"]), "resolve", "ada")
        for number in (2, 3):
            requests.get(f"{live_server.url}/api/orders/{number}/", timeout=10)
        assert flush(10) and slack.wait_for(1)
        fired = [a for a in AlertSpool(runtime.settings.alert_spool).recent(50) if a["rule"] == "regression"]
        sentry_sdk.flush(timeout=5)
        state = TriageStore(inbox.path).state(issue_key(issue["fingerprint"]))
    assert len(slack.accepted) == 1 and "Regression" in str(slack.accepted[0])
    assert len(fired) == 1 and fired[0]["outcome"] == "delivered"
    assert state.status == "regressed" and "2 events since" in state.note


def test_the_regression_rule_is_off_by_default_in_development(tmp_path):
    """SENTRY_REGRESSION_ALERTS=auto: off in development, on elsewhere; on/off say so outright."""
    from errorwarden.settings import Settings

    assert not Settings().regression_alerts_on
    assert Settings(environment="production").regression_alerts_on
    assert Settings(regression_alerts="on").regression_alerts_on
    assert not Settings(environment="production", regression_alerts="off").regression_alerts_on


# --- every event of an issue ----------------------------------------------------------------


def _visit(n: int) -> dict:
    return {"event_id": f"{n:032x}", "level": "error", "fingerprint": ["checkout-failed"],
            "release": "app@1.0.0" if n < 20 else "app@1.1.0", "environment": "development",
            "user": {"id": str(100 + n % 3)}, "transaction": "/api/orders/{pk}/" if n % 2 else "/api/cart/",
            "tags": {"browser": "firefox" if n % 4 else "chrome", "error.category": "generic"},
            "message": f"checkout {n} failed"}


@pytest.fixture
def many_events(tmp_path, error_tracking):
    """The process on a fresh inbox holding 30 events of one issue over two releases."""
    runtime = error_tracking(dsn="", inbox_path=tmp_path / "inbox.sqlite3", profiles_sample_rate=0.0,
                             traces_sample_rate=0.0)
    inbox = InboxStore.from_settings(runtime.settings)
    inbox.add_many([("event", _visit(n)) for n in range(30)])
    inbox.close()
    return runtime


def test_history_lists_pages_neighbours_tags_and_releases(many_events):
    """Newest first in pages of 25 (release, environment, user id, route); neighbours; tags; releases."""
    from errorwarden.local.history import IssueHistory

    history = IssueHistory(many_events.settings.inbox_path)
    key = issue_key(["checkout-failed"])
    assert history.count(key) == 30
    first = history.events(key, 1)
    assert len(first) == 25 and first[0].event_id == f"{29:032x}" and first[-1].event_id == f"{5:032x}"
    assert (first[0].release, first[0].environment, first[0].user_id, first[0].route) == (
        "app@1.1.0", "development", "102", "/api/orders/{pk}/")
    assert [e.event_id for e in history.events(key, 2)] == [f"{n:032x}" for n in range(4, -1, -1)]
    assert history.neighbours(key, f"{10:032x}") == {"newer": f"{11:032x}", "older": f"{9:032x}",
                                                     "position": 20}
    assert history.neighbours(key, f"{29:032x}")["newer"] == ""
    assert history.releases(key) == ("app@1.0.0", "app@1.1.0")
    tags = {t["name"]: t for t in history.tags(key)}
    assert [value[:2] for value in tags["browser"]["values"]] == [("firefox", 22), ("chrome", 8)]
    assert tags["error.category"]["distinct"] == 1
    history.close()


def test_issue_page_pages_through_events_and_links_previous_and_next(client, settings, many_events):
    """The issue page shows the events table, page 2 holds the oldest, and newer/older link the neighbours."""
    settings.DEBUG = True
    page = client.get(f"/_errors/issues/{10:032x}/").content.decode()
    assert page.count('<tr data-event="') == 25 and "Page 1 of 2" in page
    assert f'id="newer-event" href="/_errors/issues/{11:032x}/"' in page
    assert f'id="older-event" href="/_errors/issues/{9:032x}/"' in page
    assert "first seen in app@1.0.0, last seen in app@1.1.0" in page
    assert 'data-tag="browser"' in page and "<code>checkout-failed</code>" in page
    older = client.get(f"/_errors/issues/{10:032x}/?page=2").content.decode()
    assert older.count('<tr data-event="') == 5 and f'data-event="{0:032x}"' in older
    bad = client.get(f"/_errors/issues/{10:032x}/?page=zero")
    assert bad.status_code == 400
    assert "page must be a whole number from 1, not 'zero'" in bad.content.decode()


# --- readable titles and honest tables ------------------------------------------------------


def test_a_drf_validation_error_is_titled_by_fields_and_messages(client, settings, tmp_path, error_tracking,
                                                                 django_user_model):
    """A real invalid POST: the inbox title, the issue page, the CLI and the alert text read
    `ValidationError: email: Enter a valid email address.; ...`, never the ErrorDetail repr, while
    the stored event keeps the value as the SDK captured it."""
    import io

    from django.core.management import call_command

    from errorwarden.alerting.rules import event_facts

    runtime = error_tracking(dsn="", inbox_path=tmp_path / "inbox.sqlite3", profiles_sample_rate=0.0,
                             traces_sample_rate=0.0)
    django_user_model.objects.create_user("alice", email="alice@example.com")
    response = client.post("/api/loans/", {"book": 999, "email": "not-an-email", "due": "2001-01-01"},
                           content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {issue_token('alice')}")
    assert response.status_code == 400
    sentry_sdk.flush(timeout=5)
    inbox = InboxStore.from_settings(runtime.settings)
    [issue] = [i for i in inbox.issues() if i["title"].startswith("ValidationError")]
    assert "email: Enter a valid email address." in issue["title"] and "ErrorDetail" not in issue["title"]
    event = inbox.get(issue["last_event_id"])
    assert "ErrorDetail(string=" in event["exception"]["values"][-1]["value"]  # as captured
    message = event_facts(event).message  # what alerts say
    assert "ErrorDetail" not in message and "email: Enter a valid email address." in message
    settings.DEBUG = True
    page = client.get(f"/_errors/issues/{issue['last_event_id']}/").content.decode()
    headings = re.findall(r"<h[12][^>]*>(.*?)</h[12]>", page, re.S)  # frame locals keep their reprs
    assert not [h for h in headings if "ErrorDetail" in h]
    assert [h for h in headings if h.startswith("ValidationError: book: Invalid pk")
            and "email: Enter a valid email address." in h]
    out = io.StringIO()
    call_command("sentry_inbox", stdout=out)
    assert 'ValidationError: book: Invalid pk "999"' in out.getvalue()  # the CLI cuts titles to its column
    assert "ErrorDetail" not in out.getvalue()


def test_never_traced_routes_are_left_out_of_the_endpoints_until_asked(client, settings, tmp_path,
                                                                      error_tracking):
    """Health probes are never traced: by default the table leaves them out and says how many; all=1
    shows them; a bad all= is a 400 naming the allowed values."""
    from errorwarden.local.aggregates import Aggregates

    runtime = error_tracking(dsn="", inbox_path=tmp_path / "inbox.sqlite3", profiles_sample_rate=0.0,
                             traces_sample_rate=0.0)
    aggregates = Aggregates.for_inbox(runtime.settings.inbox_path)
    for _ in range(5):
        aggregates.observe_request("/api/books/", 10.0, False)
        aggregates.observe_request("/api/health/replica/", 2.0, False)
        aggregates.observe_request("/healthz", 1.0, False)
    aggregates.close()
    settings.DEBUG = True
    page = client.get("/_errors/performance/").content.decode()
    assert 'data-endpoint="/api/books/"' in page and 'data-endpoint="/healthz"' not in page
    assert 'data-endpoint="/api/health/replica/"' not in page and "2 never-traced routes" in page
    everything = client.get("/_errors/performance/?all=1").content.decode()
    assert 'data-endpoint="/healthz"' in everything and 'data-endpoint="/api/health/replica/"' in everything
    assert "hide them" in everything
    bad = client.get("/_errors/performance/?all=yes")
    assert bad.status_code == 400 and "all must be one of 0, 1, not 'yes'" in bad.content.decode()


DRF_REPR = ("{'email': [ErrorDetail(string='Enter a valid email address.', code='invalid')], "
            "'due': [ErrorDetail(string='This field is required.', code='required')]}")


@pytest.mark.parametrize(("kind", "value", "readable"), [
    ("ValidationError", DRF_REPR, "email: Enter a valid email address.; due: This field is required."),
    ("ValidationError", DRF_REPR[:90], "email: Enter a valid email address."),  # cut short by the SDK
    ("ValidationError", "[ErrorDetail(string='Not allowed.', code='invalid')]", "Not allowed."),
    ("ValidationError", "{'items': [{'qty': ['Too many.']}, {'qty': ['Below zero.']}]}",
     "items[0].qty: Too many.; items[1].qty: Below zero."),
    ("ValidationError", "['Enter a whole number.']", "Enter a whole number."),  # Django's own
    ("ValidationError", "[" * 3000, "[" * 3000),  # nothing readable: as it was, no crash
    ("KeyError", "{'email': ['x']}", "{'email': ['x']}"),  # only validation errors are read
])
def test_readable_value_reads_validation_reprs_without_evaluating_them(kind, value, readable):
    """Field paths and messages from DRF's and Django's reprs; anything else comes back unchanged."""
    from errorwarden.event import readable_value

    assert readable_value(kind, value) == readable


# --- search ---------------------------------------------------------------------------------


def _mixed(n: int) -> dict:
    kinds = [("OperationalError", "no such table: library_book", "database"),
             ("LookupError", f"Order {n} not found", "generic"),
             ("TimeoutError", "clerk timed out", "external")]
    kind, value, category = kinds[n % 3]
    return {"event_id": f"{n:032x}", "level": "error" if n % 3 else "fatal",
            "release": "app@1.0.0" if n < 30 else "app@1.1.0", "environment": "development",
            "user": {"id": n % 5}, "tags": {"error.category": category, "region": "eu" if n % 2 else "us"},
            "exception": {"values": [{"type": kind, "value": value, "stacktrace": {"frames": [
                {"module": f"shop.{kind.lower()}", "function": "view", "in_app": True}]}}]}}


@pytest.fixture
def searchable(tmp_path, error_tracking):
    runtime = error_tracking(dsn="", inbox_path=tmp_path / "inbox.sqlite3", profiles_sample_rate=0.0,
                             traces_sample_rate=0.0)
    inbox = InboxStore.from_settings(runtime.settings)
    inbox.add_many([("event", _mixed(n)) for n in range(30)])  # stored before the index exists
    return runtime, inbox


@pytest.mark.parametrize(("q", "window", "message"), [
    ("is:fixed", "", "is: must be one of unresolved, resolved, muted, regressed, not 'fixed'"),
    ("release:", "", "release: needs a value, like release:something"),
    ('"no such', "", "a quote in the search is not closed"),
    ("", "2w", "window must be one of 15m, 1h, 24h, 7d, 30d, not '2w'"),
])
def test_bad_searches_are_400_naming_what_is_allowed(client, settings, searchable, q, window, message):
    """A search term or window outside what is allowed is a 400 that says so."""
    settings.DEBUG = True
    response = client.get("/_errors/", {"q": q, "window": window})
    assert response.status_code == 400 and message in response.content.decode()


def test_search_by_text_tag_status_and_window_over_the_whole_inbox(client, settings, searchable):
    """Text (substring, any case), key:value on columns, user and any tag, is: status and a window;
    events stored before the index existed and after it are both found, and the cap's trim unindexes."""
    from errorwarden.local.search import SearchIndex, parse

    _, inbox = searchable
    index = SearchIndex(inbox.path)
    assert index.ensure() and not index.ensure()  # built once over the 30 stored events
    inbox.add_many([("event", _mixed(n)) for n in range(30, 36)])  # through the triggers
    counts = {m.title: m.count for m in index.search(parse('"NO SUCH table"'))}
    assert counts == {"OperationalError: no such table: library_book": 12}
    assert [m.count for m in index.search(parse("release:app@1.1.0 category:external"))] == [2]
    assert [m.count for m in index.search(parse("region:eu user.id:1 Order"))] == [2]  # n in {1, 31}
    assert [m.count for m in index.search(parse("level:fatal"))] == [12]
    assert index.search(parse("timed out region:mars")) == []
    assert [m.count for m in index.search(parse("clerk"), now=datetime.now(UTC) + timedelta(hours=2))] == [12]
    assert index.search(parse("clerk", "1h"), now=datetime.now(UTC) + timedelta(hours=2)) == []

    settings.DEBUG = True
    page = client.get("/_errors/", {"q": "category:database"}).content.decode()
    assert page.count('<tr id="issue-') == 1 and "no such table" in page
    event_id = re.search(r'<tr id="issue-([0-9a-f]{32})"', page).group(1)
    key = issue_key(fingerprint_of("event", inbox.get(event_id)))
    TriageStore(inbox.path).apply(key, "resolve", "ada")
    resolved = client.get("/_errors/", {"q": "is:resolved"}).content.decode()
    assert resolved.count('<tr id="issue-') == 1 and f'id="issue-{event_id}"' in resolved
    unresolved = client.get("/_errors/", {"q": "is:unresolved"}).content.decode()
    assert unresolved.count('<tr id="issue-') == 2 and f'id="issue-{event_id}"' not in unresolved

    small = InboxStore(inbox.path, max_events=10)
    small.add("event", _mixed(99))  # the cap trims all but the newest 10: their index rows go too
    fresh = SearchIndex(inbox.path)
    assert sum(m.count for m in fresh.search(parse("level:error")) + fresh.search(parse("level:fatal"))) == 10


# --- the JSON API ---------------------------------------------------------------------------


def test_the_json_api_answers_what_broke_since_the_deploy(client, settings, searchable):
    """Issues (searched, since a moment, with status and links), an issue's events, one event,
    transactions and performance; JSON, no cookie, no-store; bad parameters are 400 naming the rule."""
    _, inbox = searchable
    settings.DEBUG = True
    everything = client.get("/_errors/api/issues/")
    assert everything.status_code == 200 and everything["Content-Type"] == "application/json"
    assert not everything.cookies and everything["Cache-Control"] == "no-store"
    listed = everything.json()["issues"]
    assert len(listed) == 3 and {i["status"] for i in listed} == {"unresolved"}
    deploy = datetime.now(UTC).isoformat()
    oops = {"values": [{"type": "ZeroDivisionError", "value": "oops\u202e"}]}
    inbox.add("event", {**_mixed(100), "exception": oops})
    new = client.get("/_errors/api/issues/", {"since": deploy}).json()["issues"]
    assert [i["title"] for i in new] == ["ZeroDivisionError: oops\u202e"]
    raw = client.get("/_errors/api/issues/", {"since": deploy}).content
    assert "\u202e".encode() not in raw and b"\\u202e" in raw  # escaped, never raw
    assert "\u202e".encode() not in client.get(f"/_errors/api/events/{new[0]['last_event_id']}/").content
    tagged = client.get("/_errors/api/issues/", {"q": "category:external"}).json()
    assert tagged["searched"] and [i["count"] for i in tagged["issues"]] == [10]
    events = client.get(tagged["issues"][0]["events"]).json()
    assert events["total"] == 10 and len(events["events"]) == 10 and events["status"] == "unresolved"
    fields = {"event_id", "received", "release", "environment", "level", "user_id", "route"}
    assert fields <= set(events["events"][0])
    one = client.get(f"/_errors/api/events/{events['events'][0]['event_id']}/").json()
    assert one["exception"]["values"][0]["type"] == "TimeoutError"
    inbox.add("transaction", {"event_id": f"{200:032x}", "type": "transaction", "transaction": "/api/books/",
                              "start_timestamp": 1_700_000_000.0, "timestamp": 1_700_000_000.25,
                              "contexts": {"trace": {"trace_id": "ab" * 16}}, "spans": [{"op": "db"}] * 3})
    [trace] = client.get("/_errors/api/transactions/").json()["transactions"]
    assert (trace["transaction"], trace["duration_ms"], trace["trace_id"], trace["spans"]) == (
        "/api/books/", 250.0, "ab" * 16, 3)
    assert set(client.get("/_errors/api/performance/").json()) >= {"endpoints", "services", "tasks"}
    for path, params, message in (
            ("/_errors/api/issues/", {"since": "yesterday"}, "since must be an ISO 8601 moment"),
            ("/_errors/api/issues/", {"limit": "0"}, "limit must be a whole number from 1 to 1000, not '0'"),
            ("/_errors/api/issues/", {"q": "is:gone"}, "is: must be one of"),
            ("/_errors/api/performance/", {"window": "1y"}, "window must be one of 5m, 1h, 6h")):
        bad = client.get(path, params)
        assert bad.status_code == 400 and message in bad.json()["error"]


def test_the_json_api_is_404_without_debug_for_non_staff(client, settings, searchable):
    """Same access rule as the pages: DEBUG off, no staff user, every API URL is a 404; POST too."""
    settings.DEBUG = False
    for path in ("/_errors/api/issues/", "/_errors/api/transactions/", "/_errors/api/performance/",
                 "/_errors/api/losses/", f"/_errors/api/events/{1:032x}/",
                 f"/_errors/api/issues/{1:032x}/events/"):
        assert client.get(path).status_code == 404
    settings.DEBUG = True
    assert client.post("/_errors/api/issues/").status_code == 404


# --- traces ---------------------------------------------------------------------------------


def test_traces_open_from_the_performance_table_and_the_issue(client, settings, live_server, tmp_path):
    """Real requests with tracing on (the naive list repeats the author query per book): the endpoint
    row links to its slowest, latest and N+1 traces;
    the N+1 trace's waterfall marks the repeated query with its ORM field and fix; an error's trace
    id links to its transaction, which links back to the error."""
    from library.demo.seed import seed

    seed()
    with tracking(dsn="", inbox_path=tmp_path / "inbox.sqlite3", traces_sample_rate=1.0,
                  profiles_sample_rate=0.0):
        for _ in range(2):
            assert requests.get(f"{live_server.url}/api/books/?naive=1", timeout=10).status_code == 200
        assert requests.get(f"{live_server.url}/api/orders/7/", timeout=10).status_code == 500
        sentry_sdk.flush(timeout=5)
        settings.DEBUG = True
        page = client.get("/_errors/performance/").content.decode()
        row = re.search(r'<tr data-endpoint="/api/books/">(.*?)</tr>', page, re.S).group(1)
        links = dict(re.findall(r'<a class="(slowest|latest|n1)" href="([^"]+)"', row))
        assert set(links) == {"slowest", "latest", "n1"}
        trace = client.get(links["n1"]).content.decode()
        assert '<code class="orm-field">Book.author</code>' in trace
        assert "use select_related(&#x27;author&#x27;) on the queryset" in trace
        assert len(re.findall(r'<tr class="n1" data-op="db" data-group="1">', trace)) >= 5
        assert 'id="waterfall"' in trace
        assert "script-src" not in client.get(links["n1"])["Content-Security-Policy"]

        inbox = InboxStore.from_settings(_runtime_settings())
        error = next(i for i in inbox.issues() if i["title"].startswith("LookupError: Order"))
        issue = client.get(f"/_errors/issues/{error['last_event_id']}/").content.decode()
        link = re.search(r'<a id="trace-link" href="([^"]+)">its transaction</a>', issue).group(1)
        transaction = client.get(link).content.decode()
        assert "/api/orders/{number}/" in transaction
        assert f"/_errors/issues/{error['last_event_id']}/" in transaction  # the error of the same trace


def _runtime_settings():
    from errorwarden.runtime import require_runtime

    return require_runtime().settings


@pytest.mark.parametrize(("switch", "alerts"), [("on", 1), ("off", 0)])
def test_the_engine_fires_the_regression_rule_once_and_only_when_on(tmp_path, switch, alerts):
    """Three events of a resolved issue: one "regression" alert with the rule on, none with it off;
    an issue nobody resolved never fires it."""
    from errorwarden.alerting import build_engine
    from errorwarden.alerting.counters import MemoryStore
    from errorwarden.alerting.dispatch import SpoolDispatcher
    from errorwarden.alerting.retry import RetryPolicy
    from errorwarden.settings import Settings

    delivered = []

    class Recorder:
        name = "recorder"

        def send(self, alert):
            delivered.append(alert)

    settings = Settings(regression_alerts=switch, inbox_path=tmp_path / "inbox.sqlite3")
    dispatcher = SpoolDispatcher([Recorder()], AlertSpool(":memory:"), RetryPolicy(base=0.01, jitter=0.0))
    engine = build_engine(settings, scrub_text=str, store=MemoryStore(), dispatcher=dispatcher)
    TriageStore(settings.inbox_path).apply(KEY, "resolve", "ada")
    for n in range(3):
        engine.observe_event({**_error(n), "level": "warning"})
        engine.observe_event({**_error(n), "exception": {"values": [{"type": "OtherError", "value": "x"}]}})
    assert engine.flush(5)
    engine.close()
    assert [a["rule"] for a in delivered] == ["regression"] * alerts
    if alerts:
        assert delivered[0]["title"] == "Regression: a resolved issue is back (KeyError)"


# --- profiles and logs ----------------------------------------------------------------------


# The profiled request runs in a process of its own (as in tests/test_telemetry_scrubbed.py): in
# the suite's long process, other tests' sampled transactions keep the continuous profiler running,
# so a chunk came only every 60 s and sometimes held none of this request's samples.
PROFILED_REQUEST = """
import io, os, sqlite3, sys, time, wsgiref.util
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
from django.conf import settings
from django.core.wsgi import get_wsgi_application
import sentry_sdk


def chunks():
    try:
        with sqlite3.connect(sys.argv[1]) as conn:
            return conn.execute("SELECT count(*) FROM inbox_profile_chunks").fetchone()[0]
    except sqlite3.Error:  # not created yet
        return 0


settings.ALLOWED_HOSTS = ["*"]
app, statuses = get_wsgi_application(), []
# A real WSGI call (sentry-sdk traces WSGIHandler, not the test client's handler): up to two
# requests, as a sampling profiler may miss one short request.
for _ in range(2):
    environ = {"PATH_INFO": "/api/reports/popular/", "QUERY_STRING": "depth=200000",
               "REQUEST_METHOD": "GET", "wsgi.input": io.BytesIO()}
    wsgiref.util.setup_testing_defaults(environ)
    body = b"".join(app(environ, lambda status, headers, exc=None: statuses.append(status)))
    deadline = time.monotonic() + 20  # the profiler stops and sends its chunk soon after
    while time.monotonic() < deadline and not chunks():
        sentry_sdk.flush(timeout=1)
        time.sleep(0.2)
    if chunks():
        break
print(statuses)
"""


def test_a_profiled_request_links_to_its_flame_summary(client, settings, tmp_path):
    """Tracing and profiling on: the continuous profiler's chunks are kept beside the inbox, the
    transaction page links to a flame summary, and that lists the view's functions by self time."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from errorwarden.local.extras import ExtrasStore
    from errorwarden.local.traces import TraceReader

    inbox = tmp_path / "inbox.sqlite3"
    env = {**os.environ, "SENTRY_DSN": "", "SENTRY_INBOX_PATH": str(inbox),
           "SENTRY_TRACES_SAMPLE_RATE": "1.0", "SENTRY_PROFILES_SAMPLE_RATE": "1.0",
           "SENTRY_ALERT_SPOOL_PATH": str(tmp_path / "alerts.sqlite3"),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "REDIS_URL": "", "CELERY_BROKER_URL": ""}
    done = subprocess.run([sys.executable, "-c", PROFILED_REQUEST, str(inbox)],
                          cwd=Path(__file__).parent.parent, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and "200 OK" in done.stdout, done.stdout + done.stderr[-3000:]
    with tracking(dsn="", inbox_path=inbox, traces_sample_rate=0.0, profiles_sample_rate=0.0):
        settings.DEBUG = True
        event_id = TraceReader(inbox).endpoints().get("/api/reports/popular/", {}).get("latest", "")
        assert event_id, TraceReader(inbox).endpoints()
        page = client.get(f"/_errors/transactions/{event_id}/").content.decode()
        assert 'id="profile-link"' in page
        flame = client.get(f"/_errors/transactions/{event_id}/profile/").content.decode()
        rows = re.findall(r'<tr data-function="([^"]+)">', flame)
        assert "SQLiteCursorWrapper.execute" in rows, rows  # the report's slow query, where its time went
        assert "samples, one every" in flame
        assert ExtrasStore(inbox).dropped == 0  # this process's store counts what it could not keep


def test_log_records_are_kept_and_shown_beside_their_trace(client, settings, tmp_path, error_tracking):
    """A log envelope through the inbox transport: its records are stored and listed on the page of
    the transaction of the same trace, oldest first; a bad item is counted, never raised."""
    from sentry_sdk.envelope import Envelope, Item, PayloadRef

    from errorwarden.runtime import require_runtime

    runtime = error_tracking(dsn="", inbox_path=tmp_path / "inbox.sqlite3", profiles_sample_rate=0.0,
                             traces_sample_rate=0.0)
    inbox = InboxStore.from_settings(runtime.settings)
    inbox.add("transaction", {"event_id": f"{300:032x}", "type": "transaction",
                              "transaction": "/api/books/", "start_timestamp": 1_700_000_000.0,
                              "timestamp": 1_700_000_000.5,
                              "contexts": {"trace": {"trace_id": "cd" * 16}}, "spans": []})
    records = [{"timestamp": 1_700_000_000.2, "level": "warn", "body": "cache miss for book 7",
                "trace_id": "cd" * 16, "attributes": {}},
               {"timestamp": 1_700_000_000.1, "level": "info", "body": "listing books",
                "trace_id": "cd" * 16},
               {"timestamp": 1_700_000_000.3, "level": "info", "body": "other trace", "trace_id": "ef" * 16}]
    transport = require_runtime().transport
    logged = Item(payload=PayloadRef(json={"version": 2, "items": records}), type="log")
    broken = Item(payload=PayloadRef(json={"profile": "not a profile"}), type="profile_chunk")
    transport.capture_envelope(Envelope(items=[logged]))
    transport.capture_envelope(Envelope(items=[broken]))
    assert transport.extras.dropped == 1
    settings.DEBUG = True
    page = client.get(f"/_errors/transactions/{300:032x}/").content.decode()
    logs = re.findall(r'<tr data-level="(\w+)">.*?<td>([^<]*)</td></tr>', page.split('id="logs"')[1], re.S)
    assert logs == [("info", "listing books"), ("warn", "cache miss for book 7")]


def test_the_new_pages_are_404_for_anonymous_visitors_without_debug(client, settings, inbox_with_issue):
    """The transaction, profile and triage URLs keep the dashboard's rule: DEBUG off, no staff user, 404."""
    _, event_id = inbox_with_issue
    settings.DEBUG = False
    for path in (f"/_errors/transactions/{event_id}/", f"/_errors/transactions/{event_id}/profile/",
                 f"/_errors/issues/{event_id}/"):
        response = client.get(path)
        assert response.status_code == 404 and "Local error tracking" not in response.content.decode()
