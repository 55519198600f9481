"""Sentry failing in each way while gunicorn serves errors: no request fails, and every issue's count arrives.

A fault is a row of FAULTS: how to start it on the receiver, how to end it, and what it must not
cause while it lasts. Adding a fault is adding a row (alert-channel faults add their own checks).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.reliability.conftest import issue_counts, outbox, oversized
from tests.reliability.server import load, wait_until
from tests.support.receiver import EnvelopeReceiver

REQUESTS, ISSUES, WORKERS = 200, 4, 3
RETRY_AFTER = 2


def _no_hammering(rx: EnvelopeReceiver, attempts: int) -> None:
    # Without the outbox every error is an attempt (and urllib3 retried each 3 times); with it,
    # each worker tries about once per backoff step.
    assert attempts < REQUESTS / 2, f"{attempts} requests reached the failing Sentry"


def _honours_retry_after(rx: EnvelopeReceiver, attempts: int) -> None:
    first = next(t for t, status in rx.log if status == 429)
    within = [t for t, _ in rx.log if first < t < first + RETRY_AFTER - 0.5]
    # Each other worker may still meet its own first 429 in that window; nobody sends twice.
    assert len(within) <= 2 * WORKERS, f"{len(within)} requests within Retry-After"


@dataclass(frozen=True)
class Fault:
    """One way Sentry fails: mode to set, and the check of the requests it received meanwhile."""

    mode: str
    check: Callable[[EnvelopeReceiver, int], None]

    def begin(self, rx: EnvelopeReceiver) -> None:
        """Start failing."""
        rx.retry_after = RETRY_AFTER
        rx.mode = self.mode

    def end(self, rx: EnvelopeReceiver) -> None:
        """Answer normally again (a hanging request is dropped unanswered)."""
        rx.mode = "ok"


FAULTS = {
    "sentry_500": Fault("500", _no_hammering),
    "sentry_429": Fault("429", _honours_retry_after),
    "sentry_hang": Fault("hang", _no_hammering),
    "sentry_absent": Fault("absent", _no_hammering),  # the port is closed: connection refused
}


def _fail_paths(run: str) -> list[str]:
    return [f"/fail/?issue={run}-{n % ISSUES}&ticket={run}-{n}" for n in range(REQUESTS)]


@pytest.mark.parametrize("name", FAULTS)
def test_every_issue_count_arrives_after_the_fault(name, server, rx, workdir):
    """During the fault every request keeps its own answer; after it, each issue's exact count arrives."""
    fault, run = FAULTS[name], uuid.uuid4().hex[:8]
    fault.begin(rx)
    answers = load(server, _fail_paths(run))
    attempts = rx.requests
    fault.end(rx)
    assert [a.status for a in answers] == [500] * REQUESTS  # the view's own error, nothing else
    fault.check(rx, attempts)
    expected = {f"{run}-{i}": REQUESTS // ISSUES for i in range(ISSUES)}
    assert wait_until(lambda: issue_counts(rx, "reliability") == expected, timeout=60), \
        issue_counts(rx, "reliability")
    assert wait_until(lambda: outbox(workdir).pending() == 0, timeout=30)
    assert oversized(rx) == []


def test_healthy_sentry_gets_every_event_directly(server, rx, workdir):
    """Without a fault every error arrives as its own event, none sampled and nothing left spooled."""
    run = uuid.uuid4().hex[:8]
    answers = load(server, _fail_paths(run))
    assert [a.status for a in answers] == [500] * REQUESTS
    assert wait_until(lambda: issue_counts(rx, "reliability").total() == REQUESTS, timeout=60)
    tickets = {e["tags"].get("reliability.ticket") for e in rx.events()}
    assert tickets == {f"{run}-{n}" for n in range(REQUESTS)}
    assert outbox(workdir).pending() == 0
