"""The MueJam Library API: ordinary endpoints, and ones that fail in each category the spec groups."""

from __future__ import annotations

import logging

from django.db import connection, connections, transaction
from rest_framework import generics, permissions, throttling
from rest_framework.response import Response
from rest_framework.views import APIView

from infrastructure.sentry_config import ErrorTracker
from library import services, tasks
from library.models import Book, Loan
from library.serializers import BookSerializer, LoanSerializer

REPORT_TIMEOUT_MS = 50
logger = logging.getLogger("library.orders")


class BookList(generics.ListCreateAPIView):
    """List and add books; `?naive=1` lists without a join (an N+1 on purpose)."""

    serializer_class = BookSerializer

    def get_queryset(self):
        books = Book.objects.order_by("id")
        return books if self.request.query_params.get("naive") else books.select_related("author")


class BookDetailThrottle(throttling.ScopedRateThrottle):
    """Rate limit per user or IP on the book page."""

    scope_attr = "throttle_scope"


class BookDetail(generics.RetrieveUpdateAPIView):
    """One book; reading is rate limited, and an update may hit the unique ISBN."""

    queryset = Book.objects.select_related("author")
    serializer_class = BookSerializer
    throttle_classes = [BookDetailThrottle]
    throttle_scope = "book_detail"


class LoanCreate(generics.CreateAPIView):
    """Lend a book: needs a signed-in reader and a valid due date."""

    queryset = Loan.objects.all()
    serializer_class = LoanSerializer
    permission_classes = [permissions.IsAuthenticated]


class Me(APIView):
    """The signed-in reader."""

    permission_classes = [permissions.IsAuthenticated]

    def get(self, request):
        return Response({"id": request.user.pk, "username": request.user.username})


class AdminStats(APIView):
    """Library-wide numbers, for staff only."""

    permission_classes = [permissions.IsAdminUser]

    def get(self, request):
        return Response({"books": Book.objects.count(), "loans": Loan.objects.count()})


class OverdueReport(APIView):
    """An expensive report that the database cancels after REPORT_TIMEOUT_MS."""

    def get(self, request):
        return Response({"rows": run_bounded_report(REPORT_TIMEOUT_MS)})


class ReportsThrottle(throttling.SimpleRateThrottle):
    """One budget for the whole API: the report scans a lot, whoever asks (an API limit)."""

    scope = "reports"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": "all"}


class PopularReport(APIView):
    """A report whose query is slow but finishes: a slow query in the trace, not an error."""

    throttle_classes = [ReportsThrottle]

    def get(self, request):
        with connection.cursor() as cursor:
            cursor.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %s) "
                           "SELECT count(*) FROM n", [int(request.query_params.get("depth", 400_000))])
            return Response({"rows": cursor.fetchone()[0]})


class ReplicaHealth(APIView):
    """Checks the reporting replica, which the demo leaves unreachable."""

    def get(self, request):
        # A probe opens its own connection, so a dead replica never poisons a pooled one.
        probe = connections.create_connection("replica")
        try:
            with probe.cursor() as cursor:
                cursor.execute("SELECT 1")
        finally:
            probe.close()
        return Response({"replica": "ok"})


class CoverUpload(APIView):
    """Upload a book cover to S3."""

    def post(self, request, pk: int):
        return Response({"key": services.upload_cover(pk, request.body or b"cover")}, status=201)


class SessionVerify(APIView):
    """Verify a Clerk session token."""

    def post(self, request):
        return Response(services.verify_session(request.data.get("token", "")))


class LoanReminder(APIView):
    """Email a reader about a loan through Resend."""

    def post(self, request, pk: int):
        loan = Loan.objects.select_related("book").get(pk=pk)
        text = f"Please return {loan.book.title} by {loan.due}."
        return Response({"id": services.send_email(loan.email, "Loan reminder", text)})


class OrderDetail(APIView):
    """Legacy orders lookup: every unknown id raises, with the id in the message."""

    def get(self, request, number: int):
        logger.info("looking up order %s", number)
        ErrorTracker.set_tag("feature", "orders")
        if not Book.objects.filter(isbn=f"order-{number}").exists():
            raise LookupError(f"Order {number} not found")
        return Response({"order": number})

    post = get


class ReminderBatch(APIView):
    """Queue the overdue-reminder task (a Celery task that fails when a loan has no email)."""

    def post(self, request):
        result = tasks.send_overdue_reminders.delay()
        return Response({"task_id": result.id}, status=202)


def run_bounded_report(timeout_ms: int) -> int:
    """Run a deliberately slow query under a statement timeout; the database cancels it."""
    if connection.vendor == "postgresql":
        # SET LOCAL only lasts inside a transaction; outside one it would silently do nothing.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL statement_timeout = {int(timeout_ms)}")
            cursor.execute("SELECT pg_sleep(2)")
            return 1
    with connection.cursor() as cursor:
        return _sqlite_report(cursor, timeout_ms)


def _sqlite_report(cursor, timeout_ms: int) -> int:
    import time

    deadline = time.monotonic() + timeout_ms / 1000
    raw = connection.connection
    # SQLite has no statement timeout; a progress handler that aborts past the deadline is one.
    raw.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
    try:
        cursor.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) "
                       "SELECT count(*) FROM n WHERE i < 1000000000")
        return cursor.fetchone()[0]
    finally:
        raw.set_progress_handler(None, 0)
