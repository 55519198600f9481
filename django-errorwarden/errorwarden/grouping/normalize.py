"""Turn variable parts of messages and URLs into placeholders so they stop splitting issues."""

from __future__ import annotations

import ipaddress
import re

# Every pattern is anchored on a left boundary (a lookbehind) and uses bounded or possessive
# quantifiers, so each start position is tried once and never re-scans a long run: the whole
# pass stays linear even on adversarial input like 'aaaa…@aaaa…@' or a 1 MB digit run.
_QUOTED = re.compile(r"""(?<!\w)(?:'[^'\n]{0,200}+'|"[^"\n]{0,200}+")(?!\w)""")
_UUID = re.compile(
    r"(?<![A-Za-z0-9])[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-"
    r"[0-9A-Fa-f]{12}(?![A-Za-z0-9])"
)
_TIMESTAMP = re.compile(
    r"(?<![A-Za-z0-9])\d{4}-\d{2}-\d{2}"
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?"
    r"(?![A-Za-z0-9])"
)
_EMAIL = re.compile(
    r"(?<![\w.+-])[\w.+-]{1,64}+@[A-Za-z0-9-]{1,63}+(?:\.[A-Za-z0-9-]{1,63}+){1,8}+"
)
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)")
_IPV6_CANDIDATE = re.compile(r"(?<![\w:])[0-9A-Fa-f]{0,4}+(?::[0-9A-Fa-f]{0,4}+){2,7}+(?![\w:])")
# A hex id needs both a digit and a letter: words of a-f letters ("deadbeef") are rare, and
# all-digit tokens must become <num> like their shorter siblings ("Order 7" and
# "Order 12345678" are one issue).
_HEX = re.compile(
    r"(?<![A-Za-z0-9])(?:0x)?+(?=[A-Fa-f]{0,64}+\d)(?=\d{0,64}+[A-Fa-f])[0-9A-Fa-f]{8,}+"
    r"(?![A-Za-z0-9])"
)
_NUMBER = re.compile(r"(?<![A-Za-z0-9])-?\d++(?:[.,]\d++)*+")

_DIGIT = re.compile(r"\d")

_ROUTE_CONVERTER = re.compile(r"<(?:[A-Za-z_]\w{0,63}:)?([A-Za-z_]\w{0,63})>")
_ID_SEGMENT = re.compile(
    r"^(?:\d{1,40}|[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
    r"|(?=[A-Za-z]{0,64}\d)[0-9A-Fa-f]{8,64})$"
)


def _ipv6(match: re.Match) -> str:
    text = match.group(0)
    if not any(c.isdigit() for c in text):
        return text
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return text
    return "<ip>"


def normalize_message(text: str) -> str:
    """Replace numbers, hex ids, UUIDs, emails, IPs, timestamps and quoted values by placeholders."""
    if not isinstance(text, str):
        text = str(text)
    text = _QUOTED.sub("<str>", text) if ("'" in text or '"' in text) else text
    # Cheap C-level gates first: most messages skip most passes.
    if "@" not in text and _DIGIT.search(text) is None:
        return text
    text = _UUID.sub("<uuid>", text)
    text = _TIMESTAMP.sub("<ts>", text)
    if "@" in text:
        text = _EMAIL.sub("<email>", text)
    text = _IPV4.sub("<ip>", text)
    if "::" in text or text.count(":") >= 7:
        text = _IPV6_CANDIDATE.sub(_ipv6, text)
    text = _HEX.sub("<hex>", text)
    return _NUMBER.sub("<num>", text)


def normalize_route(route: str, concrete: bool = False) -> str:
    """One route shape: '<int:pk>' becomes '{pk}'; ids in a concrete path become '{id}'."""
    route = route.split("?", 1)[0].split("#", 1)[0]
    route = _ROUTE_CONVERTER.sub(r"{\1}", route)
    if not concrete:
        return route
    return "/".join("{id}" if _ID_SEGMENT.match(s) else s for s in route.split("/"))
