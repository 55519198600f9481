"""Error classification and fingerprinting: a before_send step plus the SQL-verb hook it reads."""

from infrastructure.grouping.classify import Classifier
from infrastructure.grouping.database import mark_failed_query
from infrastructure.grouping.normalize import normalize_message
from infrastructure.grouping.sources import Verdict

__all__ = ["Classifier", "Verdict", "mark_failed_query", "normalize_message"]
