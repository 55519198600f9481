"""The next process after a shutdown: start the project, and stay until the outbox is empty (or 60 s)."""

from __future__ import annotations

import time

import django

if __name__ == "__main__":
    django.setup()  # settings run init_sentry: the outbox transport finds the rows and replays them
    from django.conf import settings

    from errorwarden.delivery import OutboxStore

    store = OutboxStore(settings.SENTRY.inbox_path.parent / "sentry_outbox.sqlite3")
    deadline = time.monotonic() + 60
    while store.pending() and time.monotonic() < deadline:
        time.sleep(0.2)
    raise SystemExit(0 if store.pending() == 0 else 1)
