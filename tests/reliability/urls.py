"""Test-only views for the reliability suite: errors on demand, a storm, and the bad-input table."""

from __future__ import annotations

import json

import sentry_sdk
from django.http import HttpResponse, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from infrastructure.sentry_config import ErrorTracker

PLANTED = {  # secrets the bad-input views plant; none may reach Sentry or the console
    "email": "jane.reliable@example.com",
    "card": "4111 1111 1111 1111",
    "stripe": "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "password": "correct horse battery staple",
}


class ReliabilityError(Exception):
    """The error the fault views raise."""


def ok(request):
    """A healthy request."""
    return HttpResponse("ok")


def fail(request):
    """Raise one error of issue ?issue=, tagged with the request's ?ticket= (a name the scrubber keeps)."""
    issue, ticket = request.GET.get("issue", "0"), request.GET.get("ticket", "")
    scope = sentry_sdk.get_isolation_scope()
    scope.fingerprint = ["reliability", issue]
    scope.set_tag("reliability.ticket", ticket)
    raise ReliabilityError(f"issue {issue} failed for request {ticket}")


def storm(request):
    """Capture ?count= errors of issue ?issue= in one request; answer how many the SDK accepted."""
    issue, count = request.GET["issue"], int(request.GET["count"])
    accepted = 0
    for n in range(count):
        try:
            raise ReliabilityError(f"storm issue {issue} #{n}")
        except ReliabilityError as exc:
            with sentry_sdk.new_scope() as scope:
                scope.fingerprint = ["storm", issue]
                accepted += sentry_sdk.capture_exception(exc) is not None
    return JsonResponse({"accepted": accepted})


class RaisingRepr:
    """An object whose repr() fails."""

    def __repr__(self) -> str:
        raise RuntimeError("repr refused")


class HugeRepr:
    """An object whose repr() is 10 MB."""

    def __repr__(self) -> str:
        return "r" * 10_000_000


class Uncopyable:
    """An object that refuses copy, deepcopy and pickling."""

    def __copy__(self):
        raise TypeError("no copies")

    def __deepcopy__(self, memo):
        raise TypeError("no deep copies")

    def __reduce__(self):
        raise TypeError("no pickling")


def _bad(kind: str, request) -> None:
    """Fail with the bad input named kind (the locals are what the SDK records)."""
    p = PLANTED
    if kind == "message_1mb":
        raise ReliabilityError("m" * 1_000_000)
    if kind == "nul":
        raise ReliabilityError("a NUL\x00 inside")
    if kind == "invalid_utf8":
        raw = b"caf\xc3 \xff\xfe end"
        raise ReliabilityError(raw.decode("utf-8", "surrogateescape"))
    if kind == "ansi":
        raise ReliabilityError("\x1b[31mred\x1b[0m \x1b]0;retitled\x07 \x1b[2J")
    if kind == "crlf":
        raise ReliabilityError("first line\r\nERROR django.request: forged line")
    if kind == "self_reference":
        loop = {"name": "loop"}
        loop["self"] = loop
        ErrorTracker.set_context("loop", loop)
        raise ReliabilityError("self-referencing context")
    if kind == "uncopyable":
        ErrorTracker.set_context("odd", {"thing": Uncopyable()})
        raise ReliabilityError("uncopyable context")
    if kind == "raising_repr":
        broken = RaisingRepr()  # noqa: F841
        raise ReliabilityError("a local whose repr raises")
    if kind == "huge_locals":
        big = "x" * 20_000_000
        huge = HugeRepr()
        raise ReliabilityError("y" * 1_000_000)
    if kind == "small_locals":  # the anchor of huge_locals' cost
        big, huge = "x" * 20, "r" * 10  # noqa: F841
        raise ReliabilityError("y" * 100)
    if kind == "recursion":
        def down(n: int) -> int:
            return down(n + 1) + 1
        down(0)
    if kind == "deep_locals":  # 150 frames, each with an 8 KB local: over 1 MB until trimmed
        def nest(n: int, blob: str) -> int:
            return nest(n - 1, blob) + 1 if n else int(blob)
        nest(150, "z" * 8_000)
    if kind == "body_20mb":
        body = request.read()
        raise ReliabilityError(f"a body of {len(body)} bytes")
    if kind == "deep_json":
        json.loads(request.body)  # 10,000 levels: RecursionError in the decoder
        raise ReliabilityError("deep JSON decoded")
    if kind == "secret_keys":
        sentry_sdk.set_extra("recipients", {p["email"]: 1})
        ErrorTracker.set_context("cards", {p["card"]: "on file"})
        tokens = {p["stripe"]: "live", "password": p["password"]}  # noqa: F841
        raise ReliabilityError(f"payment for {p['email']} failed")
    raise ValueError(f"unknown bad input {kind!r}")


@csrf_exempt
def bad(request, kind: str):
    """Fail with one row of the bad-input table."""
    sentry_sdk.get_isolation_scope().set_tag("reliability.bad", kind)
    _bad(kind, request)
    return HttpResponse("unreachable")


urlpatterns = [
    path("ok/", ok),
    path("fail/", fail),
    path("storm/", storm),
    path("bad/<str:kind>/", bad),
    path("", include("config.urls")),  # the library's API: the alert faults fire its rules
]
