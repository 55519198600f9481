"""A view that fails with the request's secrets in its exception message (tests/test_log_handlers.py)."""

from celery import shared_task
from django.http import HttpResponse
from django.urls import path


class ChargeRefused(Exception):
    """The payment provider refused the charge."""


def ok(request):
    """A healthy request (the server is up)."""
    return HttpResponse("ok")


def charge(request):
    """Fails the way careless code does: the token and the e-mail address end up in the message."""
    token, email = request.GET.get("token", ""), request.GET.get("email", "")
    raise ChargeRefused(f"charge refused: token={token} for {email}")


@shared_task(name="tests.charge_later")
def charge_later(token: str, email: str) -> None:
    """The same failure in a Celery task: the worker's console prints its traceback."""
    raise ChargeRefused(f"charge refused: token={token} for {email}")


urlpatterns = [path("ok/", ok), path("charge/", charge)]
