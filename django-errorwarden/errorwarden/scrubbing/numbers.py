"""Cards, SSNs, IPv4 addresses and IBANs, found by one scan for digit runs (patterns.DIGITS).

Each candidate is checked before it is replaced: Luhn and the card networks' first digits,
the SSN's area, group and serial, the IPv4 parts (loopback and versions kept), the IBAN
country length and mod-97.
"""

from __future__ import annotations

import re

from . import patterns as p


def replace_numbers(s: str) -> str:
    """Replace cards, SSNs, IPv4 addresses and IBANs found by one scan (IBANs written in lower
    case or in irregular groups first, by their own)."""
    if p.IBAN_LOOSE.search(s) is not None:
        s = _loose_ibans(s)
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
            if new is not None and (_in_hex_id(s, start, end) or _glued_to_letters(s, start, end)):
                new = None
        else:
            new = _ssn(m[0]) if kind == "ssn" else _ipv4(m[0], s, start)
        if new is not None:
            out += (s[pos:start], new)
            pos = end
        at = end
    return "".join(out) + s[pos:] if out else s


def _loose_ibans(s: str) -> str:
    """Replace the IBANs IBAN_LOOSE finds and iban_loose_end confirms."""
    out, pos = [], 0
    for m in p.IBAN_LOOSE.finditer(s):
        start = m.start() - 3 if s[m.start() - 1] in " -" else m.start() - 2  # the country code
        if start < pos or s[start] not in _ASCII_LETTERS or (start and s[start - 1] in _WORD):
            continue
        end = p.iban_loose_end(s, start)
        if end:
            out += (s[pos:start], "[iban]")
            pos = end
    return "".join(out) + s[pos:] if out else s


_ASCII_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_WORD = _ASCII_LETTERS | frozenset("0123456789_")  # what a country code may not follow


def _glued_to_letters(s: str, start: int, end: int) -> bool:
    """A digit run with a letter right before or after it (``DK5000…``, ``…0318X``) is part of
    an account number, a reference or an id, not a card on its own."""
    return (start > 0 and s[start - 1] in _ASCII_LETTERS) or (end < len(s) and s[end] in _ASCII_LETTERS)


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
