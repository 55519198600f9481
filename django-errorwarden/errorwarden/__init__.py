"""errorwarden: Sentry error tracking for Django, scrubbed, grouped and paged on this side.

Add "errorwarden" to INSTALLED_APPS, its middleware first in MIDDLEWARE, and call
errorwarden.sentry_config.init_sentry() at the end of settings.py (README.md of the distribution).
"""

__version__ = "1.0.0"
