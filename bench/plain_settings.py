"""Settings for bench_faults' anchor: the project's views under plain sentry-sdk (no pipeline, no limits).

sentry-sdk 2.75 as a typical project sets it up: DjangoIntegration, default options (no
max_value_length, the SDK's own HttpTransport). Only for measuring; never used by the app.
"""

import sentry_sdk
from sentry_sdk.integrations.django import DjangoIntegration

from config.settings import *  # noqa: F403
from config.settings import SENTRY

ROOT_URLCONF = "tests.reliability.urls"
sentry_sdk.init(dsn=SENTRY.dsn, integrations=[DjangoIntegration()], traces_sample_rate=0.0)
