"""A Celery task for the shutdown test: it records that it ran, then fails (one event per task)."""

from __future__ import annotations

from pathlib import Path

import sentry_sdk
from celery import shared_task

from tests.reliability.urls import ReliabilityError


@shared_task(name="reliability.fail", ignore_result=True)
def fail(ticket: str, ran: str) -> None:
    """Append ticket to the file ran, then raise an error of its own issue."""
    with Path(ran).open("a") as file:
        file.write(ticket + "\n")
    scope = sentry_sdk.get_isolation_scope()
    scope.fingerprint = ["reliability", ticket]
    scope.set_tag("reliability.ticket", ticket)
    raise ReliabilityError(f"task {ticket} failed")
