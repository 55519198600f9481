"""Where events go and whether they get there: DSN, DNS and TCP, and a test event whose answer is read.

The test event travels through sentry-sdk's own HttpTransport (errorwarden.sdk.SdkHttp, which
reports the HTTP answer it gets) and through the process's before_send pipeline, so it is
scrubbed, grouped and sent exactly as a real error would be; only the answer is looked at, which
the SDK itself logs and forgets.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import sentry_sdk
from sentry_sdk.utils import BadDsn, Dsn

from errorwarden import sdk
from errorwarden.diagnostics.base import FAIL, OK, SKIPPED, Check, mask_dsn, redact
from errorwarden.sdk import SdkHttp

TEST_MESSAGE = "sentry_check: test event"
# Bugsink's documented answer to every envelope: it takes errors, not transactions or spans.
_ERRORS_ONLY = "86400:transaction;span:organization"

_FIX_KEY = ("Copy the DSN again from the project's settings (Client Keys / DSN); the key may have been "
            "revoked, or the project id at the end of the DSN may be wrong. A Sentry organization in "
            "the EU must send to its o<n>.ingest.de.sentry.io host.")
_ANSWERS: dict[int, tuple[str, str]] = MappingProxyType({
    400: ("the server rejected the event as malformed",
          "Update sentry-sdk, and check that no proxy rewrites or truncates request bodies."),
    401: ("the server did not accept the DSN's key", _FIX_KEY),
    403: ("the server refused the key or the project", _FIX_KEY),
    404: ("the server has no such project or endpoint",
          "Check the project id and any path prefix in SENTRY_DSN, and that its host is the server "
          "itself, not a web page or proxy in front of it."),
    413: ("the event is larger than the server accepts",
          "Trim large context/extra values, or raise the server's limit (Sentry and Bugsink take "
          "1 MiB per event after decompression; Bugsink: MAX_EVENT_SIZE)."),
    429: ("the server is rate limiting this project; events are dropped meanwhile",
          "Wait for Retry-After, raise the project's quota, lower SENTRY_TRACES_SAMPLE_RATE, or add "
          "noisy errors to SENTRY_IGNORE_ERRORS."),
})
_SERVER_ERROR = ("the server failed to take the event",
                 "The server or a proxy in front of it is failing: check its logs or status page; the "
                 "SDK drops events while this lasts.")


def check_dsn(dsn: str) -> Check:
    """The DSN parses as sentry-sdk reads it (local inbox when empty)."""
    if not dsn:
        return Check("dsn", OK, "SENTRY_DSN is empty: events go to the local inbox")
    try:
        parsed = Dsn(dsn)
    except (BadDsn, ValueError) as exc:
        return Check("dsn", FAIL, f"{mask_dsn(dsn)} is not a DSN sentry-sdk can use ({type(exc).__name__})",
                     "Use the DSN shown in the project's settings: https://<key>@<host>/<project id>.")
    return Check("dsn", OK, f"{mask_dsn(dsn)} (host {parsed.host}, port {parsed.port}, "
                            f"project {parsed.project_id})")


def check_sdk() -> Check:
    """The installed sentry-sdk has every private member errorwarden.sdk relies on (else: no outbox)."""
    from sentry_sdk.consts import VERSION

    problems = sdk.check()
    if problems:
        return Check("sentry-sdk", FAIL, f"sentry-sdk {VERSION}: {'; '.join(problems)}; the outbox is off "
                                         "and events go through the SDK's own HttpTransport, unspooled",
                     f"Install a sentry-sdk release in the supported range: pip install '{sdk.SUPPORTED}'.")
    return Check("sentry-sdk", OK, f"sentry-sdk {VERSION} has every member the outbox relies on "
                                   f"(supported: {sdk.SUPPORTED})")


def check_reachability(dsn: str, timeout: float = 3.0) -> Check:
    """The DSN's host resolves and its port accepts a TCP connection."""
    try:
        parsed = Dsn(dsn)
    except (BadDsn, ValueError):
        return Check("reachability", SKIPPED, "no usable DSN")
    where = f"{parsed.host}:{parsed.port}"
    try:
        addresses = socket.getaddrinfo(parsed.host, parsed.port, type=socket.SOCK_STREAM)
    except OSError as exc:
        return Check("reachability", FAIL, f"{parsed.host} does not resolve ({exc.strerror or exc})",
                     "Check the host in SENTRY_DSN and this machine's DNS resolver.")
    try:
        with socket.create_connection((parsed.host, parsed.port), timeout=timeout):
            pass
    except TimeoutError:
        return Check("reachability", FAIL, f"no TCP answer from {where} within {timeout:g} s",
                     "A firewall or network policy drops the traffic: allow outbound connections to it.")
    except OSError as exc:
        return Check("reachability", FAIL, f"{where} refused the connection ({exc.strerror or exc})",
                     "Is the server running and listening on that port? Check the port in SENTRY_DSN.")
    return Check("reachability", OK, f"{where} ({addresses[0][4][0]}) accepts TCP connections")


@dataclass(frozen=True)
class Answer:
    """One HTTP answer the probe transport got."""

    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)


class ProbeTransport(SdkHttp):
    """sentry-sdk's HTTP transport (through the app's seam, errorwarden.sdk) that keeps each answer."""

    TIMEOUT = 10  # seconds for the whole request; the SDK's default is 30

    def __init__(self, options: dict[str, Any]):
        self.answers: list[Answer] = []
        self.errors: list[BaseException] = []
        self.done = threading.Event()
        super().__init__(options, timeout=self.TIMEOUT)

    def answered(self, answer: sdk.Answer) -> None:
        super().answered(answer)
        if answer.error is not None:
            self.errors.append(answer.error)
        else:
            self.answers.append(Answer(answer.status or 0, answer.body[:2000].decode("utf-8", "replace"),
                                       answer.headers))
        self.done.set()


def interpret_answer(answer: Answer, event_id: str, public_key: str = "") -> Check:
    """What an HTTP answer to the test event means, with the fix for a refusal."""
    if 200 <= answer.status < 300:
        return Check("delivery", OK, f"HTTP {answer.status}: the server accepted test event {event_id}")
    meaning, fix = _ANSWERS.get(answer.status, _SERVER_ERROR if answer.status >= 500 else
                                ("unexpected answer", "Check that SENTRY_DSN points at a Sentry-compatible "
                                                      "server."))
    detail = redact(answer.body, public_key)
    if answer.status == 429:
        limits = answer.headers.get("x-sentry-rate-limits") or answer.headers.get("retry-after", "")
        detail = f"rate limits {limits!r}; {detail}" if limits else detail
    return Check("delivery", FAIL, f"HTTP {answer.status}: {meaning}" + (f" ({detail})" if detail else ""),
                 fix)


def errors_only(answer: Answer | None) -> bool:
    """True when the server said it refuses transactions for a day (Bugsink's standing answer)."""
    return answer is not None and _ERRORS_ONLY in answer.headers.get("x-sentry-rate-limits", "")


def check_delivery(dsn: str, *, before_send: Callable | None = None, release: str = "",
                   environment: str = "", pad_kb: int = 0) -> tuple[Check, Answer | None, str]:
    """Send one test event over HTTP and read the answer: (check, answer, event id)."""
    if not dsn:
        return Check("delivery", SKIPPED, "no DSN: see the local inbox check"), None, ""
    if pad_kb:
        # The padding is added after our pipeline, whose size step would otherwise cut it: the point
        # is to see what the server answers an event of that size.
        before_send = _padded(before_send, pad_kb)
    client = sentry_sdk.Client(dsn=dsn, transport=ProbeTransport, release=release or None,
                               environment=environment or None, before_send=before_send,
                               default_integrations=False, auto_enabling_integrations=False,
                               send_client_reports=False)
    transport: ProbeTransport = client.transport
    try:
        event_id = _capture_with(client)
        if event_id is not None:  # a dropped event is never sent: nothing to wait for
            transport.done.wait(ProbeTransport.TIMEOUT + 2)
    finally:
        client.close(timeout=2)
    if event_id is None:
        return (Check("delivery", FAIL, "the before_send pipeline dropped the test event",
                      "See the pipeline check below and the log lines above for the stage that failed."),
                None, "")
    return _result(transport, dsn, event_id)


def _padded(before_send: Callable | None, pad_kb: int) -> Callable:
    def pad(event: dict, hint: dict) -> dict | None:
        event = before_send(event, hint) if before_send is not None else event
        if event is not None:
            event.setdefault("contexts", {})["padding"] = {"text": "x" * (pad_kb * 1024)}
        return event

    return pad


def _capture_with(client: sentry_sdk.Client) -> str | None:
    with sentry_sdk.isolation_scope() as scope:
        scope.set_client(client)
        sentry_sdk.get_current_scope().set_client(client)
        scope.set_context("check", {"command": "sentry_check"})
        return sentry_sdk.capture_message(TEST_MESSAGE, level="info")


def _result(transport: ProbeTransport, dsn: str, event_id: str) -> tuple[Check, Answer | None, str]:
    if transport.answers:
        answer = transport.answers[0]
        return interpret_answer(answer, event_id, Dsn(dsn).public_key), answer, event_id
    if transport.errors:
        error = transport.errors[0]
        return (Check("delivery", FAIL, f"no HTTP answer: {type(error).__name__}: "
                                        f"{redact(str(error), Dsn(dsn).public_key)}",
                      "Check the reachability line above; for TLS errors, the server's certificate "
                      "(SSL_CERT_FILE / REQUESTS_CA_BUNDLE)."), None, event_id)
    return (Check("delivery", FAIL, f"no answer within {ProbeTransport.TIMEOUT + 2} s",
                  "The server accepts connections but does not answer: check its load and its logs."),
            None, event_id)


def check_inbox_delivery(transport: Any, capture: Callable[[], str | None],
                         flush: Callable[[], Any], timeout: float = 5.0) -> tuple[Check, str]:
    """Without a DSN: the test event is captured by the process's client and found in the inbox."""
    store = getattr(transport, "store", None)
    if store is None:
        return Check("delivery", FAIL, "the process has no local inbox transport",
                     "Call init_sentry() in settings.py (it wires the inbox when SENTRY_DSN is empty)."), ""
    event_id = capture()
    if event_id is None:
        return Check("delivery", FAIL, "the before_send pipeline dropped the test event",
                     "See the pipeline check below and the log lines above."), ""
    deadline = time.monotonic() + timeout
    while True:
        flush()
        if store.get(event_id) is not None:
            return Check("delivery", OK, f"test event {event_id} stored in the local inbox "
                                         f"(python manage.py sentry_inbox --show {event_id})"), event_id
        if time.monotonic() > deadline:
            return Check("delivery", FAIL, f"test event {event_id} did not reach the local inbox",
                         "Check that SENTRY_INBOX_PATH is writable and the disk is not full; "
                         "the log says why the write failed."), event_id
        time.sleep(0.05)
