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
from typing import Any

from tests.support.http import HANG, LoopbackHTTP, Reply, Request

MODES = ("ok", "429", "500", "hang", "slow", "absent", "413", "401")
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


class EnvelopeReceiver:
    """A threaded loopback server accepting POST /api/<project>/envelope/ (and /store/)."""

    def __init__(self, host: str = "127.0.0.1", public_key: str = "public", project: str = "1"):
        self.host, self.public_key, self.project = host, public_key, project
        self.retry_after = 1
        self.delay = 0.2  # seconds a request waits in slow mode
        self.log: list[tuple[float, int]] = []  # (monotonic time, status) of every answered request
        self._cond = threading.Condition()
        self._mode = "ok"
        self._envelopes: list[ReceivedEnvelope] = []
        self._requests = 0
        self._http = LoopbackHTTP(self._respond, host)

    def start(self) -> EnvelopeReceiver:
        """Bind a free loopback port (or the one it had before) and serve in a background thread."""
        self._http.start()
        return self

    def stop(self) -> None:
        """Release hanging requests, stop serving and close the port."""
        self._http.stop()

    def __enter__(self) -> EnvelopeReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port (after start; kept while absent)."""
        return self._http.port

    @property
    def http(self) -> LoopbackHTTP:
        """The server underneath (its `hanging` count and `wait_hanging`)."""
        return self._http

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
        if value == "absent" and self._mode != "absent" and self._http.running:
            self.stop()  # refused connections from now on
        elif value != "absent" and self._mode == "absent":
            self.start()  # the same port again (SO_REUSEADDR)
        with self._cond:
            if value == "hang" and self._mode != "hang":
                self._http.released = threading.Event()
            elif value != "hang":
                self._http.released.set()  # hanging requests end unanswered, like a dead upstream
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

    def discarded(self) -> dict[tuple[str, str], int]:
        """(reason, category) -> quantity, summed over the client reports accepted (what the sender lost)."""
        found: dict[tuple[str, str], int] = {}
        for _, report in self.items("client_report"):
            for entry in report["discarded_events"]:
                key = (entry["reason"], entry["category"])
                found[key] = found.get(key, 0) + entry["quantity"]
        return found

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

    def _respond(self, request: Request) -> Reply:
        self._count()
        if request.method != "POST":
            return Reply(405, {"detail": "POST envelopes here"})
        match = _PATH.match(request.path)
        if match is None:
            return Reply(404, {"detail": f"no route {request.path}"})
        with self._cond:
            mode = self._mode
        if mode == "slow":
            time.sleep(self.delay)
        elif mode != "ok":
            return self._reject(mode)
        try:
            encoding = request.headers.get("Content-Encoding") or "identity"
            decoded = decode_body(request.body, encoding)
            headers, items = _parse_request(match["endpoint"], decoded)
        except EnvelopeError as exc:
            self._logged(400)
            return Reply(400, {"detail": str(exc)})
        envelope = ReceivedEnvelope(headers, items, match["project"], encoding.lower(),
                                    match["endpoint"], request.headers, len(request.body),
                                    len(decoded), _raw_items(decoded) if match["endpoint"] == "envelope"
                                    else (decoded,))
        self._logged(200)
        with self._cond:
            self._envelopes.append(envelope)
            self._cond.notify_all()
        return Reply(200, {"id": headers.get("event_id")})

    def _reject(self, mode: str) -> Reply:
        self._logged({"hang": 0, "429": 429, "413": 413, "401": 401}.get(mode, 500))
        if mode == "hang":
            return HANG  # dropped unanswered once released, like a dead upstream
        if mode == "429":
            limits = f"{self.retry_after}::organization"
            return Reply(429, {"detail": "rate limited"},
                         {"Retry-After": str(self.retry_after), "X-Sentry-Rate-Limits": limits})
        if mode == "413":
            return Reply(413, {"detail": "envelope exceeded size limits"})
        if mode == "401":  # Sentry's answer to a key it does not know
            return Reply(401, {"detail": "invalid api key"})
        return Reply(500, {"detail": "internal error"})
