"""The probes behind sentry_check, one at a time: masking, what each HTTP answer means, routing, counters."""

from __future__ import annotations

import pytest
from celery import Celery

from errorwarden.diagnostics import (
    FAIL,
    OK,
    WARN,
    Answer,
    alert_queue,
    check_dsn,
    check_losses,
    check_sample_rates,
    interpret_answer,
    mask_dsn,
    redact,
)

KEY = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(("value", "masked"), [
    (f"http://{KEY}@127.0.0.1:9000/1", "http://***@127.0.0.1:9000/1"),
    (f"https://{KEY}:secret@o1.ingest.us.sentry.io/42", "https://***@o1.ingest.us.sentry.io/42"),
    (f"https://{KEY}@sentry.example.com/prefix/7", "https://***@sentry.example.com/prefix/7"),
    ("amqp://guest:s3cret@rabbit:5672//", "amqp://***@rabbit:5672//"),
    ("redis://127.0.0.1:6379/15", "redis://127.0.0.1:6379/15"),
    ("redis://127.0.0.1:6379/15?password=s3cret", "redis://127.0.0.1:6379/15?***"),
    (f"http://{KEY}@[::1]:9000/1", "http://***@[::1]:9000/1"),
    ("not a url", "***"), ("http://host:99999999/1", "***"), ("", ""),
])
def test_a_masked_dsn_keeps_scheme_host_port_and_project_but_never_the_key(value, masked):
    """mask_dsn hides credentials only; what tells servers apart stays readable."""
    assert mask_dsn(value) == masked


def test_a_quoted_server_answer_loses_keys_and_url_credentials():
    """Bugsink's 403 text quotes the DSN with its key: redact removes it and cuts the text to one line."""
    body = f"Project not found or key incorrect: http://{KEY}@127.0.0.1:9000/1\n\n" + "x" * 500
    shown = redact(body, KEY)
    assert KEY not in shown and "http://***@127.0.0.1:9000/1" in shown
    assert "\n" not in shown and len(shown) <= 200
    shown = redact(f"see https://user:pw@proxy.example/ for {KEY[:8]}")
    assert shown == "see https://***@proxy.example/ for 01234567"


@pytest.mark.parametrize(("status", "verdict", "meaning"), [
    (200, OK, "accepted test event"),
    (400, FAIL, "malformed"),
    (401, FAIL, "did not accept the DSN's key"),
    (403, FAIL, "refused the key or the project"),
    (404, FAIL, "no such project or endpoint"),
    (413, FAIL, "larger than the server accepts"),
    (429, FAIL, "rate limiting"),
    (500, FAIL, "server failed"),
    (503, FAIL, "server failed"),
    (418, FAIL, "unexpected answer"),
])
def test_each_http_answer_has_its_meaning_and_a_fix(status, verdict, meaning):
    """interpret_answer maps the server's status to OK or FAIL, and every FAIL carries a fix."""
    check = interpret_answer(Answer(status, f"key {KEY}", {"x-sentry-rate-limits": "60::organization"}),
                             "e" * 32, KEY)
    assert check.status == verdict and meaning in check.message and f"HTTP {status}" in check.message
    assert bool(check.fix) == (verdict == FAIL) and KEY not in check.message


def test_a_rate_limit_answer_quotes_its_limits():
    """A 429 says which limits the server set, so the user knows how long events are dropped."""
    check = interpret_answer(Answer(429, "", {"retry-after": "30"}), "e" * 32)
    assert "30" in check.message


@pytest.mark.parametrize(("dsn", "status"), [
    ("", OK), (f"https://{KEY}@sentry.example.com/3", OK), (f"https://{KEY}@sentry.example.com/abc", FAIL),
])
def test_the_dsn_check_reads_the_dsn_as_sentry_sdk_does(dsn, status):
    """An empty DSN means the local inbox; one sentry-sdk cannot parse is a FAIL without its key."""
    check = check_dsn(dsn)
    assert check.status == status and KEY not in check.message


@pytest.mark.parametrize(("conf", "queue"), [
    ({}, "celery"),
    ({"task_default_queue": "alerts"}, "alerts"),
    ({"task_default_queue": "default", "task_routes": {"errorwarden.deliver_alert": {"queue": "paging"}}},
     "paging"),
    ({"task_routes": {"errorwarden.*": {"queue": "infra"}}}, "infra"),
])
def test_the_alert_queue_follows_the_apps_routing(conf, queue):
    """The queue to look for is the one the project's Celery app routes the alert task to."""
    app = Celery("routing-test", set_as_current=False)
    app.conf.update(conf)
    assert alert_queue(app) == queue


@pytest.mark.parametrize(("rows", "outbox_dropped", "status", "shown"), [
    ([], 0, OK, "nothing dropped, spooled or failed"),
    ([("pipeline", "ignore", 3), ("outbox", "spooled:outage", 2)], 0, OK,
     "pipeline: ignore 3; outbox: spooled:outage 2"),
    ([("pipeline", "failed:classify:KeyError", 1)], 0, WARN, "pipeline: failed:classify:KeyError 1"),
    ([("inbox", "queue_full", 2)], 0, WARN, "inbox: queue_full 2"),
    ([], 4, WARN, "outbox file: 4 dropped for space"),
    ([("pipeline", "scrub_failed", 1), ("pipeline", "failed:scrub:RecursionError", 1),
      ("alert", "email", 1)], 0, WARN, "fail-closed step failed"),
])
def test_the_losses_check_shows_the_ledger_whole_and_warns_on_what_went_wrong(rows, outbox_dropped, status,
                                                                              shown):
    """Every kind and reason is shown; a loss or a failure is a WARN, an on-purpose drop or a spooled
    item is not, and nothing is a FAIL (the counts can be history)."""
    check = check_losses(rows, outbox_dropped)
    assert check.status == status and shown in check.message
    for kind, reason, count in rows:
        assert f"{reason} {count}" in check.message and f"{kind}: " in check.message


@pytest.mark.parametrize(("traces", "profiles", "environment", "errors_only", "status"), [
    (0.1, 0.1, "production", False, OK),
    (1.0, 0.0, "production", False, WARN),
    (1.0, 0.0, "development", False, OK),
    (0.0, 0.5, "development", False, WARN),
    (0.1, 0.0, "development", True, WARN),
    (0.0, 0.0, "development", True, OK),
])
def test_sample_rates_that_cost_without_informing_are_warnings(traces, profiles, environment, errors_only,
                                                               status):
    """Full tracing in production, profiles without traces, traces to an errors-only server: WARN."""
    assert check_sample_rates(traces, profiles, environment, errors_only).status == status


def test_a_test_event_the_pipeline_drops_is_a_failure_without_waiting(envelope_receiver):
    """When before_send drops the test event nothing is sent, and the probe says the pipeline dropped it."""
    from errorwarden.diagnostics import check_delivery

    check, answer, event_id = check_delivery(envelope_receiver.dsn, before_send=lambda event, hint: None)
    assert (check.status, answer, event_id) == (FAIL, None, "")
    assert "pipeline dropped" in check.message and envelope_receiver.requests == 0
