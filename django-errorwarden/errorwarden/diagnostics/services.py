"""What alert delivery depends on: the Slack and e-mail channels, Redis, the Celery broker and a worker."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any

from errorwarden.alerting.retry import KIND as ALERT_KIND
from errorwarden.diagnostics.base import FAIL, OK, SKIPPED, WARN, Check, mask_dsn, redact
from errorwarden.envvars import split_url
from errorwarden.losses import LOGGER_NAME as LOSSES_LOGGER
from errorwarden.settings import Settings

TEST_TEXT = "Test notification from manage.py sentry_check"
# The registered name of the alert delivery task (errorwarden/tasks.py).
DELIVER_TASK = "errorwarden.deliver_alert"


class _Collect(logging.Handler):
    """Keeps alerting's log messages during one send (the loss ledger's alert lines among them), to
    say why it failed."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.name != LOSSES_LOGGER or message.startswith(f"{ALERT_KIND} "):
            self.messages.append(message)


@contextmanager
def _alerting_log():
    handler = _Collect()
    loggers = [logging.getLogger("errorwarden.alerting"), logging.getLogger(LOSSES_LOGGER)]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


def _send_test(name: str, notifier: Any, fix: str, secrets: tuple[str, ...] = ()) -> Check:
    """One test send through a spec notifier (bounded, never raises), reporting the logged reason."""
    with _alerting_log() as messages:
        delivered = notifier.send_error_notification(error_message=TEST_TEXT, error_type="SentryCheck",
                                                     error_count=1)
    if delivered:
        return Check(name, OK, "test notification delivered")
    reason = redact("; ".join(messages), *secrets) or "see the log"
    return Check(name, FAIL, f"test notification not delivered ({reason})", fix)


def check_slack(settings: Settings, notifier_class: Callable[..., Any], skip: bool = False) -> Check:
    """A test message to the Slack webhook when Slack alerts are on."""
    if not settings.slack_alerts_enabled:
        return Check("slack", SKIPPED, "Slack alerts are off (SENTRY_SLACK_ALERTS_ENABLED)")
    if skip:
        return Check("slack", SKIPPED, "not sent (--skip-slack)")
    return _send_test("slack", notifier_class(settings),
                      "Check SENTRY_SLACK_WEBHOOK_URL (Slack answers 403/404 for a revoked webhook) and "
                      "that this host may reach hooks.slack.com.", (settings.slack_webhook_url,))


def check_email(settings: Settings, notifier_class: Callable[..., Any], skip: bool = False) -> Check:
    """A test e-mail to the alert recipients when e-mail alerts are on."""
    if not settings.email_alerts_enabled:
        return Check("email", SKIPPED, "e-mail alerts are off (SENTRY_EMAIL_ALERTS_ENABLED)")
    if not settings.alert_email_recipients:
        return Check("email", WARN, "e-mail alerts are on but SENTRY_ALERT_EMAIL_RECIPIENTS is empty: "
                                    "no alert e-mail will be sent",
                     "Set SENTRY_ALERT_EMAIL_RECIPIENTS=oncall@example.com, or "
                     "SENTRY_EMAIL_ALERTS_ENABLED=false.")
    if skip:
        return Check("email", SKIPPED, "not sent (--skip-email)")
    sent = _send_test("email", notifier_class(settings),
                      "Check EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER/PASSWORD and EMAIL_USE_TLS, and "
                      "that the server accepts the recipients.")
    backend = _email_backend()
    if sent.status != OK or backend not in _NOT_MAILED:
        return sent
    where = _NOT_MAILED[backend]
    problem = settings.environment == "production"
    return Check("email", WARN if problem else OK, f"test notification {where} by EMAIL_BACKEND={backend}: "
                                                    "nobody is mailed",
                 "Set EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend and EMAIL_HOST/EMAIL_PORT "
                 "for real alert e-mail.")


# Django's e-mail backends that accept a message without mailing anyone, and what they do with it.
_NOT_MAILED = MappingProxyType({
    "django.core.mail.backends.console.EmailBackend": "printed to the console",
    "django.core.mail.backends.filebased.EmailBackend": "written to EMAIL_FILE_PATH",
    "django.core.mail.backends.locmem.EmailBackend": "kept in memory",
    "django.core.mail.backends.dummy.EmailBackend": "discarded",
})


def _email_backend() -> str:
    from django.conf import settings as django_settings

    return str(getattr(django_settings, "EMAIL_BACKEND", ""))


def check_redis(url: str, timeout: float = 2.0) -> Check:
    """Redis answers PING when REDIS_URL is set (alert counters and cooldowns are shared there)."""
    if not url:
        return Check("redis", SKIPPED, "REDIS_URL is empty: alert counters are per process")
    import redis

    client = None
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        client.ping()
    except Exception as exc:
        return Check("redis", FAIL, f"{mask_dsn(url)} did not answer PING ({type(exc).__name__}: "
                                    f"{redact(str(exc), url)})",
                     "Start Redis or fix REDIS_URL; until then each process counts alerts on its own.")
    finally:
        if client is not None:
            client.close()
    return Check("redis", OK, f"{mask_dsn(url)} answers PING")


def check_broker(url: str, timeout: float = 3.0) -> Check:
    """The Celery broker accepts a connection when CELERY_BROKER_URL is set."""
    if not url:
        return Check("broker", SKIPPED, "CELERY_BROKER_URL is empty: alerts are delivered in-process")
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=timeout) as conn:
            conn.ensure_connection(max_retries=0, timeout=timeout)  # one attempt: a check, not a wait
    except ImportError as exc:  # kombu imports a transport on first use: a missing dependency, not the broker
        return Check("broker", FAIL, f"{mask_dsn(url)}: the broker's transport cannot be imported "
                                     f"({type(exc).__name__}: {redact(str(exc), url)})",
                     _install_fix(exc, url))
    except Exception as exc:
        return Check("broker", FAIL, f"{mask_dsn(url)} refused the connection ({type(exc).__name__}: "
                                     f"{redact(str(exc), url)})",
                     "Start the broker or fix CELERY_BROKER_URL; the process delivers alerts itself "
                     "while the broker is down.")
    return Check("broker", OK, f"{mask_dsn(url)} accepts connections")


def _install_fix(exc: ImportError, url: str) -> str:
    """What to install when the broker's transport fails to import: the package the error names, else
    the transport's extra."""
    module = (exc.name or "").split(".")[0]
    parts = split_url(url)
    scheme = parts.scheme if parts is not None and parts.scheme else "broker"
    if module and isinstance(exc, ModuleNotFoundError):
        what = f"Install the missing package in this environment: pip install {module}"
    elif module:
        what = f"Reinstall the package that fails to import: pip install --force-reinstall {module}"
    else:
        what = f"Install the transport's dependencies: pip install 'kombu[{scheme}]'"
    return (f"{what} (kombu's {scheme} transport imports it); until then the process delivers alerts "
            "itself.")


def alert_queue(app: Any, task: str = DELIVER_TASK) -> str:
    """The queue the app routes the alert task to: task_routes first, else task_default_queue."""
    route = app.amqp.router.route({}, task)
    queue = route.get("queue")
    return getattr(queue, "name", None) or str(queue or app.conf.task_default_queue)


def _active_queues(app: Any, timeout: float) -> dict[str, list[dict[str, Any]]]:
    """Every answering worker's queues; asked twice when the broker drops the first connection."""
    try:
        return app.control.inspect(timeout=timeout).active_queues() or {}
    except (OSError, ConnectionError):
        return app.control.inspect(timeout=timeout).active_queues() or {}


def check_worker(app: Any, broker_url: str, timeout: float = 2.0, broker_up: bool = True) -> Check:
    """A Celery worker consumes the queue alert tasks are routed to."""
    if not broker_url:
        return Check("worker", SKIPPED, "no broker: alerts are delivered in-process")
    if not broker_up:
        return Check("worker", SKIPPED, "not asked: the broker check failed")
    if app is None:
        return Check("worker", FAIL, "no Celery app is loaded",
                     "Import the project's Celery app in its package's __init__.py (Celery's Django layout).")
    queue = alert_queue(app)
    try:
        replies = _active_queues(app, timeout)
    except Exception as exc:
        return Check("worker", FAIL, f"cannot ask the workers ({type(exc).__name__})",
                     "Check CELERY_BROKER_URL; see the broker check above.")
    consumers = sorted(name for name, queues in replies.items()
                       if any(q.get("name") == queue for q in queues or ()))
    if consumers:
        return Check("worker", OK, f"queue {queue!r} is consumed by {', '.join(consumers)}")
    return Check("worker", FAIL, f"no worker consumes queue {queue!r} ({len(replies)} worker(s) answered): "
                                 "alert tasks would wait there undelivered",
                 f"Start one: celery -A <project> worker -Q {queue} (and celery -A <project> beat for the "
                 "queue-depth probe).")

