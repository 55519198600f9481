"""``Scrubber``: the event-shaped entry points over the generic walk.

The event walk knows where sentry-sdk puts metadata that cannot hold a secret (ids,
timestamps, frame file names, the SDK and module lists) and skips it; everything else goes
through the key rules and the value detectors. Nothing here catches exceptions: the pipeline
drops an event whose scrubbing raised (fail closed).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from .detectors import TextScrubber
from .keys import KeyRules
from .sqlparams import summarize_data, summarize_frame_vars
from .walker import Memo, Walker

# Top-level event fields that are ids, clocks, enums or package lists.
SKIPPED_EVENT_KEYS = frozenset({
    "event_id", "timestamp", "start_timestamp", "received", "platform", "level", "type",
    "sdk", "modules", "debug_meta", "_meta", "release", "dist", "environment", "logger",
    "transaction_info", "measurements", "_metrics_summary",
})
# Frame fields naming code locations; source lines and ``vars`` are scrubbed.
SKIPPED_FRAME_KEYS = frozenset({
    "filename", "abs_path", "module", "function", "raw_function", "symbol", "package",
    "lineno", "colno", "in_app", "platform", "instruction_addr", "symbol_addr", "image_addr",
    "addr_mode", "lang",
})
SKIPPED_CRUMB_KEYS = frozenset({"timestamp", "type", "level", "category", "event_id"})
SKIPPED_SPAN_KEYS = frozenset({
    "span_id", "trace_id", "parent_span_id", "op", "status", "origin", "start_timestamp",
    "timestamp", "same_process_as_parent", "exclusive_time", "hash",
})
# A streamed span (sentry-sdk's span-first format, before_send_span): its name and attributes are
# scrubbed; ids, status and clocks are skipped.
SKIPPED_STREAMED_SPAN_KEYS = frozenset({
    "trace_id", "span_id", "parent_span_id", "status", "is_segment", "start_timestamp",
    "end_timestamp",
})
SKIPPED_LOG_KEYS = frozenset({
    "severity_text", "severity_number", "time_unix_nano", "trace_id", "span_id",
})
REMOVED_USER_KEYS = ("email", "ip_address")
# Ids sentry-sdk writes into span and trace data: a thread id is a 15-digit number that passes
# Luhn one time in ten, and scrubbed to [card] it unlinks the transaction from its profile's
# samples. Kept only while it is what the SDK writes (an int, or digits).
SDK_DATA_IDS = ("thread.id",)
_MISSING = object()
_ONLY_STR = frozenset({str})
_SOURCE_KEYS = frozenset({"pre_context", "post_context", "context_line"})
_FRAME_SKIP_ALL = SKIPPED_FRAME_KEYS | _SOURCE_KEYS
_SOURCE_CACHE_LIMIT = 1024


class Scrubber:
    """Removes secrets and personal data from Sentry events, breadcrumbs, logs and text."""

    def __init__(self, extra_keys: Iterable[str] = (), safe_keys: Iterable[str] = (),
                 engine: str = "auto", cache_dir: Path | None = None) -> None:
        """``engine`` picks the prefilter: 'auto' (hyperscan, else google-re2, else none),
        'hyperscan', 're2' or 'python' (none: every string runs the detectors). ``cache_dir``
        keeps hyperscan's compiled databases for the next process (SENTRY_SCRUB_CACHE_DIR)."""
        self._keys = KeyRules(extra_keys, safe_keys)
        self._text = TextScrubber(self._keys, engine, cache_dir)
        self._walker = Walker(self._keys, self._text)
        self._source_cache: dict[str, list | None] = {}
        self._event_handlers = {
            "user": self._user, "exception": self._exceptions, "threads": self._exceptions,
            "stacktrace": self._stacktrace, "breadcrumbs": self._breadcrumbs,
            "spans": self._spans, "contexts": self._contexts,
        }

    def scrub_event(self, event: dict) -> dict:
        """Scrub an error, message or transaction event in place and return it."""
        if not isinstance(event, dict):
            raise TypeError(f"scrub_event expects a dict, got {type(event).__name__}")
        memo = Memo()
        handlers = self._event_handlers
        for key, value in event.items():
            if key in SKIPPED_EVENT_KEYS:
                continue
            handler = handlers.get(key)
            new = handler(value, memo) if handler else self._walker.field(event, key, value, 1, memo)
            if new is not value:
                event[key] = new
        self._resolve_sources(memo)
        self._walker.resolve(memo)
        return event

    def scrub_breadcrumb(self, crumb: dict) -> dict:
        """Scrub one breadcrumb (message and data) in place and return it."""
        if not isinstance(crumb, dict):
            raise TypeError(f"scrub_breadcrumb expects a dict, got {type(crumb).__name__}")
        summarize_data(crumb.get("data"))
        return self._record(crumb, SKIPPED_CRUMB_KEYS, 3, None)

    def scrub_log(self, log: dict) -> dict:
        """Scrub a sentry-sdk log record (body and attributes) in place and return it."""
        if not isinstance(log, dict):
            raise TypeError(f"scrub_log expects a dict, got {type(log).__name__}")
        return self._record(log, SKIPPED_LOG_KEYS, 1, None)

    def scrub_streamed_span(self, span: dict) -> dict:
        """Scrub a streamed span (before_send_span: name and attributes) in place and return it."""
        if not isinstance(span, dict):
            raise TypeError(f"scrub_streamed_span expects a dict, got {type(span).__name__}")
        summarize_data(span.get("attributes"))
        return self._record(span, SKIPPED_STREAMED_SPAN_KEYS, 1, None)

    def scrub_text(self, text: str) -> str:
        """Return ``text`` with every detected secret replaced by a typed placeholder."""
        if not isinstance(text, str):
            raise TypeError(f"scrub_text expects a str, got {type(text).__name__}")
        return self._text.scrub(text)

    def scrub_value(self, obj: object) -> object:
        """Scrub any JSON-like value (containers in place) and return the result."""
        return self._walker.scrub(obj, 0)

    def _record(self, record: dict, skipped: frozenset, depth: int, memo: Memo | None) -> dict:
        """Scrub a flat record (breadcrumb, span, log) except its skipped fields.

        Without a memo (a record on its own) its strings are resolved here; inside an event,
        with the event's.
        """
        own = memo is None
        memo = Memo() if own else memo
        self._walker.walk_record(record, skipped, depth, memo)
        if own:
            self._walker.resolve(memo)
        return record

    def _user(self, user, memo: Memo) -> object:
        """Drop the e-mail and IP address; scrub the rest (a username may be an address)."""
        if isinstance(user, dict):
            for key in REMOVED_USER_KEYS:
                user.pop(key, None)
        return self._walker.walk(user, 1, memo)

    def _items(self, container, handle, memo: Memo) -> object:
        """Apply ``handle`` to each dict of a ``{"values": [...]}`` interface or bare list.

        Anything of another shape is walked generically, so nothing escapes the scrub.
        """
        items = container.get("values") if isinstance(container, dict) else container
        if not isinstance(items, list):
            return self._walker.walk(container, 1, memo)
        for i, item in enumerate(items):
            if isinstance(item, dict):
                handle(item, memo)
            else:
                items[i] = self._walker.walk(item, 3, memo)
        if items is not container:  # other keys beside "values"
            for key, value in container.items():
                if key != "values":
                    container[key] = self._walker.field(container, key, value, 2, memo)
        return container

    def _exceptions(self, container, memo: Memo) -> object:
        """Scrub exception (or thread) values: message, mechanism and stack frames."""
        return self._items(container, self._exception, memo)

    def _exception(self, exc: dict, memo: Memo) -> None:
        """Scrub one exception or thread in place; its type and module name are skipped."""
        for key, value in exc.items():
            if key == "stacktrace":
                self._stacktrace(value, memo)
            elif key not in ("type", "module", "thread_id", "id"):
                new = self._walker.field(exc, key, value, 4, memo)
                if new is not value:
                    exc[key] = new

    def _stacktrace(self, stacktrace, memo: Memo) -> object:
        """Scrub each frame's variables and source lines, skipping its location fields."""
        frames = stacktrace.get("frames") if isinstance(stacktrace, dict) else None
        if not isinstance(frames, list):
            return self._walker.walk(stacktrace, 4, memo)
        for frame in frames:
            if isinstance(frame, dict):
                self._frame(frame, memo)
        return stacktrace

    def _frame(self, frame: dict, memo: Memo) -> None:
        """Scrub one frame in place: its source lines, then every other non-location field.

        A database-layer frame's parameter locals become a summary first (sqlparams.py).
        """
        summarize_frame_vars(frame)
        self._source(frame, memo)
        self._walker.walk_record(frame, _FRAME_SKIP_ALL, 7, memo)

    def _source(self, frame: dict, memo: Memo) -> None:
        """Scrub a frame's source lines as one joined text: one scan instead of eleven.

        A text not seen before waits in ``memo.sources`` for one batch with the event's other
        source lines. Detectors keep line breaks (a PEM block keeps its breaks after its
        placeholder), so the result splits back into the same lines; if it ever does not,
        each line is scrubbed on its own.
        """
        pre, line, post = (frame.get(k) for k in ("pre_context", "context_line", "post_context"))
        if type(pre) is list and type(line) is str and type(post) is list:
            lines = [*pre, line, *post]
            if set(map(type, lines)) == _ONLY_STR:  # the shape sentry-sdk always sends
                joined = "\n".join(lines)
                parts = self._source_cache.get(joined, _MISSING)
                if parts is _MISSING:
                    memo.sources.append((frame, joined, lines))
                elif parts is not None:
                    _put_source(frame, parts)
                return
        self._odd_source(frame)

    def _resolve_sources(self, memo: Memo) -> None:
        """Scrub the source texts an event brought that were not cached, in one batch."""
        if memo.sources:
            results = self._text.scrub_many([joined for _, joined, _ in memo.sources], source=True)
            for frame, joined, lines in memo.sources:
                parts = self._scrub_source(joined, lines, results.get(joined, joined))
                if parts is not None:
                    _put_source(frame, parts)

    def _odd_source(self, frame: dict) -> None:
        """Scrub source lines of an unusual shape (missing fields, non-str lines)."""
        lines, slots = [], []
        for key in ("pre_context", "context_line", "post_context"):
            value = frame.get(key)
            if type(value) is str:
                lines.append(value)
                slots.append((key, None))
            elif type(value) is list:
                for i, line in enumerate(value):
                    if type(line) is str:
                        lines.append(line)
                        slots.append((key, i))
                    else:
                        value[i] = self._walker.scrub(line, 8)
        parts = self._scrub_source("\n".join(lines), lines) if lines else None
        for (key, i), part in zip(slots, parts or (), strict=False):
            if i is None:
                frame[key] = part
            else:
                frame[key][i] = part

    def _scrub_source(self, joined: str, lines: list, new: str | None = None) -> list | None:
        """Return the scrubbed lines of a joined source text, or None when nothing changed.

        ``new`` is the text already scrubbed, if it was. Results are cached: source lines
        come from the deployed code, so the same text recurs in every event raised from the
        same place.
        """
        cache = self._source_cache
        parts = cache.get(joined, _MISSING)
        if parts is _MISSING:
            scrub = self._text.scrub
            new = scrub(joined, True) if new is None else new
            parts = None if new == joined else new.split("\n")
            if parts is not None and len(parts) != len(lines):
                parts = [scrub(line, True) for line in lines]
            if len(cache) >= _SOURCE_CACHE_LIMIT:
                cache.clear()
            cache[joined] = parts
        return parts

    def _breadcrumbs(self, container, memo: Memo) -> object:
        """Scrub every breadcrumb of an event."""
        return self._items(container, self._crumb, memo)

    def _crumb(self, crumb: dict, memo: Memo) -> None:
        """Scrub one breadcrumb in place; SQL parameters in its data become a summary."""
        summarize_data(crumb.get("data"))
        self._walker.walk_record(crumb, SKIPPED_CRUMB_KEYS, 3, memo)

    def _spans(self, spans, memo: Memo) -> object:
        """Scrub every span's description, data and tags."""
        return self._items(spans, self._span, memo)

    def _span(self, span: dict, memo: Memo) -> None:
        """Scrub one span in place; SQL parameters in its data become a summary."""
        data = span.get("data")
        summarize_data(data)
        aside = _set_aside(data)
        self._walker.walk_record(span, SKIPPED_SPAN_KEYS, 2, memo)
        if aside:
            span["data"].update(aside)

    def _contexts(self, contexts, memo: Memo) -> object:
        """Scrub the contexts; the trace context's SDK ids stay (SDK_DATA_IDS)."""
        trace = contexts.get("trace") if type(contexts) is dict else None
        aside = _set_aside(trace.get("data")) if type(trace) is dict else {}
        new = self._walker.walk(contexts, 1, memo)
        if aside and new is contexts and type(trace.get("data")) is dict:
            trace["data"].update(aside)
        return new


def _set_aside(data: object) -> dict:
    """Take SDK_DATA_IDS out of a span's or trace's data while it is walked, when they are ids."""
    if type(data) is not dict:
        return {}
    aside = {}
    for key in SDK_DATA_IDS:
        value = data.get(key)
        if type(value) is int or (type(value) is str and value.isascii() and value.isdigit()):
            aside[key] = data.pop(key)
    return aside


def _put_source(frame: dict, parts: list) -> None:
    """Write scrubbed source lines back into a frame's pre_context, context_line, post_context."""
    pre, post = frame["pre_context"], frame["post_context"]
    pre[:], frame["context_line"], post[:] = parts[:len(pre)], parts[len(pre)], parts[len(pre) + 1:]
