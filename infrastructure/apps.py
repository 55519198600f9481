"""Django app config for the error-tracking system."""

from django.apps import AppConfig


class InfrastructureConfig(AppConfig):
    """Registers system checks and database instrumentation when Django starts."""

    name = "infrastructure"
    verbose_name = "Error tracking"
    default_auto_field = "django.db.models.BigAutoField"
