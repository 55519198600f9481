"""Every event of one issue, read from the inbox file in SQL: the list, neighbours, tags and releases.

A reader of its own (not InboxStore's methods) so the inbox's writer stays as it is; it reads
the columns the inbox writes (fingerprint, received, release, environment, level) and picks the
few payload fields it shows (user id, route, tags) with SQLite's JSON functions, so a page of
25 events never loads 25 payloads into Python.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from errorwarden.local.sqlite import SqliteFile

PAGE_SIZE = 25
TAG_EVENTS = 1000  # the tag distribution reads at most this many of the issue's newest events
TAG_VALUES = 5  # top values shown per tag
_ROUTE = "COALESCE(json_extract(payload, '$.transaction'), json_extract(payload, '$.request.url'), '')"
_USER = "COALESCE(json_extract(payload, '$.user.id'), '')"
_EVENTS = (f"SELECT id, event_id, received, release, environment, level, {_USER}, {_ROUTE} FROM inbox_items "
           "WHERE type = 'event' AND fingerprint = ? ORDER BY id DESC LIMIT ? OFFSET ?")
# Tags as a dict ({"k": "v"}) or as the protocol's list of pairs ([["k", "v"]]).
_TAGS = """
SELECT tag, value, COUNT(*) FROM (
    SELECT CASE WHEN t.type = 'array' THEN json_extract(t.value, '$[0]') ELSE t.key END AS tag,
           CASE WHEN t.type = 'array' THEN json_extract(t.value, '$[1]') ELSE t.value END AS value
    FROM (SELECT payload FROM inbox_items WHERE type = 'event' AND fingerprint = ? ORDER BY id DESC LIMIT ?)
         AS e, json_each(e.payload, '$.tags') AS t
    WHERE json_valid(e.payload)
) WHERE tag IS NOT NULL GROUP BY tag, value
"""


@dataclass(frozen=True)
class EventLine:
    """One event of an issue, as the events table shows it."""

    row: int
    event_id: str
    received: str
    release: str
    environment: str
    level: str
    user_id: str
    route: str


class IssueHistory:
    """Reads one issue's events from the inbox file (nothing is written)."""

    def __init__(self, path: str | os.PathLike[str], timeout: float = 2.0):
        self._file = SqliteFile(path, "", version=0, timeout=timeout)

    def count(self, issue: str) -> int:
        """How many of the issue's events the inbox holds."""
        rows = self._file.read("SELECT COUNT(*) FROM inbox_items WHERE type = 'event' AND fingerprint = ?",
                          (issue,))
        return rows[0][0] if rows else 0

    def events(self, issue: str, page: int = 1, size: int = PAGE_SIZE) -> list[EventLine]:
        """One page of the issue's events, newest first (page 1 is the newest)."""
        rows = self._file.read(_EVENTS, (issue, size, (max(page, 1) - 1) * size))
        return [EventLine(*(str(v) if i else v for i, v in enumerate(row))) for row in rows]

    def neighbours(self, issue: str, event_id: str) -> dict[str, Any]:
        """The event's place in its issue: the newer and older event ids (or '') and its position from
        the newest (1-based), for previous/next links."""
        mine = self._file.read("SELECT MAX(id) FROM inbox_items WHERE event_id = ? AND fingerprint = ?",
                          (event_id, issue))
        row = mine[0][0] if mine else None
        if row is None:
            return {"newer": "", "older": "", "position": 0}
        same = "FROM inbox_items WHERE type = 'event' AND fingerprint = ?"
        newer = self._file.read(f"SELECT event_id {same} AND id > ? ORDER BY id LIMIT 1", (issue, row))
        older = self._file.read(f"SELECT event_id {same} AND id < ? ORDER BY id DESC LIMIT 1", (issue, row))
        ahead = self._file.read(f"SELECT COUNT(*) {same} AND id > ?", (issue, row))
        return {"newer": newer[0][0] if newer else "", "older": older[0][0] if older else "",
                "position": (ahead[0][0] if ahead else 0) + 1}

    def releases(self, issue: str) -> tuple[str, str]:
        """The first and the last release the issue was seen in ('' when its events name none)."""
        named = "SELECT release FROM inbox_items WHERE type = 'event' AND fingerprint = ? AND release != ''"
        first = self._file.read(f"{named} ORDER BY id LIMIT 1", (issue,))
        last = self._file.read(f"{named} ORDER BY id DESC LIMIT 1", (issue,))
        return (first[0][0] if first else "", last[0][0] if last else "")

    def tags(self, issue: str, events: int = TAG_EVENTS, top: int = TAG_VALUES) -> list[dict[str, Any]]:
        """Each tag's top values over the issue's newest events, like Sentry's tag sidebar: name,
        events that carry it, and [(value, count, share of those events)] most common first."""
        by_tag: dict[str, list[tuple[str, int]]] = {}
        for tag, value, count in self._file.read(_TAGS, (issue, events)):
            by_tag.setdefault(str(tag), []).append(("" if value is None else str(value), count))
        found = []
        for tag in sorted(by_tag):
            values = sorted(by_tag[tag], key=lambda pair: (-pair[1], pair[0]))
            total = sum(count for _, count in values)
            found.append({"name": tag, "total": total, "distinct": len(values),
                          "values": [(value, count, count / total) for value, count in values[:top]]})
        return found

    def close(self) -> None:
        """Close this process's connection."""
        self._file.close()
