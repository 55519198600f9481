"""Alert links: each server's default link shape, templates, and start-up validation of a template."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from errorwarden.issue_links import (
    issue_link_for,
    issue_url,
    server_type,
    validate_server_type,
    validate_template,
)
from errorwarden.settings import Settings

EVENT = "26b6e75376604c00a40aa04e633ec138"
UUID = "26b6e753-7660-4c00-a40a-a04e633ec138"


@pytest.mark.parametrize(("dsn", "kind"), [
    ("https://k@o1.ingest.sentry.io/2", "saas"),
    ("https://k@o1.ingest.us.sentry.io/2", "saas"),
    ("https://k@o1.us.ingest.sentry.io/2", "saas"),
    ("https://k@o1.ingest.de.sentry.io/2", "saas"),
    ("https://k@sentry.io/2", "saas"),
    ("https://k@sentry.example.com/2", "sentry"),
    ("https://k@bugsink.example.com/2", "bugsink"),
    ("https://k@app.glitchtip.com/2", "glitchtip"),
    ("https://k@glitchtip.corp.example/2", "glitchtip"),
    ("https://k@o1.ingest.sentry.io.evil.example/2", "sentry"),
    ("", ""),
])
def test_the_server_type_follows_the_dsn_host(dsn, kind):
    """SaaS ingest hosts and hosts named after their server are recognised; others are self-hosted Sentry."""
    assert server_type(dsn) == kind


def test_a_declared_server_type_wins_except_over_a_saas_host():
    """SENTRY_SERVER_TYPE names the server behind a neutral host; a sentry.io host stays SaaS."""
    assert server_type("http://k@127.0.0.1:8000/1", "bugsink") == "bugsink"
    assert server_type("https://k@o1.ingest.sentry.io/2", "bugsink") == "saas"


@pytest.mark.parametrize(("dsn", "options", "link"), [
    ("https://k@o9.ingest.us.sentry.io/42", {"org": "acme"},
     f"https://acme.sentry.io/issues/?project=42&query={EVENT}"),
    ("https://k@o9.ingest.de.sentry.io/42", {"org": "acme", "issue_id": "5"},
     f"https://acme.sentry.io/issues/5/events/{EVENT}/"),
    ("https://k@o9.ingest.sentry.io/42", {},
     f"https://sentry.io/orgredirect/organizations/:orgslug/issues/?project=42&query={EVENT}"),
    ("https://k@sentry.example.com/3", {},
     f"https://sentry.example.com/organizations/sentry/issues/?project=3&query={EVENT}"),
    ("https://k@sentry.example.com:8443/errors/3", {"org": "acme", "issue_id": "77"},
     f"https://sentry.example.com:8443/errors/organizations/acme/issues/77/events/{EVENT}/"),
    ("https://k@ingest.example.com/3", {"web_url": "https://ui.example.com/"},
     f"https://ui.example.com/organizations/sentry/issues/?project=3&query={EVENT}"),
    ("https://k@sentry.example.com/3", {"web_url": "https://sentry.io"},
     f"https://sentry.example.com/organizations/sentry/issues/?project=3&query={EVENT}"),
    ("http://k@127.0.0.1:8000/1", {"server": "bugsink"}, f"http://127.0.0.1:8000/issues/event/{UUID}/"),
    ("https://k@bugsink.example.com/1", {"issue_id": "ignored"},
     f"https://bugsink.example.com/issues/event/{UUID}/"),
    ("https://k@app.glitchtip.com/9", {"org": "acme"},
     f"https://app.glitchtip.com/acme/issues?project=9&query={EVENT}"),
    ("https://k@app.glitchtip.com/9", {"org": "acme", "issue_id": "12"},
     f"https://app.glitchtip.com/acme/issues/12/events/{EVENT}"),
    ("https://k@app.glitchtip.com/9", {}, ""),
    ("http://k@[::1]:9000/4", {}, f"http://[::1]:9000/organizations/sentry/issues/?project=4&query={EVENT}"),
])
def test_each_server_gets_its_own_default_link(dsn, options, link):
    """The default link has the shape of the server the DSN names (see the module docstring's sources)."""
    assert issue_url(dsn, EVENT, **options) == link


@pytest.mark.parametrize("event_id", [UUID, EVENT.upper()])
def test_any_spelling_of_the_event_id_gives_the_same_link(event_id):
    """Hyphenated or upper-case ids are normalised before they enter a link."""
    assert issue_url("https://k@bugsink.example.com/1", event_id) == f"https://bugsink.example.com/issues/event/{UUID}/"


@pytest.mark.parametrize(("dsn", "event_id"), [
    ("", EVENT), ("https://k@sentry.example.com/3", "not-an-id"),
    ("https://k@sentry.example.com/3", "<script>" + EVENT[8:]), ("no dsn at all", EVENT),
])
def test_no_link_without_a_dsn_or_a_real_event_id(dsn, event_id):
    """Nothing that is not a 32-digit hex id ever reaches a link; without a DSN there is none."""
    assert issue_url(dsn, event_id) == ""


def test_a_template_fills_every_placeholder():
    """A template's placeholders are filled with the event, project, org and issue."""
    template = "https://errors.example.com/{org}/p/{project}/i/{issue_id}/e/{event_id}?u={event_uuid}"
    link = issue_url("https://k@sentry.example.com/3", EVENT, template=template, org="acme", issue_id="9")
    assert link == f"https://errors.example.com/acme/p/3/i/9/e/{EVENT}?u={UUID}"


def test_a_template_needing_an_unknown_issue_id_falls_back_to_the_servers_default():
    """At alert time the issue id is unknown: the default link is used, never an empty path segment."""
    link = issue_url("https://k@bugsink.example.com/1", EVENT, template="https://x.example/i/{issue_id}/{event_id}")
    assert link == f"https://bugsink.example.com/issues/event/{UUID}/"


def test_an_org_slug_is_never_injected_into_a_link():
    """An org slug with URL syntax is left out instead of changing the link's host or path."""
    link = issue_url("https://k@o9.ingest.sentry.io/42", EVENT, org="evil.example/x?")
    assert link.startswith("https://sentry.io/orgredirect/")


@pytest.mark.parametrize(("template", "org", "named"), [
    ("https://x.example/{event}/{projct}", "", "unknown placeholder(s) {event}, {projct}"),
    ("https://x.example/{event_id!r}", "", "{event_id!r}"),
    ("https://x.example/{event_id:>40}", "", "{event_id:>40}"),
    ("https://x.example/{}", "", "unknown placeholder(s) {}"),
    ("https://x.example/{event_id", "", "literal brace"),
    ("ftp://x.example/{event_id}", "", "https:// or http://"),
    ("https://x.example/{project}", "", "names no event"),
    ("https://x.example/{org}/{event_id}", "", "SENTRY_ORG is empty"),
])
def test_a_bad_template_stops_start_up_naming_the_problem(template, org, named):
    """validate_template names the unknown placeholders or the mistake, and what is allowed."""
    with pytest.raises(ImproperlyConfigured) as raised:
        validate_template(template, org=org)
    assert "SENTRY_ISSUE_URL_TEMPLATE" in str(raised.value) and named in str(raised.value)


def test_a_good_template_passes_validation():
    """A template using only known placeholders is returned unchanged."""
    template = "https://x.example/{org}/{project}/{event_id}/{event_uuid}/{issue_id}?a={{b}}"
    assert validate_template(template, org="acme") == template
    assert validate_template("") == ""


def test_a_bad_server_type_is_named_with_the_allowed_ones():
    """validate_server_type lists auto, sentry, bugsink and glitchtip."""
    assert validate_server_type("bugsink") == "bugsink"
    with pytest.raises(ImproperlyConfigured, match="auto, sentry, bugsink, glitchtip"):
        validate_server_type("gitlab")


def test_issue_link_for_reads_the_template_and_server_type_from_the_settings():
    """issue_link_for takes SENTRY_ISSUE_URL_TEMPLATE and SENTRY_SERVER_TYPE from Settings (their
    defaults are the settings table's: no template, auto)."""
    plain = Settings(dsn="https://k@sentry.example.com/3", sentry_org="", sentry_url="https://sentry.io")
    assert issue_link_for(plain, EVENT).startswith("https://sentry.example.com/organizations/sentry/")
    bugsink = plain.with_overrides(server_type="bugsink", issue_url_template="")
    assert issue_link_for(bugsink, EVENT) == f"https://sentry.example.com/issues/event/{UUID}/"
