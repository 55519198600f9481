"""Capture paths: log records, DSN-versus-inbox routing, scrub key settings, and the layering rule."""

from __future__ import annotations

import ast
import json
import logging
from pathlib import Path

import pytest
import sentry_sdk
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured

from errorwarden.local import InboxStore
from errorwarden.settings import load_settings
from infrastructure.sentry_config import ErrorTracker, init_sentry

REPO = Path(__file__).resolve().parent.parent
FORBIDDEN_PACKAGES = ("library", "config", "infrastructure")


def _events_with_message(rx, text: str) -> list[dict]:
    def message(event: dict) -> str:
        entry = event.get("logentry") or {}
        return entry.get("formatted") or entry.get("message") or event.get("message") or ""

    return [e for e in rx.events() if text in message(e)]


def test_an_error_log_without_exception_is_an_event_with_earlier_info_logs_as_breadcrumbs(tracked):
    """logger.error() alone is sent as an error event, and an INFO record before it rides along as a crumb."""
    log = logging.getLogger("library.x")
    log.info("shelf 7 inventory started")
    log.error("shelf 7 inventory found 3 missing books")
    sentry_sdk.flush(timeout=5)

    assert tracked.wait_for(lambda rx: _events_with_message(rx, "3 missing books"), timeout=10)
    [event] = _events_with_message(tracked, "3 missing books")
    assert event["level"] == "error" and event["logger"] == "library.x"
    assert "exception" not in event
    crumbs = event["breadcrumbs"]["values"]
    assert any(c.get("category") == "library.x" and c.get("message") == "shelf 7 inventory started"
               and c.get("level") == "info" for c in crumbs)
    # The INFO record itself is a breadcrumb only, never an event of its own.
    assert _events_with_message(tracked, "inventory started") == []


def test_a_dsn_sends_to_the_server_and_writes_nothing_to_the_local_inbox(tracked, tmp_path):
    """With SENTRY_DSN set the inbox file is never created; with it empty the same capture lands there."""
    inbox = tmp_path / "inbox.sqlite3"
    base = django_settings.SENTRY.with_overrides(inbox_path=inbox, profiles_sample_rate=0.0)

    init_sentry(base.with_overrides(dsn=tracked.dsn))
    sent = ErrorTracker.capture_message("routed to the server")
    sentry_sdk.flush(timeout=5)
    assert [e["event_id"] for e in tracked.events()] == [sent]
    assert not inbox.exists()

    init_sentry(base.with_overrides(dsn=""))
    kept = ErrorTracker.capture_message("routed to the inbox")
    sentry_sdk.flush(timeout=5)
    assert inbox.exists()
    store = InboxStore(inbox)
    try:
        assert [e["event_id"] for e in store.events(type="event")] == [kept]
    finally:
        store.close()
    assert [e["event_id"] for e in tracked.events()] == [sent]  # the server saw nothing more


def _raise_with(notes: str) -> None:
    raise ValueError(notes)  # notes: a local the SDK captures (custom_repr cuts it when captured)


def test_every_long_string_reaches_the_server_cut_to_the_cap(tracked):
    """sentry-sdk's max_value_length is left unset (it would encode every string to measure it); the
    pipeline's trim cuts instead: a 200 KB exception message, log line, extra value and local each
    arrive cut to 8192 characters with the count of what went, a card in the kept part scrubbed,
    and the short strings beside them whole."""
    from errorwarden.trimming import STRING_CAP

    assert sentry_sdk.get_client().options.get("max_value_length") is None
    body = "4111 1111 1111 1111 " + "x" * 200_000
    logging.getLogger("library.cap").warning("ledger dump %s", body)
    with sentry_sdk.new_scope() as scope:
        scope.set_extra("dump", body)
        scope.set_extra("short", "kept whole")
        try:
            _raise_with(body)
        except ValueError as exc:
            event_id = ErrorTracker.capture_exception(exc)
    sentry_sdk.flush(timeout=5)
    assert tracked.wait_for(lambda rx: any(e["event_id"] == event_id for e in rx.events()), timeout=10)
    event = next(e for e in tracked.events() if e["event_id"] == event_id)
    value = event["exception"]["values"][0]["value"]
    assert len(value) <= STRING_CAP and value.endswith(" characters cut]") and value.startswith("[card] x")
    assert len(event["extra"]["dump"]) <= STRING_CAP and event["extra"]["short"] == "kept whole"
    frame = event["exception"]["values"][0]["stacktrace"]["frames"][-1]
    assert frame["function"] == "_raise_with" and len(frame["vars"]["notes"]) <= STRING_CAP
    crumb = next(c for c in event["breadcrumbs"]["values"] if c.get("category") == "library.cap")
    assert len(crumb["message"]) <= STRING_CAP
    assert "4111" not in json.dumps(event)


def _sent_extra(rx, settings) -> dict:
    init_sentry(settings)
    with sentry_sdk.new_scope() as scope:
        scope.set_extra("my_field", "abc123xyz")
        scope.set_extra("session_token", "plain42")
        event_id = sentry_sdk.capture_message("extra keys probe")
    sentry_sdk.flush(timeout=5)
    assert rx.wait_for(lambda r: any(e["event_id"] == event_id for e in r.events()), timeout=10)
    extra = next(e for e in rx.events() if e["event_id"] == event_id)["extra"]
    return {key: extra.get(key) for key in ("my_field", "session_token")}  # the SDK adds sys.argv


def test_scrub_extra_and_safe_keys_from_the_environment_change_what_is_sent(tracked, tmp_path):
    """SENTRY_SCRUB_EXTRA_KEYS filters a plain key; SENTRY_SCRUB_SAFE_KEYS lets a sensitive one pass."""
    env = {"SENTRY_DSN": tracked.dsn, "SENTRY_PROFILES_SAMPLE_RATE": "0",
           "SENTRY_INBOX_PATH": str(tmp_path / "inbox.sqlite3")}
    configured = load_settings({**env, "SENTRY_SCRUB_EXTRA_KEYS": "other_key, my_field",
                                "SENTRY_SCRUB_SAFE_KEYS": "session_token"})
    assert configured.scrub_extra_keys == ("other_key", "my_field")
    assert configured.scrub_safe_keys == ("session_token",)

    default = _sent_extra(tracked, load_settings(env))
    assert default == {"my_field": "abc123xyz", "session_token": "[Filtered]"}
    assert _sent_extra(tracked, configured) == {"my_field": "[Filtered]", "session_token": "plain42"}


@pytest.mark.parametrize("variable", ["SENTRY_SCRUB_EXTRA_KEYS", "SENTRY_SCRUB_SAFE_KEYS"])
def test_a_scrub_key_that_is_not_a_key_name_is_refused_naming_the_variable(variable):
    """A key list with 'bad key!' in it stops start-up with an error naming the variable and the value."""
    with pytest.raises(ImproperlyConfigured, match=rf"^{variable}='my_field,bad key!' is invalid: .*"
                                                   r"\('bad key!' is not\)"):
        load_settings({variable: "my_field,bad key!"})


def _imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def test_the_app_never_imports_the_backend():
    """No module under errorwarden/ imports library, config or the backend's faces, not even lazily."""
    sources = sorted((REPO / "django-errorwarden" / "errorwarden").rglob("*.py"))
    assert len(sources) > 20  # the walk really found the package
    offending = [
        f"{path.relative_to(REPO)}:{line} imports {module}"
        for path in sources
        for line, module in _imported_modules(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        if module.split(".")[0] in FORBIDDEN_PACKAGES
    ]
    assert offending == []


def _report_quota(tracker) -> str | None:
    """Application code that reports through ErrorTracker (the caller the culprit must name)."""
    return tracker.capture_message("Quota nearly used", level="warning")


def test_our_own_frames_are_never_the_crash_frame_or_culprit(tracked):
    """A capture_message from application code: every errorwarden frame is out of app, and the
    crash frame (hence the inbox's culprit) is the caller's, not ErrorTracker's."""
    from errorwarden import event as ev
    from errorwarden.local import culprit_of

    event_id = _report_quota(ErrorTracker)
    sentry_sdk.flush(timeout=5)
    assert tracked.wait_for(lambda rx: [e for e in rx.events() if e["event_id"] == event_id], timeout=10)
    [event] = [e for e in tracked.events() if e["event_id"] == event_id]
    frames = event["threads"]["values"][0]["stacktrace"]["frames"]
    assert [f["in_app"] for f in frames if f["module"].startswith("errorwarden.")] and not any(
        f["in_app"] for f in frames if f["module"].startswith("errorwarden."))
    assert ev.crash_frame(event)["function"] == "_report_quota"
    assert culprit_of("event", {**event, "transaction": None}) == "tests.test_capture_paths in _report_quota"


@pytest.mark.django_db(transaction=True)
def test_a_database_errors_crash_frame_is_the_view_not_our_query_wrapper(tracked, live_server):
    """A statement the database cancels fails inside our query wrapper; the crash frame is the
    library's code, and the wrapper's frames are out of app."""
    import requests

    from errorwarden import event as ev

    requests.get(f"{live_server.url}/api/reports/overdue/", timeout=30)
    sentry_sdk.flush(timeout=5)
    assert tracked.wait_for(lambda rx: any(e.get("exception") for e in rx.events()), timeout=10)
    event = next(e for e in tracked.events() if e.get("exception"))
    frame = ev.crash_frame(event)
    assert frame["module"].startswith("library.") and frame["in_app"] is True
    frames = [f for v in event["exception"]["values"] for f in v["stacktrace"]["frames"]]
    ours = [f for f in frames if f["module"].startswith("errorwarden.")]
    assert {f["module"] for f in ours} >= {"errorwarden.runtime", "errorwarden.queries"}
    assert not any(f["in_app"] for f in ours)


@pytest.mark.parametrize(("engine", "has_prefilter"), [("python", False), ("auto", True)])
def test_the_scrub_engine_setting_reaches_the_runtimes_scrubber(error_tracking, engine, has_prefilter):
    """SENTRY_SCRUB_ENGINE=python runs every string through the detectors (no prefilter); auto picks the
    google-re2 (else hyperscan) wheel the project depends on. Either way a planted secret is scrubbed."""
    runtime = error_tracking(scrub_engine=engine)
    assert (runtime.scrubber._text.prefilter is not None) is has_prefilter
    assert "hunter2" not in runtime.scrubber.scrub_text("password=hunter2 for the report")
