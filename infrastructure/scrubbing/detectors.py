"""Value detectors: find secrets inside any string and replace them with typed placeholders.

Python's ``re`` walks a character class at a few nanoseconds per character, while a literal
``in`` test is a fast substring search, so each detector sits behind literal tests and the
usual string (a class name, a short repr, a source line) costs a few ``in`` tests and at most
one or two scans. Order matters where detectors overlap: credentials in URLs before e-mail
addresses, tokens before ``key=value`` pairs (so ``api_key=[stripe_key]`` keeps its meaning),
and all of these before the digit detectors.
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
        n = len(s)
        if n < _MIN_LEN:
            return s
        colon = ":" in s
        if colon and "://" in s:
            s = _urls(s)
        if n >= _MIN_TOKEN_LEN:
            s = _tokens(s)
        if colon or "=" in s:
            s = self._pairs(s, source)
            if "::" in s or s.count(":") >= 7:
                s = p.IPV6.sub(_ipv6, s)
        if "@" in s:
            s = _emails(s)
        if n >= 7 and p.DIGIT_RUN.search(s) is not None:
            s = _numbers(s)
        return s

    def _pairs(self, s: str, source: bool) -> str:
        """Filter the values of sensitive ``key=value`` pairs."""
        rev = s[::-1]
        known = self._reversed_keys
        for pattern in _separators(s):
            for key in pattern.findall(rev):
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
        for pattern in _separators(s):
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


def _separators(s: str) -> tuple:
    """The key patterns for the separators present in ``s``."""
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
        s = p.URL_PASSWORD.sub(r"\1[password]@", s)
    return s


def _tokens(s: str) -> str:
    """Replace key blocks, JWTs, bearer tokens, vendor keys and cookie headers.

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
    if ("k" in s or "K" in s) and ("ookie" in s or "OOKIE" in s):
        s = p.COOKIE_HEADER.sub(r"\1\2[Filtered]", s)
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
    out, pos = [], 0
    for m in p.DIGITS.finditer(s):
        kind, (start, end) = m.lastgroup, m.span()
        if kind == "iban":
            start -= 2  # the country code sits before the check digits
        new = _DIGIT_HANDLERS[kind](s[start:end])
        if new is not None and start >= pos:
            out += (s[pos:start], new)
            pos = end
    return "".join(out) + s[pos:] if out else s


def _card(run: str) -> str | None:
    """A whole run that is a card, else any card in a usual layout inside the run."""
    digits = run.replace(" ", "").replace("-", "")
    if p.is_card(digits):
        return "[card]"
    if len(digits) <= 13:
        return None
    new = p.CARD_GROUPED.sub(_grouped_card, run)
    return new if new != run else None


def _grouped_card(m: re.Match) -> str:
    """Replace a 4-4-4-4 style group inside a longer digit run when it is a card."""
    return "[card]" if p.is_card(m[0].replace(" ", "").replace("-", "")) else m[0]


def _ssn(text: str) -> str | None:
    """A valid US SSN."""
    return "[ssn]" if p.is_ssn(text) else None


def _iban(text: str) -> str | None:
    """The valid IBAN at the start of ``text``; otherwise look for digit secrets in it."""
    end = p.iban_end(text)
    if end:
        return "[iban]" + text[end:]
    new = _numbers(text[2:])  # e.g. a card number glued to two capital letters
    return text[:2] + new if new != text[2:] else None


def _ipv4(text: str) -> str | None:
    """A dotted quad whose parts are 0-255."""
    return "[ip]" if p.ipv4_ok(text) else None


_DIGIT_HANDLERS = {"card": _card, "ssn": _ssn, "iban": _iban, "ip": _ipv4}
