"""The spec's face: `from infrastructure.sentry_alerts import SlackNotifier`."""

from errorwarden.sentry_alerts import EmailNotifier, SlackNotifier, flush

__all__ = ["EmailNotifier", "SlackNotifier", "flush"]
