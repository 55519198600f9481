"""Alert rendering: Block Kit within Slack's limits, safe email subjects and bodies, issue links."""

from __future__ import annotations

import pytest

from errorwarden.alerting.channels.email import email_bodies, email_subject
from errorwarden.alerting.channels.slack import SEVERITY_COLOURS
from errorwarden.alerting.channels.slack import slack_message as slack_payload
from errorwarden.alerting.render import build_alert, issue_link
from errorwarden.settings import Settings
from tests.support.slack import block_kit_problems

DSN = "https://public@o1.ingest.sentry.io/42"


def alert(**changes):
    """A typical firing alert with some fields changed."""
    fields = dict(rule="critical_burst", severity="critical", title="Critical error burst",
                  error_type="OperationalError", message="could not connect to server",
                  occurrences=10, window=60, environment="production", release="muejam-backend@1.0.0",
                  endpoint="/api/books/{id}", first_seen=1_700_000_000.0, last_seen=1_700_000_030.0,
                  event_id="a" * 32, link="https://sentry.io/organizations/acme/issues/?query=" + "a" * 32)
    fields.update(changes)
    return build_alert(scrub=None, **fields)


def attachment_blocks(payload):
    return payload["attachments"][0]["blocks"]


def test_a_10kb_message_is_cut_to_fit_not_rejected():
    """A 10 KB message yields a payload that breaks none of Slack's Block Kit limits."""
    payload = slack_payload(alert(message="x" * 10_240, error_type="E" * 400, title="t" * 900), "#alerts")
    assert block_kit_problems(payload) == []
    section = attachment_blocks(payload)[0]["text"]["text"]
    assert len(section) <= 3000 and "…" in section
    assert len(payload["blocks"][0]["text"]["text"]) <= 150


def test_block_kit_shape_names_severity_type_and_details():
    """Header, message, occurrences, environment, release, endpoint, times and a Sentry button."""
    payload = slack_payload(alert(suppressed=25), "#engineering-alerts")
    assert payload["channel"] == "#engineering-alerts"
    assert payload["blocks"][0] == {"type": "header", "text": {"type": "plain_text",
                                                                "text": "[CRITICAL] OperationalError"}}
    blocks = attachment_blocks(payload)
    assert "could not connect to server" in blocks[0]["text"]["text"]
    fields = " ".join(f["text"] for f in blocks[1]["fields"])
    for expected in ("10 in the last 60s", "25 more since the last alert", "production",
                     "muejam-backend@1.0.0", "/api/books/{id}", "First seen", "2023-11-14 22:13:20 UTC",
                     "Last seen"):
        assert expected in fields
    button = blocks[-1]["elements"][0]
    assert button["text"]["text"] == "View in Sentry" and button["url"].startswith("https://sentry.io/")


@pytest.mark.parametrize("severity", sorted(SEVERITY_COLOURS))
def test_colour_follows_severity(severity):
    """The attachment colour is the severity's colour."""
    assert slack_payload(alert(severity=severity))["attachments"][0]["color"] == SEVERITY_COLOURS[severity]


def test_slack_control_sequences_in_messages_are_escaped():
    """A message cannot ping @channel or forge links: <, > and & are escaped."""
    payload = slack_payload(alert(message="<!channel> <https://evil.example|click> & more"))
    text = attachment_blocks(payload)[0]["text"]["text"]
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text and "&amp; more" in text


@pytest.mark.parametrize(("char", "escaped"), [("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")])
def test_a_message_dense_with_escaped_characters_keeps_as_much_as_fits(char, escaped):
    """Escaping grows '&' fivefold; the cut still keeps most of the room instead of an empty '…'."""
    payload = slack_payload(alert(message=char * 10_000 + " tail"))
    assert block_kit_problems(payload) == []
    text = attachment_blocks(payload)[0]["text"]["text"]
    assert 2800 <= len(text) <= 3000 and text.count(escaped) > 500


def test_without_a_link_the_local_inbox_command_is_named():
    """With no Sentry link the message tells how to inspect the event locally."""
    payload = slack_payload(alert(link="", inbox_command="python manage.py sentry_inbox --show abc"))
    last = attachment_blocks(payload)[-1]
    assert last["type"] == "context"
    assert "python manage.py sentry_inbox --show abc" in last["elements"][0]["text"]


@pytest.mark.parametrize(("message", "environment", "expected"), [
    ("could not connect to server", "production",
     "[CRITICAL] OperationalError: could not connect to server (production)"),
    ("line one\r\nBcc: victim@example.com\nline three", "staging",
     "[CRITICAL] OperationalError: line one Bcc: victim@example.com line three (staging)"),
    ("", "production", "[CRITICAL] OperationalError: Critical error burst (production)"),
])
def test_email_subject_is_one_line(message, environment, expected):
    """Subjects carry severity, type, message and environment, with CR/LF removed."""
    assert email_subject(alert(message=message, environment=environment)) == expected


def test_long_email_subject_is_cut_but_keeps_the_environment():
    """A long message is cut so the subject stays within 150 characters and still names the environment."""
    subject = email_subject(alert(message="could not connect " * 40))
    assert len(subject) <= 150 and subject.endswith("… (production)")


def test_a_long_error_type_never_pushes_the_environment_out_of_the_subject():
    subject = email_subject(alert(error_type="library.payments.gateway." + "Nested" * 40 + "Error"))
    assert len(subject) <= 150 and subject.endswith(" (production)") and "could not connect" in subject


def test_email_html_escapes_everything():
    """Every value in the HTML part is escaped; the text part carries the same facts."""
    text, body = email_bodies(alert(message="<script>alert(1)</script>", endpoint="/a?b=<i>"))
    assert "<script>" not in body and "&lt;script&gt;" in body and "&lt;i&gt;" in body
    assert "<script>alert(1)</script>" in text and "View in Sentry: https://sentry.io/" in text


def test_non_http_links_are_dropped():
    """Only http(s) links become buttons or anchors."""
    assert alert(link="javascript:alert(1)")["link"] == ""


@pytest.mark.parametrize(("dsn", "org", "link", "command"), [
    (DSN, "acme", "https://acme.sentry.io/issues/?project=42&query=" + "b" * 32, ""),
    ("", "acme", "", "python manage.py sentry_inbox --show " + "b" * 32),
    ("", "", "", "python manage.py sentry_inbox --show " + "b" * 32),
    ("http://key@bugsink.example.com:8000/3", "", "http://bugsink.example.com:8000/issues/event/"
     "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb/", ""),
])
def test_issue_link_fits_the_dsns_server_else_names_the_inbox(dsn, org, link, command):
    """A DSN gives a link its server understands (tests/test_issue_links.py has every kind); no DSN
    gives the local inbox command."""
    assert issue_link(Settings(dsn=dsn, sentry_org=org), "b" * 32) == (link, command)


def test_issue_link_strips_unsafe_characters_from_event_ids():
    """An event id cannot smuggle shell or URL syntax into the command or the link."""
    _, command = issue_link(Settings(), "abc; rm -rf /")
    assert command == "python manage.py sentry_inbox --show abcrm-rf"


def test_huge_texts_are_cut_when_the_alert_is_built():
    """A 1 MB exception value becomes a 10,000-character message, so Celery tasks stay small."""
    built = alert(message="z" * 1_000_000, endpoint="/x" * 5_000)
    assert len(built["message"]) == 10_000 and len(built["endpoint"]) == 1_000
