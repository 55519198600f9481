"""The generic walk over JSON-like values: key rules on every dict, detectors on every string.

Containers are mutated in place. Depth is bounded, and below ``_TRACK_DEPTH`` every container
is remembered so that cycles become a placeholder and shared sub-trees are walked once, which
keeps the cost linear even for hostile structures. Strings inside containers are not
scrubbed on the spot: each is noted with its place (``Memo.pending``) and ``resolve`` scrubs
them all at once, so one prefilter scan picks the few that the detectors must see, and a
string that recurs in the event (a request repr in every frame) is scrubbed once.
"""

from __future__ import annotations

import re

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


class Memo(dict):
    """The containers seen in one scrub, and the strings waiting for ``Walker.resolve``."""

    __slots__ = ("pending", "sources")

    def __init__(self) -> None:
        super().__init__()
        self.pending: list[tuple[object, object, str]] = []  # (container, key or index, text)
        self.sources: list[tuple[dict, str, list]] = []  # (frame, joined lines, lines), scrubber.py


class Walker:
    """Walks any JSON-like value, filtering by key and scrubbing every string."""

    def __init__(self, keys: KeyRules, text: TextScrubber) -> None:
        self._cache = keys.cache
        self._decide = keys.is_sensitive
        self.text = text.scrub
        self._many = text.scrub_many
        self._clean = text.clean
        # Dict key -> True (sensitive), False, or (the key's scrubbed text, sensitive) when the
        # key itself holds a secret (``{"alice@example.com": 3}``). Keys repeat across events.
        self._verdicts: dict[object, bool | tuple] = {}

    def _key_verdict(self, key) -> bool | tuple:
        """Decide (and remember) what a dict key means for its value and for itself."""
        verdict: bool | tuple = self._decide(key)
        if type(key) is str and len(key) >= _SHORT:
            new = self.text(key)
            if new != key:  # the key's own text holds a secret: {"password=hunter2": 1}
                # The value is judged by the new key as well, as it will be when the stored
                # event is scrubbed again: {"AIza…": v} becomes {"[google_api_key]": "[Filtered]"}.
                verdict = (new, verdict or self._decide(new))
        if len(self._verdicts) >= _VERDICTS_LIMIT:
            self._verdicts.clear()
        if type(key) is not str or len(key) <= 200:
            self._verdicts[key] = verdict
        return verdict

    def walk(self, obj, depth: int, memo: Memo) -> object:
        """Return ``obj`` scrubbed: strings replaced, containers scrubbed in place."""
        t = type(obj)
        if t is str:
            return self.text(obj)
        if t is dict:
            return self.walk_dict(obj, depth, memo)
        if t is list:
            return self._walk_list(obj, depth, memo)
        if obj is None or t is bool or t is float:
            return obj
        if t is int:
            return "[card]" if _BIG_INT <= obj < _HUGE_INT and patterns.is_card(str(obj)) else obj
        return self._walk_other(obj, depth, memo, False)

    def walk_dict(self, d: dict, depth: int, memo: Memo) -> object:
        """Scrub a dict in place: filter values of sensitive keys, walk the rest."""
        if not d:
            return d
        if depth >= _TRACK_DEPTH:
            seen = _visit(d, depth, memo, False)
            if seen is not None:
                return seen
        cache, clean, inner, renames = self._verdicts, self._clean, depth + 1, None
        pending = memo.pending
        mark = len(pending)
        jwk = "kty" in d  # a JSON Web Key: its private members are secrets whatever their shape
        for k, v in d.items():
            sensitive = cache.get(k)
            if sensitive is None:
                sensitive = self._key_verdict(k)
            if jwk and k in patterns.JWK_PRIVATE_MEMBERS:
                sensitive = True
            if sensitive is not True and sensitive is not False:  # the key itself holds a secret
                renames = renames or []
                renames.append((k, sensitive[0]))
                sensitive = sensitive[1]
            if sensitive:
                nv = self.filter(v, inner, memo)
            elif type(v) is str:
                if len(v) >= _SHORT and v not in clean:
                    pending.append((d, k, v))
                continue
            elif type(v) is dict:
                nv = self.walk_dict(v, inner, memo)
            else:
                nv = self.walk(v, inner, memo)
            if nv is not v:
                d[k] = nv
        if renames:
            moved = _rename(d, renames)
            pending[mark:] = [(c, moved.get(k, k) if c is d else k, v) for c, k, v in pending[mark:]]
        return _done(d, depth, memo, False) if depth >= _TRACK_DEPTH else d

    def walk_record(self, d: dict, skipped: frozenset, depth: int, memo: Memo) -> None:
        """Scrub the values of ``d`` in place at ``depth``, leaving ``skipped`` keys alone."""
        cache, clean, pending = self._cache, self._clean, memo.pending
        for k, v in d.items():
            if k in skipped:
                continue
            sensitive = cache.get(k)
            if sensitive is None:
                sensitive = self._decide(k)
            if sensitive:
                nv = self.filter(v, depth, memo)
            elif type(v) is str:
                if len(v) >= _SHORT and v not in clean:
                    pending.append((d, k, v))
                continue
            elif type(v) is dict:
                nv = self.walk_dict(v, depth, memo)
            else:
                nv = self.walk(v, depth, memo)
            if nv is not v:
                d[k] = nv

    def _walk_list(self, items: list, depth: int, memo: Memo) -> object:
        """Scrub a list in place; ``[key, value]`` pairs get the key rule."""
        if depth >= _TRACK_DEPTH:
            seen = _visit(items, depth, memo, False)
            if seen is not None:
                return seen
        clean, pending, depth = self._clean, memo.pending, depth + 1
        for i, v in enumerate(items):
            if type(v) is str:
                if len(v) >= _SHORT and v not in clean:
                    pending.append((items, i, v))
                continue
            if _is_pair(v) and self._decide(v[0]):
                nv = self._filter_pair(v, depth, memo)
            else:
                nv = self.walk(v, depth, memo)
            if nv is not v:
                items[i] = nv
        return _done(items, depth - 1, memo, False) if depth > _TRACK_DEPTH else items

    def field(self, parent, key, value, depth: int, memo: Memo) -> object:
        """Scrub ``parent[key]``: filtered under a sensitive key, a string noted for resolve."""
        if self._decide(key):
            return self.filter(value, depth, memo)
        if type(value) is str:
            if len(value) >= _SHORT and value not in self._clean:
                memo.pending.append((parent, key, value))
            return value
        return self.walk(value, depth, memo)

    def resolve(self, memo: Memo) -> None:
        """Scrub the strings noted during the walk in one batch and put each result in place.

        A place whose value changed meanwhile (a shared container filtered under a sensitive
        key elsewhere) keeps its new value.
        """
        pending = memo.pending
        results = self._many([v for _, _, v in pending]) if pending else None
        if results:
            for parent, key, old in pending:
                new = results.get(old)
                if new is not None:
                    try:
                        if parent[key] is old:
                            parent[key] = new
                    except (KeyError, IndexError):
                        pass  # renamed or removed by a filter: its value is gone too
        pending.clear()

    def scrub(self, obj, depth: int) -> object:
        """Walk ``obj`` with a fresh memo and resolve its strings: the whole job for one value."""
        memo = Memo()
        new = self.walk(obj, depth, memo)
        self.resolve(memo)
        return new

    def _filter_pair(self, pair, depth: int, memo: Memo) -> object:
        """Filter the value of a ``[key, value]`` pair whose key is sensitive."""
        value = self.filter(pair[1], depth + 1, memo)
        if value is pair[1]:
            return pair
        if type(pair) is list:
            pair[1] = value
            return pair
        return (pair[0], value)

    def filter(self, v, depth: int, memo: Memo) -> object:
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

    def _walk_other(self, obj, depth: int, memo: Memo, filtering: bool) -> object:
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


def _rename(d: dict, renames: list) -> dict:
    """Replace keys that hold a secret by their scrubbed text; a clash gets a number.

    Returns the new name of each renamed key.
    """
    moved = {}
    for old, new in renames:
        name, n = new, 1
        while name in d:
            n += 1
            name = f"{new} ({n})"
        d[name] = d.pop(old)
        moved[old] = name
    return moved


def _is_pair(v) -> bool:
    """True for a two-item list or tuple whose first item is a string naming its second (query
    strings, header lists). A placeholder this scrubber wrote names nothing: ``[stripe_key]`` in
    ``[["[stripe_key]", "shop one"]]`` is a value filtered at the first pass, and reading it as
    a key name there would filter its neighbour at the second (scrubbing stays idempotent)."""
    return ((type(v) is list or type(v) is tuple) and len(v) == 2 and type(v[0]) is str
            and not (v[0][:1] == "[" and _WRITTEN.fullmatch(v[0])))


_WRITTEN = re.compile(patterns.PLACEHOLDER)


def _visit(obj, depth: int, memo: Memo, filtering: bool) -> object:
    """Return a placeholder when ``obj`` is too deep or already on the path, else None."""
    if depth >= MAX_DEPTH:
        return TOO_DEEP
    key = (id(obj), filtering)
    state = memo.get(key)
    if state is None:
        memo[key] = [obj, False]  # holding ``obj`` keeps its id from being reused
        return None
    return obj if state[1] else CYCLE


def _done(obj, depth: int, memo: Memo, filtering: bool) -> object:
    """Mark a tracked container as finished so later visits return it unchanged."""
    if depth >= _TRACK_DEPTH:
        memo[(id(obj), filtering)][1] = True
    return obj
