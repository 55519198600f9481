"""Pytest fixtures for end-to-end tests through sentry-sdk's real HTTP transport."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.receiver import EnvelopeReceiver


@pytest.fixture
def envelope_receiver() -> Iterator[EnvelopeReceiver]:
    """A started loopback envelope receiver, stopped after the test."""
    with EnvelopeReceiver() as rx:
        yield rx
