"""`python manage.py demo`: drive the library API through every failure, then summarise what was tracked."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.core.wsgi import get_wsgi_application

from library.demo import report, scenario, standins
from library.models import Author, Book, Loan


class Command(BaseCommand):
    """Runs the scripted demo against a real WSGI server on loopback, with the local inbox."""

    help = "Drive the demo API through ordinary traffic and every error category, then summarise."
    requires_system_checks = []  # the demo configures its own alert recipients

    def add_arguments(self, parser) -> None:
        parser.add_argument("--keep-inbox", action="store_true",
                            help="Keep events from earlier runs (default: start with an empty inbox).")

    def handle(self, *args, keep_inbox: bool = False, **options) -> None:
        started = time.monotonic()
        stubs = {name: standins.unavailable_service() for name in ("s3", "clerk", "resend")}
        runtime = report.prepare(stubs, keep_inbox=keep_inbox)
        settings.S3_ENDPOINT_URL = stubs["s3"].url
        settings.CLERK_API_URL = stubs["clerk"].url
        settings.RESEND_API_URL = stubs["resend"].url
        _seed()
        server = standins.wsgi_server(get_wsgi_application())
        outcome = scenario.Outcome()
        quiet = _quiet_console()
        try:
            self.stdout.write(f"Driving the MueJam Library API at {server.url} ...")
            scenario.run(server.url, outcome)
        finally:
            server.stop()
            for stub in stubs.values():
                stub.stop()
            quiet()
        self.stdout.write(report.summary(runtime, outcome, time.monotonic() - started))


def _quiet_console():
    """Hide the tracebacks Django prints for the demo's deliberate 500s; Sentry still gets them."""
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler)]
    levels = [h.level for h in handlers]
    for handler in handlers:
        handler.setLevel(logging.CRITICAL)

    def restore() -> None:
        for handler, level in zip(handlers, levels, strict=True):
            handler.setLevel(level)

    return restore


def _seed() -> None:
    Loan.objects.all().delete()
    Book.objects.all().delete()
    Author.objects.all().delete()
    users = get_user_model().objects
    if not users.filter(username="alice").exists():
        users.create_user("alice", email="alice@example.com")
    if not users.filter(username="admin").exists():
        users.create_user("admin", email="admin@example.com", is_staff=True)
    authors = [Author.objects.create(id=i, name=f"Author {i}") for i in range(1, 11)]
    Book.objects.bulk_create([
        Book(id=i, title=f"Story {i}", isbn=f"978-{i:010d}", author=authors[i % 10]) for i in range(1, 31)
    ])
    Loan.objects.create(id=1, book_id=1, reader="bob", email="", due="2026-01-01")
