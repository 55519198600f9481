"""Error classification and fingerprinting: the before_send step that gives each event its Verdict."""

from infrastructure.grouping.classify import Classifier
from infrastructure.grouping.normalize import normalize_message
from infrastructure.grouping.sources import Verdict

__all__ = ["Classifier", "Verdict", "normalize_message"]
