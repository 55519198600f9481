"""The MueJam backend's error-tracking faces, as the spec names them.

The work is done by the `errorwarden` app; these modules keep the spec's import paths:
`infrastructure.sentry_config` (init_sentry, ErrorTracker) and `infrastructure.sentry_alerts`
(SlackNotifier, EmailNotifier, flush).
"""
