"""The embedded default: without SENTRY_DSN, events land in a bounded SQLite inbox on disk."""

from errorwarden.local.store import InboxStore, culprit_of, fingerprint_of, title_of
from errorwarden.local.transport import LocalInboxTransport, inbox_transport_for

__all__ = [
           "InboxStore",
           "LocalInboxTransport",
           "culprit_of",
           "fingerprint_of",
           "inbox_transport_for",
           "title_of",
]
