"""The value detectors: typed placeholders for secrets found by their shape.

Each detector sits behind literal tests (``'@' in s``, ``'eyJ' in s`` …) that cost a fast
substring search, so the usual string pays a few of those and one digit scan. Credentials in
URLs go before e-mail addresses, so ``postgres://app:pw@db`` keeps its host.
"""

from __future__ import annotations

import re

from . import patterns as p
from . import vendors

FILTERED = "[Filtered]"
_MIN_TOKEN_LEN = 15  # the shortest bearer token, JWT or vendor key we recognise
_DELIMITERS = " \t\r\n\"'()[]{},;&=<>|"
_PLACEHOLDERS = p.PLACEHOLDER_NAMES
# (literals, format): a format's scan runs only when one of its literals is in the text.
_GATES = tuple((tuple(dict.fromkeys(f.literals)), f) for f in vendors.FORMATS)
_MAX_ANCHORS = 16  # above this many '@' or '[', one linear regex scan beats a loop


def replace_values(s: str) -> str:
    """Return ``s`` after one pass of every value detector (``s`` itself if none fired)."""
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


def may_hide_more(old: str, new: str) -> bool:
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
    """Replace key blocks, JWTs, bearer tokens and vendor credentials.

    Each vendor format sits behind its literal prefixes (a fast substring search each); the
    event-level pre-filter (engine.py) already spared most strings this function entirely.
    """
    for literals, fmt in _GATES:
        for literal in literals:
            if literal in s:
                s = fmt.regex.sub(_vendor(fmt), s)
                break
    for literal, pattern, placeholder in vendors.GUARDED:
        if literal in s:
            s = pattern.sub(placeholder, s)
    if "J" in s and "eyJ" in s:
        s = p.JWT.sub("[jwt]", s)
    if "[aws_key]" in s:
        s = vendors.AWS_SECRET_AFTER_ID.sub(r"\1[aws_secret]", s)
    if "-----BEGIN" in s:
        s = p.PRIVATE_KEY.sub(_private_key, s)
    if ("r" in s or "R" in s) and ("earer" in s or "EARER" in s):
        s = p.BEARER.sub(_bearer, s)
    return s


def _vendor(fmt: vendors.Format):
    """The replacement function for one format: its placeholder when the validator agrees."""
    placeholder = f"[{fmt.placeholder}]"
    if fmt.check is None:
        return placeholder
    return lambda m: placeholder if fmt.check(m[0]) else m[0]


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
    """Replace a valid IPv6 address, except loopback and unspecified ones."""
    text = m[0]
    return "[ip]" if p.ipv6_ok(text) and not p.ipv6_local(text) else text


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
            if new is not None and _in_hex_id(s, start, end):
                new = None
        else:
            new = _ssn(m[0]) if kind == "ssn" else _ipv4(m[0], s, start)
        if new is not None:
            out += (s[pos:start], new)
            pos = end
        at = end
    return "".join(out) + s[pos:] if out else s


_HEX_ID_CHARS = frozenset("0123456789abcdefABCDEF-")
_HEX_LETTERS = frozenset("abcdefABCDEF")
_ID_REACH = 64  # the longest id looked at: a SHA-256 in hex


def _in_hex_id(s: str, start: int, end: int) -> bool:
    """True when ``s[start:end]`` lies inside a UUID or a hex id of 24+ characters.

    Their digit groups line up into a Luhn-valid run now and then (one UUID4 in about 1,400),
    but an id is never a card. The look around is bounded, so a megabyte of hex costs no more
    than a megabyte of digits.
    """
    a, b, n = start, end, len(s)
    while a > 0 and start - a < _ID_REACH and s[a - 1] in _HEX_ID_CHARS:
        a -= 1
    while b < n and b - end < _ID_REACH and s[b] in _HEX_ID_CHARS:
        b += 1
    token = s[a:b].strip("-")
    if not _HEX_LETTERS.intersection(token):
        return False  # all digits: a run the card rules decide on
    if "-" in token:
        return bool(p.UUID.fullmatch(token))
    return 24 <= len(token) <= _ID_REACH


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


def _ipv4(text: str, s: str, start: int) -> str | None:
    """A dotted quad whose parts are 0-255, except loopback, unspecified and version numbers."""
    if not p.ipv4_ok(text) or p.ipv4_local(text) or p.ipv4_is_version(s, start):
        return None
    return "[ip]"
