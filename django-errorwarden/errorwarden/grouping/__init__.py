"""Error classification and fingerprinting: the before_send step that gives each event its Verdict."""

from errorwarden.grouping.classify import Classifier
from errorwarden.grouping.normalize import normalize_message
from errorwarden.grouping.sources import Verdict

__all__ = ["Classifier", "Verdict", "normalize_message"]
