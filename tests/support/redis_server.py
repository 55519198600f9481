"""A redis-server of the test's own on a free loopback port, that the test may kill and restart.

Started without persistence (as the machine's Redis runs), so a restart comes back empty: the
case the alert counters must survive without paging twice.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time

from tests.support.services import require_redis


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """`start()`, `kill()` (SIGKILL: no goodbye to clients), `restart()`; `url` stays the same."""

    def __init__(self) -> None:
        if shutil.which("redis-server") is None:
            require_redis()  # the same skip-or-fail rule as the machine's Redis
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._dir = tempfile.mkdtemp(prefix="redis-")
        self._process: subprocess.Popen | None = None

    def start(self) -> RedisServer:
        """Start the server and wait until it answers."""
        self._process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self._dir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def kill(self) -> None:
        """Kill the server at once; its data is gone."""
        if self._process is not None:
            self._process.kill()
            self._process.wait(10)
            self._process = None

    def restart(self) -> None:
        """Kill and start again, empty, on the same port."""
        self.kill()
        self.start()

    def stop(self) -> None:
        """Kill the server and remove its directory."""
        self.kill()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
