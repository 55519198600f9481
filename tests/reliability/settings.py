"""Django settings for the reliability suite's gunicorn: the project's own, plus test views and fast retries.

gunicorn runs `config.wsgi` with DJANGO_SETTINGS_MODULE=tests.reliability.settings. The project's
settings run first, exactly as in production (SENTRY_DSN from the environment, init_sentry ...);
then the outbox and the alert channels are re-initialised with short retry delays, so a test
waits seconds for recovery instead of the production backoff of up to a minute. The knobs are
fields of a Settings subclass, the way errorwarden.delivery.outbox_transport_for and
errorwarden.alerting.build_dispatcher read them from the project's settings.
"""

from dataclasses import dataclass, fields

from config.settings import *  # noqa: F403
from config.settings import SENTRY
from errorwarden.settings import Settings
from infrastructure.sentry_config import init_sentry

ROOT_URLCONF = "tests.reliability.urls"


@dataclass(frozen=True)
class ReliabilitySettings(Settings):
    """The project's settings with the outbox and alert-retry knobs the suite needs."""

    outbox_timeout: float = 2.0  # a hanging Sentry costs 2 s per attempt, not 10
    outbox_retry_first: float = 0.2
    outbox_retry_max: float = 1.0
    outbox_poll: float = 0.5
    outbox_start_delay: float = 0.2
    outbox_lease: float = 10.0
    storm_window: float = 2.0  # omitted counts travel on a carrier after 2 s, not a minute
    alert_retry_max_seconds: float = 0.5  # an alert channel is tried again within 0.5 s, not a minute


# The project's values for every field, except the knobs this subclass declares for the suite.
_OURS = set(ReliabilitySettings.__annotations__)
SENTRY = ReliabilitySettings(**{f.name: getattr(SENTRY, f.name) for f in fields(Settings)
                                if f.name not in _OURS})
init_sentry(SENTRY)
