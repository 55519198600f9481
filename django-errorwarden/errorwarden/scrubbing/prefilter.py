"""One scan over many strings for what every detector needs before it can change a string.

Each pattern here is a necessary condition of one detector (values.py, structure.py, the
pairs of detectors.py): a string none of them matches comes out of ``TextScrubber.scrub``
unchanged, so only the strings a scan flags run the Python detectors. The patterns are
supersets, never tighter: lookarounds and possessive quantifiers are dropped, Python's
Unicode ``\\s`` becomes any whitespace byte or any non-ASCII byte, and a sensitive key is any
text holding a seed of the key rules before a separator. A false flag costs time, a missing
one would leak, so ``tests/test_scrubbing_prefilter.py`` checks that a flagged-only scrub
equals the full scrub on the catalogue and on generated text. A new detector needs its
condition here.

Engines, fastest first: hyperscan (one DFA pass over all strings joined, its matches delivered
in order of end offset), google-re2 (one combined pattern, searched from each string on), or
none (every string runs the detectors, as before). The joint is ``\\x00``, which the patterns'
negated classes exclude; a string that holds one is always flagged.

Compiling the hyperscan databases takes 0.6-1.3 s of CPU, so with a cache directory
(SENTRY_SCRUB_CACHE_DIR) the compiled databases are kept there, serialized by hyperscan, under
a name that hashes every pattern, flag and id compiled, the mode, hyperscan's version and the
CPU: the first process on a machine compiles, the others load (docs/scrubbing.md). A file that
is missing, unreadable, whose SHA-256 does not match, not this user's alone or not a database
hyperscan accepts is compiled again and replaced; a directory that cannot be written only costs
the compile.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import platform
import re
import tempfile
import threading
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from . import keys, vendors

logger = logging.getLogger(__name__)
JOINT = "\x00"
ENGINES = ("hyperscan", "re2")
# What engine='auto' tries, in order. hyperscan first: google-re2's lazy DFA builds its states as
# it meets new text, and on random content (a request id, a CSRF token, a base64 blob: what
# secrets and ids look like) it gives up and falls back to its NFA: about 1 ms per new 160-byte
# token against hyperscan's 3 us, so a Django error event with three fresh tokens cost 1.1-1.3 ms
# against 0.11 ms (docs/scrubbing.md). google-re2 compiles in 0.02 s where hyperscan takes 0.6-1.3 s
# of CPU, once per machine with the cache (SENTRY_SCRUB_CACHE_DIR), else at every process start;
# google-re2 stays the engine where hyperscan has no wheel. A module switch too: tests and
# benchmarks narrow it to measure or prove one path (``AUTO = ()`` is pure Python).
AUTO: tuple[str, ...] = ("hyperscan", "re2")
_WS = r"[\t\n\x0b\x0c\r \x1c-\x1f\x80-\xff]"  # Python's str \s, as UTF-8 bytes, and more
_KEY_TAIL = r"[A-Za-z0-9_.\-]*"
_HEX = "[0-9A-Fa-f]"
# (step, pattern, caseless): the detector step a condition stands for (values.STEPS,
# structure.STEPS, the pairs of detectors.py) and what that step needs.
_FIXED = (
    # values.py _urls: passwords in URLs, Slack webhooks.
    ("urls", r"://[^/?#@\"'<>\x00]*:[^/?#@\"'<>\x00]*@", False),
    ("urls", r"hooks\.slack\.com/", False),
    # values.py _emails: a local-part character (the common ones, RFC 5322 specials, the
    # closing quote of a quoted local part, any byte of a character outside ASCII), '@', a
    # domain with a dot (its labels may hold characters outside ASCII).
    ("email", r"[A-Za-z0-9_.%+\-\x80-\xff!#$&'*/=?^`{|}~\"]@[A-Za-z0-9\-\x80-\xff]+\.[A-Za-z0-9\-\x80-\xff]",
     False),
    # values.py: JWTs, an AWS secret after its id, PEM keys, bearer tokens, Cookie headers.
    ("jwt", r"eyJ[A-Za-z0-9_\-]{5}[A-Za-z0-9_\-]*\.", False),
    ("aws_secret", r"\[aws_key\]", False),
    ("private_key", r"-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY", False),
    ("bearer", r"bearer" + _WS, True),
    ("cookie", r"cookie" + _WS + "*:", True),
    # values.py _jwk_step: a JWK private member, quoted, then ':' and a quoted value of 22.
    ("jwk", r"[\"'](?:d[pq]?|[pqk]|qi)[\"']" + _WS + "*:" + _WS + r"*[\"'][A-Za-z0-9_\-+/]{22}", False),
    # values.py _prefixed_step: a short word, '_' or '-', then 30 token characters.
    ("prefixed", r"[A-Za-z][A-Za-z0-9]{1,11}[_\-][A-Za-z0-9_\-+]{30}", False),
    # values.py IPv6: '::' beside a hex digit, eight groups, or six and an IPv4 tail.
    ("ipv6", _HEX + "::|::" + _HEX, False),
    ("ipv6", _HEX + "{1,4}(?::" + _HEX + "{1,4}){7}", False),
    ("ipv6", "(?:" + _HEX + "{1,4}:){6}[0-9]", False),
    # values.py _numbers: a card run (13 digits, single separators), an SSN, an IPv4
    # address (also the tail of IPv6 with an IPv4 part), an IBAN.
    ("numbers", r"[0-9](?:[ \-]?[0-9]){12}", False),
    ("numbers", r"[0-9]{3}[\-. ][0-9]{2}[\-. ][0-9]{4}", False),
    ("numbers", r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]", False),
    ("numbers", r"[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11}", False),
    # numbers.py _loose_ibans: a country code at a word boundary (not after a letter, digit
    # or '_'), a space or dash maybe, check digits, eleven more characters over single separators.
    ("numbers", r"\b[A-Za-z]{2}[ \-]?[0-9]{2}(?:[ .\-]?[A-Za-z0-9]){11}", False),
    # structure.py: -u / --user and -p flags, compared literals, PostgreSQL details.
    ("flags", r"-(?:u|-user|p)(?:[ =]|" + _WS + ")", False),
    ("comparisons", r"[\"']" + _WS + "*[=!]=", False),
    ("pg_details", r"Key \(|Failing row|invalid input|value too long", False),
    # detectors.py: a placeholder that came back percent-encoded (not a pass step).
    ("rebracket", r"%5B[^%\x00]{1,60}%5D", True),
)


_SPLIT = "[_.\\-]"


def _spaced(word: str) -> str:
    """A seed whose letters may be split by ``_``, ``.`` or ``-`` (compact key forms)."""
    return (_SPLIT + "*").join(re.escape(c) for c in word)


# The whole words of structure.py's markup and argument steps (structure._SEEDED).
_WORDS = "(?:" + "|".join(sorted(keys.SENSITIVE_WORDS | keys.WEAK_LAST_WORDS | {"key", "api"})) + ")"


def _seeds(extra: Iterable[str], split: bool = True) -> str:
    """An alternation of every text a sensitive key name must contain (keys.py).

    Words are whole in the name; fragments and extra names may be split by ``_ . -``
    (``api_key`` holds ``apikey``), unless ``split`` is False (the caller covers those, see
    ``_split_seeds``).
    """
    # ``*-key`` and ``X-…-Api`` names, and the weak names (``login=``) whose value decides.
    words = sorted(keys.SENSITIVE_WORDS | keys.WEAK_LAST_WORDS | {"key", "api"})
    spaced = _fragments(extra)
    return "(?:" + "|".join([*map(re.escape, words), *map(_spaced if split else re.escape, spaced)]) + ")"


def _fragments(extra: Iterable[str]) -> list[str]:
    """The key fragments and extra names: texts the compact form of a key must contain."""
    return sorted(set(keys.SENSITIVE_FRAGMENTS) | set(extra))


def _split_seeds(extra: Iterable[str]) -> list[str]:
    """Every fragment and extra name split by ``_ . -``, one pattern per place of the first split.

    ``_seeds(split=False)`` takes the unsplit ones; together they match what ``_seeds()`` does
    (a split seed's first separator follows one of its letters), but each pattern here starts
    with a literal (``api`` then a separator), which hyperscan finds with its literal matcher
    instead of running one large automaton over every byte: the prefilter scan costs about
    40% less.
    """
    return [re.escape(word[:i]) + _SPLIT + "+" + _spaced(word[i:])
            for word in _fragments(extra) for i in range(1, len(word))]


# A repeat at the very end of an alternative: an atom (class, escape, group or character)
# and its quantifier.
_TRAILING = re.compile(r"(\[(?:\\.|[^\]])*\]|\\.|\((?:\?:)?[^()]*\)|[^\\()\[\]|])"
                       r"(\?|\*|\+|\{(\d+)(?:,\d*)?\})\Z")


def _shortest(alternative: str) -> str:
    """An alternative cut after its required part: ``ghp_[A-Za-z0-9]{36,}`` -> ``{36}``.

    A match of the cut pattern is a prefix of every match of the whole, so it is a superset,
    and it ends once per start instead of at every character of a long token (fewer hits).
    """
    while (m := _TRAILING.search(alternative)) is not None:
        atom, quantifier, least = m[1], m[2], m[3]
        head = alternative[:m.start()]
        if quantifier in ("?", "*") or least == "0":
            alternative = head  # optional: drop it and look at what came before
            continue
        return head + atom + ("" if quantifier == "+" else f"{{{least}}}")
    return alternative


def _loosened(pattern: str) -> str:
    """A Python pattern without lookarounds, possessive quantifiers and optional tails: a superset."""
    pattern = re.sub(r"\(\?<?[!=][^()]*\)", "", pattern)
    pattern = re.sub(r"([+*?}])\+", r"\1", pattern)
    return "|".join(_shortest(a) for a in vendors._alternatives(pattern))


def conditions(extra: Iterable[str] = ()) -> list[tuple[str, str, bool]]:
    """Every necessary condition as (step, pattern, caseless), for the extra key names given."""
    pair_tail = _KEY_TAIL + r"[\\\"'\]" + _WS[1:-1] + "]*[=:]"
    found = [
        *_FIXED,
        # detectors.py pairs: a key holding a seed, then quotes, brackets or spaces, then = or :.
        # The seeds whole in one condition, split fragments in one condition per first split.
        ("pairs", _seeds(extra, split=False) + pair_tail, True),
        *(("pairs", seed + pair_tail, True) for seed in _split_seeds(extra)),
        # structure.py flags: --password x, --apikey=x; a name whose seed is split by '_' or
        # '-' (--api-key x, --sec-ret x) has an inner separator, which the second one takes.
        # (Split seeds in the first make hyperscan's compile take seconds.)
        ("flags", r"-[A-Za-z0-9_\-]*" + _seeds(extra, split=False) + r"[A-Za-z0-9_\-]*(?:[ =]|" + _WS + ")",
         True),
        ("flags", r"-[A-Za-z0-9_\-]*[_\-][A-Za-z0-9_\-]*(?:[ =]|" + _WS + ")", False),
        # structure.py markup, quoted_args and prose: a seed word in a tag, an attribute or a
        # quoted name; a credential call; a seed word before whitespace.
        ("markup", r"<[A-Za-z0-9_.\-:]*" + _WORDS + r"[A-Za-z0-9_.\-:]*>", True),
        ("markup", _WORDS + r"[^\"'\x00]*[\"']" + _WS + "*value", True),
        ("quoted_args", _WORDS + r"[A-Za-z0-9_.\-]*[\"']" + _WS + "*,", True),
        ("quoted_args", r"(?:credential|password|auth|login)[A-Za-z0-9_]*\(", True),
        ("quoted_args", r"auth" + _WS + r"*=" + _WS + r"*\(", True),
        ("flags", r"\s-p[^\s\-]", False),  # mysql -uroot -ps3cr3t
        ("prose", r"(?:key|token|secret|password|passwd|passphrase|pwd|pw|auth)" + _WS, True),
    ]
    found += [(f"vendor:{f.placeholder}", _loosened(f.pattern), False) for f in vendors.FORMATS]
    found += [(f"guarded:{name[1:-1]}", _loosened(p.pattern), False) for _, p, name in vendors.GUARDED]
    return found


class Prefilter:
    """Finds which of many strings may hold a secret, in one scan, and which steps one needs."""

    name = "none"
    _ONE_BY_ONE = 12  # up to this many strings, one match each costs less than a joined scan

    def __init__(self, found: list[tuple[str, str, bool]]) -> None:
        self._steps = [step for step, _, _ in found]

    def flagged(self, texts: list[str]) -> dict[str, set[str] | None]:
        """The ``texts`` that a detector might change (a superset), each with the steps whose
        conditions the scan saw in it, or None where it cannot tell (then ``steps_in``).

        Up to ``_ONE_BY_ONE`` strings are matched one at a time, which names each one's steps
        at once and costs less than one joined scan's match handling; more are joined.
        """
        if len(texts) <= self._ONE_BY_ONE:
            found, steps = {}, self._steps
            for text in texts:
                if JOINT in text:  # flagged as in a joined scan: the conditions exclude the joint
                    found[text] = None
                    continue
                ids = self._ids(text.encode("utf-8", "surrogatepass"))
                if ids:
                    found[text] = {steps[i] for i in ids}
            return found
        joined = JOINT.join(texts)
        if joined.count(JOINT) != len(texts) - 1:  # a string holding the joint is always flagged
            odd = dict.fromkeys(t for t in texts if JOINT in t)
            rest = [t for t in texts if t not in odd]
            return odd | self.flagged(rest) if rest else odd
        return self._scan(joined.encode("utf-8", "surrogatepass"))

    def steps_in(self, text: str) -> set[str]:
        """The detector steps whose condition ``text`` meets: the only ones that can change it."""
        steps = self._steps
        return {steps[i] for i in self._ids(text.encode("utf-8", "surrogatepass"))}

    def _scan(self, data: bytes) -> dict[str, set[str] | None]:
        raise NotImplementedError

    def _ids(self, data: bytes) -> list[int]:
        raise NotImplementedError


def _collect(condition: int, _start: int, _end: int, _flags: int, ids: list[int]) -> None:
    """hyperscan's match callback for one string: note the condition."""
    ids.append(condition)


def _text_at(data: bytes, last: int) -> tuple[str, int]:
    """The text around byte ``last`` of the joined data, and the offset of the joint after it."""
    start = data.rfind(b"\x00", 0, last) + 1
    stop = data.find(b"\x00", last)
    stop = len(data) if stop == -1 else stop
    return data[start:stop].decode("utf-8", "surrogatepass"), stop


class HyperscanPrefilter(Prefilter):
    """All conditions in hyperscan databases; matches come in order of end offset."""

    name = "hyperscan"
    _BATCH = 64  # matches taken before the scan restarts after the last flagged string

    def __init__(self, found: list[tuple[str, str, bool]], cache_dir: Path | None = None) -> None:
        import hyperscan

        super().__init__(found)
        self._hs = hyperscan
        caseless = [hyperscan.HS_FLAG_CASELESS if c else 0 for _, _, c in found]
        # One database for the batch (every match, so each string's own is seen) and one
        # reporting each condition once, for the steps of a single string.
        flags = [[f | extra for f in caseless] for extra in (0, hyperscan.HS_FLAG_SINGLEMATCH)]
        expressions = [p.encode() for _, p, _ in found]
        self.cache_file = _cache_file(cache_dir, expressions, flags) if cache_dir is not None else None
        loaded = _load(self.cache_file) if self.cache_file is not None else None
        # Where the databases came from: 'cache', or 'compiled' (the tests read it).
        self.source = "cache" if loaded is not None else "compiled"
        self._db, self._once = loaded or (self._compile(expressions, f) for f in flags)
        if loaded is None and self.cache_file is not None:
            _store(self.cache_file, self._db, self._once)
        self._local = threading.local()  # scratch space is per thread (hs docs, scratch)

    def _compile(self, expressions: list[bytes], flags: list[int]):
        db = self._hs.Database(mode=self._hs.HS_MODE_BLOCK)
        db.compile(expressions=expressions, ids=list(range(len(expressions))), elements=len(expressions),
                   flags=flags)
        return db

    def _scratches(self) -> tuple:
        """This thread's scratch space for each database (hs docs: never shared by threads)."""
        pair = getattr(self._local, "scratch", None)
        if pair is None:
            pair = self._local.scratch = (self._hs.Scratch(self._db), self._hs.Scratch(self._once))
        return pair

    def _ids(self, data: bytes) -> list[int]:
        ids: list[int] = []
        try:  # the thread's scratch without a method call: this runs once per flagged string
            scratch = self._local.scratch[1]
        except AttributeError:
            scratch = self._scratches()[1]
        # Positional: the binding's keyword parsing costs more than a short string's scan.
        self._once.scan(data, _collect, 0, ids, scratch)
        return ids

    def _scan(self, data: bytes) -> dict[str, set[str] | None]:
        view, scratch, limit, steps = memoryview(data), self._scratches()[0], self._BATCH, self._steps
        found: dict[str, set[str] | None] = {}
        matches: list[tuple[int, int]] = []

        def on_match(condition, _start, end, _flags, _context):
            matches.append((end, condition))
            return len(matches) >= limit

        pos = 0
        while pos < len(data):
            try:
                self._db.scan(view[pos:], on_match, 0, None, scratch)  # handler, flags, context
                stopped = False
            except self._hs.ScanTerminated:
                stopped = True
            stop, seen = -1, set()
            for end, condition in matches:  # in order of end offset (hs docs, runtime)
                if pos + end > stop:
                    text, stop = _text_at(data, pos + end - 1)
                    seen = found.setdefault(text, set())  # None stays: cut short before
                if seen is not None:
                    seen.add(steps[condition])
            matches.clear()
            if not stopped:
                break
            found[text] = None  # cut short: its other matches were not seen
            pos = stop + 1
        return found


# The CPU features hyperscan's compiler targets (its fat runtime picks AVX2, AVX-512 ...), part of
# the cache file's name so that a cache directory shared by different machines keeps one per CPU.
_CPU_FLAGS = frozenset({"sse4_2", "popcnt", "bmi2", "avx2", "avx512f", "avx512bw", "avx512vbmi"})


def _cpu() -> str:
    """The machine and the CPU flags of ``_CPU_FLAGS`` it has (Linux's /proc/cpuinfo, else none)."""
    flags: set[str] = set()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            for line in info:
                if line.startswith("flags"):
                    flags = set(line.partition(":")[2].split()) & _CPU_FLAGS
                    break
    except OSError:
        pass
    return " ".join([platform.machine(), *sorted(flags)])


def _cache_file(cache_dir: Path, expressions: list[bytes], flags: list[list[int]]) -> Path:
    """The cache file of these databases: a hash of all that went into compiling them."""
    import hyperscan

    key = json.dumps({
        "expressions": [e.decode("latin-1") for e in expressions], "ids": list(range(len(expressions))),
        "flags": flags, "mode": hyperscan.HS_MODE_BLOCK, "format": 1,
        "hyperscan": getattr(hyperscan, "__version__", ""), "cpu": _cpu(),
    }, sort_keys=True)
    return cache_dir / f"prefilter-{hashlib.sha256(key.encode()).hexdigest()}.hsdb"


def _load(path: Path) -> tuple | None:
    """The two databases stored at ``path``, or None (then they are compiled and stored again).

    The file is the SHA-256 of the rest, the first database's length (8 bytes) and both
    databases as hyperscan serialized them: a changed byte would be a database that misses
    secrets, so a file whose digest does not match, of another user or writable by others is
    not loaded (hyperscan itself checks its version, the CPU and the mode).
    """
    import hyperscan

    try:
        with open(path, "rb") as f:
            stat = os.fstat(f.fileno())
            if stat.st_uid != os.getuid() or stat.st_mode & 0o022:
                logger.info("scrub prefilter cache %s is not this user's alone: compiling", path)
                return None
            data = f.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        logger.info("scrub prefilter cache %s unreadable (%s): compiling", path, type(exc).__name__)
        return None
    try:
        digest, body = data[:32], data[32:]
        if hashlib.sha256(body).digest() != digest:  # truncated or altered: loadb may not see it
            raise ValueError("checksum")
        first = int.from_bytes(body[:8], "big")
        loaded = tuple(hyperscan.loadb(part, hyperscan.HS_MODE_BLOCK)
                       for part in (body[8:8 + first], body[8 + first:]))
    except (ValueError, hyperscan.error) as exc:
        logger.info("scrub prefilter cache %s is not a usable database (%s): compiling it again", path,
                    type(exc).__name__)
        return None
    logger.debug("scrub prefilter loaded from %s", path)
    return loaded


def _store(path: Path, db, once) -> None:
    """Write both databases to ``path`` at once (a temporary file, then a rename), mode 0600."""
    import hyperscan

    first, second = hyperscan.dumpb(db), hyperscan.dumpb(once)
    temp = None
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".prefilter-", suffix=".tmp")  # mode 0600
        with os.fdopen(fd, "wb") as f:
            body = len(first).to_bytes(8, "big") + first + second
            f.write(hashlib.sha256(body).digest() + body)
        os.replace(temp, path)
        temp = None
        logger.debug("scrub prefilter compiled and stored in %s", path)
    except OSError as exc:
        logger.info("scrub prefilter cache %s not written (%s): compiled in each process", path,
                    type(exc).__name__)
    finally:
        if temp is not None:
            with contextlib.suppress(OSError):
                os.unlink(temp)


class Re2Prefilter(Prefilter):
    """All conditions as one google-re2 pattern and as one re2 Set.

    A few strings meet the Set one by one, which names the steps each needs; many are joined
    and searched with the one pattern from each string after a hit, and only the strings hit
    meet the Set. The compiled objects are called directly: the Python
    wrappers of google-re2 (a generator and a match object per search) cost a few
    microseconds per call, more than a short string's own match.
    """

    name = "re2"

    def __init__(self, found: list[tuple[str, str, bool]]) -> None:
        import re2

        super().__init__(found)
        options = re2.Options()
        options.encoding = re2.Options.Encoding.LATIN1  # bytes, as hyperscan sees them
        options.never_capture = True
        options.max_mem = 64 << 20
        wrapped = [f"(?i:{p})" if caseless else f"(?:{p})" for _, p, caseless in found]
        regex = re2.compile("|".join(wrapped).encode("latin-1"), options)
        regex_set = re2.Set.SearchSet(options)
        for pattern in wrapped:
            regex_set.Add(pattern.encode("latin-1"))
        regex_set.Compile()
        # The compiled RE2 and RE2::Set (google-re2 >= 1.1), else the public wrappers.
        raw, raw_set = getattr(regex, "_regexp", None), getattr(regex_set, "_set", None)
        if raw is not None and raw_set is not None:
            unanchored = type(raw).Anchor.UNANCHORED
            self._first = lambda data, pos: raw.Match(unanchored, data, pos, len(data))[0][0]
            self._match_set = raw_set.Match
        else:
            self._first = lambda data, pos: m.start() if (m := regex.search(data, pos)) else -1
            self._match_set = lambda data: regex_set.Match(data) or []

    def _ids(self, data: bytes) -> list[int]:
        return self._match_set(data)

    def _scan(self, data: bytes) -> dict[str, set[str] | None]:
        first, match, steps, found, pos = self._first, self._match_set, self._steps, {}, 0
        while (start := first(data, pos)) != -1:
            begin = data.rfind(b"\x00", 0, start) + 1
            stop = data.find(b"\x00", start)
            stop = len(data) if stop == -1 else stop
            piece = data[begin:stop]
            ids = match(piece)  # empty when the hit spans a joint: the string alone is clean
            if ids:
                found[piece.decode("utf-8", "surrogatepass")] = {steps[i] for i in ids}
            if stop == len(data):
                break
            pos = stop + 1
        return found


def compile_gate(engine: str, extra: frozenset[str] = frozenset(),
          cache_dir: Path | None = None) -> Prefilter | None:
    """The prefilter for ``engine`` ('auto', 'hyperscan', 're2' or 'python'), or None.

    'auto' takes the first engine of ``AUTO`` whose wheel imports; 'python' (or 'auto' with
    none) gives None: every string runs the detectors. Naming a missing engine is an
    ImportError. With ``cache_dir``, hyperscan's databases are loaded from there when a
    process before compiled them, else compiled and stored there.
    """
    if engine not in ("auto", "python", *ENGINES):
        raise ValueError(f"engine must be one of auto, python, {', '.join(ENGINES)}; got {engine!r}")
    for name in AUTO if engine == "auto" else () if engine == "python" else (engine,):
        try:
            return _compiled(name, extra, cache_dir)
        except ImportError:
            if engine == name:
                raise
    return None


def available() -> tuple[str, ...]:
    """The engines of ENGINES whose wheels import here (compiling each once, as build does)."""
    found = []
    for name in ENGINES:
        try:
            _compiled(name, frozenset())
        except ImportError:
            continue
        found.append(name)
    return tuple(found)


@lru_cache(maxsize=16)
def _compiled(name: str, extra: frozenset[str], cache_dir: Path | None = None) -> Prefilter:
    """One compiled prefilter per engine, extra key names and cache, shared by every Scrubber."""
    if name == "hyperscan":
        return HyperscanPrefilter(conditions(sorted(extra)), cache_dir)
    return Re2Prefilter(conditions(sorted(extra)))
