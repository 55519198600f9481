"""Django app config for the error-tracking system."""

from django.apps import AppConfig


class ErrorWardenConfig(AppConfig):
    """Registers system checks and installs the query instrumentation on every connection."""

    name = "errorwarden"
    verbose_name = "Error tracking"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from errorwarden import checks  # noqa: F401  (registers the checks)

        connection_created.connect(_instrument_connection, dispatch_uid="errorwarden.queries")
        _connect_celery()


def _connect_celery() -> None:
    try:
        from celery.signals import beat_init, before_task_publish, task_postrun, task_prerun
    except ImportError:  # Celery is optional for the error-tracking app itself
        return
    from errorwarden.monitors import beat_publishing, beat_started, run_finished, run_started
    from errorwarden.runtime import task_finished, task_started

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
