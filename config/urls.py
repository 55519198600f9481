"""URL routes of the MueJam Library backend."""

from django.urls import include, path

urlpatterns = [
    path("api/", include("library.urls")),
    path("_errors/", include("errorwarden.dashboard.urls")),  # DEBUG or staff only, else 404
]
