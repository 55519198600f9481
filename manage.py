#!/usr/bin/env python
"""Django's command-line utility for the MueJam Library backend."""

import os
import sys


def main() -> None:
    """Run a management command; bad settings print one line each instead of a traceback."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.management import execute_from_command_line

    from errorwarden.envvars import exit_on_settings_error

    exit_on_settings_error(lambda: execute_from_command_line(sys.argv))


if __name__ == "__main__":
    main()
