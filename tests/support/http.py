"""One loopback HTTP server for every stand-in the tests need (Sentry's ingest, Slack, S3 ...).

A stand-in is a function from a `Request` to a `Reply`; `LoopbackHTTP` does the rest: a free
port, a thread per connection, keep-alive, chunked bodies, quiet logs, replies that hang until
released, and going away (connection refused) and coming back on the same port.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HANG_LIMIT = 30.0  # a forgotten hang must never wedge the test run


@dataclass(frozen=True)
class Request:
    """What arrived: method, path (with query), headers and the whole body."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON ({} when empty)."""
        return json.loads(self.body or b"{}")


@dataclass(frozen=True)
class Reply:
    """What to answer: status, body (bytes, text or a JSON-able value), headers; or hang."""

    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False

    def encoded(self) -> tuple[bytes, str]:
        """(bytes, content type) of the body."""
        if isinstance(self.body, bytes):
            return self.body, self.headers.get("Content-Type", "application/octet-stream")
        if isinstance(self.body, str):
            return self.body.encode(), self.headers.get("Content-Type", "text/plain")
        return json.dumps(self.body).encode(), "application/json"


HANG = Reply(hang=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as urllib3 and slack_sdk expect
    timeout = 5  # idle keep-alive connections must not outlive the test for long

    def _serve(self) -> None:
        request = Request(self.command, self.path, dict(self.headers.items()), self._body())
        owner = self.server.owner
        reply = owner.respond(request)
        if reply.hang:
            released = owner.released
            owner.hanging_changed(+1)
            try:
                released.wait(HANG_LIMIT)
            finally:
                owner.hanging_changed(-1)
            self.close_connection = True
            return
        data, content_type = reply.encoded()
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            if name.lower() != "content-type":
                self.send_header(name, value)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _serve

    def _body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            self.rfile.readline()
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def log_message(self, format: str, *args: Any) -> None:
        pass  # test output stays readable; the stand-in's state is the record


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, owner: LoopbackHTTP, host: str, port: int):
        self.owner = owner
        super().__init__((host, port), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that gave up is no news
            super().handle_error(request, client_address)


class LoopbackHTTP:
    """A threaded HTTP server on 127.0.0.1 answering each request with `respond(request)`."""

    def __init__(self, respond: Callable[[Request], Reply], host: str = "127.0.0.1"):
        self.respond, self.host = respond, host
        self.released = threading.Event()  # set: hanging replies end (unanswered)
        self.hanging = 0  # requests held by a hanging reply right now
        self._hang_lock = threading.Condition()
        self._port = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> LoopbackHTTP:
        """Bind a free port (or the one it had before) and serve from a background thread."""
        self.released = threading.Event()
        self._server = _Server(self, self.host, self._port)
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="loopback-http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release hanging requests, stop serving and close the port (later: connection refused)."""
        self.released.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    def hanging_changed(self, delta: int) -> None:
        """Count a request entering (+1) or leaving (-1) a hanging reply."""
        with self._hang_lock:
            self.hanging += delta
            self._hang_lock.notify_all()

    def wait_hanging(self, count: int, timeout: float = 10.0) -> bool:
        """Wait until exactly `count` requests hang."""
        with self._hang_lock:
            return self._hang_lock.wait_for(lambda: self.hanging == count, timeout)

    @property
    def running(self) -> bool:
        """True while the port accepts connections."""
        return self._server is not None

    @property
    def port(self) -> int:
        """The bound port (kept while stopped, so start() comes back on it)."""
        return self._port

    @property
    def url(self) -> str:
        """http://127.0.0.1:<port>"""
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> LoopbackHTTP:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
