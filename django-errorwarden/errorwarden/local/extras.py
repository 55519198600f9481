"""Profile chunks and log records beside the inbox's events, bounded, for the transaction page.

sentry-sdk's continuous profiler (SENTRY_PROFILES_SAMPLE_RATE, lifecycle "trace") sends
`profile_chunk` items: samples (timestamp, thread, stack) over frames, tagged with the profiler
id that each profiled transaction names in contexts.profile. Its logs (when a project turns on
sentry-sdk's `enable_logs`) arrive as `log` items, each record with its trace id. The inbox
transport stores events and transactions only; `keep_extras` gives it these two as well,
written to tables of their own in the inbox file (created idempotently) and capped by count:
the newest MAX_CHUNKS chunks and MAX_LOGS records stay.

Both arrive on the SDK's own threads (the profiler's and the log batcher's), never on a request
thread; a write that fails is counted in `dropped` and never raised into the SDK.
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from itertools import pairwise
from typing import Any

from errorwarden.local.sqlite import SqliteFile

MAX_CHUNKS = 300  # about five hours of one process's 60-second chunks while it is profiled
MAX_LOGS = 5000
TOP_FUNCTIONS = 25
_TABLES = """
CREATE TABLE IF NOT EXISTS inbox_profile_chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    profiler_id TEXT NOT NULL,
    first REAL NOT NULL,
    last REAL NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS inbox_profile_chunks_profiler ON inbox_profile_chunks (profiler_id, last);
CREATE TABLE IF NOT EXISTS inbox_logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    trace_id TEXT NOT NULL,
    timestamp REAL NOT NULL,
    level TEXT NOT NULL,
    body TEXT NOT NULL,
    attributes TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS inbox_logs_trace ON inbox_logs (trace_id, timestamp);
"""


class ExtrasStore:
    """Profile chunks and log records in the inbox file, each capped (see the module docstring)."""

    def __init__(self, path: str | os.PathLike[str], max_chunks: int = MAX_CHUNKS, max_logs: int = MAX_LOGS,
                 timeout: float = 2.0):
        self._file = SqliteFile(path, "", version=0, timeout=timeout)
        self.path = self._file.path
        self.max_chunks, self.max_logs = max_chunks, max_logs
        self.dropped = 0
        self._lock = threading.Lock()
        self._ready = False

    def _ensure(self) -> None:
        if not self._ready:
            with self._file.connection() as conn:
                conn.executescript(f"BEGIN IMMEDIATE;{_TABLES};COMMIT;")
            self._ready = True

    def offer(self, envelope: Any) -> None:
        """Keep the envelope's profile chunks and log records; never raises (a failure is counted)."""
        try:
            chunks, logs = [], []
            for item in envelope.items:
                if item.type not in ("profile_chunk", "log"):
                    continue
                payload = item.payload.json
                payload = payload if payload is not None else json.loads(item.get_bytes())
                if item.type == "profile_chunk":
                    chunks.append(_chunk_row(payload))
                else:
                    records = payload.get("items") or []
                    logs += [_log_row(record) for record in records if isinstance(record, dict)]
            if chunks or logs:
                self._write([c for c in chunks if c is not None], logs)
        except Exception:  # a bad item or a locked, full or missing file: counted, never raised
            with self._lock:
                self.dropped += 1

    def _write(self, chunks: list[tuple[Any, ...]], logs: list[tuple[Any, ...]]) -> None:
        self._ensure()
        with self._file.transaction() as conn:
            if chunks:
                last = 0
                for row in chunks:
                    last = conn.execute("INSERT INTO inbox_profile_chunks (profiler_id, first, last, "
                                        "payload) VALUES (?, ?, ?, ?)", row).lastrowid
                conn.execute("DELETE FROM inbox_profile_chunks WHERE id <= ?", (last - self.max_chunks,))
            if logs:
                last = 0
                for row in logs:
                    last = conn.execute("INSERT INTO inbox_logs (trace_id, timestamp, level, body, "
                                        "attributes) VALUES (?, ?, ?, ?, ?)", row).lastrowid
                conn.execute("DELETE FROM inbox_logs WHERE id <= ?", (last - self.max_logs,))

    def _rows(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        self._ensure()
        with self._file.connection() as conn:
            return conn.execute(sql, params).fetchall()

    def logs(self, trace_id: str, limit: int = 500) -> list[dict[str, Any]]:
        """The log records of one trace, oldest first."""
        if not trace_id:
            return []
        rows = self._rows("SELECT timestamp, level, body, attributes FROM inbox_logs WHERE trace_id = ? "
                          "ORDER BY timestamp, id LIMIT ?", (trace_id, limit))
        return [{"timestamp": t, "level": level, "body": body, "attributes": json.loads(attributes)}
                for t, level, body, attributes in rows]

    def has_profile(self, profiler_id: str, start: float, end: float) -> bool:
        """True when a stored chunk of this profiler overlaps the moments start..end (epoch seconds)."""
        if not profiler_id:
            return False
        return bool(self._rows("SELECT 1 FROM inbox_profile_chunks WHERE profiler_id = ? AND last >= ? "
                               "AND first <= ? LIMIT 1", (profiler_id, start, end)))

    def flame(self, profiler_id: str, start: float, end: float, thread_id: str = "",
              top: int = TOP_FUNCTIONS) -> dict[str, Any]:
        """The functions that ran between start and end (on the transaction's thread when known):
        self time (the sampled leaf frame) and total time (anywhere on the stack), from the
        samples' spacing, most self time first."""
        rows = self._rows("SELECT payload FROM inbox_profile_chunks WHERE profiler_id = ? AND last >= ? "
                          "AND first <= ? ORDER BY first", (profiler_id, start, end)) if profiler_id else []
        own: Counter[tuple[str, str]] = Counter()
        total: Counter[tuple[str, str]] = Counter()
        where: dict[tuple[str, str], str] = {}
        moments: list[float] = []
        for (payload,) in rows:
            profile = json.loads(payload).get("profile") or {}
            frames, stacks = profile.get("frames") or [], profile.get("stacks") or []
            for sample in profile.get("samples") or []:
                at = sample.get("timestamp")
                if not isinstance(at, int | float) or not start <= at <= end:
                    continue
                if thread_id and str(sample.get("thread_id")) != thread_id:
                    continue
                index = sample.get("stack_id")
                stack = stacks[index] if isinstance(index, int) and 0 <= index < len(stacks) else []
                names = [_frame_name(frames[i]) for i in stack if isinstance(i, int) and 0 <= i < len(frames)]
                if not names:
                    continue
                moments.append(at)
                own[names[0][0]] += 1  # the leaf: stacks list the innermost frame first
                for name, place in set(names):
                    total[name] += 1
                    where.setdefault(name, place)
        moments.sort()
        gaps = sorted(b - a for a, b in pairwise(moments) if b > a)
        interval = gaps[len(gaps) // 2] if gaps else 0.0
        samples = sum(own.values())
        functions = [{"function": name[0], "module": name[1], "where": where.get(name, ""),
                      "self_ms": count * interval * 1000.0, "total_ms": total[name] * interval * 1000.0,
                      "self_share": count / samples if samples else 0.0}
                     for name, count in own.most_common(top)]
        return {"samples": samples, "interval_ms": interval * 1000.0, "functions": functions}

    def close(self) -> None:
        """Close this process's connection."""
        self._file.close()
        self._ready = False


def _frame_name(frame: Any) -> tuple[tuple[str, str], str]:
    frame = frame if isinstance(frame, dict) else {}
    name = (str(frame.get("function") or "?"), str(frame.get("module") or frame.get("filename") or "?"))
    place = f"{frame.get('filename') or frame.get('abs_path') or '?'}:{frame.get('lineno') or '?'}"
    return name, place


def _chunk_row(payload: dict[str, Any]) -> tuple[Any, ...] | None:
    samples = [s.get("timestamp") for s in (payload.get("profile") or {}).get("samples") or []
               if isinstance(s, dict) and isinstance(s.get("timestamp"), int | float)]
    if not samples or not payload.get("profiler_id"):
        return None
    return (str(payload["profiler_id"]), min(samples), max(samples),
            json.dumps(payload, ensure_ascii=False, separators=(",", ":")))


def _log_row(record: dict[str, Any]) -> tuple[Any, ...]:
    stamp = record.get("timestamp")
    return (str(record.get("trace_id") or ""), float(stamp) if isinstance(stamp, int | float) else 0.0,
            str(record.get("level") or "info"), str(record.get("body") or ""),
            json.dumps(record.get("attributes") or {}, ensure_ascii=False, default=str))


def keep_extras(transport: Any, extras: ExtrasStore) -> Any:
    """Give an inbox transport profile chunks and logs: its capture_envelope first offers each
    envelope to `extras`, then does what it did. The transport keeps its type and attributes."""
    original = transport.capture_envelope

    def capture_envelope(envelope: Any) -> None:
        extras.offer(envelope)
        original(envelope)

    transport.capture_envelope = capture_envelope
    transport.extras = extras
    return transport

