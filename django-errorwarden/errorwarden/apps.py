"""Django app config for the error-tracking system."""

from django.apps import AppConfig


class ErrorWardenConfig(AppConfig):
    """Registers system checks, installs the query instrumentation on every connection, imports
    the SENTRY_IGNORE_ERRORS paths now that models can be imported, and scrubs Django's default
    log handlers when LOGGING_CONFIG names configure_logging but LOGGING is empty."""

    name = "errorwarden"
    verbose_name = "Error tracking"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from errorwarden import checks  # noqa: F401  (registers the checks)

        connection_created.connect(_instrument_connection, dispatch_uid="errorwarden.queries")
        _connect_celery()
        from django.conf import settings
        from django.core.signals import setting_changed

        self._before_override: list = []  # runtimes' settings to restore as override_settings exits
        setting_changed.connect(self._setting_changed, dispatch_uid="errorwarden.setting_changed")
        if hasattr(settings, "ERROR_TRACKING"):
            _init_from(settings.ERROR_TRACKING)
        _resolve_ignored()
        _scrub_without_logging(settings)

    def _setting_changed(self, setting: str = "", enter: bool = True, **kwargs) -> None:
        """override_settings(ERROR_TRACKING=...) in a project's tests re-initialises, then restores."""
        from django.conf import settings

        from errorwarden.runtime import current_runtime
        from errorwarden.sentry_config import init_sentry

        if setting == "ERROR_TRACKING":
            if enter:
                runtime = current_runtime()
                self._before_override.append(runtime.settings if runtime is not None else None)
                _init_from(getattr(settings, "ERROR_TRACKING", {}))
            elif self._before_override:
                previous = self._before_override.pop()
                if previous is not None:
                    init_sentry(previous)
        elif setting == "ROOT_URLCONF":
            from errorwarden.dashboard.mount import dashboard_prefix

            dashboard_prefix.cache_clear()


def _init_from(overrides) -> None:
    """init_sentry() from the environment under the project's ERROR_TRACKING dict (its values win)."""
    import os

    from errorwarden.sentry_config import init_sentry
    from errorwarden.settings import load_settings, merged_environ

    init_sentry(load_settings(merged_environ(overrides, os.environ)))


def _resolve_ignored() -> None:
    """Import the dotted SENTRY_IGNORE_ERRORS paths; one that names no exception class stops start-up.

    settings.py cannot import them (a model module raises AppRegistryNotReady there); every app's
    models are loaded by the time any ready() runs.
    """
    from django.core.exceptions import ImproperlyConfigured

    from errorwarden.envvars import SettingsError
    from errorwarden.runtime import current_runtime

    runtime = current_runtime()
    if runtime is None or runtime.ignored is None or not runtime.ignored.pending:
        return
    try:
        runtime.ignored.resolve()
    except ImproperlyConfigured as exc:
        raise SettingsError(str(exc).splitlines()) from None


def _scrub_without_logging(settings) -> None:
    """LOGGING_CONFIG names configure_logging but LOGGING is empty: Django then applies its
    DEFAULT_LOGGING alone and never calls configure_logging, so the one line would leave Django's
    `console` and `mail_admins` unscrubbed (W005). Logging is set up by the time ready() runs:
    scrub its handlers here, as configure_logging would have."""
    if getattr(settings, "LOGGING_CONFIG", None) == "errorwarden.logfilter.configure_logging" and \
            not getattr(settings, "LOGGING", None):
        from errorwarden.logfilter import scrub_handlers

        scrub_handlers()


def _connect_celery() -> None:
    try:
        from celery.signals import (
            after_setup_logger,
            after_setup_task_logger,
            beat_init,
            before_task_publish,
            task_postrun,
            task_prerun,
        )
    except ImportError:  # Celery is optional for the error-tracking app itself
        return
    from errorwarden.logfilter import defuse_handlers
    from errorwarden.monitors import beat_publishing, beat_started, run_finished, run_started
    from errorwarden.runtime import task_finished, task_started

    # A worker's console: scrubbed, controls shown, a record's further lines marked (docs/operations.md).
    after_setup_logger.connect(defuse_handlers, weak=False, dispatch_uid="errorwarden.worker_log")
    after_setup_task_logger.connect(defuse_handlers, weak=False, dispatch_uid="errorwarden.task_log")
    task_prerun.connect(task_started, weak=False, dispatch_uid="errorwarden.task_queries.start")
    task_postrun.connect(task_finished, weak=False, dispatch_uid="errorwarden.task_queries.finish")
    before_task_publish.connect(task_queued, weak=False, dispatch_uid="errorwarden.task_queued")
    beat_init.connect(beat_started, weak=False, dispatch_uid="errorwarden.monitors.beat")
    before_task_publish.connect(beat_publishing, weak=False, dispatch_uid="errorwarden.monitors.publish")
    task_prerun.connect(run_started, weak=False, dispatch_uid="errorwarden.monitors.start")
    task_postrun.connect(run_finished, weak=False, dispatch_uid="errorwarden.monitors.finish")


def task_queued(sender=None, headers=None, routing_key=None, **kwargs) -> None:
    """celery before_task_publish: a breadcrumb naming the task, its queue and id, never its arguments."""
    import sentry_sdk

    task_id = (headers or {}).get("id", "") if isinstance(headers, dict) else ""
    sentry_sdk.add_breadcrumb(category="celery.queued", level="info", message=f"queued {sender}",
                              data={"task": str(sender), "queue": str(routing_key or ""), "id": str(task_id)})


def _instrument_connection(sender, connection, **kwargs) -> None:
    from errorwarden.runtime import execute_wrapper

    if execute_wrapper not in connection.execute_wrappers:
        connection.execute_wrappers.append(execute_wrapper)
