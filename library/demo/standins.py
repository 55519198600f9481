"""Loopback stand-ins for the demo: failing external services and a threaded WSGI server."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler


class _Unavailable(BaseHTTPRequestHandler):
    """Answers every request with 503, as a struggling provider would."""

    # HTTP/1.1 answers "Expect: 100-continue" as S3 does; under HTTP/1.0 boto3 waits 1 s per attempt for it.
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        body = b'{"error": "service unavailable"}'
        self.send_response(503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, *args) -> None:
        pass


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args) -> None:
        pass


class Server:
    """A loopback server running in a daemon thread until stop()."""

    def __init__(self, server) -> None:
        self.server = server
        self.thread = threading.Thread(target=server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:54321."""
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        """Shut the server down and close its socket."""
        self.server.shutdown()
        self.server.server_close()


def unavailable_service() -> Server:
    """An HTTP service on a free loopback port that answers 503."""
    return Server(ThreadingHTTPServer(("127.0.0.1", 0), _Unavailable))


def wsgi_server(application) -> Server:
    """Serve a WSGI application on a free loopback port, one thread per request."""
    server = ThreadedWSGIServer(("127.0.0.1", 0), _QuietHandler)
    server.set_app(application)
    return Server(server)
