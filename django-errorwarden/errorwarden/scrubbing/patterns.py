"""Compiled patterns and validators used by the value detectors.

Every quantifier is bounded or possessive, so no pattern backtracks over a long input. The
patterns run on every string start with a literal or a character class, which ``re`` skips
ahead to with its fast prefix scan; the others run only after a literal pre-check passed.
"""

from __future__ import annotations

import re
import unicodedata
from types import MappingProxyType

from . import vendors

PRIVATE_KEY = re.compile(
    r"-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----"
    r"(?:[^-]++|-(?!----END))*+"
    r"(?:-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----)?"
)
SLACK_WEBHOOK = re.compile(
    r"(?:https?://)?hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/\-]++"
)
URL_PASSWORD = re.compile(r"(://[^\s:/?#@\[\]\"'<>]{0,128}+:)[^\s/?#@\"'<>]{1,256}+@")
# Signed (header.payload.signature) and unsigned (header.payload, ``alg: none``) JWTs.
# A JWS over a short or detached payload (RFC 7515 appendix F: ``header..signature``) is one
# too when a signature of 16+ characters follows: josepy's tests sign ``foo`` (``Zm9v``).
JWT = re.compile(
    r"eyJ[A-Za-z0-9_\-]{5,}+\.(?:eyJ[A-Za-z0-9_\-]{5,}+(?:\.[A-Za-z0-9_\-]*+)?"
    r"|[A-Za-z0-9_\-]{5,}+\.[A-Za-z0-9_\-]*+|[A-Za-z0-9_\-]{0,4}+\.[A-Za-z0-9_\-]{16,}+)"
)
BEARER = re.compile(r"([Bb]earer|BEARER)(\s{1,3})([A-Za-z0-9\-._~+/]{8,}+=*+)")
COOKIE_HEADER = re.compile(
    r"((?:[Ss]et-)?[Cc]ookie|(?:SET-)?COOKIE)(\s{0,3}:[ \t]{0,3})(?=[^\s])[^\r\n]++"
)

# E-mail addresses are found from each '@': the local part is read backwards on the reversed
# string, the domain forwards; both are bounded and possessive and the domain is validated in
# Python. With many '@' the single EMAIL scan is used instead: its local part must start after
# a non-local character, so a megabyte of ``aaaa…@`` is scanned once.
# A local part may hold any letter (``Łókaść@email.com``, RFC 6531): ``\w`` is Unicode here, and
# any other character outside ASCII is read too (the combining marks of ``राम`` or of a
# decomposed ``ṩ``, a full-width at sign, U+FF20), then cut back to letters, marks and digits
# (``local_kept``): CJK punctuation before an address is no part of it.
_NON_ASCII = r"[^\x00-\x7f\s]"
LOCAL_REVERSED = re.compile(r"(?:[\w.%+\-]|" + _NON_ASCII + r"){1,64}+")
# An internationalized domain (``臺網中心.tw``, ``екзампл.ком``): any character outside ASCII is
# read, then cut back to letters, marks and digits by ``email_domain_ok``.
_DOMAIN_CHAR = r"(?:[A-Za-z0-9\-]|" + _NON_ASCII + ")"
_DOMAIN = _DOMAIN_CHAR + r"{1,63}+(?:\." + _DOMAIN_CHAR + r"{1,63}+){1,10}+"
DOMAIN = re.compile(_DOMAIN)
_LOCAL_CHAR = r"(?:[\w.%+\-]|" + _NON_ASCII + ")"
EMAIL = re.compile(
    _LOCAL_CHAR + r"(?<!" + _LOCAL_CHAR + _LOCAL_CHAR + ")" + _LOCAL_CHAR + r"{0,63}+@" + _DOMAIN
)
# RFC 5322 ``atext`` beyond the common local-part characters (``!#$%&'*+-/=?^_`{|}~@example.tld``,
# `` `@example.com``), read backwards from an '@' that one of them touches; and a quoted local
# part (``"quoted local part"@example.org``, with ``\"`` escapes, spaces and '@' inside).
SPECIALS_REVERSED = re.compile(r"[\w.%+\-!#$&'*/=?^`{|}~]{1,64}+")
QUOTED_LOCAL = re.compile(r'"(?:[^"\\\n]|\\[^\n]){0,128}+"')

# The private members of a JSON Web Key (RFC 7518 section 6: ``d``, ``p``, ``q``, ``dp``, ``dq``,
# ``qi`` of EC and RSA keys, ``k`` of a symmetric key) written as JSON or a Python repr, with a
# base64url value of 22+ characters (a 128-bit key); the public members (``x``, ``y``, ``n``,
# ``e``) are kept. A one-letter name alone says little, so the value must look drawn at random
# (``jwk_value_ok``). In a dict, a ``kty`` sibling decides instead (walker.py). A value wrapped
# or pasted with single spaces inside (python-jose's tests write one so) is one value up to its
# closing quote.
JWK_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "k"})
JWK_PRIVATE = re.compile(
    r"([\"'])(?:d[pq]?|[pqk]|qi)\1(\s{0,3}:\s{0,3})([\"'])"
    r"([A-Za-z0-9_\-+/]{22,}+(?: [A-Za-z0-9_\-+/]++)*+={0,2})\3"
)


def jwk_value_ok(value: str) -> bool:
    """A base64url key member: digits or both cases, not an identifier in snake or kebab case."""
    return (any(c.isdigit() for c in value) or (not value.islower() and not value.isupper())) and not (
        value.replace("_", "").replace("-", "").isalpha() and ("_" in value or "-" in value))


# Every card, SSN and IPv4 address, and nearly every IBAN, holds seven digits, dots or dashes in
# a row, or digits around a single space; this cheap scan spares most strings the detectors
# below. An IBAN with letters through its account part (Qatar's) need not: IBAN_LOOSE lets it in.
DIGIT_RUN = re.compile(r"[0-9](?:[0-9.\-]{6}|[0-9]{0,3} [0-9])")
# One scan for the digit detectors. Every branch starts at a digit not preceded by a digit,
# so a position inside a run is rejected by the first lookbehind, nor by "digit + '.'" (the
# fraction of a decimal number such as a float repr ``49.41837293847291`` is never a card),
# nor by ``0x`` (a hex address). The integer part of a decimal is still searched: a card
# stored as a number shows up as ``4111111111111111.0``. The IBAN branch starts at the check
# digits; the caller splices in the two country letters before them.
# A card run starts at its first digit group: a start after "digit + separator" is inside a
# run, which keeps a megabyte of spaced digit groups to one attempt. A card cut off by an IP
# address or IBAN just before it (``10.0.0.1 4111…``) is found on the detectors' next pass.
_CARD_SSN_IP = (
    r"|(?<![0-9][ \-][0-9])(?P<card>(?:[ \-]?[0-9]){12,40}+)(?![ \-]?[0-9])"
    r"|(?<!-[0-9])(?P<ssn>[0-9]{2}(?P<sep>[\-. ])[0-9]{2}(?P=sep)[0-9]{4})(?![0-9\-]|[. ][0-9])"
    r"|(?<![A-Za-z0-9.][0-9])(?P<ip>[0-9]{0,2}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3})(?![A-Za-z0-9]|\.[0-9A-Za-z])"
)
_RUN_START = r"[0-9](?<![0-9][0-9])(?<![0-9]\.[0-9])(?<!0[xX][0-9])"
DIGITS = re.compile(
    _RUN_START + r"(?:"
    r"(?<=[A-Z]{2}[0-9])(?<![A-Za-z0-9][A-Z]{2}[0-9])(?P<iban>[0-9](?: ?[A-Z0-9]){11,31}+)"
    + _CARD_SSN_IP + ")"
)
# An IBAN as people and forms write it too: any case, the country code apart from the check
# digits (by a space or a dash: ``BE-315380075470 55``), the rest split by single spaces,
# dashes or dots (``ES 58 0049 …``, ``NO07.8380.08.06006``,
# ``gb82west…``). Found from its check digits (a scan that starts with a digit class is cheaper
# than one that starts at every letter); ``iban_loose_end`` measures it from its country code.
IBAN_LOOSE = re.compile(r"[0-9](?<=[A-Za-z][ \-][0-9]|[A-Za-z]{2}[0-9])[0-9][ .\-]?[A-Za-z0-9]")
# Without the IBAN branch, for the digits of an IBAN-shaped value that failed its checks.
DIGITS_NO_IBAN = re.compile(_RUN_START + r"(?:(?!)" + _CARD_SSN_IP + ")")
# Inside a digit run that is not a card as a whole (``ref 12 4111 1111 1111 1111``): the
# usual layouts, contiguous, 4-4-4-4(-3) and 4-6-5 / 4-6-4. A card glued into a run of more
# than 41 digits is not recognised, which keeps megabyte digit runs linear.
CARD_GROUPED = re.compile(
    r"(?<![0-9])(?:[0-9]{13,19}|[0-9]{4}(?:[ \-][0-9]{4}){3}(?:[ \-][0-9]{3})?"
    r"|[0-9]{4}[ \-][0-9]{6}[ \-][0-9]{4,5})(?![0-9])"
)
# An SSN inside a digit run that the card branch took as a whole (``001-01-0001 4000…``).
SSN_IN_RUN = re.compile(r"(?<![0-9\-])[0-9]{3}-[0-9]{2}-[0-9]{4}(?![0-9\-])")
# IPv6: eight groups, six and an IPv4 tail, or a form with '::'. Requiring one of these
# shapes (not just "hex and colons") keeps times and ``a:b:c`` from reaching the validator.
_H = r"[0-9A-Fa-f]{1,4}"
# Pre-check for the form without '::' (starts with a class, so the scan skips ahead fast).
IPV6_FULL = re.compile(r"[0-9A-Fa-f][0-9A-Fa-f]{0,3}(?::[0-9A-Fa-f]{1,4}){7}")
_V4 = r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}"
IPV6 = re.compile(
    rf"(?<![\w:.])(?:(?:{_H}:){{7}}{_H}|(?:{_H}:){{6}}{_V4}"
    rf"|(?:{_H}(?::{_H}){{0,6}})?::(?:(?:{_H}:){{0,6}}(?:{_V4}|{_H}))?)(?![\w:.])"
)

# A placeholder glued to a character that can end or start a secret, or with a digit group
# next to it: only then can another pass of the detectors find more (TextScrubber.scrub).
PLACEHOLDER_NAMES = frozenset({
    "card", "ssn", "iban", "email", "ip", "jwt", "token", "slack_webhook", "private_key",
    "password", "Filtered",
}) | vendors.PLACEHOLDERS
_PLACEHOLDER = r"\[(?:" + "|".join(sorted(PLACEHOLDER_NAMES)) + r")\]"
PLACEHOLDER = _PLACEHOLDER  # one placeholder this scrubber writes, as a pattern
_GLUE = r"[^\s\"'()\[\]{},;&=<>|]"  # any character but whitespace and plain delimiters
GLUED_PLACEHOLDER = re.compile(
    r"(?:(?!:\[password\])" + _GLUE + ")" + _PLACEHOLDER  # a URL password is no glue
    + r"|(?!\[password\]@)" + _PLACEHOLDER + _GLUE
    + r"|[0-9][ \-]" + _PLACEHOLDER + "|" + _PLACEHOLDER + r"[ \-][0-9]"
)

# ``key=value`` / ``key: value`` / ``"key": "value"`` in free text, found from the separator:
# on the reversed string the separator comes first, so the scan only stops at '=' and ':'
# and the key is read backwards (its last character here is its first, a letter or '_').
# On long texts two patterns, each starting with its literal separator, because a literal
# prefix is found with a fast search while a ``[=:]`` class costs a step per character; on
# short ones the single class pattern saves a call.
# ``:=`` (Go) and ``=>`` (PHP, Ruby) read reversed as ``=:`` and ``>=``; a key may sit in
# brackets (``$config['password'] =>``), and a '-' only joins key characters (``--api-key``).
_KEY_REVERSED = (
    r"\s{0,3}\]?[\"']?\\?((?:[A-Za-z0-9_.]|-(?=[A-Za-z0-9_.])){1,64}+)(?<=[A-Za-z_])"
)
KEY_BEFORE_EQUALS = re.compile("=:?" + _KEY_REVERSED)
KEY_BEFORE_COLON = re.compile(":" + _KEY_REVERSED)
KEY_BEFORE_ARROW = re.compile(">=" + _KEY_REVERSED)
KEY_BEFORE_SEPARATOR = re.compile("(?:>=|=:?|:)" + _KEY_REVERSED)
# The value after a separator: quoted (escape-aware, one line), or a run up to a delimiter,
# optionally after an HTTP auth scheme.
# A value that only stands for one: ``${NPM_TOKEN}``, ``{{ secret }}``, ``<your-key>``, ``$VAR``,
# ``%(name)s``, ``%NAME%``, ``xxxx``, ``****``, ``changeme``, ``insert_key_here``. Kept, so a
# developer sees that a variable was never substituted (gitleaks' global allowlist lists the
# same shapes).
_TEMPLATE = (
    r"\$\{\{[^}\n]{0,80}\}\}|\$\{[^}\n]{0,80}\}|\{\{[^}\n]{0,80}\}\}|<[^<>\n]{1,60}>"
    r"|%\(\w{1,64}\)s|%[A-Za-z_][A-Za-z0-9_]{0,63}%"
)
PLACEHOLDER_VALUE = re.compile(
    _TEMPLATE + r"|\$[A-Za-z_][A-Za-z0-9_]{0,63}|[xX]{4,}|\*{3,}|\.{3,}|•{3,}"
    r"|(?i:changeme|change_me|changeit|insert[_\- ]?(?:your[_\- ]?)?(?:key|token|secret|password)[_\- ]?here"
    r"|your[_\- ]?(?:api[_\- ]?)?(?:key|token|secret|password)(?:[_\- ]?here)?"
    r"|redacted|<redacted>|dummy|placeholder"
    r"|null|none|undefined|replace[_\- ]?me|not[_\- ]?set|unset|todo|tbd|fixme|xxx"
    r"|0{8}-0{4}-0{4}-0{4}-0{12})"
)
# The value after a separator: quoted (escape-aware, one line), a template placeholder, or a
# run up to a delimiter, optionally after an HTTP auth scheme.
VALUE = re.compile(
    r"\s{0,3}(?P<open>\[\s?(?=[\"']))?"
    r"(?P<val>\"(?:[^\"\\\n]++|\\.)*+\"|'(?:[^'\\\n]++|\\.)*+'"
    r"|\\[\"'](?:[^\\\n]++|\\(?![\"']).)*+\\[\"']"
    r"|(?:(?:Basic|Bearer|Token|Digest|Negotiate|ApiKey|Key|Signature|[A-Z][A-Za-z]{1,20}-[A-Z][a-z]{1,20})\s{1,3})?"
    r"(?:" + _TEMPLATE + r"|[^\s&;,\"'<>(){}]++))"
)
KEEP_VALUE = re.compile(
    r"(?:\[[A-Za-z_ ]{1,30}\]|None|null|NULL|true|false|True|False|%s|\?|\$[0-9]{1,3}|"
    r"%\(\w{1,64}\)s|:\w{1,64}|\*+)"
)

IBAN_LENGTHS = MappingProxyType({
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18,
    "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
    "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
    # Added to the SWIFT IBAN registry since 2020 (releases 86-99): Burundi, Djibouti,
    # Falkland Islands, Libya, Mongolia, Nicaragua, Oman, Russia, Somalia, Sudan, Yemen.
    "BI": 27, "DJ": 27, "FK": 18, "LY": 25, "MN": 20, "NI": 28, "OM": 23, "RU": 33, "SO": 23,
    "SD": 18, "YE": 30,
})
# IBANs in use outside the SWIFT registry, with their lengths as the "experimental" IBAN lists
# give them (iban.com's list of countries using IBANs outside the registry and Nordea's IBAN
# table; every value of schwifty 2026.10.1's ``experimental`` test list has its country's length
# here and passes mod 97). Mostly the West and
# Central African banking zones (UEMOA, CEMAC), whose BBAN starts with a bank code that may
# hold letters (``BJ66 BJ06 …``), and others whose banks publish IBANs the registry lacks.
IBAN_LENGTHS_EXPERIMENTAL = MappingProxyType({
    "AO": 25, "BF": 28, "BJ": 28, "CF": 27, "CG": 27, "CI": 28, "CM": 27, "CV": 25, "DZ": 26,
    "GA": 27, "GQ": 27, "GW": 25, "HN": 28, "IR": 26, "KM": 27, "MA": 28, "MG": 27, "ML": 28,
    "MZ": 25, "NE": 28, "SN": 28, "TD": 27, "TG": 28,
})
# The lengths the IBAN checks use: the registry's, then the experimental ones.
IBAN_ALL_LENGTHS = MappingProxyType({**IBAN_LENGTHS_EXPERIMENTAL, **IBAN_LENGTHS})

# Luhn on bytes: summing a bytes object runs in C, and ``translate`` doubles every second digit
# (0→0, 1→2, … 5→1 (10 → 1+0), … 9→9 (18 → 1+8)) without a Python loop.
_DOUBLED = bytes.maketrans(b"0123456789", b"0246813579")
# IBAN mod-97: letters count as 10..35.
# Letters to their IBAN numbers; digits map to themselves, which changes nothing but spares
# str.translate a failed lookup (a raised and caught KeyError) per digit.
_IBAN_NUMBERS = MappingProxyType({
    **{ord(c): str(i) for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 10)},
    **{ord(d): d for d in "0123456789"}})
_HEX_DIGITS = "0123456789abcdefABCDEF"
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def luhn_ok(digits: str) -> bool:
    """Return True when an ASCII digit string passes the Luhn checksum."""
    b = digits.encode()
    return (sum(b[-1::-2]) + sum(b[-2::-2].translate(_DOUBLED)) - 48 * len(b)) % 10 == 0


def is_card(digits: str) -> bool:
    """Return True for 13-19 digits with a card-network first digit and a valid Luhn sum."""
    n = len(digits)
    # Networks start with 2-6; this keeps millisecond timestamps (1…) and 13-digit numbers
    # other than old Visa out even when their Luhn sum happens to be valid.
    # UATP (airline) cards are 15 digits starting with 1; 15 digits also keeps millisecond and
    # microsecond timestamps (13 and 16 digits starting with 1) out.
    first = digits[0]
    if not 13 <= n <= 19 or (n == 13 and first != "4") or (first not in "23456" and (first, n) != ("1", 15)):
        return False
    return luhn_ok(digits)


def is_ssn(text: str) -> bool:
    """Return True for NNN-NN-NNNN with a valid area, group and serial."""
    area, group, serial = text[:3], text[4:6], text[7:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def iban_end(text: str) -> int:
    """Return the length of the valid IBAN at the start of ``text`` (spaces allowed), or 0."""
    need = IBAN_ALL_LENGTHS.get(text[:2])
    if need is None:
        return 0
    end, seen = 0, 0  # index in text, characters other than spaces before it
    while True:
        space = text.find(" ", end)
        stop = len(text) if space == -1 else space
        if seen + stop - end >= need:
            end += need - seen
            break
        if space == -1:
            return 0  # too short
        seen, end = seen + stop - end, space + 1
    if end < len(text) and text[end] != " ":
        return 0  # glued to more characters: not an IBAN on its own
    compact = text[:end].replace(" ", "")
    return end if int((compact[4:] + compact[:4]).translate(_IBAN_NUMBERS)) % 97 == 1 else 0


_ALNUM = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
# What follows a loose IBAN's country code, per country length ``need``: ``need - 2`` letters or
# digits, each after at most one separator (space, dot, dash) between two of them: one match
# instead of a Python loop over the characters, when the body is not simply the next ones.
_IBAN_LOOSE_BODY = MappingProxyType({
    need: re.compile(r"(?:(?<=[0-9A-Za-z])[ .\-])?[0-9A-Za-z](?:[ .\-]?[0-9A-Za-z]){" + str(need - 3) + "}")
    for need in set(IBAN_ALL_LENGTHS.values())})
_IBAN_SEPARATORS = str.maketrans("", "", " .-")
_IBAN_LETTERS = MappingProxyType({c: str(i) for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 10)})


def iban_loose_end(s: str, start: int) -> int:
    """The end of the valid IBAN that IBAN_LOOSE found at ``start`` in ``s``, or 0.

    Characters are counted to the country's length, over single separators; the IBAN must not
    run on into more letters or digits, and its mod-97 must hold.
    """
    need = IBAN_ALL_LENGTHS.get(s[start:start + 2].upper())
    if need is None:
        return 0
    n, i = len(s), start + need
    body = s[start + 2:i]
    if not (len(body) == need - 2 and body.isascii() and body.isalnum()):  # separators, or none
        match = _IBAN_LOOSE_BODY[need].match(s, start + 2)
        if match is None:
            return 0
        body, i = match[0].translate(_IBAN_SEPARATORS), match.end()
    if (i < n and s[i] in _ALNUM) or (i + 1 < n and s[i] in ".-" and s[i + 1] in _ALNUM):
        return 0
    if body.isdigit():  # only the country code to turn into numbers: no translate of it all
        code = s[start:start + 2].upper()
        number = body[2:] + _IBAN_LETTERS[code[0]] + _IBAN_LETTERS[code[1]] + body[:2]
    else:
        text = (s[start:start + 2] + body).upper()
        number = (text[4:] + text[:4]).translate(_IBAN_NUMBERS)
    return i if int(number) % 97 == 1 else 0


_VERSION_WORDS = ("version ", "build ", "release ", "ver ", "firmware ", "kernel ")
_PRODUCT = re.compile(r"[A-Za-z][A-Za-z0-9_\-]{0,40}/\Z")


def ipv4_ok(text: str) -> bool:
    """Return True when four dotted parts are each 0-255, none with a leading zero.

    ``1.2.3.04`` and ``01.02.03.04`` are versions or ids: no tool prints an address that way.
    """
    return all(int(part) <= 255 and (part == "0" or part[0] != "0") for part in text.split("."))


def ipv4_is_version(s: str, start: int) -> bool:
    """True when the dotted quad at ``s[start:]`` is a version: ``Chrome/120.0.0.0``, ``build 5.15.0.91``."""
    before = s[max(0, start - 42):start].replace("+", " ")
    return before.lower().endswith(_VERSION_WORDS) or (_PRODUCT.search(before) is not None and (
        len(before) == before.rfind("/") + 1 and not before[:-1].endswith(("/", ":"))))


def ipv4_local(text: str) -> bool:
    """True for a loopback (127.0.0.0/8) or the unspecified (0.0.0.0) IPv4 address.

    They name no person and no host outside the machine, and hiding them costs debugging
    (``connection to server at "127.0.0.1" failed``), so the detector keeps them.
    """
    first, _, rest = text.partition(".")
    value = int(first)
    return value == 127 or (value == 0 and not rest.strip("0."))


def ipv6_local(text: str) -> bool:
    """True for ``::1``, ``::`` and IPv4-mapped loopback or unspecified addresses.

    ``text`` is a valid address (``ipv6_ok``). Every other address is scrubbed, private and
    link-local ones included: they map internal errorwarden.
    """
    if "." in text:  # the IPv4 tail as the last two groups
        head, _, tail = text.rpartition(":")
        a, b, c, d = (int(x) for x in tail.split("."))
        text = f"{head}:{a * 256 + b:x}:{c * 256 + d:x}"
    head, gap, tail = text.partition("::")
    front = [int(g, 16) for g in head.split(":")] if head else []
    back = [int(g, 16) for g in tail.split(":")] if tail else []
    groups = front + [0] * (8 - len(front) - len(back)) + back if gap else front
    if not any(groups[:5]):
        if groups[5] == 0 and groups[6] == 0 and groups[7] <= 1:
            return True  # :: and ::1
        if groups[5] == 0xFFFF:  # ::ffff:a.b.c.d
            return groups[6] >> 8 == 127 or not (groups[6] or groups[7])
    return False


# SSH algorithm names of the "name@domainname" form (RFC 4251 section 6), which OpenSSH and
# libssh use (``ssh-ed25519-cert-v01@openssh.com``, ``curve25519-sha256@libssh.org``): names of
# key types, ciphers and MACs, not people. The local part holds a hyphen or a digit, as every such
# name does, so a plain ``someone@openssh.com`` is still an address.
SSH_NAME_DOMAINS = frozenset({"openssh.com", "libssh.org"})
SSH_NAME = re.compile(r"[a-z][a-z0-9.+]*(?:-[a-z0-9.+]+)+|[a-z]+[0-9][a-z0-9.+-]*")


def ssh_algorithm_name(local: str, domain: str) -> bool:
    """True when ``local@domain`` is an SSH algorithm name rather than an e-mail address."""
    return domain.lower() in SSH_NAME_DOMAINS and SSH_NAME.fullmatch(local) is not None


def eui64(text: str) -> bool:
    """True for an EUI-64 hardware address: eight colon-separated groups of one or two hex digits
    (``02:00:5e:10:00:00:00:01``, as netaddr and ``ip link`` print one), which also parses as an
    IPv6 address. No address in use is written so: eight groups none above ff put it in
    0000::/8, which RFC 4291 reserves (its loopback and unspecified addresses are kept anyway,
    its IPv4-mapped ones have a four-digit ffff group), while global unicast (2000::/3),
    unique-local (fc00::/7), link-local (fe80::/10) and NAT64 (64:ff9b::/96) addresses all hold
    a four-digit group."""
    groups = text.split(":")
    return len(groups) == 8 and all(0 < len(g) <= 2 for g in groups)


def ipv6_ok(text: str) -> bool:
    """Return True when ``text`` is an IPv6 address (``::`` alone does not count)."""
    if "." in text:  # an IPv4 tail stands for the last two groups
        head, _, tail = text.rpartition(":")
        parts = tail.split(".")
        if len(parts) != 4 or not all(x.isdigit() and int(x) <= 255 for x in parts):
            return False
        text = head + ":0:0"
    if text.count("::") > 1:
        return False
    if "::" in text:
        head, tail = text.split("::")
        groups = (head.split(":") if head else []) + (tail.split(":") if tail else [])
        if not groups or len(groups) > 7:
            return False
    else:
        groups = text.split(":")
        if len(groups) != 8:
            return False
    return all(0 < len(g) <= 4 and not g.strip(_HEX_DIGITS) for g in groups)


def _cut_non_ascii(text: str, allowed: str, categories: str = "LMN") -> str:
    """``text`` up to its first character that is neither ASCII in ``allowed`` nor, outside
    ASCII, of one of the Unicode ``categories`` (major classes: letters, marks, digits…)."""
    for i, c in enumerate(text):
        if (c not in allowed) if c.isascii() else unicodedata.category(c)[0] not in categories:
            return text[:i]
    return text


_DOMAIN_ASCII = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-."
_LOCAL_ASCII = _DOMAIN_ASCII + "_%+"


def local_kept(reversed_local: str) -> int:
    """How many characters of a local part read backwards (LOCAL_REVERSED) belong to it: all
    when ASCII, else up to the first character outside ASCII that is no letter, mark, digit or
    symbol (RFC 6531 allows any). Punctuation is cut (a full-width colon or a corner bracket
    before an address in CJK text), but for the full-width at sign U+FF20: ``\uff20@fullwidth.at``
    is an address."""
    if reversed_local.isascii():
        return len(reversed_local)
    return len(_cut_non_ascii(reversed_local.replace("\uff20", "a"), _LOCAL_ASCII, "LMNS"))


def email_domain_ok(domain: str) -> int:
    """Return how many leading characters of ``domain`` form a valid host with a TLD, or 0.

    A TLD is 2-24 ASCII letters, an A-label (``xn--…``) or, outside ASCII, letters and marks
    starting with a letter (``.ком``, ``.台灣``, ``.ईन्फो``).
    """
    if not domain.isascii():
        domain = _cut_non_ascii(domain, _DOMAIN_ASCII)
    labels = domain.split(".")
    while len(labels) >= 2:
        tld = labels[-1]
        if _tld_ok(tld) and all(lab and lab[0] != "-" and lab[-1] != "-" for lab in labels):
            return len(".".join(labels))
        labels.pop()
    return 0


def _tld_ok(tld: str) -> bool:
    if tld.isascii():
        return (2 <= len(tld) <= 24 and tld.isalpha()) or tld.lower().startswith("xn--")
    return 2 <= len(tld) <= 63 and tld[0].isalpha() and all(unicodedata.category(c)[0] in "LM" for c in tld)
