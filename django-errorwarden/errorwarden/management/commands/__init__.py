"""sentry_check and sentry_inbox."""
