"""`python manage.py demo`: drive the library API through every failure, then summarise what was tracked."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.core.wsgi import get_wsgi_application

from library.demo import database, report, scenario, seed, standins
from library.demo.tally import Tally


class Command(BaseCommand):
    """Runs the scripted demo against a real WSGI server on loopback; events go where SENTRY_DSN says."""

    help = ("Drive the demo API through ordinary traffic and every error category, then summarise. "
            "Events go to SENTRY_DSN's server, or the local inbox when it is empty.")
    requires_system_checks = []  # the demo configures its own alert recipients

    def add_arguments(self, parser) -> None:
        parser.add_argument("--demo-db", type=Path, default=None, metavar="PATH",
                            help="The demo's own SQLite file (default var/demo.sqlite3); created and "
                                 "migrated when missing.")
        parser.add_argument("--use-database-url", action="store_true",
                            help="Run on the database DATABASE_URL names instead (it must be migrated); "
                                 "the demo adds its own rows and removes only those at the end.")
        parser.add_argument("--clear-inbox", action="store_true",
                            help="Empty the local inbox first (default: keep earlier events).")

    def handle(self, *args, demo_db: Path | None = None, use_database_url: bool = False,
               clear_inbox: bool = False, **options) -> None:
        started = time.monotonic()
        if use_database_url:
            database.require_migrated()
        else:
            database.use_own_database(demo_db or Path(settings.BASE_DIR) / "var" / "demo.sqlite3")
        stubs = {name: standins.unavailable_service() for name in ("s3", "clerk", "resend")}
        runtime = report.prepare(stubs, keep_inbox=not clear_inbox)
        tally = Tally()
        tally.install()
        self.stdout.write(report.destination(runtime))
        self.stdout.write(f"Database: {database.describe()} (the demo removes its own rows at the end).")
        settings.S3_ENDPOINT_URL = stubs["s3"].url
        settings.CLERK_API_URL = stubs["clerk"].url
        settings.RESEND_API_URL = stubs["resend"].url
        rows = seed.seed()
        server = standins.wsgi_server(get_wsgi_application())
        outcome = scenario.Outcome()
        quiet = _quiet_console()
        try:
            self.stdout.write(f"Driving the MueJam Library API at {server.url} ...")
            scenario.run(server.url, outcome, rows)
        finally:
            server.stop()
            for stub in stubs.values():
                stub.stop()
            quiet()
            seed.remove(rows)
        self.stdout.write(report.summary(runtime, tally, outcome, time.monotonic() - started))


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
