"""Routes of the dashboard; the project mounts them with path("_errors/", include(...))."""

from django.urls import path, re_path

from errorwarden.dashboard import views

app_name = "errors_dashboard"
urlpatterns = [
    path("", views.issue_list, name="issues"),
    re_path(r"^issues/(?P<event_id>[0-9a-f]{32})/$", views.issue_detail, name="issue"),
    re_path(r"^issues/(?P<event_id>[0-9a-f]{32})/triage/$", views.issue_triage, name="triage"),
    path("performance/", views.performance_page, name="performance"),
    path("alerts/", views.alert_list, name="alerts"),
]
