"""`manage.py sentry_check`: show where events go, send one test event, optionally test the alert channels."""

from __future__ import annotations

import sentry_sdk
from django.core.management.base import BaseCommand, CommandError

from infrastructure.local import InboxStore
from infrastructure.runtime import current_runtime
from infrastructure.sentry_alerts import EmailNotifier, SlackNotifier
from infrastructure.sentry_config import ErrorTracker
from infrastructure.settings import mask


class Command(BaseCommand):
    """Verifies the integration the way the spec's Getting Started asks: trigger a test event."""

    help = "Print the error-tracking configuration, send a test event, and with --alerts test Slack/email."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--alerts", action="store_true",
                            help="Also send a test notification through each enabled alert channel.")

    def handle(self, *args, alerts: bool = False, **options) -> None:
        runtime = current_runtime()
        if runtime is None:
            raise CommandError("Error tracking is not initialised: call init_sentry() in settings.py.")
        s = runtime.settings
        where = f"local inbox at {s.inbox_path}" if s.local_inbox else f"Sentry at {mask(s.dsn)}"
        self.stdout.write(f"Events go to: {where}\nEnvironment: {s.environment}   Release: {s.release}\n"
                          f"Traces sample rate: {s.traces_sample_rate}   "
                          f"Profiles: {s.profiles_sample_rate}\n")
        event_id = ErrorTracker.capture_message("sentry_check: test event", level="info",
                                                context={"check": {"command": "sentry_check"}})
        sentry_sdk.flush(timeout=10)
        if event_id is None:
            raise CommandError("The test event was dropped before sending (see the log).")
        if s.local_inbox:
            if InboxStore.from_settings(s).get(event_id) is None:
                raise CommandError(f"Test event {event_id} did not reach the local inbox (see the log).")
            self.stdout.write(self.style.SUCCESS(f"Test event stored: {event_id}"))
            self.stdout.write(f"See it with: python manage.py sentry_inbox --show {event_id}")
        else:
            self.stdout.write(self.style.SUCCESS(f"Test event sent: {event_id} (look for it in Sentry)"))
        if alerts:
            self._test_channels()

    def _test_channels(self) -> None:
        for name, notifier in (("Slack", SlackNotifier()), ("Email", EmailNotifier())):
            if not notifier.enabled:
                self.stdout.write(f"{name} alerts: disabled")
                continue
            ok = notifier.send_error_notification(
                error_message="Test notification from manage.py sentry_check",
                error_type="SentryCheck", error_count=1)
            self.stdout.write(f"{name} alerts: {'delivered' if ok else 'FAILED (see the log)'}")
