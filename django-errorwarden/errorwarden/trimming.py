"""Cut events and transactions to Sentry's size limits, in a fixed order, before they are scrubbed.

Sentry rejects an event over 1 MB decompressed or 200 KB compressed with 413, and the SDK then
drops it (https://docs.sentry.io/concepts/data-management/size-limits/). TrimToSize is a pipeline
step run before the scrub, so the scrubber never walks megabytes that would be cut anyway. It
measures the event as the SDK will serialize it, and when it is over budget cuts, in this order,
only as much as needed:

  1. local variables of stack frames, outermost first (each stack's crashing frame last)
  2. breadcrumbs, oldest first
  3. the request body, then cookies
  4. span data, then spans from the end (transactions)
  5. long strings anywhere, to 16384, 4096, 1024, then 256 characters
  6. extra and contexts entries, largest first
  7. source lines around frames, then the crashing frames' locals, then middle frames of long stacks

Before any of that, with ``max_string`` set (the runtime sets STRING_CAP), every string longer than
it is cut to it, with the number of characters cut written after it: the cap sentry-sdk's
``max_value_length`` would apply, done here because the SDK's way (encoding every string to UTF-8
to measure it) costs a project switching from plain sentry-sdk about 7% more CPU per captured event,
while here it costs nothing on the common event: a value whose size bound is under 6 x the cap
cannot hold a longer string, and a value seen before is known from memory.

What was cut is listed in the event's `trimmed` context, with the sizes before and after. An
event is never dropped: if all of that is not enough, a skeleton (ids, level, exception types
and values, the innermost frames, tags, fingerprint) is sent.
"""

from __future__ import annotations

import json
import marshal
import zlib
from collections.abc import Callable
from typing import Any

from errorwarden import event as ev

MAX_EVENT_BYTES = 1_000_000  # Sentry's limit, decompressed (docs.sentry.io size-limits page)
MAX_COMPRESSED_BYTES = 200_000  # Sentry's limit, compressed
STRING_STEPS = (16_384, 4_096, 1_024, 256)
REPR_LIMIT = 8_192  # characters of a str/bytes local the SDK keeps; see bounded_repr
STRING_CAP = 8_192  # characters of any other string the runtime's trim keeps (TrimToSize.max_string)
MIN_STRING_CAP = 256  # the smallest cap: room for the note of what was cut, and some text
CONTEXT = "trimmed"
_KEEP_CONTEXTS = frozenset({CONTEXT, "trace", "outbox_sampling", "runtime", "os"})
Event = dict[str, Any]


def serialized(event: Event) -> bytes:
    """The event as the SDK serializes it into an envelope (compact JSON, ASCII escapes)."""
    return json.dumps(event, allow_nan=True, separators=(",", ":"), default=str).encode()


def _size(value: Any) -> int:
    return len(serialized(value))


def size_bound(event: Any, limit: int) -> int | None:
    """An upper bound on len(serialized(event)) when it is at most limit; else None.

    Cheaper than serializing: no string is escaped or copied, one pass over the containers.
    Each string counts 6 bytes a character when ASCII (the longest escape, \\u00XX) and 12
    otherwise (a surrogate pair), plus its quotes; each dict entry its quotes, colon and comma;
    None, bools and floats 24 (the longest float repr), an int 24 or its digits. So a number
    that equals (==) another of any type counts at least as much as that one's JSON (1, 1.0
    and True; TrimToSize relies on it when it remembers a value). None as soon as the bound
    passes limit (a cycle does too) or a value is not exactly dict, list, str, int, float,
    bool or None: serialized() then decides, as before. The SDK's serialized events hold only
    those types, so the common small event is never serialized here.
    """
    if type(event) is not dict:
        return None
    join = "".join
    total, stack = 0, [event]
    while stack:
        node = stack.pop()
        if type(node) is dict:
            try:
                keys = join(node)  # str keys only: json would turn others into strings
            except TypeError:
                return None
            total += (6 if keys.isascii() else 12) * len(keys) + 4 * len(node) + 2
            values: Any = node.values()
            if len(node) > 8 and type(next(iter(values))) is str:  # a wide dict of strings (modules,
                # headers, tags) in one step; the first value's type spares most mixed ones a TypeError
                try:
                    text = join(values)
                except TypeError:
                    pass
                else:
                    total += (6 if text.isascii() else 12) * len(text) + 2 * len(node)
                    if total > limit:
                        return None
                    continue
        else:
            total += len(node) + 2
            values = node
            if node and type(node[0]) is str:  # a list of strings (source lines) in one step
                try:
                    text = join(node)
                except TypeError:
                    pass
                else:
                    total += (6 if text.isascii() else 12) * len(text) + 2 * len(node)
                    if total > limit:
                        return None
                    continue
        for value in values:
            kind = type(value)
            if kind is str:
                total += (6 if value.isascii() else 12) * len(value) + 2
            elif kind is dict or kind is list:
                stack.append(value)
            elif value is None or kind is bool:
                total += 24
            elif kind is float:  # an integral float past 1e22 equals an int of more digits
                total += 24 if -1e22 < value < 1e22 else _float_bound(value)
            elif kind is int:  # digits <= bits / 3 + 1, and a sign; str() refuses ints past 4300 digits
                total += max(24, value.bit_length() // 3 + 2)
            else:
                return None
        if total > limit:
            return None
    return total


def _float_bound(value: float) -> int:
    """Bytes of a float's JSON, or of an int equal to it (inf and nan equal no int)."""
    if value != value or value in (float("inf"), float("-inf")):
        return 24
    return max(24, int(value).bit_length() // 3 + 2)


class _Remembered:
    """Each top-level key's last value (a plain copy) and its size bound, to skip most of the count.

    Most of an event repeats the one before it: the installed modules, the SDK's description,
    and for an error that recurs its whole stack. Comparing a value with the copy (==, in C)
    costs a fraction of counting it again. Equal values have the same serialized size, except
    numbers of another type (1, 1.0, True), for which size_bound already counts enough. A copy
    is plain JSON types (marshal refuses anything else), so the events that later steps edit in
    place never change what is remembered. A key whose value keeps changing (a message, trace
    ids) is copied again only after 1, 2, 4, 8 ... misses in a row.
    """

    __slots__ = ("_cap", "_entries")

    def __init__(self, cap: int | None = None) -> None:
        # key -> (copy as it came, bound after the cap's cut, misses in a row, whether the cap cut it)
        self._entries: dict[str, tuple[Any, int, int, bool]] = {}
        self._cap = cap

    def bound(self, event: Event, limit: int) -> int | None:
        """size_bound(event, limit) in effect (at most a few bytes more), mostly from memory.

        With a cap, the strings over it are cut first, in place: only in a value whose bound could
        hold one (over 6 bytes a character), or that held one when it was remembered.
        """
        if type(event) is not dict:
            return None
        cap = self._cap
        longest = 6 * cap + 2 if cap is not None else None  # a bound up to this holds no longer string
        entries, total, scalars = self._entries, 2, {}
        for key, value in event.items():
            kind = type(value)
            if kind is not dict and kind is not list:
                if kind is str and cap is not None and len(value) > cap:
                    value = event[key] = _capped(value, cap)
                scalars[key] = value
                continue
            entry = entries.get(key)
            if entry is not None:
                try:
                    same = entry[0] == value
                except Exception:  # an object whose == raises: count it anew
                    same = False
                if same:
                    if entry[3]:
                        _cut_strings(value, cap, _capped)  # the same value: the same cut and bound
                    total += entry[1]
                    if entry[2]:
                        entries[key] = (entry[0], entry[1], 0, entry[3])
                    if total > limit:
                        return None
                    continue
            misses = entry[2] + 1 if entry is not None else 1
            due = misses & (misses - 1) == 0 and type(key) is str  # 1, 2, 4, 8 ... misses in a row
            copied = None
            if due:
                try:
                    copied = marshal.loads(marshal.dumps(value))  # before the cut: what comes again
                except (ValueError, TypeError, RecursionError):
                    due = False
            bound = size_bound({key: value}, limit - total)
            cut = False
            if bound is not None and longest is not None and bound > longest:
                cut = _cut_strings(value, cap, _capped) > 0
                if cut:
                    bound = size_bound({key: value}, limit - total)
            if bound is None:
                return None
            total += bound
            if due:
                entries[key] = (copied, bound, misses, cut)
            elif entry is not None:
                entries[key] = (entry[0], entry[1], misses, entry[3])
                if misses & (misses - 1) == 0:  # due but not copyable: forget it
                    entries.pop(key, None)
        if scalars:
            bound = size_bound(scalars, limit - total)
            return None if bound is None else total + bound
        return total


def bounded_repr(value: Any, limit: int = REPR_LIMIT) -> str | None:
    """sentry-sdk custom_repr: a long str or bytes local is cut before repr() copies all of it.

    Any other value's repr() is cut here too, before the SDK measures its UTF-8 size twice. The
    result stays under limit (set it to the SDK's max_value_length), so the note of the full
    length survives the SDK's own cut. None (a repr() that raises) lets the SDK's safe_repr
    answer "<broken repr>".
    """
    if isinstance(value, str | bytes | bytearray):
        if len(value) <= limit:
            return None  # the SDK's own repr, unchanged
        return f"{value[:limit // 2]!r}...[{len(value)} characters in all]"
    if isinstance(value, BaseException) and any(isinstance(a, str) and len(a) > limit for a in value.args):
        # A 1 MB message sits in the locals of every frame that caught it: cut it, do not copy it.
        args = ", ".join(bounded_repr(a, limit // 2) or repr(a) for a in value.args)
        return f"{type(value).__name__}({args})"[:limit]
    try:
        text = repr(value)
    except Exception:
        return None
    return text if len(text) <= limit else f"{text[:limit // 2]}...[repr of {len(text)} characters]"


def _outer_frames_first(event: Event, crash: bool) -> list[dict[str, Any]]:
    ranked = []
    for frames in ev.frame_lists(event):
        for index, frame in enumerate(frames):
            is_crash = index == len(frames) - 1
            if isinstance(frame, dict) and is_crash == crash:
                ranked.append((len(frames) - index, frame))
    return [frame for _, frame in sorted(ranked, key=lambda pair: -pair[0])]


def _drop_keys(holders: list[dict[str, Any]], keys: tuple[str, ...], excess: int) -> int:
    """Remove keys from holders in order until about excess bytes are gone; return how many went."""
    removed = 0
    for holder in holders:
        if excess <= 0:
            break
        for key in keys:
            if key in holder:
                excess -= _size(holder.pop(key))
                removed += 1
    return removed


def _cut(value: str, limit: int) -> str:
    return f"{value[:limit]}…[{len(value) - limit} characters cut]"


def _capped(value: str, cap: int) -> str:
    """value cut to at most cap characters, the note included, so the cap never cuts it again."""
    keep = cap - 40  # room for "…[" + up to 20 digits + " characters cut]"
    return f"{value[:keep]}…[{len(value) - keep} characters cut]"


def _cut_strings(event: Event, limit: int, cut_one: Callable[[str, int], str] = _cut) -> int:
    """Shorten every string over limit characters, in place, without recursion; return how many."""
    cut, stack = 0, [event]
    while stack:
        node = stack.pop()
        pairs = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in list(pairs):
            if isinstance(value, str) and len(value) > limit:
                node[key] = cut_one(value, limit)
                cut += 1
            elif isinstance(value, dict | list):
                stack.append(value)
    return cut


class TrimToSize:
    """Pipeline step: the event fits Sentry's limits after it, with a note of what was cut."""

    def __init__(self, max_bytes: int = 900_000, max_compressed: int = 180_000,
                 max_string: int | None = None):
        # The margins leave room for what later steps add (fingerprint, tags, sampling summary).
        if not 0 < max_compressed <= max_bytes <= MAX_EVENT_BYTES:
            raise ValueError(f"need 0 < max_compressed <= max_bytes <= {MAX_EVENT_BYTES}, not "
                             f"{max_compressed} and {max_bytes}")
        if max_string is not None and max_string < MIN_STRING_CAP:
            raise ValueError(f"max_string must be at least {MIN_STRING_CAP} (or None: no cap), "
                             f"not {max_string}")
        self.max_bytes, self.max_compressed, self.max_string = max_bytes, max_compressed, max_string
        self._remembered = _Remembered(max_string)

    def __call__(self, event: Event, hint: dict[str, Any] | None = None) -> Event:
        """Return the event, cut to fit if it does not."""
        if self._remembered.bound(event, self.max_compressed) is not None:
            return event  # the common case: surely small, so not even serialized
        if self.max_string is not None:
            _cut_strings(event, self.max_string, _capped)  # the bound gave up before it cut them all
        data = serialized(event)
        if len(data) <= self.max_compressed:
            return event
        budget, original, cuts = self.max_bytes, len(data), []
        for _ in range(4):
            if len(data) > budget:
                data = self._cut(event, budget, original, cuts)
            compressed = len(zlib.compress(data, 1))  # level 1 packs worse than the SDK's gzip 9 / br 4
            if len(data) <= self.max_bytes and compressed <= self.max_compressed:
                return event
            budget = int(min(budget, len(data)) * self.max_compressed / compressed * 0.9)
        return self._skeleton(event, original, cuts)

    def _stages(self, event: Event) -> list[tuple[str, Callable[[], int], Callable[[int], int]]]:
        """(label, bytes it could free, cut) in the documented order; cut(excess) returns a count."""
        request = event.get("request") if isinstance(event.get("request"), dict) else {}
        crumbs = event.get("breadcrumbs")
        crumbs = crumbs.get("values") if isinstance(crumbs, dict) else None
        spans = event.get("spans") if isinstance(event.get("spans"), list) else []
        span_dicts = [span for span in spans if isinstance(span, dict)]

        def outer(crash: bool) -> list[dict[str, Any]]:
            return _outer_frames_first(event, crash)

        def keys(holders: Callable[[], list[dict[str, Any]]], names: tuple[str, ...]):
            return (lambda: _held(holders(), names), lambda x: _drop_keys(holders(), names, x))

        strings = [(f"{{}} strings over {n} characters", lambda n=n: _long_strings(event, n),
                    lambda x, n=n: _cut_strings(event, n)) for n in STRING_STEPS]
        return [
            ("locals of {} outer frames", *keys(lambda: outer(False), ("vars",))),
            ("{} oldest breadcrumbs", lambda: _size(crumbs) if crumbs else 0,
             lambda x: _drop_list(crumbs, x, from_start=True)),
            ("request body and cookies ({})", *keys(lambda: [request], ("data", "cookies"))),
            ("data of {} spans", *keys(lambda: span_dicts, ("data",))),
            ("{} spans from the end", lambda: _size(spans) if spans else 0,
             lambda x: _drop_list(spans, x, from_start=False)),
            *strings,
            ("{} extra and context entries", lambda: sum(size for size, _, _ in _entries(event)),
             lambda x: _drop_entries(event, x)),
            ("source lines of {} frames", *keys(lambda: outer(False) + outer(True),
                                                ("pre_context", "post_context"))),
            ("locals of {} crashing frames", *keys(lambda: outer(True), ("vars",))),
            ("{} middle frames", lambda: _middle_size(event), lambda x: _drop_middle_frames(event)),
        ]

    def _cut(self, event: Event, budget: int, original: int, cuts: list[str]) -> bytes:
        # First pass: only stages that can free a real part of the excess, so three small
        # breadcrumbs are not thrown away for a 2 MB body; second pass: whatever helps.
        data = serialized(event)
        for share in (0.05, 0.0):
            for label, gain, stage in self._stages(event):
                excess = len(data) - budget
                if excess <= 0:
                    break
                if gain() <= share * excess:
                    continue
                count = stage(excess)
                if count:
                    cuts.append(label.format(count))
                    _note(event, original, cuts)
                    data = serialized(event)
        _note(event, original, cuts, len(data))
        return serialized(event)

    def _skeleton(self, event: Event, original: int, cuts: list[str]) -> Event:
        """The last resort: what identifies and groups the error, each string short."""
        keep = ("event_id", "timestamp", "level", "platform", "logger", "transaction", "release",
                "environment", "server_name", "fingerprint", "tags", "exception", "message", "type",
                "start_timestamp", "contexts")
        skeleton = {key: event[key] for key in keep if key in event}
        skeleton["contexts"] = {k: v for k, v in (skeleton.get("contexts") or {}).items() if k == CONTEXT}
        for frames in ev.frame_lists(skeleton):
            del frames[:-10]
            for frame in (f for f in frames if isinstance(f, dict)):
                for key in ("vars", "pre_context", "post_context"):
                    frame.pop(key, None)
        _cut_strings(skeleton, 256)
        for name in ("tags", "fingerprint"):
            if _size(skeleton.get(name)) > 20_000:
                skeleton.pop(name)
        cuts.append("everything but a skeleton")
        _note(skeleton, original, cuts, len(serialized(skeleton)))
        return skeleton


def _drop_list(items: list | None, excess: int, from_start: bool) -> int:
    removed = 0
    while items and excess > 0:
        excess -= _size(items.pop(0 if from_start else -1))
        removed += 1
    return removed


def _held(holders: list[dict[str, Any]], keys: tuple[str, ...]) -> int:
    return sum(_size(holder[key]) for holder in holders for key in keys if key in holder)


def _long_strings(event: Event, limit: int) -> int:
    """Characters that cutting every string to limit would remove."""
    total, stack = 0, [event]
    while stack:
        node = stack.pop()
        for value in (node.values() if isinstance(node, dict) else node):
            if isinstance(value, str) and len(value) > limit:
                total += len(value) - limit
            elif isinstance(value, dict | list):
                stack.append(value)
    return total


def _entries(event: Event) -> list[tuple[int, str, str]]:
    entries = []
    for name in ("extra", "contexts"):
        holder = event.get(name)
        if isinstance(holder, dict):
            entries += [(_size(v), name, k) for k, v in holder.items() if k not in _KEEP_CONTEXTS]
    return entries


def _middle_size(event: Event, keep_outer: int = 5, keep_inner: int = 30) -> int:
    return sum(_size(frames[keep_outer:len(frames) - keep_inner]) for frames in ev.frame_lists(event)
               if len(frames) > keep_outer + keep_inner)


def _drop_entries(event: Event, excess: int) -> int:
    removed = 0
    for size, name, key in sorted(_entries(event), reverse=True):
        if excess <= 0:
            break
        event[name].pop(key, None)
        excess -= size
        removed += 1
    return removed


def _drop_middle_frames(event: Event, keep_outer: int = 5, keep_inner: int = 30) -> int:
    removed = 0
    for frames in ev.frame_lists(event):
        if len(frames) > keep_outer + keep_inner:
            removed += len(frames) - keep_outer - keep_inner
            del frames[keep_outer:len(frames) - keep_inner]
    return removed


def _note(event: Event, original: int, cuts: list[str], final: int | None = None) -> None:
    contexts = event.get("contexts")
    if not isinstance(contexts, dict):
        contexts = event["contexts"] = {}
    note = {"original_bytes": original, "cut": list(cuts), "reason": "Sentry's 1 MB / 200 KB event limits"}
    if final is not None:
        note["bytes"] = final
    contexts[CONTEXT] = note
