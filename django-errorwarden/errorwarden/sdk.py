"""The one seam to sentry-sdk's internals: every private member the app relies on, named and checked.

sentry-sdk's public transport API (`Transport`: capture_envelope, flush, kill, record_lost_event,
is_healthy) says nothing about what happened to an envelope on the wire, so the outbox, which must
keep what Sentry could not take, needs a few of HttpTransport's private members. They are used
here and nowhere else in the app (a grep for `._` over errorwarden/ finds sentry-sdk members only
in this module), each one is listed in CONTRACT with the call shape the app relies on, and:

* tests/test_sdk_contract.py asserts every row against the installed SDK, failing with its name;
* `check()` runs the same rows at start-up: when the SDK's shape differs, `runtime.install` logs
  one ERROR naming the member(s) and SUPPORTED and falls back to the SDK's own HttpTransport (the
  before_send pipeline still scrubs), instead of an outbox whose sends fail quietly.

`SdkHttp` is sentry-sdk's HttpTransport with the outbox's two changes (no urllib3 retries; a send
reports its `Answer` instead of dropping a retryable envelope) and named operations over the rest.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

import urllib3
from sentry_sdk.consts import DEFAULT_OPTIONS
from sentry_sdk.crons import utils as crons_utils
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import HttpTransport

from errorwarden.logs import quiet_own_loggers

# The sentry-sdk releases this seam is written and tested against: django-errorwarden's own
# requirement (tests/test_sdk_contract.py holds the two equal). CI runs the transport tests on the
# floor (tests/test_sdk_lowest.py) and on the newest release the range allows.
SUPPORTED = "sentry-sdk>=2.75,<3"

LOGGER_NAME = "errorwarden.sdk"
logger = logging.getLogger(LOGGER_NAME)

_PROBE_DSN = "http://contract@127.0.0.1:9/0"  # never contacted: a transport is built, not used


@dataclass(frozen=True)
class Member:
    """One SDK member the app uses: where it lives, the call shape relied on, and why it is needed."""

    name: str  # e.g. "HttpTransport._send_request"; "HttpTransport()." for an instance attribute
    shape: str | None  # "(self, envelope)": parameter names, "=" for a default, "*" before keyword-only
    why: str
    kind: type | None = None  # for an attribute without a call shape: the type it must have


# Overridden members are called by the SDK itself, so their names and parameters must match what it
# passes; called members must accept what this module passes.
CONTRACT: tuple[Member, ...] = (
    Member("HttpTransport._send_envelope", "(self, envelope)",
           "prepares an envelope (rate-limited items dropped and counted, client report added, "
           "compressed) and calls _send_request"),
    Member("HttpTransport._send_request", "(self, body, headers, endpoint_type, envelope=)",
           "overridden: the SDK drops an envelope on 5xx or a network error; the outbox keeps it"),
    Member("HttpTransport._request", "(self, method, endpoint_type, body, headers)",
           "the HTTP POST through the SDK's pool (proxies, CA certs, keep-alive)"),
    Member("HttpTransport._update_headers", "(self, headers)", "the X-Sentry-Auth and User-Agent headers"),
    Member("HttpTransport._update_rate_limits", "(self, response)",
           "reads X-Sentry-Rate-Limits / Retry-After on a 429 or 5xx"),
    Member("HttpTransport._handle_response", "(self, response, envelope)",
           "the SDK's handling of 2xx and 4xx answers (rate limits, lost-event counts)"),
    Member("HttpTransport._flush_client_reports", "(self, force=)",
           "sends the lost-event counts (client reports) after a send and at flush"),
    Member("HttpTransport._get_pool_options", "(self)",
           "overridden: urllib3 retries off (each logged a warning; the outbox backs off itself)"),
    Member("HttpTransport.TIMEOUT", None, "seconds per request, read when the pool is built", int | float),
    Member("HttpTransport.record_lost_event", "(self, reason, data_category=, item=, *, quantity=)",
           "counts a loss for the next client report (public)"),
    Member("HttpTransport.capture_envelope", "(self, envelope)", "the SDK's own send path (public)"),
    Member("HttpTransport.flush", "(self, timeout, callback=)", "waits for the send queue (public)"),
    Member("HttpTransport.kill", "(self)", "stops the send thread (public)"),
    Member("HttpTransport.is_healthy", "(self)", "false while rate-limited or the queue is full (public)"),
    Member("HttpTransport()._disabled_until", None,
           "the rate limits in force, by data category (None: all); read for how long to hold", dict),
    Member("HttpTransport()._worker.submit", "(callback)",
           "the SDK's send thread and its bounded queue: the outbox's jobs run there, so flush() waits "
           "for them"),
    Member("crons_utils._get_interval_schedule", "(seconds)",
           "Sentry Crons' interval schedule (value, unit) for a beat entry's seconds, or None"),
)


def shape(function: Callable[..., Any]) -> str:
    """A call shape without annotations: "(self, body, envelope=)", "*" before keyword-only names."""
    parts, starred = [], False
    for param in inspect.signature(function).parameters.values():
        prefix = ""
        if param.kind is param.VAR_POSITIONAL:
            prefix, starred = "*", True
        elif param.kind is param.VAR_KEYWORD:
            prefix = "**"
        elif param.kind is param.KEYWORD_ONLY and not starred:
            parts.append("*")
            starred = True
        default = "=" if param.default is not param.empty else ""
        parts.append(f"{prefix}{param.name}{default}")
    return f"({', '.join(parts)})"


def _resolve(name: str, instance: Any) -> Any:
    owner_name, *path = name.split(".")
    owners = {"HttpTransport": HttpTransport, "crons_utils": crons_utils}
    target: Any = instance if owner_name.endswith("()") else owners[owner_name]
    for attribute in path:
        target = getattr(target, attribute)
    return target


def probe_transport() -> HttpTransport | None:
    """A plain HttpTransport for looking at instance members (never sends); None when it cannot be built."""
    try:
        return HttpTransport(client_options(dsn=_PROBE_DSN))
    except Exception:
        return None


def problem(member: Member, instance: HttpTransport | None) -> str | None:
    """What is wrong with one CONTRACT row in the installed SDK, naming it; None when it holds."""
    if member.name.split(".", 1)[0].endswith("()") and instance is None:
        return "sentry_sdk HttpTransport(options) cannot be built"
    try:
        target = _resolve(member.name, instance)
    except AttributeError:
        return f"sentry_sdk {member.name} is missing"
    if member.kind is not None and not isinstance(target, member.kind):
        return f"sentry_sdk {member.name} is a {type(target).__name__}, not what the app reads"
    if member.shape is not None:
        try:
            found = shape(target)
        except (TypeError, ValueError):
            found = "not callable"
        if found != member.shape:
            return f"sentry_sdk {member.name} has signature {found}, expected {member.shape}"
    return None


def check() -> list[str]:
    """Every CONTRACT row that does not hold for the installed SDK, named; [] when all hold."""
    quiet_own_loggers()  # what report() says comes at start-up: a log line, never an event
    instance = probe_transport()
    try:
        return [found for member in CONTRACT if (found := problem(member, instance)) is not None]
    finally:
        if instance is not None:
            with contextlib.suppress(Exception):
                instance.kill()


def report(problems: list[str]) -> None:
    """The one start-up ERROR for an SDK whose shape does not match (never raises)."""
    from sentry_sdk.consts import VERSION

    logger.error("sentry-sdk %s does not have the shape django-errorwarden relies on: %s. The outbox is "
                 "off: events go through sentry-sdk's own HttpTransport (still scrubbed), without "
                 "spooling what Sentry cannot take. Install a release in the supported range: %s.",
                 VERSION, "; ".join(problems), SUPPORTED)


def crons_interval(seconds: float) -> dict[str, Any] | None:
    """Sentry Crons' interval schedule ({"value": n, "unit": "minute"...}) for `seconds`, or None
    when Crons cannot express it (under a minute)."""
    return crons_utils._get_interval_schedule(seconds)


def client_options(**options: Any) -> dict[str, Any]:
    """sentry-sdk's default client options with these on top (what a transport reads from them)."""
    return {**DEFAULT_OPTIONS, **options}


@dataclass(frozen=True)
class Answer:
    """What one send got: an HTTP status (with body and headers), or the network error instead."""

    status: int | None
    error: BaseException | None = None
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def why(self) -> str:
        """A short cause: "HTTP 503", or the network error's type (urllib3's wrapper unwrapped)."""
        if self.status is not None:
            return f"HTTP {self.status}"
        reason = getattr(self.error, "reason", None) or self.error
        return type(reason).__name__


class SdkHttp(HttpTransport):
    """sentry-sdk's HTTP transport, driven through named operations.

    Two changes: urllib3 does not retry (the caller does, with backoff), and a send reports its
    Answer (see `send`) rather than dropping an envelope on a 5xx or a network error. A 2xx or
    4xx other than 429 goes through the SDK's own handling (its lost-event counts included).
    """

    def __init__(self, options: dict[str, Any], timeout: float,
                 route: Callable[[Envelope], None] | None = None):
        self.TIMEOUT = timeout  # read by the SDK when it builds the pool
        super().__init__(options)
        self._answer = threading.local()
        self.route = route

    def capture_envelope(self, envelope: Envelope) -> None:
        """The SDK's own path, or `route` when given: the SDK sends its client reports through here,
        so an outbox passes them through its own backoff and queue like any envelope."""
        if self.route is not None:
            self.route(envelope)
        else:
            super().capture_envelope(envelope)

    # -- overrides of the SDK's hooks --------------------------------------------------------------

    def _get_pool_options(self) -> dict[str, Any]:
        options = super()._get_pool_options()
        options["retries"] = urllib3.Retry(total=0, redirect=0, raise_on_status=False)
        return options

    def _send_request(self, body: bytes, headers: dict[str, str], endpoint_type: Any,
                      envelope: Envelope | None = None) -> None:
        self._update_headers(headers)
        try:
            response = self._request("POST", endpoint_type, body, headers)
        except Exception as exc:
            self.answered(Answer(None, exc))
            return
        try:
            if response.status == 429 or response.status >= 500:
                self._update_rate_limits(response)  # kept, not lost: no lost-event count
            else:
                self._handle_response(response=response, envelope=envelope)
            self.answered(Answer(response.status, None, getattr(response, "data", b"") or b"",
                                 {k.lower(): v for k, v in response.headers.items()}))
        finally:
            response.close()

    # -- named operations --------------------------------------------------------------------------

    def answered(self, answer: Answer) -> None:
        """Called on the sender thread with each answer; kept for `send` (subclasses may watch too)."""
        self._answer.value = answer

    def send(self, envelope: Envelope) -> Answer | None:
        """Send now, on this thread, through the SDK; None when the SDK sent nothing (all items were
        rate-limited for longer, which it counts as lost)."""
        self._answer.value = None
        self._send_envelope(envelope)
        return self._answer.value

    def submit(self, job: Callable[[], None]) -> bool:
        """Run job on the SDK's send thread; False when its queue is full."""
        return self._worker.submit(job)

    def flush_client_reports(self, force: bool = False) -> None:
        """Send the pending lost-event counts (at most once a minute unless forced)."""
        self._flush_client_reports(force=force)

    def limited(self) -> bool:
        """True when the server has set any rate limit (ended or not)."""
        return bool(self._disabled_until)

    def limit_end(self, category: str | None) -> float:
        """When the rate limit on this data category (or on all) ends, as epoch seconds; 0.0 when none."""
        ends = [self._disabled_until.get(c) for c in (category, None)]
        return max((end.astimezone(UTC).timestamp() for end in ends if end is not None), default=0.0)
