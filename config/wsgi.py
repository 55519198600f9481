"""WSGI entry point; bad settings print one line each and stop the worker (gunicorn: boot error)."""

import os

from django.core.wsgi import get_wsgi_application

from errorwarden.envvars import exit_on_settings_error

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = exit_on_settings_error(get_wsgi_application, code=3)
