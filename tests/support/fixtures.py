"""Pytest fixtures and helpers for end-to-end tests through sentry-sdk's real transports."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sentry_sdk
from django.conf import settings as django_settings

from errorwarden.runtime import Runtime, require_runtime
from infrastructure.sentry_config import init_sentry
from tests.support.receiver import EnvelopeReceiver


@pytest.fixture
def envelope_receiver() -> Iterator[EnvelopeReceiver]:
    """A started loopback envelope receiver, stopped after the test."""
    with EnvelopeReceiver() as rx:
        yield rx


@contextmanager
def tracking(**overrides: Any) -> Iterator[Runtime]:
    """The process re-initialised with the project's settings plus `overrides`; restored afterwards.

    Each use gets an alert spool of its own (unless `alert_spool_path` is given), so alerts one
    test leaves pending are never delivered to the next test's channels.
    """
    original = django_settings.SENTRY
    spool_dir = None
    if "alert_spool_path" not in overrides:
        spool_dir = tempfile.mkdtemp(prefix="alert-spool-")
        overrides["alert_spool_path"] = Path(spool_dir) / "alerts.sqlite3"
    init_sentry(original.with_overrides(**overrides))
    try:
        yield require_runtime()
    finally:
        sentry_sdk.flush(timeout=5)
        init_sentry(original)
        if spool_dir is not None:
            shutil.rmtree(spool_dir, ignore_errors=True)


@pytest.fixture
def error_tracking() -> Iterator[Any]:
    """`error_tracking(**overrides)` re-initialises the process for this test; undone afterwards."""
    stack: list[Any] = []

    def start(**overrides: Any) -> Runtime:
        manager = tracking(**overrides)
        stack.append(manager)
        return manager.__enter__()

    yield start
    while stack:
        stack.pop().__exit__(None, None, None)


@contextmanager
def isolated_client(**options: Any) -> Iterator[sentry_sdk.Client]:
    """A real sentry-sdk client that is current only inside the block; the global client stays."""
    # Integrations patch process-wide hooks once; tests that want them must ask explicitly.
    options.setdefault("default_integrations", False)
    options.setdefault("auto_enabling_integrations", False)
    client = sentry_sdk.Client(**options)
    try:
        with sentry_sdk.isolation_scope() as isolation:
            isolation.set_client(client)
            sentry_sdk.get_current_scope().set_client(client)
            yield client
    finally:
        client.close(timeout=options.get("shutdown_timeout", 2))
