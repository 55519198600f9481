"""End to end: real requests to the app page on-call by email (aiosmtpd) and Slack (loopback stand-in)."""

from __future__ import annotations

from email.header import decode_header, make_header

import pytest
import requests

from infrastructure.sentry_alerts import flush
from tests.support.external import unavailable_services
from tests.support.paging import paging

pytestmark = pytest.mark.django_db(transaction=True)


def _subject(received) -> str:
    return str(make_header(decode_header(received.message["Subject"])))


def _get(live_server, path: str, times: int = 1) -> None:
    for _ in range(times):
        requests.get(live_server.url + path, timeout=10)


@pytest.mark.django_db(transaction=True, databases=["default", "replica"])
def test_a_database_connection_failure_pages_once_on_both_channels(envelope_receiver, live_server):
    """The first refused replica connection pages by email and Slack; the second, in cooldown, does not."""
    with paging(envelope_receiver) as (_, smtp, slack):
        _get(live_server, "/api/health/replica/", times=2)
        assert flush(10)
        assert smtp.recorder.wait_for(1) and slack.wait_for(1)
        assert len(smtp.messages) == 1 and len(slack.accepted) == 1
    subject = _subject(smtp.messages[0])
    assert subject.startswith("[CRITICAL] OperationalError") and "(development)" in subject
    assert smtp.messages[0].rcpt_tos == ["oncall@example.com"]
    body = str(slack.accepted[0])
    assert "OperationalError" in body and "Connection refused" in body
    # Alert texts come from the scrubbed event: a loopback address identifies nobody and is kept
    # for debugging (docs/scrubbing.md); planted secrets in alert texts: test_alerting_notifiers.
    assert '"127.0.0.1", port 1' in body


@pytest.mark.parametrize("errors, pages", [(9, 0), (10, 1), (25, 1)])
def test_a_burst_of_one_issue_pages_once_at_the_threshold(envelope_receiver, live_server, errors, pages):
    """Nine 'Order <n> not found' errors in a minute stay quiet; ten or more page exactly once."""
    with paging(envelope_receiver, error_rate_min_requests=10_000) as (_, smtp, slack):
        for number in range(errors):
            _get(live_server, f"/api/orders/{number}/")
        assert flush(10)
        if pages:
            assert smtp.recorder.wait_for(1) and slack.wait_for(1)
    assert len(smtp.messages) == pages and len(slack.accepted) == pages
    if pages:
        assert "LookupError" in _subject(smtp.messages[0])


@pytest.mark.parametrize("ok, failed, pages", [
    pytest.param(97, 3, 1, id="3-of-100-pages"),
    pytest.param(99, 1, 0, id="1-of-100-is-at-the-threshold"),
    pytest.param(3, 4, 0, id="4-of-7-below-the-volume-floor"),
])
def test_the_error_rate_pages_only_over_threshold_and_volume(envelope_receiver, live_server,
                                                             ok, failed, pages):
    """Over 1% of at least 100 requests failing pages once; 1% exactly, or too few requests, do not."""
    with paging(envelope_receiver, critical_error_threshold=1000) as (runtime, smtp, slack):
        _get(live_server, "/api/books/", times=ok)
        _get(live_server, "/api/reports/overdue/", times=failed)  # cancelled query -> 500
        runtime.alerts.flush_requests()
        assert flush(10)
    rate_mails = [m for m in smtp.messages if "ErrorRate" in _subject(m)]
    rate_posts = [p for p in slack.accepted if "ErrorRate" in str(p)]
    assert len(rate_mails) == pages and len(rate_posts) == pages


def test_each_failing_external_service_pages_once_on_both_channels(envelope_receiver, live_server, settings):
    """S3, Clerk and Resend answering 503 page once each; a second failure of one, in cooldown, does not."""
    from library.models import Author, Book, Loan

    author = Author.objects.create(id=1, name="Ada")
    Book.objects.create(id=1, title="One", isbn="isbn-1", author=author)
    Loan.objects.create(id=1, book_id=1, reader="r", email="r@example.com", due="2030-01-01")
    with unavailable_services(settings) as hosts, paging(
            envelope_receiver, service_hosts=hosts, critical_error_threshold=1000,
            error_rate_min_requests=10_000) as (_, smtp, slack):
        for _ in range(2):
            requests.post(live_server.url + "/api/books/1/cover/", data=b"jpeg", timeout=30)
            requests.post(live_server.url + "/api/auth/verify/", json={"token": "sess_1"}, timeout=30)
            requests.post(live_server.url + "/api/loans/1/remind/", timeout=30)
        assert flush(10)
        assert smtp.recorder.wait_for(3) and slack.wait_for(3)
    assert len(smtp.messages) == 3 and len(slack.accepted) == 3
    services = sorted(str(p).split("*Service*\\n", 1)[1].split("'", 1)[0] for p in slack.accepted)
    assert services == ["clerk", "resend", "s3"]
    assert all(_subject(m).startswith("[ERROR] ") for m in smtp.messages)
