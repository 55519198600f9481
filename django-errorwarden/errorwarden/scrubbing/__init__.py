"""Client-side scrubbing of Sentry events: key rules, value detectors and the event walk."""

from .scrubber import Scrubber

__all__ = ["Scrubber"]
