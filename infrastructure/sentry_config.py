"""The spec's face: init_sentry() and ErrorTracker.

    from infrastructure.sentry_config import ErrorTracker
    ErrorTracker.capture_exception(exc, context={"payment": {...}}, level="error")
"""

from __future__ import annotations

import logging
from typing import Any

import sentry_sdk

from infrastructure.runtime import Runtime, build_runtime
from infrastructure.settings import Settings, get_settings, set_settings
from infrastructure.trimming import bounded_repr

__all__ = ["ErrorTracker", "init_sentry"]

LEVELS = ("fatal", "error", "warning", "info", "debug")
_LOCAL_DSN = "http://local@127.0.0.1/0"  # never contacted: the local inbox transport takes the envelopes
logger = logging.getLogger("infrastructure.sentry_config")


def init_sentry(settings: Settings | None = None) -> Runtime:
    """Start error tracking for this process; safe to call again with new settings."""
    settings = settings if settings is not None else get_settings()
    set_settings(settings)
    runtime = build_runtime(settings)
    sentry_sdk.init(**_client_options(settings, runtime))
    return runtime


def _client_options(settings: Settings, runtime: Runtime) -> dict[str, Any]:
    from sentry_sdk.integrations.boto3 import Boto3Integration
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.integrations.httpx import HttpxIntegration
    from sentry_sdk.integrations.logging import LoggingIntegration
    from sentry_sdk.integrations.redis import RedisIntegration

    return {
        "dsn": settings.dsn or _LOCAL_DSN,
        "transport": runtime.transport,
        "release": settings.release,
        "environment": settings.environment,
        "integrations": [
            # signals spans cost on every request and rarely explain an error.
            DjangoIntegration(transaction_style="url", middleware_spans=False, signals_spans=False),
            CeleryIntegration(monitor_beat_tasks=False),
            RedisIntegration(),
            LoggingIntegration(level=logging.INFO, event_level=logging.ERROR),
            Boto3Integration(),
            HttpxIntegration(),
        ],
        "traces_sample_rate": settings.traces_sample_rate,
        "profile_session_sample_rate": settings.profiles_sample_rate,
        "profile_lifecycle": "trace",
        "max_breadcrumbs": 50,
        "max_value_length": 8192, "custom_repr": bounded_repr,  # long strings cut at capture time
        "attach_stacktrace": True,
        "in_app_include": ["library", "infrastructure", "config"],
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
    }


def _level(level: str) -> str:
    if level in LEVELS:
        return level
    # A capture runs inside an except block: raising here would hide the original error.
    logger.warning("ErrorTracker: level %r is not one of %s; using 'error'", level, ", ".join(LEVELS))
    return "error"


def _apply_context(scope: sentry_sdk.Scope, context: dict[str, Any] | None) -> None:
    if not context:
        return
    if not isinstance(context, dict):
        scope.set_context("context", {"value": context})
        return
    for name, value in context.items():
        scope.set_context(str(name), value if isinstance(value, dict) else {"value": value})


class ErrorTracker:
    """Manual capture and context, as the spec describes it."""

    @staticmethod
    def capture_exception(exception: BaseException, context: dict[str, Any] | None = None,
                          level: str = "error") -> str | None:
        """Send one exception with context that applies to this event only; return its event id."""
        with sentry_sdk.new_scope() as scope:
            scope.set_level(_level(level))
            _apply_context(scope, context)
            return sentry_sdk.capture_exception(exception)

    @staticmethod
    def capture_message(message: str, level: str = "info",
                        context: dict[str, Any] | None = None) -> str | None:
        """Send one message with context that applies to this event only; return its event id."""
        with sentry_sdk.new_scope() as scope:
            _apply_context(scope, context)
            return sentry_sdk.capture_message(str(message), level=_level(level))

    @staticmethod
    def set_user(user_id: Any, email: str | None = None, username: str | None = None) -> None:
        """Attach the user to later events of this request or task (email never leaves the process)."""
        user: dict[str, Any] = {"id": str(user_id)}
        if email:
            user["email"] = email
        if username:
            user["username"] = username
        sentry_sdk.set_user(user)

    @staticmethod
    def set_tag(key: str, value: Any) -> None:
        """Tag later events of this request or task for filtering."""
        sentry_sdk.set_tag(str(key), value)

    @staticmethod
    def set_context(name: str, context: dict[str, Any]) -> None:
        """Attach a named context block to later events of this request or task."""
        sentry_sdk.set_context(str(name), context if isinstance(context, dict) else {"value": context})
