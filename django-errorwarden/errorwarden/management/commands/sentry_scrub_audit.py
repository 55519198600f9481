"""`manage.py sentry_scrub_audit [events.json]`: exit 1 when a stored event would still leak.

Replays the local inbox (or a JSON file holding one event, a list of events or
``{"events": [...]}``) through the scrubber configured for this deployment and prints, for
each value the detectors would still change, the event id, the field path and the
placeholder it would get. For CI: exit status 0 means nothing would leak.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from errorwarden.local import InboxStore
from errorwarden.runtime import require_runtime
from errorwarden.scrubbing.audit import audit
from errorwarden.text import for_terminal_line


def _load(path: Path) -> list[Any]:
    """The events of a JSON file, or a CommandError naming what is wrong with it."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise CommandError(f"{path}: no such file") from exc
    except json.JSONDecodeError as exc:
        # Some of json's messages end in " at" ("Invalid control character at"): its own str()
        # appends ": line L column C", so ours drops that word rather than say "at at".
        reason = exc.msg.removesuffix(" at")
        raise CommandError(f"{path} is not JSON ({reason} at line {exc.lineno}, column {exc.colno})") from exc
    if isinstance(data, dict):
        data = data.get("events", [data])
    if not isinstance(data, list):
        raise CommandError(f"{path} must hold an event object, a list of events or {{\"events\": [...]}}")
    return data


class Command(BaseCommand):
    """Audit stored events for values the scrubber would still remove."""

    help = "Replay the local inbox (or a JSON file of events) through the scrubber; exit 1 on any leak."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", nargs="?", help="a JSON file of events (default: the local inbox)")

    def handle(self, *args: Any, **options: Any) -> None:
        runtime = require_runtime()
        settings = runtime.settings
        if options["path"]:
            events, source = _load(Path(options["path"])), options["path"]
        else:
            store = InboxStore.from_settings(settings)
            events, source = store.events(), str(store.path)
            store.close()
        try:
            findings = audit(events, runtime.scrubber)
        except TypeError as exc:
            raise CommandError(f"{source}: {exc}") from exc
        for finding in findings:
            # Paths (key names) and values come from captured events: controls print as escapes.
            self.stdout.write(for_terminal_line(str(finding)))
        if findings:
            leaking = len({f.event_id for f in findings})
            raise CommandError(f"{len(findings)} values in {leaking} of {len(events)} events from {source} "
                               "would still leak", returncode=1)
        self.stdout.write(f"{len(events)} events from {source}: nothing would leak")
