"""An adopting project's URLconf that mounts the dashboard somewhere of its own choosing."""

from django.urls import include, path

urlpatterns = [path("ops/errors/", include("errorwarden.dashboard.urls"))]
