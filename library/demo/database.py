"""Which database the demo writes to: its own SQLite file unless asked for DATABASE_URL's."""

from __future__ import annotations

import contextlib
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor


def use_own_database(path: Path) -> None:
    """Point the default alias at the SQLite file `path` and migrate it; call before any query.

    The settings have already read DATABASE_URL; the alias is swapped the way Django's test runner
    swaps in its test database: close the connection, change its settings, let the next use connect.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    connections.close_all()
    entry = connections.configure_settings({DEFAULT_DB_ALIAS: {"ENGINE": "django.db.backends.sqlite3",
                                                               "NAME": str(path)}})[DEFAULT_DB_ALIAS]
    # connections.settings is settings.DATABASES itself: one assignment changes both.
    settings.DATABASES[DEFAULT_DB_ALIAS] = connections.settings[DEFAULT_DB_ALIAS] = entry
    with contextlib.suppress(AttributeError):  # AttributeError: never connected yet
        del connections[DEFAULT_DB_ALIAS]  # this thread's connection object, built from the old entry
    call_command("migrate", verbosity=0, interactive=False, skip_checks=True)


def require_migrated() -> None:
    """CommandError when the configured database lacks migrations: the demo never alters your schema."""
    connection = connections[DEFAULT_DB_ALIAS]
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        raise CommandError(f"DATABASE_URL's database has {len(pending)} unapplied migration(s); the demo "
                           "does not change your schema: run `manage.py migrate` first, or run the demo "
                           "without --use-database-url on its own file.")


def describe() -> str:
    """The default database as a person reads it, without a password: 'SQLite var/demo.sqlite3'."""
    entry = settings.DATABASES[DEFAULT_DB_ALIAS]
    if entry["ENGINE"].endswith("sqlite3"):
        return f"SQLite {_shown(Path(str(entry['NAME'])))}"
    port = f":{entry['PORT']}" if entry.get("PORT") else ""
    host = entry.get("HOST") or "localhost"
    return f"{entry['ENGINE'].rsplit('.', 1)[-1]} {entry.get('NAME')} on {host}{port}"


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
