"""Django app config for the error-tracking system."""

from django.apps import AppConfig


class InfrastructureConfig(AppConfig):
    """Registers system checks and installs the query instrumentation on every connection."""

    name = "infrastructure"
    verbose_name = "Error tracking"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from infrastructure import checks  # noqa: F401  (registers the checks)

        connection_created.connect(_instrument_connection, dispatch_uid="infrastructure.queries")


def _instrument_connection(sender, connection, **kwargs) -> None:
    from infrastructure.performance import install

    install(connection)
