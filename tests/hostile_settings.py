"""The project's settings with tests/hostile_urls.py as URLconf (gunicorn serves it in the hostile tests)."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "tests.hostile_urls"
