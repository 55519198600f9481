"""ASGI entry point (uvicorn, daphne); bad settings print one line each and stop start-up."""

import os

from django.core.asgi import get_asgi_application

from errorwarden.envvars import exit_on_settings_error

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = exit_on_settings_error(get_asgi_application, code=3)
