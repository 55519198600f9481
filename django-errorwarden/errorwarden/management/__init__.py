"""Django management commands of the error-tracking app."""
