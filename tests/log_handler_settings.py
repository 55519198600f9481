"""The project's settings, unchanged, plus a failing view and ADMINS (tests/test_log_handlers.py).

Django's default handlers and LOGGING come from config/settings.py as they are; only what the test
needs is added: a URLconf whose view fails with a secret, and the admins that mail_admins writes to.
"""

import os

from config.settings import *  # noqa: F403

ROOT_URLCONF = "tests.log_handler_urls"
ADMINS = [("Ops", os.environ.get("TEST_ADMIN_EMAIL", "ops@example.com"))]
SERVER_EMAIL = "django@muejam.local"

# The worker of tests/test_log_handlers.py also loads a task that fails with a secret.
CELERY_IMPORTS = ["tests.log_handler_urls"]
