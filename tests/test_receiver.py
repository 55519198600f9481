"""Tests for the loopback envelope receiver, driven by sentry-sdk's real HTTP transport."""

from __future__ import annotations

import gzip
import json
import urllib.error
import urllib.request

import brotli
import pytest
import sentry_sdk

from tests.support.fixtures import isolated_client
from tests.support.receiver import (
    EnvelopeError,
    EnvelopeReceiver,
    decode_body,
    parse_envelope,
)


def _explode() -> None:
    raise ValueError("the shelf collapsed")


def _post(rx: EnvelopeReceiver, body: bytes, path: str = "/api/1/envelope/",
          encoding: str | None = None) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{rx.port}{path}", data=body, method="POST")
    if encoding:
        request.add_header("Content-Encoding", encoding)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_exception_arrives_with_its_stack_trace(envelope_receiver):
    """An exception captured through the real HTTP transport arrives as an event with frames."""
    rx = envelope_receiver
    with isolated_client(dsn=rx.dsn) as client:
        try:
            _explode()
        except ValueError as exc:
            event_id = sentry_sdk.capture_exception(exc)
        client.flush(timeout=5)
    assert rx.wait_for(lambda r: len(r.events()) == 1, timeout=5)
    event = rx.events()[0]
    assert event["event_id"] == event_id
    exception = event["exception"]["values"][-1]
    assert (exception["type"], exception["value"]) == ("ValueError", "the shelf collapsed")
    assert [f["function"] for f in exception["stacktrace"]["frames"]][-1] == "_explode"
    assert rx.envelopes[0].project == "1"
    assert "sentry_key=public" in rx.envelopes[0].request_headers["X-Sentry-Auth"]


def test_transaction_arrives_with_its_spans(envelope_receiver):
    """A sampled transaction arrives as a transaction item carrying its child span."""
    rx = envelope_receiver
    with isolated_client(dsn=rx.dsn, traces_sample_rate=1.0) as client:
        with sentry_sdk.start_transaction(name="GET /books", op="http.server"), \
                sentry_sdk.start_span(op="db", name="SELECT book"):
            pass
        client.flush(timeout=5)
    assert rx.wait_for(lambda r: len(r.transactions()) == 1, timeout=5)
    transaction = rx.transactions()[0]
    assert transaction["transaction"] == "GET /books"
    assert [span["op"] for span in transaction["spans"]] == ["db"]


@pytest.mark.parametrize(
    ("experiments", "encoding"),
    [
        ({}, "br"),  # 2.75 picks brotli by default whenever the brotli module imports
        ({"transport_compression_algo": "gzip"}, "gzip"),
        ({"transport_compression_algo": "br"}, "br"),
        ({"transport_compression_level": 0}, "identity"),
        ({"transport_compression_level": 6}, "gzip"),  # a level alone means gzip
    ],
)
def test_every_body_encoding_the_sdk_sends_decodes(envelope_receiver, experiments, encoding):
    """Brotli, gzip and uncompressed bodies from the SDK all decode into the same event."""
    rx = envelope_receiver
    with isolated_client(dsn=rx.dsn, _experiments=experiments) as client:
        sentry_sdk.capture_message("compressed hello")
        client.flush(timeout=5)
    assert rx.wait_for(lambda r: len(r.events()) == 1, timeout=5)
    assert rx.envelopes[0].encoding == encoding
    assert rx.events()[0]["message"] == "compressed hello"


@pytest.mark.parametrize(
    ("body", "types", "payloads"),
    [
        (b'{}\n{"type":"event"}\n{"message":"a"}\n', ["event"], [{"message": "a"}]),
        (b'{}\n{"type":"event"}\n{"message":"a"}', ["event"], [{"message": "a"}]),
        (b'{}\n{"type":"attachment"}\nraw\n{"type":"event","length":2}\n{}\n',
         ["attachment", "event"], [b"raw", {}]),
        (b'{}\n{"type":"attachment","length":3}\na\nb\n', ["attachment"], [b"a\nb"]),
        (b'{"event_id":"x"}\n{"type":"attachment","length":0}\n\n', ["attachment"], [b""]),
        (b'{}\n', [], []),
    ],
)
def test_parse_envelope_handles_lengths_and_missing_lengths(body, types, payloads):
    """Items with and without a length header, and a missing final newline, all parse."""
    _, items = parse_envelope(body)
    assert [item.type for item in items] == types
    assert [item.payload for item in items] == payloads


@pytest.mark.parametrize(
    "body",
    [b"", b"not json\n", b'{}\n{"type":"event","length":99}\n{}\n', b'{}\n{"type":"event"}\n{oops\n'],
)
def test_parse_envelope_rejects_malformed_bodies(body):
    """Bodies with a bad header, an overlong length or a broken JSON payload raise EnvelopeError."""
    with pytest.raises(EnvelopeError):
        parse_envelope(body)


@pytest.mark.parametrize("encoding", ["gzip", "br", "deflate", "identity"])
def test_decode_body_undoes_each_content_encoding(encoding):
    """decode_body restores the original bytes for every supported Content-Encoding."""
    import zlib

    data = b'{}\n{"type":"event"}\n{}\n'
    encode = {"gzip": gzip.compress, "br": brotli.compress, "deflate": zlib.compress,
              "identity": bytes}[encoding]
    assert decode_body(encode(data), encoding) == data


def test_raw_post_without_lengths_is_stored(envelope_receiver):
    """A hand-written envelope whose items carry no length is accepted over HTTP and decoded."""
    rx = envelope_receiver
    body = b'{"event_id":"abc"}\n{"type":"event"}\n{"message":"no length"}'
    assert _post(rx, gzip.compress(body), encoding="gzip") == 200
    assert rx.items("event") == [({"type": "event"}, {"message": "no length"})]


def test_legacy_store_endpoint_accepts_a_bare_event(envelope_receiver):
    """POST /api/<project>/store/ with a JSON event is recorded as one event item."""
    rx = envelope_receiver
    assert _post(rx, json.dumps({"event_id": "e1", "message": "old"}).encode(), "/api/7/store/") == 200
    assert rx.events() == [{"event_id": "e1", "message": "old"}]
    assert (rx.envelopes[0].project, rx.envelopes[0].endpoint) == ("7", "store")


def test_rejected_requests_are_counted_but_not_stored(envelope_receiver):
    """Malformed bodies get 400 and unknown paths 404; both count as requests and store nothing."""
    rx = envelope_receiver
    assert _post(rx, b"garbage") == 400
    assert _post(rx, b"{}\n", "/nowhere") == 404
    assert _post(rx, b"{}\n", encoding="zstd") == 400
    assert rx.requests == 3
    assert rx.envelopes == []


def test_429_makes_the_sdk_back_off(envelope_receiver):
    """A 429 with Retry-After and X-Sentry-Rate-Limits makes the SDK stop sending for that long."""
    rx = envelope_receiver
    rx.mode, rx.retry_after = "429", 60
    with isolated_client(dsn=rx.dsn) as client:
        sentry_sdk.capture_message("first")
        client.flush(timeout=5)
        assert rx.requests == 1
        assert client.transport.is_healthy() is False
        sentry_sdk.capture_message("second, dropped by the SDK itself")
        client.flush(timeout=5)
    assert rx.requests == 1
    assert rx.events() == []


def test_500_does_not_break_the_sdk(envelope_receiver):
    """After a 500 the SDK keeps working: the next event is delivered once the receiver recovers."""
    rx = envelope_receiver
    rx.mode = "500"
    with isolated_client(dsn=rx.dsn) as client:
        sentry_sdk.capture_message("lost")
        client.flush(timeout=5)
        assert rx.requests >= 1  # the SDK may retry a 5xx; it must not give up for good
        rx.mode = "ok"
        sentry_sdk.capture_message("delivered")
        client.flush(timeout=5)
    assert rx.wait_for(lambda r: any(e["message"] == "delivered" for e in r.events()), timeout=5)


def test_hang_is_bounded_by_the_sdk_flush_timeout(envelope_receiver):
    """A server that never answers costs the SDK only its flush timeout, and delivery resumes."""
    rx = envelope_receiver
    rx.mode = "hang"
    with isolated_client(dsn=rx.dsn, shutdown_timeout=0.5) as client:
        sentry_sdk.capture_message("stuck")
        assert rx.http.wait_hanging(1)
        client.flush(timeout=0.5)
        assert rx.http.hanging == 1  # flush returned while the server still held the request
        rx.mode = "ok"  # releases the hanging request unanswered
        sentry_sdk.capture_message("after the hang")
        client.flush(timeout=5)
    assert rx.wait_for(lambda r: any(e["message"] == "after the hang" for e in r.events()), timeout=10)


def test_wait_for_returns_false_on_timeout(envelope_receiver):
    """wait_for reports False when the condition never holds within the timeout."""
    assert envelope_receiver.wait_for(lambda r: len(r.events()) > 0, timeout=0.2) is False


def test_clear_and_reset_forget_everything(envelope_receiver):
    """clear() empties envelopes and the request count; reset() also restores mode ok."""
    rx = envelope_receiver
    _post(rx, b'{}\n{"type":"event"}\n{}\n')
    rx.mode = "500"
    rx.reset()
    assert (rx.envelopes, rx.requests, rx.mode) == ([], 0, "ok")


def test_unknown_mode_is_refused(envelope_receiver):
    """Setting a mode outside ok/429/500/hang raises ValueError naming the allowed modes."""
    with pytest.raises(ValueError, match="ok, 429, 500, hang"):
        envelope_receiver.mode = "teapot"


def test_stop_releases_a_hanging_request():
    """Stopping the receiver frees a request stuck in hang mode instead of waiting 30 s."""
    rx = EnvelopeReceiver().start()
    rx.mode = "hang"
    with isolated_client(dsn=rx.dsn, shutdown_timeout=0.2) as client:
        sentry_sdk.capture_message("stuck")
        assert rx.http.wait_hanging(1)
        rx.stop()
        assert rx.http.wait_hanging(0)  # the held request was let go, not waited out (30 s)
        client.flush(timeout=0.2)
