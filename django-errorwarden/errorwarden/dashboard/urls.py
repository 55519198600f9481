"""Routes of the dashboard; the project mounts them with path("_errors/", include(...))."""

from django.urls import path, re_path

from errorwarden.dashboard import api, views
from errorwarden.local.store import ID_PREFIX_MIN

app_name = "errors_dashboard"
urlpatterns = [
    path("", views.issue_list, name="issues"),
    # A full id, or a prefix of one as `sentry_inbox` lists them (a unique one redirects to the full id).
    re_path(rf"^issues/(?P<event_id>[0-9a-f]{{{ID_PREFIX_MIN},32}})/$", views.issue_detail, name="issue"),
    re_path(r"^issues/(?P<event_id>[0-9a-f]{32})/triage/$", views.issue_triage, name="triage"),
    path("performance/", views.performance_page, name="performance"),
    re_path(r"^transactions/(?P<event_id>[0-9a-f]{32})/$", views.transaction_detail, name="transaction"),
    re_path(r"^transactions/(?P<event_id>[0-9a-f]{32})/profile/$", views.transaction_profile, name="profile"),
    path("alerts/", views.alert_list, name="alerts"),
    path("monitors/", views.monitor_list, name="monitors"),
    path("api/issues/", api.issues, name="api_issues"),
    re_path(r"^api/issues/(?P<event_id>[0-9a-f]{32})/events/$", api.issue_events, name="api_issue_events"),
    re_path(r"^api/events/(?P<event_id>[0-9a-f]{32})/$", api.event, name="api_event"),
    path("api/transactions/", api.transactions, name="api_transactions"),
    path("api/performance/", api.performance, name="api_performance"),
    path("api/losses/", api.losses, name="api_losses"),
]
