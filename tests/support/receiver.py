"""A loopback Sentry ingest stand-in that records what sentry-sdk's real HTTP transport sends.

Modes: ok (accept), 429 (rate limit with Retry-After), 500, 413 (too large), hang (hold the
request unanswered), slow (accept after `delay` seconds), absent (the port is closed: connections
are refused; the same port is bound again when the mode changes back).
"""

from __future__ import annotations

import gzip
import json
import re
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODES = ("ok", "429", "500", "hang", "slow", "absent", "413")
HANG_LIMIT = 30.0  # a forgotten "hang" must never wedge the test run
_PATH = re.compile(r"^/api/(?P<project>[^/?]+)/(?P<endpoint>envelope|store)/?(?:\?.*)?$")
# Items whose payload is JSON even when the header names no content type.
_JSON_TYPES = frozenset({"event", "transaction", "session", "sessions", "client_report", "check_in",
                         "span", "log", "trace_metric", "profile", "profile_chunk"})


class EnvelopeError(ValueError):
    """The request body is not a well-formed envelope."""


@dataclass(frozen=True)
class ReceivedItem:
    """One envelope item: its header and its payload (decoded JSON, else bytes)."""

    headers: dict[str, Any]
    payload: Any

    @property
    def type(self) -> str | None:
        """The item type, e.g. "event" or "transaction"."""
        return self.headers.get("type")


@dataclass(frozen=True)
class ReceivedEnvelope:
    """One accepted request: envelope header, items, project id and the body's encoding."""

    headers: dict[str, Any]
    items: tuple[ReceivedItem, ...]
    project: str = "1"
    encoding: str = "identity"
    endpoint: str = "envelope"
    request_headers: dict[str, str] = field(default_factory=dict)
    wire_size: int = 0  # bytes on the wire (compressed)
    size: int = 0  # bytes after decoding the Content-Encoding
    raw_items: tuple[bytes, ...] = ()  # each item's payload bytes, as sent


def decode_body(body: bytes, encoding: str) -> bytes:
    """Undo a Content-Encoding of gzip, br, deflate or identity."""
    encoding = (encoding or "identity").strip().lower()
    try:
        if encoding == "gzip":
            return gzip.decompress(body)
        if encoding == "br":
            import brotli  # optional: only the brotli tests need it

            return brotli.decompress(body)
        if encoding == "deflate":
            return zlib.decompress(body)
    except Exception as exc:
        raise EnvelopeError(f"cannot decode {encoding} body: {exc}") from None
    if encoding != "identity":
        raise EnvelopeError(f"unsupported Content-Encoding {encoding!r}")
    return body


def _json(raw: bytes, what: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise EnvelopeError(f"{what} is not JSON: {exc}") from None


def _payload(headers: dict[str, Any], raw: bytes) -> Any:
    json_type = headers.get("content_type") == "application/json"
    if json_type or headers.get("type") in _JSON_TYPES:
        return _json(raw, f"{headers.get('type')} payload")
    return raw


def _read_item(data: bytes, pos: int) -> tuple[ReceivedItem, int]:
    end = data.find(b"\n", pos)
    end = len(data) if end < 0 else end
    headers = _json(data[pos:end], "item header")
    if not isinstance(headers, dict):
        raise EnvelopeError("item header is not an object")
    pos = end + 1
    length = headers.get("length")
    if length is None:
        # Without a length the payload runs to the next newline or the end of the body.
        end = data.find(b"\n", pos)
        end = len(data) if end < 0 else end
        return ReceivedItem(headers, _payload(headers, data[pos:end])), end + 1
    if not isinstance(length, int) or length < 0 or pos + length > len(data):
        raise EnvelopeError(f"item length {length!r} does not fit the body")
    raw = data[pos:pos + length]
    pos += length
    if data[pos:pos + 1] == b"\n":
        pos += 1
    return ReceivedItem(headers, _payload(headers, raw)), pos


def _raw_items(data: bytes) -> tuple[bytes, ...]:
    """Each item's payload bytes of a well-formed envelope (sizes are checked against Sentry's limits)."""
    raws, pos = [], data.find(b"\n") + 1
    while 0 < pos < len(data):
        if data[pos:pos + 1] == b"\n":
            pos += 1
            continue
        end = data.find(b"\n", pos)
        end = len(data) if end < 0 else end
        length = json.loads(data[pos:end]).get("length")
        start = end + 1
        if isinstance(length, int):
            stop = start + length
        else:  # no length: the payload runs to the next newline
            stop = data.find(b"\n", start)
            stop = len(data) if stop < 0 else stop
        raws.append(data[start:stop])
        pos = stop + 1
    return tuple(raws)


def parse_envelope(data: bytes) -> tuple[dict[str, Any], tuple[ReceivedItem, ...]]:
    """Split an envelope into its header and items; raise EnvelopeError when malformed."""
    end = data.find(b"\n")
    end = len(data) if end < 0 else end
    headers = _json(data[:end], "envelope header")
    if not isinstance(headers, dict):
        raise EnvelopeError("envelope header is not an object")
    items, pos = [], end + 1
    while pos < len(data):
        if data[pos:pos + 1] == b"\n":  # tolerate blank lines between items
            pos += 1
            continue
        item, pos = _read_item(data, pos)
        items.append(item)
    return headers, tuple(items)


def _parse_request(endpoint: str, body: bytes) -> tuple[dict[str, Any], tuple[ReceivedItem, ...]]:
    if endpoint == "envelope":
        return parse_envelope(body)
    event = _json(body, "store body")  # the legacy endpoint takes one bare event
    return {"event_id": event.get("event_id")}, (ReceivedItem({"type": "event"}, event),)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as urllib3 expects from Sentry
    timeout = 5  # idle keep-alive connections must not outlive the test for long

    def do_POST(self) -> None:
        self.server.receiver._handle(self)

    def do_GET(self) -> None:
        self.server.receiver._count()
        self.reply(405, {"detail": "POST envelopes here"})

    def read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            self.rfile.readline()
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def reply(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # test output stays readable; the receiver's state is the record


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that gave up is no news
            super().handle_error(request, client_address)

    def __init__(self, receiver: EnvelopeReceiver, host: str, port: int = 0):
        self.receiver = receiver
        super().__init__((host, port), _Handler)


class EnvelopeReceiver:
    """A threaded loopback server accepting POST /api/<project>/envelope/ (and /store/)."""

    def __init__(self, host: str = "127.0.0.1", public_key: str = "public", project: str = "1"):
        self.host, self.public_key, self.project = host, public_key, project
        self.retry_after = 1
        self.delay = 0.2  # seconds a request waits in slow mode
        self.log: list[tuple[float, int]] = []  # (monotonic time, status) of every answered request
        self._port = 0
        self._cond = threading.Condition()
        self._mode = "ok"
        self._unhang = threading.Event()
        self._envelopes: list[ReceivedEnvelope] = []
        self._requests = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> EnvelopeReceiver:
        """Bind a free loopback port (or the one it had before) and serve in a background thread."""
        self._server = _Server(self, self.host, self._port)
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="envelope-receiver", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release hanging requests, stop serving and close the port."""
        self._unhang.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    def __enter__(self) -> EnvelopeReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port (after start; kept while absent)."""
        return self._port

    @property
    def dsn(self) -> str:
        """A DSN that points sentry-sdk at this receiver."""
        return f"http://{self.public_key}@{self.host}:{self.port}/{self.project}"

    @property
    def mode(self) -> str:
        """How requests are answered: ok, 429, 500 or hang."""
        return self._mode

    @mode.setter
    def mode(self, value: str) -> None:
        if value not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {value!r}")
        if value == "absent" and self._mode != "absent" and self._server is not None:
            self.stop()  # refused connections from now on
        elif value != "absent" and self._mode == "absent":
            self.start()  # the same port again (SO_REUSEADDR)
        with self._cond:
            if value == "hang" and self._mode != "hang":
                self._unhang = threading.Event()
            elif value != "hang":
                self._unhang.set()
            self._mode = value

    @property
    def requests(self) -> int:
        """HTTP requests seen, including rejected and malformed ones."""
        with self._cond:
            return self._requests

    @property
    def envelopes(self) -> list[ReceivedEnvelope]:
        """Accepted envelopes, oldest first."""
        with self._cond:
            return list(self._envelopes)

    def items(self, type: str | None = None) -> list[tuple[dict[str, Any], Any]]:
        """(item header, payload) pairs of accepted items, optionally of one type."""
        return [(item.headers, item.payload) for env in self.envelopes for item in env.items
                if type is None or item.type == type]

    def events(self) -> list[dict[str, Any]]:
        """Payloads of accepted error events."""
        return [payload for _, payload in self.items("event")]

    def transactions(self) -> list[dict[str, Any]]:
        """Payloads of accepted transactions."""
        return [payload for _, payload in self.items("transaction")]

    def wait_for(self, predicate: Callable[[EnvelopeReceiver], bool], timeout: float = 10) -> bool:
        """Block until predicate(self) holds or timeout seconds pass; return whether it holds."""
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self), timeout)

    def clear(self) -> None:
        """Forget accepted envelopes, the request count and the request log."""
        with self._cond:
            self._envelopes.clear()
            self.log.clear()
            self._requests = 0

    def reset(self) -> None:
        """Back to a fresh receiver: mode ok, retry_after 1, nothing recorded."""
        self.mode = "ok"
        self.retry_after = 1
        self.clear()

    def _count(self) -> None:
        with self._cond:
            self._requests += 1
            self._cond.notify_all()

    def _logged(self, status: int) -> None:
        with self._cond:
            self.log.append((time.monotonic(), status))

    def _handle(self, handler: _Handler) -> None:
        self._count()
        match = _PATH.match(handler.path)
        body = handler.read_body()
        if match is None:
            return handler.reply(404, {"detail": f"no route {handler.path}"})
        with self._cond:
            mode, unhang = self._mode, self._unhang
        if mode == "slow":
            time.sleep(self.delay)
        elif mode != "ok":
            return self._reject(handler, mode, unhang)
        try:
            encoding = handler.headers.get("Content-Encoding") or "identity"
            decoded = decode_body(body, encoding)
            headers, items = _parse_request(match["endpoint"], decoded)
        except EnvelopeError as exc:
            self._logged(400)
            return handler.reply(400, {"detail": str(exc)})
        envelope = ReceivedEnvelope(headers, items, match["project"], encoding.lower(),
                                    match["endpoint"], dict(handler.headers.items()), len(body),
                                    len(decoded), _raw_items(decoded) if match["endpoint"] == "envelope"
                                    else (decoded,))
        self._logged(200)
        with self._cond:
            self._envelopes.append(envelope)
            self._cond.notify_all()
        handler.reply(200, {"id": headers.get("event_id")})

    def _reject(self, handler: _Handler, mode: str, unhang: threading.Event) -> None:
        self._logged({"hang": 0, "429": 429, "413": 413}.get(mode, 500))
        if mode == "hang":
            unhang.wait(HANG_LIMIT)
            handler.close_connection = True  # drop the request unanswered, like a dead upstream
            return
        if mode == "429":
            limits = f"{self.retry_after}::organization"
            handler.reply(429, {"detail": "rate limited"},
                          {"Retry-After": str(self.retry_after), "X-Sentry-Rate-Limits": limits})
            return
        if mode == "413":
            handler.reply(413, {"detail": "envelope exceeded size limits"})
            return
        handler.reply(500, {"detail": "internal error"})
