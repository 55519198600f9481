"""`manage.py sentry_check`: prove that events and alerts get where they should, one line per check.

Each line is OK, WARN, FAIL or SKIP, with the fix under anything that is not OK; the command exits
non-zero when any check FAILs. The test event goes through the process's before_send pipeline and
sentry-sdk's HTTP transport, and the server's answer is read (401/403 wrong key, 404 wrong
project, 413 too large, 429 rate limited, 5xx); with no DSN it must arrive in the local inbox.
"""

from __future__ import annotations

import time
from types import MappingProxyType

import sentry_sdk
from django.core.management.base import BaseCommand, CommandError

from errorwarden import diagnostics as d
from errorwarden import runtime as runtime_module
from errorwarden.diagnostics.delivery import TEST_MESSAGE, errors_only
from errorwarden.diagnostics.monitors import check_monitors
from errorwarden.local.monitors import MonitorStore
from errorwarden.losses import whole
from errorwarden.runtime import current_runtime

_STYLE = MappingProxyType({d.OK: "SUCCESS", d.WARN: "WARNING", d.FAIL: "ERROR", d.SKIPPED: "NOTICE"})


class Command(BaseCommand):
    """Verifies delivery the way the spec's Getting Started and Troubleshooting sections ask."""

    help = ("Check the error-tracking setup: DSN, reachability, a test event and the server's answer, "
            "alert channels, Redis, the Celery broker and worker, the ignore list and sample rates.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--skip-slack", action="store_true", help="Do not send the Slack test message.")
        parser.add_argument("--skip-email", action="store_true", help="Do not send the test e-mail.")
        parser.add_argument("--event-kb", type=int, default=0, metavar="KB",
                            help="Pad the test event to about KB kilobytes, to try the server's size limit.")

    def handle(self, *args, skip_slack: bool = False, skip_email: bool = False, event_kb: int = 0,
               **options) -> None:
        runtime = current_runtime()
        if runtime is None:
            raise CommandError("Error tracking is not initialised: call init_sentry() in settings.py.")
        s = runtime.settings
        where = f"the local inbox at {s.inbox_path}" if s.local_inbox else d.mask_dsn(s.dsn)
        self.stdout.write(f"Environment {s.environment}, release {s.release}; events go to {where}")
        checks = [*self._delivery(runtime, max(0, event_kb)), *self._alerting(s, skip_slack, skip_email),
                  d.check_ignore_list(s.ignore_errors, getattr(runtime_module, "DEFAULT_IGNORED", ())),
                  d.check_sample_rates(s.traces_sample_rate, s.profiles_sample_rate, s.environment,
                                       self._errors_only),
                  d.check_losses(whole(runtime), _outbox_dropped(runtime)),
                  check_monitors(runtime.monitors, MonitorStore(s.monitors_path), time.time())]
        for check in checks:
            self._show(check)
        failed = [c.name for c in checks if c.failed]
        if failed:
            raise CommandError(f"{len(failed)} check(s) failed: {', '.join(failed)}.", returncode=1)
        self.stdout.write(self.style.SUCCESS("All checks passed (warnings above, if any, are advice)."))

    def _delivery(self, runtime, event_kb: int) -> list[d.Check]:
        s, self._errors_only = runtime.settings, False
        if s.local_inbox:
            capture = lambda: sentry_sdk.capture_message(TEST_MESSAGE, level="info")  # noqa: E731
            inbox, event_id = d.check_inbox_delivery(runtime.transport, capture, lambda: sentry_sdk.flush(2))
            return [d.check_dsn(s.dsn), inbox, d.check_links(s, event_id)]
        checks = [d.check_dsn(s.dsn)]
        if checks[0].failed:
            return checks
        checks.append(d.check_sdk())
        if checks[-1].failed:  # the test event's probe goes through the same members
            return [*checks, d.Check("delivery", d.SKIPPED, "not attempted: sentry-sdk is of another shape")]
        checks.append(d.check_reachability(s.dsn))
        if checks[-1].failed:
            return [*checks, d.Check("delivery", d.SKIPPED, "not attempted: the server is unreachable")]
        pipeline = getattr(runtime, "before_send", None)
        delivery, answer, event_id = d.check_delivery(s.dsn, before_send=pipeline, release=s.release,
                                                      environment=s.environment, pad_kb=event_kb)
        self._errors_only = errors_only(answer)
        return [*checks, delivery, d.check_links(s, event_id, self._errors_only)]

    def _alerting(self, s, skip_slack: bool, skip_email: bool) -> list[d.Check]:
        from errorwarden.sentry_alerts import EmailNotifier, SlackNotifier

        broker = d.check_broker(s.celery_broker_url)
        app = None
        if s.celery_broker_url:  # settings refuse a broker URL without Celery installed
            from celery import current_app as app
        return [d.check_slack(s, SlackNotifier, skip_slack), d.check_email(s, EmailNotifier, skip_email),
                d.check_redis(s.redis_url), broker,
                d.check_worker(app, s.celery_broker_url, broker_up=not broker.failed)]

    def _show(self, check: d.Check) -> None:
        style = getattr(self.style, _STYLE[check.status])
        self.stdout.write(f"{style(f'{check.status:<4}')}  {check.name:<13} {check.message}")
        if check.fix and check.status in (d.WARN, d.FAIL):
            self.stdout.write(f"{'':20}fix: {check.fix}")


def _outbox_dropped(runtime) -> int:
    """What the outbox file records as dropped for space (every process, since it was created)."""
    store = getattr(runtime.transport, "store", None)
    stats = getattr(store, "stats", None)
    if runtime.settings.local_inbox or not callable(stats):
        return 0
    try:
        return int(stats().get("dropped", 0))
    except Exception:  # an unreadable outbox file: the delivery checks say more
        return 0
