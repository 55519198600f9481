"""Shared fixtures: the envelope receiver, a process re-initialised against it, PostgreSQL checks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings as django_settings

from tests.support.receiver import EnvelopeReceiver
from tests.support.services import require_postgres

pytest_plugins = ["tests.support.fixtures", "tests.support.bugsink"]


@pytest.fixture(scope="session")
def _postgres_when_needed() -> None:
    """The pg_app pass runs the app on PostgreSQL: a missing server skips (fails under CI=true)."""
    if django_settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        require_postgres()


@pytest.fixture(scope="session")
def django_db_setup(_postgres_when_needed, django_db_setup):
    """pytest-django's database set-up, after the PostgreSQL reachability check."""
    yield


@pytest.fixture
def tracked(envelope_receiver: EnvelopeReceiver, settings) -> Iterator[EnvelopeReceiver]:
    """This process re-initialised to send every event and transaction to the loopback receiver."""
    from tests.support.fixtures import tracking  # a plugin module: imported once pytest rewrites it

    with tracking(dsn=envelope_receiver.dsn, traces_sample_rate=1.0, profiles_sample_rate=0.0) as runtime:
        envelope_receiver.runtime = runtime
        yield envelope_receiver


@pytest.fixture(autouse=True)
def _own_sentry_scope() -> Iterator[None]:
    """Each test in a fresh sentry-sdk isolation scope: a Django test-client request names the
    scope's transaction (and so later events' culprit), which must not leak into the next test."""
    import sentry_sdk

    with sentry_sdk.isolation_scope():
        yield


@pytest.fixture(autouse=True)
def _fresh_throttles() -> Iterator[None]:
    """Rate-limit counters live in the cache; each test starts with none."""
    from django.core.cache import cache

    cache.clear()
    yield


def pytest_collection_modifyitems(config, items):
    """pg_app tests need the app on PostgreSQL: `make test` runs them in a second pass with DATABASE_URL."""
    if django_settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    deselected = [item for item in items if item.get_closest_marker("pg_app")]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker("pg_app")]


@pytest.fixture(scope="session")
def hostile_served(tmp_path_factory):
    """One gunicorn run fed hostile text (tests/support/hostile_server.py), shared by the console,
    sentry_inbox and dashboard tests that read what it left."""
    from tests.support.hostile_server import hostile_run

    return hostile_run(tmp_path_factory.mktemp("hostile"))
