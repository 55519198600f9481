"""The app's URLs plus views that echo what a request sent into an error, as careless code does
(tests/test_e2e_hostile.py, tests/browser/test_hostile_browser.py)."""

import logging

import sentry_sdk
from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from config.urls import urlpatterns as app_urlpatterns
from infrastructure.sentry_alerts import EmailNotifier, SlackNotifier

logger = logging.getLogger("library.parsing")


@csrf_exempt
def parse(request):
    """Logs the posted value and fails with it in the message (a 500, captured, alerted).

    `issue` names the issue, so each posted text pages on its own (the default grouping may put
    texts that differ only in numbers into one issue)."""
    value = request.POST.get("q", "")
    if request.POST.get("issue"):
        sentry_sdk.get_current_scope().fingerprint = ["hostile-parse", request.POST["issue"]]
    logger.warning("could not parse %s", value)
    raise ValueError(f"could not parse {value}")


@csrf_exempt
def notify(request):
    """Catches such an error and pages through the spec's notifiers itself."""
    value = request.POST.get("q", "")
    try:
        raise ValueError(f"could not parse {value}")
    except ValueError as exc:
        sent = {notifier.channel: notifier.send_error_notification(error_message=str(exc),
                                                                   error_type=type(exc).__name__)
                for notifier in (SlackNotifier(), EmailNotifier())}
    return JsonResponse(sent)


def ready(request):
    """Answers 200 without a database: gunicorn's workers are up."""
    return JsonResponse({"ok": True})


urlpatterns = [path("hostile/parse/", parse), path("hostile/notify/", notify), path("hostile/ok/", ready),
               *app_urlpatterns]
