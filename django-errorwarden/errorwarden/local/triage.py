"""What a developer decided about an issue: resolved, muted or open again, with who and when.

The decisions live in tables of their own inside the inbox file (created idempotently on first
use, never touching the inbox's own schema): `triage_issues` holds one row per issue that was
ever triaged, keyed by the issue's fingerprint exactly as the inbox stores it (JSON), and
`triage_actions` keeps every change (action, detail, who, when) for the issue page's history.

An issue's status is derived when read, from its row and the events that came after it:

- resolved: no event since it was resolved. "Resolved in release R" ignores later events of R.
- regressed: it was resolved and an event came after it (of another release when resolved in
  one). It counts as unresolved; resolving it again starts over.
- muted: for good, until a moment (N hours), or until N more events arrived; once the moment
  passes or the events arrive it is unresolved again.
- unresolved: everything else, including issues nobody triaged (no row).

The alert engine asks `claim_regression` for each event of a resolved issue: the first such
event claims the regression (one UPDATE that only one process can win), so the "regression"
rule fires once per resolution however many processes see the issue come back.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from errorwarden.local.sqlite import SqliteFile

STATUSES = ("unresolved", "resolved", "muted", "regressed")
ACTIONS = ("resolve", "resolve_in_release", "mute", "reopen")
MUTE_HOURS_MAX = 24 * 365
MUTE_EVENTS_MAX = 1_000_000

_TABLES = """
CREATE TABLE IF NOT EXISTS triage_issues (
    issue TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    since TEXT NOT NULL,
    after_id INTEGER NOT NULL,
    in_release TEXT NOT NULL DEFAULT '',
    mute_until TEXT,
    mute_events INTEGER,
    regression_claimed TEXT,
    changed_by TEXT NOT NULL,
    changed_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS triage_actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    issue TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    actor TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS triage_actions_issue ON triage_actions (issue, id);
"""
# Events of one issue after a moment, optionally of another release than the one it was resolved in.
# "After" is by the inbox's row id (AUTOINCREMENT: only grows), not by time: an event stored in the
# same millisecond as the decision but before it is not "later".
_LATER = ("SELECT COUNT(*) FROM inbox_items WHERE type = 'event' AND fingerprint = ? AND id > ? "
          "AND (? = '' OR release != ?)")
_LAST_ID = "SELECT COALESCE(MAX(id), 0) FROM inbox_items"


def now_text(moment: datetime | None = None) -> str:
    """A moment as the inbox writes `received`: ISO 8601, UTC, milliseconds (text order is time order)."""
    return (moment or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="milliseconds")


class BadAction(ValueError):
    """A triage request outside what is allowed; the message names both."""


@dataclass(frozen=True)
class Decision:
    """One issue's stored triage row."""

    issue: str
    status: str
    since: str
    after_id: int
    in_release: str
    mute_until: str | None
    mute_events: int | None
    changed_by: str
    changed_at: str


@dataclass(frozen=True)
class State:
    """An issue's status as of now, with the decision behind it (None: never triaged)."""

    status: str
    decision: Decision | None = None
    note: str = ""

    @property
    def open(self) -> bool:
        """Unresolved or regressed: what `is:unresolved` lists."""
        return self.status in ("unresolved", "regressed")


class TriageStore:
    """Triage decisions beside the events, in the inbox's SQLite file."""

    def __init__(self, path: str | os.PathLike[str], timeout: float = 2.0):
        # version 0: SqliteFile never runs a schema of ours under the inbox's user_version; the
        # tables are created below, idempotently, by whichever process uses them first.
        self._file = SqliteFile(path, "", version=0, timeout=timeout)
        self.path = self._file.path
        self._ready = False

    def _ensure(self) -> None:
        if self._ready:
            return
        with self._file.connection() as conn:
            conn.executescript(f"BEGIN IMMEDIATE;{_TABLES};COMMIT;")
        self._ready = True

    # --- reading -------------------------------------------------------------------------------

    def decisions(self, issues: list[str] | None = None) -> dict[str, Decision]:
        """The stored rows, by issue key (all of them, or those of the given keys)."""
        self._ensure()
        sql = "SELECT * FROM triage_issues"
        with self._file.connection() as conn:
            rows = conn.execute(sql).fetchall()
        wanted = None if issues is None else set(issues)
        found = {}
        for issue, status, since, after_id, in_release, until, events, _, by, at in rows:
            if wanted is None or issue in wanted:
                found[issue] = Decision(issue, status, since, after_id, in_release, until, events, by, at)
        return found

    def state(self, issue: str, decision: Decision | None = None, now: datetime | None = None) -> State:
        """The issue's status now (see the module docstring)."""
        if decision is None:
            decision = self.decisions([issue]).get(issue)
        if decision is None or decision.status == "unresolved":
            return State("unresolved", decision)
        if decision.status == "resolved":
            later = self._later(issue, decision.after_id, decision.in_release)
            if later:
                return State("regressed", decision, f"{later} event{'s' if later != 1 else ''} since it was "
                                                    "resolved")
            return State("resolved", decision)
        # muted
        if decision.mute_until is not None and now_text(now) >= decision.mute_until:
            return State("unresolved", decision, "the mute ended")
        if decision.mute_events is not None:
            later = self._later(issue, decision.after_id, "")
            if later >= decision.mute_events:
                return State("unresolved", decision, f"{later} more events arrived")
        return State("muted", decision)

    def states(self, issues: list[str], now: datetime | None = None) -> dict[str, State]:
        """The status of each issue key (one read of the decisions, one count per triaged issue)."""
        decisions = self.decisions(issues)
        return {issue: self.state(issue, decisions.get(issue), now) for issue in issues}

    def history(self, issue: str, limit: int = 50) -> list[dict[str, Any]]:
        """The issue's triage actions, newest first."""
        self._ensure()
        with self._file.connection() as conn:
            rows = conn.execute("SELECT action, detail, actor, at FROM triage_actions WHERE issue = ? "
                                "ORDER BY id DESC LIMIT ?", (issue, limit)).fetchall()
        return [dict(zip(("action", "detail", "actor", "at"), row, strict=True)) for row in rows]

    def _later(self, issue: str, after_id: int, other_than_release: str) -> int:
        with self._file.connection() as conn:
            try:
                found = conn.execute(_LATER, (issue, after_id, other_than_release, other_than_release))
                return found.fetchone()[0]
            except sqlite3.OperationalError:  # no inbox table yet: nothing came later
                return 0

    def _last_id(self, conn: sqlite3.Connection) -> int:
        try:
            return conn.execute(_LAST_ID).fetchone()[0]
        except sqlite3.OperationalError:  # no inbox table yet
            return 0

    # --- changing ------------------------------------------------------------------------------

    def apply(self, issue: str, action: str, actor: str, *, hours: int | None = None,
              events: int | None = None, release: str = "", now: datetime | None = None) -> Decision:
        """Resolve, resolve in a release, mute (hours, events, or neither: for good) or reopen an issue."""
        if action not in ACTIONS:
            raise BadAction(f"action must be one of {', '.join(ACTIONS)}, not {action!r}")
        if hours is not None and not 1 <= hours <= MUTE_HOURS_MAX:
            raise BadAction(f"hours must be a whole number from 1 to {MUTE_HOURS_MAX}, not {hours}")
        if events is not None and not 1 <= events <= MUTE_EVENTS_MAX:
            raise BadAction(f"events must be a whole number from 1 to {MUTE_EVENTS_MAX}, not {events}")
        if action == "resolve_in_release" and not release:
            raise BadAction("resolving in a release needs the release the issue was last seen in")
        at = now or datetime.now(UTC)
        stamp = now_text(at)
        status = {"resolve": "resolved", "resolve_in_release": "resolved", "mute": "muted",
                  "reopen": "unresolved"}[action]
        in_release = release if action == "resolve_in_release" else ""
        until = now_text(at + timedelta(hours=hours)) if action == "mute" and hours else None
        count = events if action == "mute" else None
        detail = {"resolve_in_release": f"in release {release}", "reopen": ""}.get(action, "")
        if action == "mute":
            detail = (f"for {hours} hour{'s' if hours != 1 else ''}" if hours else
                      f"until {events} more event{'s' if events != 1 else ''}" if events else "for good")
        self._ensure()
        with self._file.transaction() as conn:
            after_id = self._last_id(conn)
            conn.execute(
                "INSERT INTO triage_issues (issue, status, since, after_id, in_release, mute_until, "
                "mute_events, regression_claimed, changed_by, changed_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?) "
                "ON CONFLICT (issue) DO UPDATE SET status = excluded.status, since = excluded.since, "
                "after_id = excluded.after_id, "
                "in_release = excluded.in_release, mute_until = excluded.mute_until, "
                "mute_events = excluded.mute_events, regression_claimed = NULL, "
                "changed_by = excluded.changed_by, changed_at = excluded.changed_at",
                (issue, status, stamp, after_id, in_release, until, count, actor, stamp))
            conn.execute("INSERT INTO triage_actions (issue, action, detail, actor, at) "
                         "VALUES (?, ?, ?, ?, ?)", (issue, action, detail, actor, stamp))
        return Decision(issue, status, stamp, after_id, in_release, until, count, actor, stamp)

    def claim_regression(self, issue: str, release: str, now: datetime | None = None) -> bool:
        """True for the first event of a resolved issue that makes it a regression (once per resolution).

        A read first, so events of issues nobody resolved never take the file's write lock.
        """
        self._ensure()
        with self._file.connection() as conn:
            row = conn.execute("SELECT in_release FROM triage_issues WHERE issue = ? AND status = 'resolved' "
                               "AND regression_claimed IS NULL", (issue,)).fetchone()
        if row is None or (row[0] and row[0] == release):
            return False
        with self._file.transaction() as conn:
            claimed = conn.execute("UPDATE triage_issues SET regression_claimed = ? WHERE issue = ? AND "
                                   "status = 'resolved' AND regression_claimed IS NULL",
                                   (now_text(now), issue)).rowcount
            if claimed:
                conn.execute("INSERT INTO triage_actions (issue, action, detail, actor, at) VALUES "
                             "(?, 'regressed', ?, 'alert engine', ?)",
                             (issue, f"release {release}" if release else "", now_text(now)))
        return bool(claimed)

    def close(self) -> None:
        """Close this process's connection."""
        self._file.close()
        self._ready = False


def issue_key(fingerprint: list[str]) -> str:
    """The key an issue has in the inbox and here: its fingerprint as JSON (as InboxStore writes it)."""
    return json.dumps(fingerprint, ensure_ascii=False)
