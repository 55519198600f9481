"""Search over the whole inbox: free text, key:value tag terms, is:status and a time window.

The index lives in the inbox file beside the events, created idempotently by the first
dashboard that searches (nothing is indexed, and nothing costs the writer, before that):

- `inbox_text`: an FTS5 table with the trigram tokenizer over each event's title and culprit
  (an external-content table on inbox_items, so the text is not stored twice). Trigrams match
  any substring of three characters or more, case-insensitively, as a developer expects of
  "no such table"; shorter words fall back to LIKE over the matches.
- `inbox_tags`: (event row, key, value) with an index on (key, value): each event's user id and
  every tag, so `region:eu` is an index lookup. release:, environment: and level: read the
  inbox's own columns (a scan of three short columns, no row per event for the writer to add).

Triggers on inbox_items keep both current on every insert and delete (the cap's trim included);
when the triggers are first created the existing events are indexed once.
"""

from __future__ import annotations

import os
import re
import shlex
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

from errorwarden.local.sqlite import SqliteFile

WINDOWS = MappingProxyType({"15m": timedelta(minutes=15), "1h": timedelta(hours=1),
                            "24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)})
COLUMNS = ("release", "environment", "level")  # searched in inbox_items itself
STATUSES = ("unresolved", "resolved", "muted", "regressed")
# key:value aliases: what a developer types -> the key the index holds.
ALIASES = MappingProxyType({"category": "error.category", "user": "user.id", "env": "environment"})
_TRIGGERS = ("inbox_search_insert", "inbox_search_delete")

def _tag_rows(row: str, source: str) -> str:
    """SELECTs of (event row id, key, value) for one event `row`: from the trigger's NEW row (source
    ''), or from every stored event (source: ' FROM inbox_items AS e', row 'e').

    The payload (written by InboxStore with json.dumps, so always valid JSON) is parsed once per
    event: one json_extract picks the user id and the tags together, the rest reads that small text.
    """
    events = f"{row}.type = 'event'"
    picked = f"json_extract({row}.payload, '$.user.id', '$.tags')"
    if source:
        picked_from = f"(SELECT e.id AS id, {picked} AS p FROM inbox_items AS e WHERE {events}) AS x"
    else:
        picked_from = f"(SELECT {row}.id AS id, {picked} AS p) AS x"
    return (
        f"SELECT x.id, 'user.id', CAST(json_extract(x.p, '$[0]') AS TEXT) FROM {picked_from} "
        "WHERE json_extract(x.p, '$[0]') IS NOT NULL"
        "\nUNION ALL SELECT x.id, "
        "CASE WHEN t.type = 'array' THEN json_extract(t.value, '$[0]') ELSE t.key END, "
        "CAST(CASE WHEN t.type = 'array' THEN json_extract(t.value, '$[1]') ELSE t.value END AS TEXT) "
        f"FROM {picked_from}, json_each(x.p, '$[1]') AS t"
    )


_SCHEMA = f"""
CREATE VIRTUAL TABLE IF NOT EXISTS inbox_text USING fts5(
    title, culprit, content='inbox_items', content_rowid='id', tokenize='trigram');
CREATE TABLE IF NOT EXISTS inbox_tags (item_id INTEGER NOT NULL, key TEXT NOT NULL, value TEXT);
CREATE INDEX IF NOT EXISTS inbox_tags_key_value ON inbox_tags (key, value, item_id);
CREATE INDEX IF NOT EXISTS inbox_tags_item ON inbox_tags (item_id);
CREATE TRIGGER IF NOT EXISTS inbox_search_insert AFTER INSERT ON inbox_items WHEN NEW.type = 'event'
BEGIN
    INSERT INTO inbox_text (rowid, title, culprit) VALUES (NEW.id, NEW.title, NEW.culprit);
    INSERT INTO inbox_tags (item_id, key, value) {_tag_rows("NEW", "")};
END;
CREATE TRIGGER IF NOT EXISTS inbox_search_delete AFTER DELETE ON inbox_items WHEN OLD.type = 'event'
BEGIN
    INSERT INTO inbox_text (inbox_text, rowid, title, culprit)
        VALUES ('delete', OLD.id, OLD.title, OLD.culprit);
    DELETE FROM inbox_tags WHERE item_id = OLD.id;
END;
"""
_BACKFILL = f"INSERT INTO inbox_tags (item_id, key, value) {_tag_rows('e', ' FROM inbox_items AS e')}"


class BadQuery(ValueError):
    """A search the inbox cannot answer; the message names the term and what is allowed."""


@dataclass
class Query:
    """A parsed search: words and phrases, key:value terms, is: statuses, and a window."""

    text: list[str] = field(default_factory=list)
    tags: list[tuple[str, str]] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    window: str = ""

    @property
    def empty(self) -> bool:
        """True when nothing narrows the events (is: filters work on the listed issues)."""
        return not self.text and not self.tags and not self.window


def parse(q: str, window: str = "") -> Query:
    """Words (or "quoted phrases") search titles, messages and culprits; key:value and key:"a b" match
    a tag exactly (release, environment, level, category, user.id or any tag); is:unresolved,
    is:resolved, is:muted, is:regressed filter by triage status; the window is one of WINDOWS."""
    if window and window not in WINDOWS:
        raise BadQuery(f"window must be one of {', '.join(WINDOWS)}, not {window!r}")
    try:
        terms = shlex.split(q or "", posix=True)
    except ValueError:
        raise BadQuery("a quote in the search is not closed") from None
    query = Query(window=window)
    for term in terms:
        key, sep, value = term.partition(":")
        if sep and key and re.fullmatch(r"[A-Za-z0-9_.\-]+", key):
            if key == "is":
                if value not in STATUSES:
                    raise BadQuery(f"is: must be one of {', '.join(STATUSES)}, not {value!r}")
                query.statuses.append(value)
            elif not value:
                raise BadQuery(f"{key}: needs a value, like {key}:something")
            else:
                query.tags.append((ALIASES.get(key, key), value))
        elif term:
            query.text.append(term)
    return query


@dataclass(frozen=True)
class Match:
    """One issue with events that match: how many, when, and its newest matching event."""

    fingerprint: str
    count: int
    first_seen: str
    last_seen: str
    last_event_id: str
    level: str
    title: str
    culprit: str


class SearchIndex:
    """The search tables and triggers in one inbox file, and the queries over them."""

    def __init__(self, path: str | os.PathLike[str], timeout: float = 5.0):
        self._file = SqliteFile(path, "", version=0, timeout=timeout)
        self.path = self._file.path
        self._ready = False

    def ensure(self) -> bool:
        """Create the index (idempotent); True when this call built it over the events already stored."""
        if self._ready:
            return False
        with self._file.transaction() as conn:
            if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'inbox_items'").fetchone() is None:
                return False  # no inbox yet: the first search after the first event builds it
            present = {row[0] for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name IN (?, ?)", _TRIGGERS)}
            for statement in _statements(_SCHEMA):
                conn.execute(statement)
            built = present != set(_TRIGGERS)
            if built:  # events written while no trigger watched: index them all once
                conn.execute("DELETE FROM inbox_tags")
                conn.execute("INSERT INTO inbox_text (inbox_text) VALUES ('rebuild')")
                conn.execute(_BACKFILL)
        self._ready = True
        return built

    def search(self, query: Query, now: datetime | None = None, limit: int = 2000) -> list[Match]:
        """Issues with at least one event matching every text and tag term within the window,
        newest match first (is: statuses are the caller's to apply)."""
        self.ensure()
        where, params = ["i.type = 'event'"], []
        long_words = [w for w in query.text if len(w) >= 3]
        short_words = [w for w in query.text if len(w) < 3]
        if long_words:
            where.append("i.id IN (SELECT rowid FROM inbox_text WHERE inbox_text MATCH ?)")
            params.append(" AND ".join('"' + w.replace('"', '""') + '"' for w in long_words))
        for word in short_words:
            where.append("(i.title LIKE ? ESCAPE '\\' OR i.culprit LIKE ? ESCAPE '\\')")
            pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            params += [pattern, pattern]
        for key, value in query.tags:
            if key in COLUMNS:  # the inbox's own columns: no index row per event needed
                where.append(f"i.{key} = ?")
                params.append(value)
            else:
                where.append("i.id IN (SELECT item_id FROM inbox_tags WHERE key = ? AND value = ?)")
                params += [key, value]
        if query.window:
            since = (now or datetime.now(UTC)) - WINDOWS[query.window]
            where.append("i.received >= ?")
            params.append(since.astimezone(UTC).isoformat(timespec="milliseconds"))
        sql = ("SELECT g.fingerprint, g.n, g.first_seen, g.last_seen, l.event_id, l.level, l.title, "
               "l.culprit FROM (SELECT i.fingerprint, COUNT(*) AS n, MIN(i.received) AS first_seen, "
               "MAX(i.received) AS last_seen, MAX(i.id) AS last_id FROM inbox_items AS i "
               f"WHERE {' AND '.join(where)} GROUP BY i.fingerprint) AS g "
               "JOIN inbox_items AS l ON l.id = g.last_id ORDER BY g.last_id DESC LIMIT ?")
        return [Match(*row) for row in self._file.read(sql, (*params, limit))]

    def close(self) -> None:
        """Close this process's connection."""
        self._file.close()
        self._ready = False


def _statements(script: str) -> list[str]:
    """The schema's statements (a trigger's body holds semicolons, so split on complete statements)."""
    found, current = [], ""
    for line in script.strip().splitlines():
        current += line + "\n"
        if sqlite3.complete_statement(current):
            found.append(current.strip())
            current = ""
    return found


def as_rows(matches: list[Match]) -> list[dict[str, Any]]:
    """Matches in the shape InboxStore.issues() returns (fingerprint as JSON text)."""
    return [{"fingerprint": m.fingerprint, "count": m.count, "kept": m.count, "first_seen": m.first_seen,
             "last_seen": m.last_seen, "last_event_id": m.last_event_id, "level": m.level,
             "title": m.title, "culprit": m.culprit} for m in matches]
