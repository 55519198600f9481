"""The local dashboard at /_errors/: issues, performance and alerts read from the local inbox."""
