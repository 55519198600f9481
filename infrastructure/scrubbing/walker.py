"""The generic walk over JSON-like values: key rules on every dict, detectors on every string.

Containers are mutated in place. Depth is bounded, and below ``_TRACK_DEPTH`` every container
is remembered so that cycles become a placeholder and shared sub-trees are walked once, which
keeps the cost linear even for hostile structures. The same memo maps each string already
scrubbed in this event to its result: a request repr or a large value passed down the stack
shows up in the variables of every frame, and is scanned once.
"""

from __future__ import annotations

from . import patterns
from .detectors import FILTERED, TextScrubber
from .keys import KeyRules

MAX_DEPTH = 64
TOO_DEEP = "[too deep]"
CYCLE = "[cycle]"
_TRACK_DEPTH = 8
# Values kept under a sensitive key: they reveal nothing (and ``is_authenticated=True`` or
# ``password=None`` stay readable). Repr strings come from frame variables.
_KEEP_STRINGS = frozenset({"", "None", "True", "False", "''", '""', "[]", "{}", FILTERED})
_SHORT = 5  # strings shorter than this hold no secret the detectors look for
_BIG_INT = 10**12  # ints outside [10**12, 10**19) cannot be card numbers
_HUGE_INT = 10**19
_VERDICTS_LIMIT = 4096


class Walker:
    """Walks any JSON-like value, filtering by key and scrubbing every string."""

    def __init__(self, keys: KeyRules, text: TextScrubber) -> None:
        self._cache = keys.cache
        self._decide = keys.is_sensitive
        self.text = text.scrub
        # Dict key -> True (sensitive), False, or (the key's scrubbed text, sensitive) when the
        # key itself holds a secret (``{"alice@example.com": 3}``). Keys repeat across events.
        self._verdicts: dict[object, bool | tuple] = {}

    def _key_verdict(self, key) -> bool | tuple:
        """Decide (and remember) what a dict key means for its value and for itself."""
        verdict: bool | tuple = self._decide(key)
        if type(key) is str and len(key) >= _SHORT:
            new = self.text(key)
            if new != key:  # the key's own text holds a secret: {"password=hunter2": 1}
                verdict = (new, verdict)
        if len(self._verdicts) >= _VERDICTS_LIMIT:
            self._verdicts.clear()
        if type(key) is not str or len(key) <= 200:
            self._verdicts[key] = verdict
        return verdict

    def walk(self, obj, depth: int, memo: dict) -> object:
        """Return ``obj`` scrubbed: strings replaced, containers scrubbed in place."""
        t = type(obj)
        if t is str:
            new = memo.get(obj)
            if new is None:
                new = memo[obj] = self.text(obj)
            return new
        if t is dict:
            return self.walk_dict(obj, depth, memo)
        if t is list:
            return self._walk_list(obj, depth, memo)
        if obj is None or t is bool or t is float:
            return obj
        if t is int:
            return "[card]" if _BIG_INT <= obj < _HUGE_INT and patterns.is_card(str(obj)) else obj
        return self._walk_other(obj, depth, memo, False)

    def walk_dict(self, d: dict, depth: int, memo: dict) -> object:
        """Scrub a dict in place: filter values of sensitive keys, walk the rest."""
        if not d:
            return d
        if depth >= _TRACK_DEPTH:
            seen = _visit(d, depth, memo, False)
            if seen is not None:
                return seen
        cache, text, inner, renames = self._verdicts, self.text, depth + 1, None
        for k, v in d.items():
            sensitive = cache.get(k)
            if sensitive is None:
                sensitive = self._key_verdict(k)
            if sensitive is not True and sensitive is not False:  # the key itself holds a secret
                renames = renames or []
                renames.append((k, sensitive[0]))
                sensitive = sensitive[1]
            if sensitive:
                nv = self.filter(v, inner, memo)
            elif type(v) is str:
                if len(v) < _SHORT:
                    continue
                nv = memo.get(v)
                if nv is None:
                    nv = memo[v] = text(v)
            elif type(v) is dict:
                nv = self.walk_dict(v, inner, memo)
            else:
                nv = self.walk(v, inner, memo)
            if nv is not v:
                d[k] = nv
        if renames:
            _rename(d, renames)
        return _done(d, depth, memo, False) if depth >= _TRACK_DEPTH else d

    def walk_record(self, d: dict, skipped: frozenset, depth: int, memo: dict) -> None:
        """Scrub the values of ``d`` in place at ``depth``, leaving ``skipped`` keys alone."""
        cache = self._cache
        for k, v in d.items():
            if k in skipped:
                continue
            sensitive = cache.get(k)
            if sensitive is None:
                sensitive = self._decide(k)
            if sensitive:
                nv = self.filter(v, depth, memo)
            elif type(v) is str:
                if len(v) < _SHORT:
                    continue
                nv = memo.get(v)
                if nv is None:
                    nv = memo[v] = self.text(v)
            else:
                nv = self.walk(v, depth, memo)
            if nv is not v:
                d[k] = nv

    def _walk_list(self, items: list, depth: int, memo: dict) -> object:
        """Scrub a list in place; ``[key, value]`` pairs get the key rule."""
        if depth >= _TRACK_DEPTH:
            seen = _visit(items, depth, memo, False)
            if seen is not None:
                return seen
        text, depth = self.text, depth + 1
        for i, v in enumerate(items):
            if type(v) is str:
                nv = memo.get(v)
                if nv is None:
                    nv = memo[v] = text(v)
            elif _is_pair(v) and self._decide(v[0]):
                nv = self._filter_pair(v, depth, memo)
            else:
                nv = self.walk(v, depth, memo)
            if nv is not v:
                items[i] = nv
        return _done(items, depth - 1, memo, False) if depth > _TRACK_DEPTH else items

    def _filter_pair(self, pair, depth: int, memo: dict) -> object:
        """Filter the value of a ``[key, value]`` pair whose key is sensitive."""
        value = self.filter(pair[1], depth + 1, memo)
        if value is pair[1]:
            return pair
        if type(pair) is list:
            pair[1] = value
            return pair
        return (pair[0], value)

    def filter(self, v, depth: int, memo: dict) -> object:
        """Return the value stored under a sensitive key with every secret leaf filtered."""
        t = type(v)
        if v is None or t is bool or (t is str and v in _KEEP_STRINGS):
            return v
        if t is dict or t is list:
            if not v:
                return v
            if depth >= _TRACK_DEPTH:
                seen = _visit(v, depth, memo, True)
                if seen is not None:
                    return seen
            for k in list(v) if t is dict else range(len(v)):
                old = v[k]
                new = self.filter(old, depth + 1, memo)
                if new is not old:  # keeps a placeholder set deeper down on a cycle
                    v[k] = new
            if t is dict:  # the values are filtered; a key may still be an address
                renames = [(k, new) for k in v if type(k) is str and (new := self.text(k)) != k]
                if renames:
                    _rename(v, renames)
            return _done(v, depth, memo, True)
        if t in (tuple, set, frozenset):
            return self._walk_other(v, depth, memo, True)
        return FILTERED

    def _walk_other(self, obj, depth: int, memo: dict, filtering: bool) -> object:
        """Handle bytes, tuples, sets and unknown objects."""
        if isinstance(obj, (bytes, bytearray)):
            text = obj.decode("utf-8", "replace")
            new = FILTERED if filtering else self.text(text)
            return obj if new == text else new
        if isinstance(obj, (tuple, set, frozenset)):
            if depth >= MAX_DEPTH:
                return TOO_DEEP
            step = self.filter if filtering else self.walk
            items = [step(x, depth + 1, memo) for x in obj]
            if all(a is b for a, b in zip(items, obj, strict=True)):
                return obj
            return type(obj)(items) if type(obj) in (tuple, set, frozenset) else items
        if isinstance(obj, str):  # a str subclass
            return FILTERED if filtering else self.text(str(obj))
        if isinstance(obj, dict):
            return self.walk_dict(obj, depth, memo)
        if isinstance(obj, list):
            return self._walk_list(obj, depth, memo)
        return FILTERED if filtering and not isinstance(obj, (bool, float)) else obj


def _rename(d: dict, renames: list) -> None:
    """Replace keys that hold a secret by their scrubbed text; a clash gets a number."""
    for old, new in renames:
        name, n = new, 1
        while name in d:
            n += 1
            name = f"{new} ({n})"
        d[name] = d.pop(old)


def _is_pair(v) -> bool:
    """True for a two-item list or tuple whose first item is a string (query strings)."""
    return (type(v) is list or type(v) is tuple) and len(v) == 2 and type(v[0]) is str


def _visit(obj, depth: int, memo: dict, filtering: bool) -> object:
    """Return a placeholder when ``obj`` is too deep or already on the path, else None."""
    if depth >= MAX_DEPTH:
        return TOO_DEEP
    key = (id(obj), filtering)
    state = memo.get(key)
    if state is None:
        memo[key] = [obj, False]  # holding ``obj`` keeps its id from being reused
        return None
    return obj if state[1] else CYCLE


def _done(obj, depth: int, memo: dict, filtering: bool) -> object:
    """Mark a tracked container as finished so later visits return it unchanged."""
    if depth >= _TRACK_DEPTH:
        memo[(id(obj), filtering)][1] = True
    return obj
