"""The Celery app; configuration comes from Django settings (CELERY_*)."""

import os

from celery import Celery

from errorwarden.envvars import settings_before_celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("muejam")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.on_configure.connect(settings_before_celery)  # a bad SENTRY_* variable: one line, exit 2
