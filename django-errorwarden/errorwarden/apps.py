"""Django app config for the error-tracking system."""

from django.apps import AppConfig


class ErrorWardenConfig(AppConfig):
    """Registers system checks, installs the query instrumentation on every connection, and imports
    the SENTRY_IGNORE_ERRORS paths now that models can be imported."""

    name = "errorwarden"
    verbose_name = "Error tracking"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from errorwarden import checks  # noqa: F401  (registers the checks)

        connection_created.connect(_instrument_connection, dispatch_uid="errorwarden.queries")
        _connect_celery()
        _resolve_ignored()


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


def _connect_celery() -> None:
    try:
        from celery.signals import (
            after_setup_logger,
            after_setup_task_logger,
            before_task_publish,
            task_postrun,
            task_prerun,
        )
    except ImportError:  # Celery is optional for the error-tracking app itself
        return
    from errorwarden.runtime import task_finished, task_started

    task_prerun.connect(task_started, weak=False, dispatch_uid="errorwarden.task_queries.start")
    task_postrun.connect(task_finished, weak=False, dispatch_uid="errorwarden.task_queries.finish")
    before_task_publish.connect(task_queued, weak=False, dispatch_uid="errorwarden.task_queued")
    # A worker replaces the root logger's handlers with its own after Django configured logging.
    after_setup_logger.connect(scrub_celery_handlers, weak=False, dispatch_uid="errorwarden.scrub_logger")
    after_setup_task_logger.connect(scrub_celery_handlers, weak=False,
                                    dispatch_uid="errorwarden.scrub_task_logger")


def scrub_celery_handlers(**kwargs) -> None:
    """celery after_setup_logger: the worker's own console handlers get the scrub filter too, when
    settings.py chose LOGGING_CONFIG = "errorwarden.logfilter.configure_logging"."""
    from django.conf import settings

    from errorwarden.logfilter import scrub_handlers

    if getattr(settings, "LOGGING_CONFIG", None) == "errorwarden.logfilter.configure_logging":
        scrub_handlers()


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
