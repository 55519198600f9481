"""The classifier: real exceptions through a real sentry-sdk client, then category, kind, fingerprint."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import botocore.config
import botocore.exceptions
import django.db
import httpx
import pytest
import requests
import sentry_sdk
from django.core.exceptions import ImproperlyConfigured
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions as drf

from errorwarden.grouping import Classifier
from tests.support.http import LoopbackHTTP, Reply, Request

ROOT = Path(__file__).resolve().parent.parent
HOSTS = {"*.amazonaws.com": "s3", "api.clerk.com": "clerk", "api.resend.com": "resend"}


# ---------------------------------------------------------------- real events from a real SDK

class _Capture:
    """A sentry-sdk client whose before_send keeps (event, hint) instead of sending."""

    def __init__(self) -> None:
        self.seen: list[tuple[dict, dict]] = []
        self.client = sentry_sdk.Client(
            dsn="http://public@127.0.0.1:9/1", default_integrations=False, before_send=self._keep,
            project_root=str(ROOT), in_app_include=["tests"], attach_stacktrace=False,
        )

    def _keep(self, event: dict, hint: dict) -> None:
        self.seen.append((event, hint))

    def __call__(self, exc: BaseException | None = None, *, message: str = "", level: str = "",
                 fingerprint: list[str] | None = None, transaction: str = "", source: str = "route",
                 url: str = "") -> tuple[dict, dict]:
        with sentry_sdk.new_scope() as scope:
            scope.set_client(self.client)
            if level:
                scope.set_level(level)
            if fingerprint:
                scope.fingerprint = fingerprint
            if transaction:
                scope.set_transaction_name(transaction, source=source)
            if url:
                scope.add_event_processor(lambda e, h: {**e, "request": {"url": url}})
            if exc is not None:
                sentry_sdk.capture_exception(exc)
            else:
                sentry_sdk.capture_message(message, level=level or None)
        return self.seen.pop()


@pytest.fixture(scope="module")
def capture() -> Iterator[_Capture]:
    """Turns an exception or message into the (event, hint) pair before_send receives."""
    cap = _Capture()
    yield cap
    cap.client.close()


def caught(fn: Callable[[], object]) -> BaseException:
    """The exception fn raises, with its real traceback."""
    try:
        fn()
    except BaseException as exc:
        return exc
    raise AssertionError("expected an exception")


def classify(capture, exc=None, classifier: Classifier | None = None, **kw) -> dict:
    """Capture, then run the classifier on the event exactly as the pipeline does."""
    event, hint = capture(exc, **kw)
    result = (classifier or Classifier(HOSTS))(event, hint)
    assert result is event
    return event


# ---------------------------------------------------------------- "app" code that raises

class InvalidToken(drf.AuthenticationFailed):
    """The app's own bad-token error (like library.auth.InvalidToken)."""


JwtDecodeError = type("DecodeError", (Exception,), {"__module__": "jwt.exceptions"})


class QuotaExceeded(Exception):
    """An app-level 429 with a throttle scope."""

    status_code = 429

    def __init__(self, scope: str):
        super().__init__(f"quota for {scope} exceeded")
        self.scope = scope


def login(user=17): raise drf.AuthenticationFailed(f"Bad password for user {user}")
def profile(user=17): raise drf.AuthenticationFailed(f"Bad password for user {user}")
def whoami(): raise drf.NotAuthenticated()
def admin_stats(): raise drf.PermissionDenied("staff only")
def delete_shelf(): raise DjangoPermissionDenied("not your shelf 12")
def verify_session(): raise InvalidToken("expired")
def decode_jwt(): raise JwtDecodeError("Signature verification failed")
def bearer_auth():
    try:
        decode_jwt()
    except JwtDecodeError as exc:
        raise drf.AuthenticationFailed("Invalid token") from exc
def create_loan(book=12): raise drf.ValidationError({"book": [f"Book {book} is already on loan."]})
def rename_book(): raise DjangoValidationError("Title may not be blank")
def book_detail(): raise drf.Throttled(wait=30)
def upload(scope): raise QuotaExceeded(scope)
def find_order(n): raise LookupError(f"Order {n} not found")
def find_user(key): return {}[key]


# ---------------------------------------------------------------- categories, table-driven

APP_CASES = [
    pytest.param(login, "auth", "authentication_failed",
                 ["auth", "authentication_failed", "tests.test_grouping.login"], id="drf-auth-failed"),
    pytest.param(whoami, "auth", "authentication_failed",
                 ["auth", "authentication_failed", "tests.test_grouping.whoami"], id="drf-not-authenticated"),
    pytest.param(admin_stats, "auth", "permission_denied",
                 ["auth", "permission_denied", "tests.test_grouping.admin_stats"], id="drf-permission"),
    pytest.param(delete_shelf, "auth", "permission_denied",
                 ["auth", "permission_denied", "tests.test_grouping.delete_shelf"], id="django-permission"),
    pytest.param(verify_session, "auth", "invalid_token",
                 ["auth", "invalid_token", "tests.test_grouping.verify_session"], id="app-invalid-token"),
    pytest.param(decode_jwt, "auth", "invalid_token",
                 ["auth", "invalid_token", "tests.test_grouping.decode_jwt"], id="jwt-decode-error"),
    pytest.param(bearer_auth, "auth", "invalid_token",
                 ["auth", "invalid_token", "tests.test_grouping.bearer_auth"], id="auth-failed-from-jwt"),
    pytest.param(create_loan, "validation", "field",
                 ["validation", "tests.test_grouping.create_loan"], id="drf-validation"),
    pytest.param(rename_book, "validation", "non_field",
                 ["validation", "tests.test_grouping.rename_book"], id="django-validation"),
    pytest.param(book_detail, "rate_limit", "api",
                 ["rate_limit", "api", "/api/books/{pk}/"], id="drf-throttled"),
    pytest.param(lambda: upload("user"), "rate_limit", "user",
                 ["rate_limit", "user", "/api/books/{pk}/"], id="app-429-user"),
    pytest.param(lambda: upload("anon"), "rate_limit", "ip",
                 ["rate_limit", "ip", "/api/books/{pk}/"], id="app-429-anon"),
    pytest.param(lambda: upload("burst"), "rate_limit", "api",
                 ["rate_limit", "api", "/api/books/{pk}/"], id="app-429-other-scope"),
]


@pytest.mark.parametrize(("raiser", "category", "kind", "fingerprint"), APP_CASES)
def test_app_errors_are_classified_and_fingerprinted(capture, raiser, category, kind, fingerprint):
    """Auth, validation and rate-limit errors get category, kind, fingerprint, tags and warning level."""
    event = classify(capture, caught(raiser), transaction="/api/books/<int:pk>/")
    assert event["fingerprint"] == fingerprint
    assert event["tags"]["error.category"] == category
    assert event["tags"]["error.kind"] == kind
    assert event["level"] == "warning"


def test_auth_and_validation_group_by_raising_function_not_message(capture):
    """One function's auth failures are one issue whatever the message; another function's are another."""
    same = [classify(capture, caught(lambda u=u: login(u)))["fingerprint"] for u in (17, 9000)]
    other = classify(capture, caught(profile))["fingerprint"]
    assert same[0] == same[1] != other
    assert other == ["auth", "authentication_failed", "tests.test_grouping.profile"]
    loans = [classify(capture, caught(lambda b=b: create_loan(b)))["fingerprint"] for b in (12, 99)]
    assert loans[0] == loans[1] == ["validation", "tests.test_grouping.create_loan"]


class LoanView:
    def post(self): raise drf.ValidationError({"book": ["unknown"]})


class ReviewView:
    def post(self): raise drf.ValidationError({"book": ["unknown"]})


def test_same_named_methods_of_two_classes_are_two_issues(capture):
    """sentry-sdk records the bare name 'post'; the live code object adds the class."""
    loan = classify(capture, caught(LoanView().post))["fingerprint"]
    review = classify(capture, caught(ReviewView().post))["fingerprint"]
    assert loan == ["validation", "tests.test_grouping.LoanView.post"]
    assert review == ["validation", "tests.test_grouping.ReviewView.post"]


def test_rate_limits_group_by_route_pattern_never_concrete_url(capture):
    """Throttling on /api/books/7/ and /api/books/8/ is one issue, whether the route is a pattern or a URL."""
    prints = [
        classify(capture, caught(book_detail), transaction="/api/books/{pk}/")["fingerprint"],
        classify(capture, caught(book_detail), transaction="/api/books/<int:pk>/")["fingerprint"],
        classify(capture, caught(book_detail), transaction="/api/books/7/", source="url")["fingerprint"],
        classify(capture, caught(book_detail), url="https://api.example.com/api/books/8/?x=1")["fingerprint"],
    ]
    assert prints[0] == prints[1] == ["rate_limit", "api", "/api/books/{pk}/"]
    assert prints[2] == prints[3] == ["rate_limit", "api", "/api/books/{id}/"]


def test_sdk_puts_the_brace_form_of_a_path_converter_in_the_transaction():
    """sentry-sdk 2.75's URL resolver names path('api/books/<int:pk>/') '/api/books/{pk}/'."""
    from sentry_sdk.integrations.django.transactions import LEGACY_RESOLVER

    assert LEGACY_RESOLVER.resolve("/api/books/42/", urlconf=__name__) == "/api/books/{pk}/"


def _view(request, pk):  # pragma: no cover - only resolved, never called
    raise AssertionError


def _urlpatterns():
    from django.urls import path

    return [path("api/books/<int:pk>/", _view)]


urlpatterns = _urlpatterns()


# ---------------------------------------------------------------- generic and message events

def test_ids_in_messages_do_not_split_generic_errors(capture):
    """'Order 123 not found' and 'Order 456 not found' from one place are one, readable, issue."""
    first = classify(capture, caught(lambda: find_order(123)))
    second = classify(capture, caught(lambda: find_order(456)))
    assert first["fingerprint"] == second["fingerprint"] == [
        "generic", "LookupError", "Order <num> not found", "tests.test_grouping.find_order"]
    assert first["tags"]["error.category"] == "generic" and first["tags"]["error.kind"] == "exception"
    assert first["level"] == "error"


def test_generic_errors_of_one_type_in_different_places_stay_apart(capture):
    """Two KeyErrors raised in different functions are different issues even though quoted keys normalize."""
    here = classify(capture, caught(lambda: find_user("email")))["fingerprint"]
    there = classify(capture, caught(lambda: {}["email"]))["fingerprint"]
    assert here[:3] == there[:3] == ["generic", "KeyError", "<str>"]
    assert here != there


def test_log_messages_group_by_their_template(capture):
    """Message events group by the normalized log template or message text, not the filled-in values."""
    a = classify(capture, message="Payment 8812 for [email] declined")
    b = classify(capture, message="Payment 17 for [email] declined")
    assert a["fingerprint"] == b["fingerprint"] == ["message", "Payment <num> for <email> declined"]
    assert a["tags"]["error.kind"] == "message" and a["level"] == "info"
    event = {"logentry": {"message": "Order %s not found", "formatted": "Order 7 not found"},
             "level": "error", "logger": "library.views"}
    assert Classifier(HOSTS)(event, {})["fingerprint"] == ["message", "Order %s not found"]


# ---------------------------------------------------------------- fingerprint and level policy

def test_a_fingerprint_set_by_the_caller_wins(capture):
    """A scope fingerprint is kept; '{{ default }}' inside one is replaced by ours; tags are still set."""
    kept = classify(capture, caught(login), fingerprint=["checkout", "v2"])
    assert kept["fingerprint"] == ["checkout", "v2"]
    assert kept["tags"]["error.category"] == "auth"
    expanded = classify(capture, caught(login), fingerprint=["{{ default }}", "tenant-a"])
    assert expanded["fingerprint"] == ["auth", "authentication_failed", "tests.test_grouping.login",
                                       "tenant-a"]
    default = classify(capture, caught(login), fingerprint=["{{default}}"])
    assert default["fingerprint"] == ["auth", "authentication_failed", "tests.test_grouping.login"]


@pytest.mark.parametrize(("given", "expected"), [
    ("", "warning"),          # the SDK default 'error' is ours to refine
    ("error", "warning"),     # indistinguishable from the default: refined too
    ("fatal", "fatal"),       # an explicit level always stands
    ("info", "info"),
])
def test_level_changes_only_the_sdk_default(capture, given, expected):
    """The classifier replaces only the SDK's default 'error' level, never a level set on purpose."""
    assert classify(capture, caught(login), level=given)["level"] == expected


# ---------------------------------------------------------------- database (unit; real DBs in _postgres)

@pytest.fixture
def own_sqlite(django_db_blocker) -> Iterator[None]:
    """These tests open their own in-memory database, never the project's: lift pytest-django's block."""
    with django_db_blocker.unblock():
        yield


def _sqlite_integrity() -> BaseException:
    """An IntegrityError raised through Django's cursor, as the ORM raises it (own in-memory database)."""
    from django.db.backends.sqlite3.base import DatabaseWrapper

    settings = {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:", "OPTIONS": {}, "TIME_ZONE": None,
                "CONN_MAX_AGE": 0, "CONN_HEALTH_CHECKS": False, "AUTOCOMMIT": True, "ATOMIC_REQUESTS": False,
                "TEST": {}}
    conn = DatabaseWrapper(settings, alias="grouping_sqlite")
    try:
        with conn.cursor() as cur:
            cur.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
            cur.execute("INSERT INTO t VALUES (1)")
            try:
                cur.execute("INSERT INTO t VALUES (1)")
            except Exception as exc:  # django.db.IntegrityError wrapping sqlite3's
                return exc
    finally:
        conn.close()
    raise AssertionError("expected IntegrityError")


def test_database_error_groups_by_verb_and_route(capture, own_sqlite):
    """An IntegrityError from Django's cursor becomes ['database', 'integrity', 'INSERT', route] with
    query_type: the verb is read from the failing statement in Django's cursor frame."""
    event = classify(capture, _sqlite_integrity(), transaction="/api/loans/")
    assert event["fingerprint"] == ["database", "integrity", "INSERT", "/api/loans/"]
    assert event["tags"]["query_type"] == "INSERT" and event["tags"]["error.category"] == "database"
    assert event["level"] == "error"


def test_validation_raised_from_a_database_error_is_validation(capture, own_sqlite):
    """The raised exception speaks first: a ValidationError made from an IntegrityError is validation."""
    def save():
        try:
            raise _sqlite_integrity()
        except django.db.IntegrityError as exc:
            raise drf.ValidationError("duplicate") from exc

    assert classify(capture, caught(save))["tags"]["error.category"] == "validation"


def test_unrecognised_wrapper_of_a_database_error_is_a_database_error(capture, own_sqlite):
    """A plain RuntimeError raised from an IntegrityError is classified by its database cause."""
    def save():
        try:
            raise _sqlite_integrity()
        except django.db.IntegrityError as exc:
            raise RuntimeError("could not save loan 12") from exc

    event = classify(capture, caught(save))
    assert event["fingerprint"][:3] == ["database", "integrity", "INSERT"]


# ---------------------------------------------------------------- external services, for real

_S3_ERROR = (b"<?xml version='1.0'?><Error><Code>Oops</Code><Message>m</Message>"
             b"<RequestId>1</RequestId></Error>")


def _status_from_path(request: Request) -> Reply:
    """/<status>/... answers that status with an S3-style error body; anything else 200."""
    first = request.path.strip("/").split("/")[0]
    status = int(first) if first[:3].isdigit() else 200
    return Reply(status, _S3_ERROR, {"Content-Type": "application/xml"})


@pytest.fixture(scope="module")
def http_server() -> Iterator[str]:
    """A loopback HTTP server answering /<status>/... with that status and an S3-style error body."""
    with LoopbackHTTP(_status_from_path) as server:
        yield server.url


@pytest.fixture(scope="module")
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections and never answers: reads time out."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield sock.getsockname()[1]
    sock.close()


def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def _raise_for_status(response):
    response.raise_for_status()


EXTERNAL_CASES = [
    pytest.param(lambda s, p: requests.get(f"http://127.0.0.1:{_closed_port()}/", timeout=2),
                 "connection", id="requests-refused"),
    pytest.param(lambda s, p: requests.get(f"http://127.0.0.1:{p}/", timeout=0.2), "timeout",
                 id="requests-timeout"),
    pytest.param(lambda s, p: _raise_for_status(requests.get(f"{s}/503/", timeout=2)), "http_5xx",
                 id="requests-503"),
    pytest.param(lambda s, p: _raise_for_status(requests.get(f"{s}/404/", timeout=2)), "http_4xx",
                 id="requests-404"),
    pytest.param(lambda s, p: httpx.get(f"http://127.0.0.1:{_closed_port()}/", timeout=2),
                 "connection", id="httpx-refused"),
    pytest.param(lambda s, p: httpx.get(f"http://127.0.0.1:{p}/", timeout=0.2), "timeout",
                 id="httpx-timeout"),
    pytest.param(lambda s, p: httpx.get(f"{s}/500/", timeout=2).raise_for_status(), "http_5xx",
                 id="httpx-500"),
]


@pytest.mark.parametrize(("call", "kind"), EXTERNAL_CASES)
def test_http_client_failures_group_by_service_and_kind(capture, http_server, silent_port, call, kind):
    """Real requests/httpx failures against loopback become ['external', service, kind] via the host map."""
    classifier = Classifier({**HOSTS, "127.0.0.1": "clerk"})
    event = classify(capture, caught(lambda: call(http_server, silent_port)), classifier)
    assert event["fingerprint"] == ["external", "clerk", kind]
    assert event["tags"]["service"] == "clerk" and event["tags"]["error.kind"] == kind


@pytest.mark.parametrize(("exc", "service"), [
    pytest.param(requests.ConnectionError(request=requests.Request("GET", "https://api.resend.com/emails")
                                          .prepare()), "resend", id="exact-host"),
    pytest.param(httpx.ConnectError("x", request=httpx.Request("PUT", "https://b.s3.eu-west-1.amazonaws.com/k")),
                 "s3", id="wildcard-host"),
    pytest.param(httpx.ConnectError("x", request=httpx.Request("GET", "https://pay.example.net/v1")),
                 "pay.example.net", id="unmapped-host"),
    pytest.param(httpx.ConnectError("no request attached"), "unknown", id="no-request"),
])
def test_service_comes_from_the_request_host(capture, exc, service):
    """Exact hosts, '*.' patterns, unmapped hosts and missing requests each name the service sensibly."""
    event = classify(capture, caught(lambda: (_ for _ in ()).throw(exc)))
    assert event["fingerprint"][:2] == ["external", service]


def _s3(endpoint: str, service: str = "s3"):
    return boto3.client(
        service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="k",
        aws_secret_access_key="s",
        config=botocore.config.Config(retries={"total_max_attempts": 1}, connect_timeout=1, read_timeout=2),
    )


def test_botocore_client_error_names_the_service_from_the_client(capture, http_server):
    """A real S3 ClientError (403) finds its client in the traceback: ['external', 's3', 'client_error']."""
    exc = caught(lambda: _s3(f"{http_server}/403").get_object(Bucket="b", Key="k"))
    assert isinstance(exc, botocore.exceptions.ClientError)
    assert classify(capture, exc)["fingerprint"] == ["external", "s3", "client_error"]
    exc = caught(lambda: _s3(f"{http_server}/500").get_object(Bucket="b", Key="k"))
    assert classify(capture, exc)["fingerprint"] == ["external", "s3", "http_5xx"]


def test_botocore_endpoint_failure_uses_the_endpoint_host(capture):
    """A real EndpointConnectionError maps its endpoint host; an exact host entry beats the client name."""
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    exc = caught(lambda: _s3(endpoint).get_object(Bucket="b", Key="k"))
    assert isinstance(exc, botocore.exceptions.EndpointConnectionError)
    assert classify(capture, exc)["fingerprint"] == ["external", "s3", "connection"]
    storage = Classifier({**HOSTS, "127.0.0.1": "minio"})
    assert classify(capture, exc, storage)["fingerprint"] == ["external", "minio", "connection"]


# ---------------------------------------------------------------- user rules

RULES = [
    {"type": "LookupError", "message": r"^Order ", "category": "validation", "kind": "missing_order",
     "fingerprint": ["orders", "{type}", "{message}", "{route}"], "level": "info"},
    {"module": "tests", "category": "external", "kind": "quota"},
    {"logger": "library.payments", "category": "external", "kind": "payments",
     "fingerprint": ["payments", "{logger}", "{message}"]},
]


def test_user_rules_come_first_and_first_match_wins(capture):
    """A matching rule sets category, kind, rendered fingerprint and level; later rules and built-ins wait."""
    classifier = Classifier(HOSTS, RULES)
    event = classify(capture, caught(lambda: find_order(5)), classifier, transaction="/api/orders/<int:pk>/")
    assert event["fingerprint"] == ["orders", "LookupError", "Order <num> not found", "/api/orders/{pk}/"]
    assert event["tags"]["error.kind"] == "missing_order" and event["level"] == "info"
    quota = classify(capture, caught(lambda: upload("user")), classifier)
    assert quota["fingerprint"] == ["external", "quota", "tests.test_grouping.QuotaExceeded",
                                    "quota for user exceeded"]
    assert quota["level"] == "error"  # the rule sets none and 'external' has no default level
    other = classify(capture, caught(lambda: find_user("x")), classifier)
    assert other["tags"]["error.category"] == "generic"  # builtins.KeyError is not under 'tests'


def test_a_rule_without_a_level_gets_its_categorys_level(capture):
    """Like the built-in classification, a rule's auth, rate-limit or validation event is a warning."""
    classifier = Classifier(HOSTS, [{"type": "LookupError", "category": "validation"}])
    event = classify(capture, caught(lambda: find_order(5)), classifier)
    assert event["tags"]["error.category"] == "validation" and event["level"] == "warning"


def test_rules_match_log_messages_by_logger(capture):
    """A logger rule groups a log event by its normalized template."""
    event = {"logentry": {"message": "Charge %s failed", "formatted": "Charge 12 failed"},
             "logger": "library.payments.stripe", "level": "error"}
    out = Classifier(HOSTS, RULES)(event, {})
    assert out["fingerprint"] == ["payments", "library.payments.stripe", "Charge %s failed"]


BAD_RULES = [
    pytest.param([{"type": "X", "category": "auth", "colour": "red"}], "[0]", "colour", id="unknown-field"),
    pytest.param([{"type": "X", "category": "auth"}, {"message": "(", "category": "auth"}], "[1]", "message",
                 id="bad-regex"),
    pytest.param([{"type": "X"}], "[0]", "category", id="missing-category"),
    pytest.param([{"type": "X", "category": "oops"}], "[0]", "category", id="unknown-category"),
    pytest.param([{"type": "X", "category": "auth", "level": "loud"}], "[0]", "level", id="bad-level"),
    pytest.param([{"type": "X", "category": "auth", "fingerprint": ["{nope}"]}], "[0]", "fingerprint",
                 id="unknown-template-variable"),
    pytest.param([{"type": "X", "category": "auth", "fingerprint": ["{type.__class__}"]}], "[0]",
                 "fingerprint", id="attribute-access"),
    pytest.param([{"type": "X", "category": "auth", "fingerprint": ["{type"]}], "[0]", "fingerprint",
                 id="unbalanced-brace"),
    pytest.param([{"type": "X", "category": "auth", "fingerprint": "one"}], "[0]", "fingerprint",
                 id="fingerprint-not-list"),
    pytest.param([{"type": "X y", "category": "auth"}], "[0]", "type", id="bad-type-name"),
    pytest.param([{"category": "auth"}], "[0]", "type", id="no-match-field"),
    pytest.param([{"type": "X", "category": "auth", "kind": "Has Space"}], "[0]", "kind", id="bad-kind"),
    pytest.param(["not a dict"], "[0]", "JSON object", id="not-an-object"),
]


@pytest.mark.parametrize(("rules", "index", "field"), BAD_RULES)
def test_bad_rules_fail_at_construction_naming_index_and_field(rules, index, field):
    """Each invalid rule raises ImproperlyConfigured naming SENTRY_GROUPING_RULES[i] and the bad field."""
    with pytest.raises(ImproperlyConfigured) as info:
        Classifier(HOSTS, rules)
    assert f"SENTRY_GROUPING_RULES{index}" in str(info.value)
    assert field in str(info.value)


# ---------------------------------------------------------------- robustness

class _Hostile(Exception):
    """An exception whose every attribute lookup explodes."""

    def __getattribute__(self, name):
        if name.startswith("__") and name not in ("__getattr__",):
            return object.__getattribute__(self, name)
        raise RuntimeError(f"no {name} for you")


@pytest.mark.parametrize(("event", "hint"), [
    pytest.param({}, {}, id="empty"),
    pytest.param({"exception": {"values": None}}, {}, id="null-values"),
    pytest.param({"exception": {"values": [{"stacktrace": {"frames": [None, 3]}}]}}, {}, id="junk-frames"),
    pytest.param({"tags": [["a", "b"]], "fingerprint": "x"}, {"exc_info": (None, None, None)},
                 id="odd-types"),
    pytest.param({"transaction": 5, "request": {"url": "http://[::1"}}, {"exc_info": "nope"}, id="bad-url"),
    pytest.param({}, {"exc_info": (_Hostile, _Hostile(), None)}, id="hostile-exception"),
    pytest.param({"logentry": "just a string", "message": {"formatted": "Order 5"}}, None, id="odd-message"),
])
def test_odd_input_never_raises_and_returns_the_event(event, hint):
    """Missing keys, wrong types and hostile exceptions still return the same event object."""
    assert Classifier(HOSTS)(event, hint) is event


def test_tags_in_list_form_are_replaced_not_duplicated():
    """The protocol's [[key, value]] tag form gets our tags once, replacing stale values."""
    event = {"tags": [["error.category", "stale"], ["feature", "orders"]], "message": "boom 1"}
    Classifier(HOSTS)(event, {})
    assert event["tags"] == [["feature", "orders"], ["error.category", "generic"], ["error.kind", "message"]]
