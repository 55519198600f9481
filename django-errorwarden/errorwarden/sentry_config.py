"""The spec's face: init_sentry() and ErrorTracker.

    from errorwarden.sentry_config import ErrorTracker
    ErrorTracker.capture_exception(exc, context={"payment": {...}}, level="error")

ErrorTracker never raises into its caller: a capture runs inside an except block, where an
error of ours would hide the one being reported. Its failures are counted and logged once,
like a pipeline step's.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable
from types import MappingProxyType
from typing import Any

import sentry_sdk
from django.core.exceptions import ImproperlyConfigured

from errorwarden.envvars import SettingsError
from errorwarden.event import LEVELS
from errorwarden.runtime import Runtime, current_runtime, install
from errorwarden.settings import Settings, load_settings
from errorwarden.trimming import bounded_repr

__all__ = ["ErrorTracker", "init_sentry"]

_LOCAL_DSN = "http://local@127.0.0.1/0"  # never contacted: the local inbox transport takes the envelopes
logger = logging.getLogger("errorwarden.sentry_config")


def init_sentry(settings: Settings | None = None) -> None:
    """Start error tracking for this process (settings default: parsed from os.environ now).

    Safe to call again with new settings: the previous runtime is closed, and so is the previous
    sentry-sdk client (its queued envelopes are handed to its transport first), whose threads
    would otherwise run on for the life of the process.
    """
    settings = settings if settings is not None else load_settings(os.environ)
    try:
        runtime = install(settings)
    except SettingsError:
        raise
    except ImproperlyConfigured as exc:  # a grouping rule or ignore path refused while building
        raise SettingsError([str(exc)]) from None
    with warnings.catch_warnings():
        # before_send_span is passed with the static lifecycle on purpose (see _span_options);
        # sentry-sdk warns that it has no effect there.
        warnings.filterwarnings("ignore", message="The `before_send_span` parameter only works")
        previous = sentry_sdk.get_client()
        sentry_sdk.init(**_client_options(settings, runtime))
    if previous.is_active():
        previous.close(timeout=settings.shutdown_timeout)


# Integrations for libraries a project may not use, by the library each needs: one named explicitly
# makes sentry-sdk raise DidNotEnable when its library is missing, so it is named only when present
# (a project without boto3, httpx or redis still starts).
_OPTIONAL_INTEGRATIONS = (
    # Beat monitoring: Sentry Crons check-ins for every beat entry whose schedule Crons accepts
    # (errorwarden/monitors.py checks in for the rest and finds missed runs itself).
    ("celery", "sentry_sdk.integrations.celery", "CeleryIntegration",
     MappingProxyType({"monitor_beat_tasks": True})),
    ("redis", "sentry_sdk.integrations.redis", "RedisIntegration", MappingProxyType({})),
    ("botocore", "sentry_sdk.integrations.boto3", "Boto3Integration", MappingProxyType({})),
    ("httpx", "sentry_sdk.integrations.httpx", "HttpxIntegration", MappingProxyType({})),
)


def _integrations(monitor_beat_tasks: bool = True) -> list[Any]:
    import importlib.util

    from sentry_sdk.integrations import DidNotEnable
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.integrations.logging import LoggingIntegration

    found = [
        # signals spans cost on every request and rarely explain an error.
        DjangoIntegration(transaction_style="url", middleware_spans=False, signals_spans=False),
        LoggingIntegration(level=logging.INFO, event_level=logging.ERROR),
    ]
    for library, module, name, options in _OPTIONAL_INTEGRATIONS:
        try:
            if importlib.util.find_spec(library) is None:
                raise ImportError(library)
            if "monitor_beat_tasks" in options:  # SENTRY_MONITORS_ENABLED
                options = {**options, "monitor_beat_tasks": monitor_beat_tasks}
            found.append(getattr(importlib.import_module(module), name)(**options))
        except (DidNotEnable, ImportError):
            logger.debug("%s skipped: %s is not installed", name, library)
    return found


def _client_options(settings: Settings, runtime: Runtime) -> dict[str, Any]:
    return {
        "dsn": settings.dsn or _LOCAL_DSN,
        "transport": runtime.transport,
        "release": settings.release,
        "environment": settings.environment,
        "integrations": _integrations(settings.monitors_enabled),
        "traces_sample_rate": settings.traces_sample_rate,
        # The sampler overrides the rate: rules, never-traced probes, and the parent's decision.
        "traces_sampler": runtime.traces_sampler,
        "profile_session_sample_rate": settings.profiles_sample_rate,
        "profile_lifecycle": "trace",
        "max_breadcrumbs": 50,
        "shutdown_timeout": settings.shutdown_timeout,
        # No max_value_length: sentry-sdk would encode every string it serialises to UTF-8 to
        # measure it (about 7% of a capture's CPU). The pipeline's trim cuts every string to
        # trimming.STRING_CAP (8192) characters instead, before the scrub reads it, and from memory
        # on a recurring event (docs/performance.md). Long locals (strings, reprs, exceptions with
        # long messages) are cut when captured, before repr() copies them:
        "custom_repr": bounded_repr,
        "attach_stacktrace": True,
        # The project's own frames are in-app (the SDK's project-root rule); ours never are, so an
        # ErrorTracker call or the query wrapper is never an issue's culprit.
        "in_app_exclude": ["errorwarden"],
        # We collect what a developer needs and scrub it ourselves, on every field, fail-closed:
        # the SDK's key-name scrubber would be a weaker second pass (see docs/scrubbing.md).
        "data_collection": {
            "user_info": True,
            "cookies": {"mode": "denylist", "terms": []},
            "http_headers": {"request": {"mode": "denylist", "terms": []}},
            "url_query_params": {"mode": "denylist", "terms": []},
            "database_query_data": False,
            "queues": True,
        },
        "before_send": runtime.before_send,
        "before_send_transaction": runtime.before_send_transaction,
        "before_breadcrumb": runtime.before_breadcrumb,
        "before_send_log": runtime.before_send_log,
        "before_send_metric": runtime.before_send_metric,
        **_span_options(runtime),
    }


# The trace lifecycle the pipeline supports: spans travel inside a transaction, through
# before_send_transaction (trim, scrub, span services).
TRACE_LIFECYCLE = "static"


def _span_options(runtime: Runtime) -> dict[str, Any]:
    """Pin the trace lifecycle and pass before_send_span, where the installed sentry-sdk knows them.

    The lifecycle is pinned so that a new SDK default ("stream") cannot send spans around
    before_send_transaction; before_send_span is passed anyway, so spans streamed all the same
    (a host or SDK that forces the mode) leave scrubbed.
    """
    from sentry_sdk.consts import DEFAULT_OPTIONS

    options: dict[str, Any] = {}
    if "trace_lifecycle" in DEFAULT_OPTIONS:
        options["trace_lifecycle"] = TRACE_LIFECYCLE
    if "before_send_span" in DEFAULT_OPTIONS:
        options["before_send_span"] = runtime.before_send_span
    return options


def _guarded(name: str, call: Callable[..., Any], *args: Any) -> Any:
    runtime = current_runtime()
    if runtime is not None:
        return runtime.stats.guard(f"ErrorTracker.{name}", call, *args)
    try:
        return call(*args)
    except Exception as exc:
        logger.error("ErrorTracker.%s failed (%s) before init_sentry() ran.", name, type(exc).__name__)
        return None


def _safe_repr(value: Any, limit: int) -> str:
    try:
        return repr(value)[:limit]
    except Exception:  # a raising __repr__ must not lose the capture
        return f"<{type(value).__name__} with a failing repr>"


def _level(level: Any) -> str:
    if level in LEVELS:
        return level
    logger.warning("ErrorTracker: level %r is not one of %s; using 'error'", _safe_repr(level, 40),
                   ", ".join(LEVELS))
    return "error"


def _apply_context(scope: sentry_sdk.Scope, context: Any) -> None:
    if not context:
        return
    if not isinstance(context, dict):
        scope.set_context("context", {"value": context})
        return
    for name, value in context.items():
        scope.set_context(str(name), value if isinstance(value, dict) else {"value": value})


def _capture_exception(exception: Any, context: Any, level: Any) -> str | None:
    if not isinstance(exception, BaseException):
        # A caller passed something that is not an exception (a string, None): keep what it says.
        logger.warning("ErrorTracker.capture_exception was given a %s, not an exception; captured "
                       "as a message.", type(exception).__name__)
        text = f"capture_exception({type(exception).__name__}): {_safe_repr(exception, 10_000)}"
        return _capture_message(text, "warning", context)
    with sentry_sdk.new_scope() as scope:
        scope.set_level(_level(level))
        _apply_context(scope, context)
        return sentry_sdk.capture_exception(exception)


def _capture_message(message: Any, level: Any, context: Any) -> str | None:
    with sentry_sdk.new_scope() as scope:
        _apply_context(scope, context)
        text = message if isinstance(message, str) else _safe_repr(message, 10_000)
        return sentry_sdk.capture_message(text, level=_level(level))


def _set_user(user_id: Any, email: Any, username: Any) -> None:
    user: dict[str, Any] = {"id": str(user_id)}
    if email:
        user["email"] = str(email)
    if username:
        user["username"] = str(username)
    sentry_sdk.set_user(user)


class ErrorTracker:
    """Manual capture and context, as the spec describes it; no method ever raises."""

    @staticmethod
    def capture_exception(exception: BaseException, context: dict[str, Any] | None = None,
                          level: str = "error") -> str | None:
        """Send one exception with context that applies to this event only; return its event id."""
        return _guarded("capture_exception", _capture_exception, exception, context, level)

    @staticmethod
    def capture_message(message: str, level: str = "info",
                        context: dict[str, Any] | None = None) -> str | None:
        """Send one message with context that applies to this event only; return its event id."""
        return _guarded("capture_message", _capture_message, message, level, context)

    @staticmethod
    def set_user(user_id: Any, email: str | None = None, username: str | None = None) -> None:
        """Attach the user to later events of this request or task (email never leaves the process)."""
        _guarded("set_user", _set_user, user_id, email, username)

    @staticmethod
    def set_tag(key: str, value: Any) -> None:
        """Tag later events of this request or task for filtering."""
        _guarded("set_tag", lambda: sentry_sdk.set_tag(str(key), value))

    @staticmethod
    def set_context(name: str, context: dict[str, Any]) -> None:
        """Attach a named context block to later events of this request or task."""
        _guarded("set_context", lambda: sentry_sdk.set_context(
            str(name), context if isinstance(context, dict) else {"value": context}))
