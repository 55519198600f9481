"""Skip a test when a backing service is down on a laptop; fail it when it is down in CI."""

from __future__ import annotations

import os
import socket

import pytest

POSTGRES = ("PostgreSQL", "127.0.0.1", 5432)
REDIS = ("Redis", "127.0.0.1", 6379)
RABBITMQ = ("RabbitMQ", "127.0.0.1", 5672)


def is_reachable(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when a TCP connection to host:port opens within timeout seconds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int, timeout: float = 1.0) -> None:
    """Skip the calling test when the service is unreachable; fail it instead under CI=true."""
    if is_reachable(host, port, timeout):
        return
    reason = f"{name} is not reachable on {host}:{port} (start it, or see docs/ for the test services)"
    # CI must prove the real integrations ran: a silent skip there would hide a broken job.
    if os.environ.get("CI") == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def require_postgres(timeout: float = 1.0) -> None:
    """Require PostgreSQL on 127.0.0.1:5432."""
    require_service(*POSTGRES, timeout=timeout)


def require_redis(timeout: float = 1.0) -> None:
    """Require Redis on 127.0.0.1:6379."""
    require_service(*REDIS, timeout=timeout)


def require_rabbitmq(timeout: float = 1.0) -> None:
    """Require RabbitMQ on 127.0.0.1:5672."""
    require_service(*RABBITMQ, timeout=timeout)
