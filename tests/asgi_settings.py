"""The project's settings with tests/asgi_urls.py as URLconf (tests/test_asgi.py serves it under uvicorn)."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "tests.asgi_urls"
