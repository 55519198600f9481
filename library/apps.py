"""The MueJam Library demo domain."""

from django.apps import AppConfig


class LibraryConfig(AppConfig):
    """Authors, books and loans: a small API that exercises every error category."""

    name = "library"
    default_auto_field = "django.db.models.BigAutoField"
