"""Tests for the service availability helper."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from tests.support import services


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port that refuses connections: bound (so nobody else takes it) but not listening."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


@pytest.fixture
def open_port() -> Iterator[int]:
    """A loopback port with a listener."""
    sock = socket.create_server(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def test_unreachable_service_skips_on_a_laptop(monkeypatch, closed_port):
    """Without CI=true an unreachable service skips the test and names the service and address."""
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception) as info:
        services.require_service("Thing", "127.0.0.1", closed_port, timeout=0.5)
    assert f"Thing is not reachable on 127.0.0.1:{closed_port}" in str(info.value)


def test_unreachable_service_fails_under_ci(monkeypatch, closed_port):
    """Under CI=true an unreachable service fails the test instead of skipping it."""
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception) as info:
        services.require_service("Thing", "127.0.0.1", closed_port, timeout=0.5)
    assert f"Thing is not reachable on 127.0.0.1:{closed_port}" in str(info.value)


@pytest.mark.parametrize("value", ["", "false", "1", "TRUE"])
def test_only_exact_ci_true_turns_skips_into_failures(monkeypatch, closed_port, value):
    """Only the exact value CI=true makes a missing service fatal; other values still skip."""
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.skip.Exception):
        services.require_service("Thing", "127.0.0.1", closed_port, timeout=0.5)


@pytest.mark.parametrize("ci", [None, "true"])
def test_reachable_service_passes(monkeypatch, open_port, ci):
    """A listening service lets the test run, with or without CI."""
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    assert services.require_service("Thing", "127.0.0.1", open_port, timeout=0.5) is None


@pytest.mark.parametrize(
    ("helper", "name", "port"),
    [
        (services.require_postgres, "PostgreSQL", 5432),
        (services.require_redis, "Redis", 6379),
        (services.require_rabbitmq, "RabbitMQ", 5672),
    ],
)
def test_convenience_helpers_target_the_standard_ports(monkeypatch, helper, name, port):
    """Each convenience helper checks its service on its standard loopback port."""
    seen = []
    monkeypatch.setattr(services, "require_service",
                        lambda *args, **kwargs: seen.append(args))
    helper()
    assert seen == [(name, "127.0.0.1", port)]
