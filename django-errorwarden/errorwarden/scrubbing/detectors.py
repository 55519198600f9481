"""TextScrubber: every value detector, then sensitive ``key=value`` pairs, until stable.

Python's ``re`` walks a character class at a few nanoseconds per character and each call
costs a few hundred, while a literal ``in`` test is a fast substring search; the detectors
(values.py) therefore sit behind literal tests. Pairs come after the value detectors so that
``api_key=[stripe_key]`` and ``password: [card]`` keep their meaning.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, unquote_plus

from . import patterns as p
from . import prefilter as pf
from . import structure, values
from .keys import KeyRules, credential_shaped, is_weak
from .memory import MIN_LEN, Results
from .values import FILTERED, may_hide_more

_QUOTES = "\"'\\"
_CACHE_LIMIT = 4096
_MAX_ROUNDS = 4  # passes until stable; a pass that changes something removes a secret
_SHORT_TEXT = 200
_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z\-]{0,40}\s{1,3}(?=\S)")  # ``Bearer ``, ``Api-Token ``
_NEXT_PAIR = re.compile(r"\s[A-Za-z_][A-Za-z0-9_.\-]{0,63}\s?[=:]")
_QUERY_SHAPED = re.compile(r"[^\s;]*=[^\s;]*")
# A placeholder that something percent-encoded after us (``%5BFiltered%5D``) gets its brackets back.
_ENCODED_PLACEHOLDER = re.compile(r"%5B(" + "|".join(sorted(p.PLACEHOLDER_NAMES)) + r")%5D", re.IGNORECASE)


def _rebracket(m: re.Match) -> str:
    return f"[{m[1]}]"


class TextScrubber:
    """Replaces secrets found in free text with typed placeholders such as ``[card]``."""

    def __init__(self, keys: KeyRules, engine: str = "auto", cache_dir: Path | None = None) -> None:
        self._sensitive = keys.is_sensitive
        self._reversed_keys: dict[str, bool] = {}  # reversed key -> verdict, see _pairs
        self.prefilter = pf.compile_gate(engine, keys.extra, cache_dir)
        self._steps = _steps(self._sensitive, self._pairs_step)
        self._order = {name: i for i, (name, _) in enumerate(self._steps)}
        # The same steps without their uniform (text, source) wrappers, called directly: a
        # wrapper is one more Python call per step, a third of a clean string's full pass.
        self._values = tuple(f for _, f in values.STEPS)
        self._structures = tuple(f for _, f in structure.STEPS)
        self._direct = (*self._values, *self._structures, self._pairs_step)
        self.results = Results()
        self.clean = self.results.clean

    def scrub(self, s: str, source: bool = False) -> str:
        """Return ``s`` with every secret replaced (``s`` itself when none is found).

        ``source=True`` is for source lines: a sensitive name's value is only filtered when
        it is a literal (quoted, digits, or inside a string literal), since
        ``password=password`` in code is a name.
        """
        if len(s) < MIN_LEN or s in self.clean:
            return s
        known = self.results.known(s, source)
        if known is not None:
            return known
        hints = None if self.prefilter is None else self._flagged([s])
        if hints is not None and not hints:
            self.results.remember_clean(s)
            return s
        return self.results.remember(s, source, self._full(s, source, hints))

    def scrub_many(self, texts: list[str], source: bool = False) -> dict[str, str]:
        """Scrub many strings at once: ``{text: scrubbed}`` for those that change.

        Strings scrubbed before come from the remembered results; one prefilter scan over the
        rest picks the few the detectors must see.
        """
        out, todo = self.results.split(texts, source)
        if not todo:
            return out
        flagged = None if self.prefilter is None else self._flagged(todo)
        fresh = []
        for t in todo:
            if flagged is None or t in flagged:
                new = self.results.remember(t, source, self._full(t, source, flagged))
                if new is not t:
                    out[t] = new
            else:
                fresh.append(t)
        if fresh:
            self.results.remember_clean(*fresh)
        return out

    def _flagged(self, texts: list[str]) -> dict[str, set | None]:
        """The ``texts`` the prefilter flags, with the steps each needs when the scan saw them.

        A URL-decoded form is scanned too: its own entry serves its pass, and it flags the
        text it came from.
        """
        owners = {}
        for t in texts:
            if "%" in t or "+" in t:
                decoded = decoded_form(t)
                if decoded is not None:
                    owners[decoded] = t
        hits = self.prefilter.flagged([*texts, *owners] if owners else texts)
        for variant in [h for h in hits if h in owners]:
            hits.setdefault(owners[variant], None)
        return hits

    def _full(self, s: str, source: bool, hints: dict | None = None) -> str:
        """Every detector on ``s`` and on its URL-decoded form (no cache).

        ``hints`` maps texts to the steps the prefilter's scan saw they need.
        """
        if "%" in s or ("+" in s and "=" in s):
            decoded = self._decoded(s, source, hints)
            if decoded is not None:
                return decoded
        new = self._scrub(s, source, hints)
        return _ENCODED_PLACEHOLDER.sub(_rebracket, new) if "%5B" in new else new

    def _decoded(self, s: str, source: bool, hints: dict | None = None) -> str | None:
        """Scrub the URL-decoded form of ``s``: ``email=jane%40example.com`` is an address.

        Decoding comes first, so a token whose characters were escaped (``%2F``, ``%2B``) is
        matched whole. When the decoded form holds a secret, its scrubbed text is returned
        (the event shows ``email=[email]``); otherwise None, and ``s`` is scrubbed as it is.
        """
        decoded = decoded_form(s)
        if decoded is None:
            return None
        scrubbed = self._scrub(decoded, source, hints)
        return None if scrubbed is decoded or scrubbed == decoded else scrubbed

    def _scrub(self, s: str, source: bool, hints: dict | None = None) -> str:
        """All detectors until stable, on the text as it is."""
        # Another pass runs while one changed something that may hide more: a secret glued
        # to another (``4111…AKIA…``, ``10.0.0.1 4111…``) only shows its boundary once the
        # first one is a placeholder, and a spaced card turned ``[card]`` can join its
        # neighbours into one token. A second scrub must find nothing left (idempotence).
        (new, hits), rounds = self._pass(s, source, hints.get(s) if hints else None), 1
        while new is not s and rounds < _MAX_ROUNDS and may_hide_more(s, new):
            s, (new, hits), rounds = new, self._pass(new, source, hits), rounds + 1
        return new

    def _pass(self, s: str, source: bool, hits: set | None = None) -> tuple[str, set | None]:
        """Every value detector, then the structures, then the pairs; with the result, the
        steps it meets (when a prefilter knows them and a later pass may need them; ``hits``
        are those of ``s``).

        Pairs go last: ``password: 4111 1111 1111 1111`` becomes ``password: [card]`` rather
        than filtering the first group only, and placeholders already there are kept. With a
        prefilter, a step runs only when the text meets its condition, and the conditions
        are looked at again after each change (a placeholder can meet one: ``[aws_key]``).
        """
        if self.prefilter is None:
            for step in self._values:
                s = step(s)
            sensitive = self._sensitive
            for step in self._structures:
                s = step(s, sensitive)
            return self._pairs_step(s, source), None
        steps, values_end, last = self._direct, len(self._values), len(self._direct) - 1
        order, steps_in, done = self._order, self.prefilter.steps_in, -1
        hits = steps_in(s) if hits is None else hits
        while due := [i for i in map(order.get, hits) if i is not None and i > done]:
            done = min(due)
            if done < values_end:
                new = steps[done](s)
            elif done < last:
                new = steps[done](s, self._sensitive)
            else:
                new = steps[done](s, source)
            if new is not s:
                if done == last:  # no step left: the next pass, if any, looks the text up
                    return new, None
                s, hits = new, steps_in(new)
        return s, hits

    def _pairs_step(self, s: str, source: bool) -> str:
        """The pairs of one pass: until stable when a backslash may end a value."""
        if "\\" in s:
            return self._pairs_until_stable(s, source)
        if "=" in s or (":" in s and s.count(":") != s.count("://")):  # not just a URL
            return self._pairs(s, source)
        return s

    def _pairs_until_stable(self, s: str, source: bool) -> str:
        """Filter sensitive pairs until nothing changes (once if there is no backslash).

        An unquoted value may end in a backslash: filtering it can turn ``\\"`` into a
        closing quote another value was waiting for (``"secret": "password: x\\"``).
        """
        for _ in range(_MAX_ROUNDS):
            new = self._pairs(s, source) if ":" in s or "=" in s else s
            if new is s or new == s or "\\" not in s:
                return new
            s = new
        return s

    def _pairs(self, s: str, source: bool) -> str:
        """Filter the values of sensitive ``key=value`` pairs."""
        rev = s[::-1]
        known = self._reversed_keys
        short = len(s) < _SHORT_TEXT
        for pattern in (p.KEY_BEFORE_SEPARATOR,) if short else _separators(s, short):
            keys = pattern.findall(rev)
            for key in keys if short else set(keys):  # long texts repeat their keys
                verdict = known.get(key)
                if verdict is None:
                    verdict = self._sensitive(key[::-1]) or is_weak(key[::-1])
                    if len(known) >= _CACHE_LIMIT:
                        known.clear()
                    known[key] = verdict
                if verdict:
                    return self._rewrite_pairs(s, rev, source)
        return s

    def _rewrite_pairs(self, s: str, rev: str, source: bool) -> str:
        """Rebuild ``s`` with the value after each sensitive key filtered."""
        n, spans = len(s), []
        for pattern in _separators(s, n < _SHORT_TEXT):
            for m in pattern.finditer(rev):
                key = m[1][::-1]
                strong = self._sensitive(key)
                if strong or is_weak(key):
                    at = n - m.start()
                    while at < n and s[at] == "=":  # ``password == "…"``: a comparison, not ``=``
                        at += 1
                    value = p.VALUE.match(s, at)
                    if value is None or _is_call(s, value) or self._is_reference(value["val"], key):
                        continue  # ``password = getMasterUserPassword()`` is code
                    if strong:
                        end = _value_end(s, n - m.end(1), value)
                    elif credential_shaped(value["val"]):
                        end = value.end("val")  # ``Using Key=…``: one token, when it looks like one
                    else:
                        continue
                    spans.append((value.start("val"), end, s[value.start("val"):end], key))
        out, pos = [], 0
        for start, end, val, key in sorted(spans):
            if start < pos:
                continue  # inside a value filtered already
            new = _filtered_value(val, source and not _in_literal(s, start), _keeps_scheme(key))
            if new is not None:
                out += (s[pos:start], new)
                pos = end
        return "".join(out) + s[pos:] if out else s


    def _is_reference(self, val: str, key: str) -> bool:
        """True when an unquoted value names another field rather than holding a secret.

        ``x.creditcard_key = y.creditcard_key`` (an SQL join) and ``password =
        settings.DB_PASSWORD`` hold no secret: the value is a dotted name whose last part is
        itself a secret-naming compound name (``_`` or camelCase, no digit) or the key's own
        last part. A plain word after a dot (``password=my.secret``) or a name holding a digit
        (``token=Abc.Def_token9x``) can be a password and stays filtered.
        """
        if "." not in val or _REFERENCE.fullmatch(val) is None:
            return False
        last = val.rsplit(".", 1)[1].split("\\", 1)[0]
        if last.lower() == key.rsplit(".", 1)[-1].lower():
            return True
        compound = "_" in last.strip("_") or _CAMEL.search(last) is not None
        return compound and not any(c.isdigit() for c in last) and bool(self._sensitive(last))


# A dotted name; a repr's escaped line ends after it (``y.card_token\\n``) are no part of it.
_REFERENCE = re.compile(r"[A-Za-z_]\w{0,63}(?:\.[A-Za-z_]\w{0,63}){1,5}(?:\\[nrt])*")
_CAMEL = re.compile(r"[a-z][A-Z]")


def _steps(sensitive, pairs) -> tuple:
    """Every step of a pass as (name, step(text, source)), in order: values, structures, pairs."""
    found = [(name, lambda s, _source, f=f: f(s)) for name, f in values.STEPS]
    found += [(name, lambda s, _source, f=f: f(s, sensitive)) for name, f in structure.STEPS]
    return (*found, ("pairs", pairs))


def decoded_form(s: str) -> str | None:
    """``s`` URL-decoded, or None when decoding changes nothing.

    ``+`` counts as a space only in query-string shaped text (``a=b&c=d`` without spaces or
    ``;``: an Azure connection string's base64 key keeps its ``+``).
    """
    plus = "+" in s and "=" in s and _QUERY_SHAPED.fullmatch(s) is not None
    if "%" in s and _ESCAPE.search(s):
        decoded = unquote_plus(s) if plus else unquote(s)
    elif plus:
        decoded = s.replace("+", " ")
    else:
        return None
    return None if decoded == s else decoded


def _value_end(s: str, key_start: int, value: re.Match) -> int:
    """Where a value ends: a key that starts its line (``password: two words``, YAML, env
    files, headers) owns the rest of the line; elsewhere the value is one token."""
    end, val = value.end("val"), value["val"]
    if val[0] in _QUOTES or p.KEEP_VALUE.fullmatch(val) or p.PLACEHOLDER_VALUE.fullmatch(val):
        return end
    line_start = s.rfind("\n", 0, key_start) + 1
    prefix = s[line_start:key_start]
    if prefix.strip(" \t-\"'[") or s.startswith((";", "&", ","), end):
        return end
    line_end = s.find("\n", end)
    line = s[:line_end if line_end != -1 else len(s)].rstrip()
    for quote in "\"'":  # a repr or literal around the pair keeps its closing quote
        if quote in prefix and line.endswith(quote):
            line = line[:-1]
    following = _NEXT_PAIR.search(line, end)  # ``a=1 b=2``: the next pair is not the value
    return following.start() if following else max(end, len(line))


_CALLED = re.compile(r"[A-Za-z_][\w.]{0,80}")


def _is_call(s: str, value: re.Match) -> bool:
    """True when an unquoted value is a function call: ``getMasterUserPassword()``."""
    return s.startswith("(", value.end("val")) and _CALLED.fullmatch(value["val"]) is not None


def _keeps_scheme(key: str) -> bool:
    """Only an Authorization-like header keeps its scheme word (``Bearer [Filtered]``)."""
    lowered = key.lower()
    return "authoriz" in lowered or "authenticat" in lowered


def _separators(s: str, short: bool) -> tuple:
    """The key patterns for the separators present in ``s``.

    One scan for both separators is cheaper on a short string; on a long one, two scans for
    a literal separator each skip ahead faster than one scan for a class.
    """
    if short:
        return (p.KEY_BEFORE_SEPARATOR,)
    arrow = (p.KEY_BEFORE_ARROW,) if "=>" in s else ()
    if "=" in s:
        colon = (p.KEY_BEFORE_COLON,) if ":" in s else ()
        return (p.KEY_BEFORE_EQUALS, *arrow, *colon)
    return (p.KEY_BEFORE_COLON,)


def _in_literal(s: str, pos: int) -> bool:
    """True when ``pos`` lies inside a quoted string on its line (``connect("password=x")``)."""
    line = s[s.rfind("\n", 0, pos) + 1:pos].replace("\\\\", "").replace("\\'", "").replace('\\"', "")
    return line.count('"') % 2 == 1 or line.count("'") % 2 == 1


def _filtered_value(val: str, source: bool, keep_scheme: bool = True) -> str | None:
    """Return the filtered form of a value, or None when it reveals nothing."""
    if val[0] in _QUOTES:
        quote = val[:2] if val[0] == "\\" else val[0]
        inner = val[len(quote): -len(quote)]
        if not inner or p.KEEP_VALUE.fullmatch(inner) or p.PLACEHOLDER_VALUE.fullmatch(inner):
            return None
        return f"{quote}{FILTERED}{quote}"
    if source and not val.isdigit():
        return None  # an unquoted value in code is an expression, not a literal
    scheme = _SCHEME.match(val) if keep_scheme else None
    scheme = scheme[0] if scheme else ""
    rest = val[len(scheme):]
    if p.KEEP_VALUE.fullmatch(rest) or p.PLACEHOLDER_VALUE.fullmatch(rest):
        return None
    return f"{scheme}{FILTERED}"
