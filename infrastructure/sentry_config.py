"""The spec's face: `from infrastructure.sentry_config import ErrorTracker, init_sentry`."""

from errorwarden.sentry_config import ErrorTracker, init_sentry

__all__ = ["ErrorTracker", "init_sentry"]
