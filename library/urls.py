"""Routes of the library API."""

from django.urls import path

from library import views

urlpatterns = [
    path("books/", views.BookList.as_view()),
    path("books/<int:pk>/", views.BookDetail.as_view()),
    path("books/<int:pk>/cover/", views.CoverUpload.as_view()),
    path("loans/", views.LoanCreate.as_view()),
    path("loans/<int:pk>/remind/", views.LoanReminder.as_view()),
    path("me/", views.Me.as_view()),
    path("admin/stats/", views.AdminStats.as_view()),
    path("reports/overdue/", views.OverdueReport.as_view()),
    path("reports/popular/", views.PopularReport.as_view()),
    path("health/replica/", views.ReplicaHealth.as_view()),
    path("auth/verify/", views.SessionVerify.as_view()),
    path("orders/<int:number>/", views.OrderDetail.as_view()),
    path("tasks/reminders/", views.ReminderBatch.as_view()),
]
