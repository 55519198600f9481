"""Value detectors: find secrets inside any string and replace them with typed placeholders.

Python's ``re`` walks a character class at a few nanoseconds per character, while a literal
``in`` test is a fast substring search, so each detector sits behind literal tests and the
usual string (a class name, a short repr, a source line) costs a few ``in`` tests and at most
one or two scans. Order matters where detectors overlap: credentials in URLs before e-mail
addresses, and every value detector before ``key=value`` pairs, so ``api_key=[stripe_key]``
and ``password: [card]`` keep their meaning.
"""

from __future__ import annotations

import re

from . import patterns as p
from .keys import KeyRules

FILTERED = "[Filtered]"
_MIN_LEN = 5  # the shortest secret we look for is ``pwd=x``
_MIN_TOKEN_LEN = 15  # the shortest bearer token, JWT or vendor key we recognise
_QUOTES = "\"'\\"
_CACHE_LIMIT = 4096
_MAX_ROUNDS = 4  # passes until stable; a pass that changes something removes a secret
_SHORT_TEXT = 200
_DELIMITERS = " \t\r\n\"'()[]{},;&=<>|"
_PLACEHOLDERS = frozenset({
    "card", "ssn", "iban", "email", "ip", "jwt", "token", "aws_key", "stripe_key",
    "github_token", "slack_token", "slack_webhook", "google_api_key", "private_key",
    "password", "Filtered",
})
_MAX_ANCHORS = 16  # above this many '@', one linear regex scan beats a loop per '@'


class TextScrubber:
    """Replaces secrets found in free text with typed placeholders such as ``[card]``."""

    def __init__(self, keys: KeyRules) -> None:
        self._sensitive = keys.is_sensitive
        self._reversed_keys: dict[str, bool] = {}  # reversed key -> verdict, see _pairs

    def scrub(self, s: str, source: bool = False) -> str:
        """Return ``s`` with every secret replaced (``s`` itself when none is found).

        ``source=True`` is for source lines: a sensitive name's value is only filtered when
        it is a literal (quoted or digits), since ``password=password`` in code is a name.
        """
        if len(s) < _MIN_LEN:
            return s
        # Another pass runs while one changed something that may hide more: a secret glued
        # to another (``4111…AKIA…``, ``10.0.0.1 4111…``) only shows its boundary once the
        # first one is a placeholder, and a spaced card turned ``[card]`` can join its
        # neighbours into one token. A second scrub must find nothing left (idempotence).
        new, rounds = self._pass(s, source), 1
        while new is not s and rounds < _MAX_ROUNDS and _may_hide_more(s, new):
            s, new, rounds = new, self._pass(new, source), rounds + 1
        return new

    def _pass(self, s: str, source: bool) -> str:
        """Every value detector, then the pairs.

        Pairs go last: ``password: 4111 1111 1111 1111`` becomes ``password: [card]`` rather
        than filtering the first group only, and placeholders already there are kept.
        """
        s = _values(s)
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
        for pattern in _separators(s, short):
            keys = pattern.findall(rev)
            for key in keys if short else set(keys):  # long texts repeat their keys
                verdict = known.get(key)
                if verdict is None:
                    verdict = self._sensitive(key[::-1])
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
                if self._sensitive(m[1][::-1]):
                    value = p.VALUE.match(s, n - m.start())
                    if value is not None:
                        spans.append((value.start("val"), value.end("val"), value["val"]))
        out, pos = [], 0
        for start, end, val in sorted(spans):
            if start < pos:
                continue  # inside a value filtered already
            new = _filtered_value(val, source)
            if new is not None:
                out += (s[pos:start], new)
                pos = end
        return "".join(out) + s[pos:] if out else s


def _may_hide_more(old: str, new: str) -> bool:
    """True when the change from ``old`` to ``new`` may let the detectors find more.

    That is when a placeholder is glued to text that could end or start a secret, or when a
    secret with spaces (a grouped card) became a placeholder touching anything but
    whitespace, which can join its neighbours into one token (``a://u:x;[card],y@h``).
    A loop over the few '[' is cheaper than a regex scan.
    """
    if new == old:
        return False
    spaced = new.count(" ") != old.count(" ")
    if new.count("[") > _MAX_ANCHORS:
        return spaced or p.GLUED_PLACEHOLDER.search(new) is not None
    start = new.find("[")
    while start != -1:
        end = new.find("]", start)
        if end == -1:
            return False
        if new[start + 1:end] in _PLACEHOLDERS and _glued(new, start, end, spaced):
            return True
        start = new.find("[", start + 1)
    return False


def _glued(s: str, start: int, end: int, spaced: bool) -> bool:
    """True when the placeholder ``s[start:end + 1]`` touches a possible secret."""
    before, after = s[start - 1:start], s[end + 1:end + 2]
    if spaced and ((before and not before.isspace()) or (after and not after.isspace())):
        return True
    if s[start + 1:end] == "password":  # ``://user:[password]@`` always sits like this
        before, after = ("" if before == ":" else before), ("" if after == "@" else after)
    if (before and before not in _DELIMITERS) or (after and after not in _DELIMITERS):
        return True
    return (before in (" ", "-") and start >= 2 and s[start - 2].isdigit()) or (
        after in (" ", "-") and s[end + 2:end + 3].isdigit())


def _values(s: str) -> str:
    """One pass of every value detector, each behind its literal pre-check."""
    n, colon = len(s), ":" in s
    if colon and "://" in s:
        s = _urls(s)
    if n >= _MIN_TOKEN_LEN:
        s = _tokens(s)
    if colon and ("ookie" in s or "OOKIE" in s):
        s = p.COOKIE_HEADER.sub(_cookie_header, s)
    if "@" in s:
        s = _emails(s)
    if colon and ("::" in s or (s.count(":") >= 7 and p.IPV6_FULL.search(s) is not None)):
        s = p.IPV6.sub(_ipv6, s)
    if n >= 7 and p.DIGIT_RUN.search(s) is not None:
        s = _numbers(s)
    return s


def _separators(s: str, short: bool) -> tuple:
    """The key patterns for the separators present in ``s``.

    One scan for both separators is cheaper on a short string; on a long one, two scans for
    a literal separator each skip ahead faster than one scan for a class.
    """
    if short:
        return (p.KEY_BEFORE_SEPARATOR,)
    if "=" in s:
        return (p.KEY_BEFORE_EQUALS, p.KEY_BEFORE_COLON) if ":" in s else (p.KEY_BEFORE_EQUALS,)
    return (p.KEY_BEFORE_COLON,)


def _filtered_value(val: str, source: bool) -> str | None:
    """Return the filtered form of a value, or None when it reveals nothing."""
    if val[0] in _QUOTES:
        quote = val[:2] if val[0] == "\\" else val[0]
        inner = val[len(quote): -len(quote)]
        if not inner or p.KEEP_VALUE.fullmatch(inner):
            return None
        return f"{quote}{FILTERED}{quote}"
    if source and not val.isdigit():
        return None  # an unquoted value in code is an expression, not a literal
    scheme, _, rest = val.rpartition(" ")
    if p.KEEP_VALUE.fullmatch(rest):
        return None
    return f"{scheme} {FILTERED}" if scheme else FILTERED


def _urls(s: str) -> str:
    """Replace Slack webhook URLs and passwords in ``scheme://user:password@host``."""
    if "hooks.slack.com" in s:
        s = p.SLACK_WEBHOOK.sub("[slack_webhook]", s)
    if "@" in s:
        s = p.URL_PASSWORD.sub(_url_password, s)
    return s


def _url_password(m: re.Match) -> str:
    """Keep the scheme and user of a URL; replace its password."""
    return m[1] + "[password]@"


def _cookie_header(m: re.Match) -> str:
    """Keep a Cookie / Set-Cookie header's name; filter its whole value."""
    return m[1] + m[2] + FILTERED


def _tokens(s: str) -> str:
    """Replace key blocks, JWTs, bearer tokens and vendor keys.

    A one-character test (a fast ``memchr``) guards each longer substring test.
    """
    if "_" in s:
        if "k_live_" in s or "k_test_" in s:
            s = p.STRIPE_KEY.sub("[stripe_key]", s)
        if "gh" in s:
            s = p.GITHUB_TOKEN.sub("[github_token]", s)
    if "J" in s and "eyJ" in s:
        s = p.JWT.sub("[jwt]", s)
    if "A" in s:
        if "AKIA" in s or "ASIA" in s:
            s = p.AWS_KEY.sub("[aws_key]", s)
        if "AIza" in s:
            s = p.GOOGLE_KEY.sub("[google_api_key]", s)
    if "-" in s:
        if "-----BEGIN" in s:
            s = p.PRIVATE_KEY.sub(_private_key, s)
        if "xox" in s:
            s = p.SLACK_TOKEN.sub("[slack_token]", s)
    if ("r" in s or "R" in s) and ("earer" in s or "EARER" in s):
        s = p.BEARER.sub(_bearer, s)
    return s


def _private_key(m: re.Match) -> str:
    """Replace a PEM block, keeping its line breaks so joined source lines still split."""
    return "[private_key]" + "\n" * m[0].count("\n")


def _bearer(m: re.Match) -> str:
    """Replace a bearer token, but not an ordinary lowercase word after 'bearer' in prose."""
    token = m[3]
    if len(token) < 20 and token.isalpha() and token.islower():
        return m[0]
    return f"{m[1]}{m[2]}[token]"


def _emails(s: str) -> str:
    """Replace e-mail addresses, working outwards from each '@'."""
    if s.count("@") > _MAX_ANCHORS:
        return p.EMAIL.sub(_email, s)
    rev, n, out, pos = s[::-1], len(s), [], 0
    at = s.find("@")
    while at != -1:
        local = p.LOCAL_REVERSED.match(rev, n - at)
        domain = p.DOMAIN.match(s, at + 1)
        keep = p.email_domain_ok(domain[0]) if local and domain else 0
        start = at - len(local[0]) if keep else -1
        if start >= pos:
            out += (s[pos:start], "[email]")
            pos = at + 1 + keep
        at = s.find("@", at + 1)
    return "".join(out) + s[pos:] if out else s


def _email(m: re.Match) -> str:
    """Replace an address whose domain ends in a plausible TLD; keep any trailing junk."""
    text = m[0]
    at = text.index("@")
    keep = p.email_domain_ok(text[at + 1:])
    if not keep:
        return text
    return "[email]" + text[at + 1 + keep:]


def _ipv6(m: re.Match) -> str:
    """Replace a valid IPv6 address."""
    return "[ip]" if p.ipv6_ok(m[0]) else m[0]


def _numbers(s: str) -> str:
    """Replace cards, SSNs, IPv4 addresses and IBANs found by one scan."""
    out, pos, at = [], 0, 0
    while (m := p.DIGITS.search(s, at)) is not None:
        start = m.start()
        if m.lastgroup == "iban":
            size = p.iban_end(s[start - 2:m.end()])  # the country code precedes the match
            if size and start - 2 >= pos:
                out += (s[pos:start - 2], "[iban]")
                pos = at = start - 2 + size  # the match may run on into a next number
                continue
            m = p.DIGITS_NO_IBAN.match(s, start)  # not an IBAN: a card, SSN or IP?
            if m is None:
                at = start + 1
                continue
        kind, end = m.lastgroup, m.end()
        if kind == "card":
            new, end = _card_run(s, start, end)
        else:
            new = _ssn(m[0]) if kind == "ssn" else _ipv4(m[0])
        if new is not None:
            out += (s[pos:start], new)
            pos = end
        at = end
    return "".join(out) + s[pos:] if out else s


def _card_run(s: str, start: int, end: int) -> tuple[str | None, int]:
    """Scrub the digit run ``s[start:end]``; return its replacement and where it ends.

    A run followed by '.' gives its last group back to the scan: ``4111… 10.0.0.1`` is a
    card, then an IP address, not one run and a stray ``.0.0.1``.
    """
    run = s[start:end]
    if s.startswith(".", end):
        cut = max(run.rfind(" "), run.rfind("-"))
        if cut > 0:
            run, end = run[:cut], start + cut
    return _card(run), end


def _card(run: str) -> str | None:
    """A whole run that is a card, else cards in usual layouts and SSNs inside the run."""
    digits = run.replace(" ", "").replace("-", "")
    if p.is_card(digits):
        return "[card]"
    new = p.CARD_GROUPED.sub(_grouped_card, run) if len(digits) > 13 else run
    if "-" in new:
        new = p.SSN_IN_RUN.sub(_ssn_in_run, new)
    return new if new != run else None


def _ssn_in_run(m: re.Match) -> str:
    """Replace a valid SSN found inside a longer digit run."""
    return "[ssn]" if p.is_ssn(m[0]) else m[0]


def _grouped_card(m: re.Match) -> str:
    """Replace a part of a longer digit run when it is a card."""
    return "[card]" if p.is_card(m[0].replace(" ", "").replace("-", "")) else m[0]


def _ssn(text: str) -> str | None:
    """A valid US SSN."""
    return "[ssn]" if p.is_ssn(text) else None


def _ipv4(text: str) -> str | None:
    """A dotted quad whose parts are 0-255."""
    return "[ip]" if p.ipv4_ok(text) else None
