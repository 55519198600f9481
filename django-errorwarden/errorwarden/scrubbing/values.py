"""The value detectors: typed placeholders for secrets found by their shape.

Each detector sits behind literal tests (``'@' in s``, ``'eyJ' in s`` …) that cost a fast
substring search, so the usual string pays a few of those and one digit scan. Credentials in
URLs go before e-mail addresses, so ``postgres://app:pw@db`` keeps its host.
"""

from __future__ import annotations

import re

from . import patterns as p
from . import vendors
from .numbers import replace_numbers

FILTERED = "[Filtered]"
_MIN_TOKEN_LEN = 15  # the shortest bearer token, JWT or vendor key we recognise
_DELIMITERS = " \t\r\n\"'()[]{},;&=<>|"
_PLACEHOLDERS = p.PLACEHOLDER_NAMES
# (literals, format): a format's scan runs only when one of its literals is in the text.
_GATES = tuple((tuple(dict.fromkeys(f.literals)), f) for f in vendors.FORMATS)
_WORD_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_MAX_ANCHORS = 16  # above this many '@' or '[', one linear regex scan beats a loop


def _urls_step(s: str) -> str:
    return _urls(s) if ":" in s and "://" in s else s


def _cookie_step(s: str) -> str:
    if ":" in s and ("ookie" in s or "OOKIE" in s):
        return p.COOKIE_HEADER.sub(_cookie_header, s)
    return s


def _emails_step(s: str) -> str:
    return _emails(s) if "@" in s else s


def _ipv6_step(s: str) -> str:
    if ":" in s and ("::" in s or (s.count(":") >= 7 and p.IPV6_FULL.search(s) is not None)):
        return p.IPV6.sub(_ipv6, s)
    return s


def _numbers_step(s: str) -> str:
    # An IBAN whose account part mixes letters and digits may hold no digit run at all
    # (Qatar's QA58VDZTMHRMT3J8Z4KX3U36MI9SL): the loose IBAN scan lets it in too.
    if len(s) >= 7 and (p.DIGIT_RUN.search(s) is not None or p.IBAN_LOOSE.search(s) is not None):
        return replace_numbers(s)
    return s


def _vendor_step(literals: tuple[str, ...], fmt: vendors.Format):
    """The step for one vendor format: its scan when one of its literals is in the text."""
    search, replacement = fmt.unbounded.search, _vendor(fmt)

    def step(s: str) -> str:
        if len(s) >= _MIN_TOKEN_LEN:
            for literal in literals:
                if literal in s:
                    return bounded_sub(search, replacement, s)
        return s
    return step


def bounded_sub(search, replacement, s: str) -> str:
    """``re.sub`` of ``(?<![A-Za-z0-9])`` + the pattern of ``search``, the lookbehind tested here.

    The same result as the vendor format's ``regex.sub``: a match not preceded by a letter or
    digit is what the full pattern matches at that place, and where the boundary fails the
    full pattern fails too, so the search goes on one character later. The text is returned
    itself when nothing is replaced (a validator may keep a match as it is).
    """
    out, pos, at = [], 0, 0
    while (m := search(s, at)) is not None:
        start, at = m.start(), m.end()
        if start and s[start - 1] in _WORD_CHARS:
            at = start + 1
            continue
        new = replacement if type(replacement) is str else replacement(m)
        if new is not replacement and new == m[0]:
            continue  # kept by its validator
        out += (s[pos:start], new)
        pos = at
    return "".join(out) + s[pos:] if out else s


def _guarded_step(literal: str, pattern: re.Pattern, placeholder: str):
    """The step for a format without a literal prefix (vendors.GUARDED)."""
    def step(s: str) -> str:
        return pattern.sub(placeholder, s) if len(s) >= _MIN_TOKEN_LEN and literal in s else s
    return step


def _jwt_step(s: str) -> str:
    return p.JWT.sub("[jwt]", s) if len(s) >= _MIN_TOKEN_LEN and "eyJ" in s else s


def _aws_secret_step(s: str) -> str:
    return vendors.AWS_SECRET_AFTER_ID.sub(r"\1[aws_secret]", s) if "[aws_key]" in s else s


def _private_key_step(s: str) -> str:
    return p.PRIVATE_KEY.sub(_private_key, s) if "-----BEGIN" in s else s


def _bearer_step(s: str) -> str:
    if len(s) >= _MIN_TOKEN_LEN and ("earer" in s or "EARER" in s):
        return p.BEARER.sub(_bearer, s)
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
    if token.endswith("=") and m.string[m.end():m.end() + 1].isalnum():
        return m[0]  # ``token_type=bearer expires_in=3600``: the next pair's key, not a token
    return f"{m[1]}{m[2]}[token]"


def _emails(s: str) -> str:
    """Replace e-mail addresses, working outwards from each '@'."""
    if s.count("@") > _MAX_ANCHORS:
        return p.EMAIL.sub(_email, s)
    rev, out, pos = s[::-1], [], 0
    at = s.find("@")
    while at != -1:
        domain = p.DOMAIN.match(s, at + 1)
        keep = p.email_domain_ok(domain[0]) if domain else 0
        start = _local_start(s, rev, at) if keep else -1
        if start >= pos and not p.ssh_algorithm_name(s[start:at], domain[0][:keep]):
            out += (s[pos:start], "[email]")
            pos = at + 1 + keep
        at = s.find("@", at + 1)
    return "".join(out) + s[pos:] if out else s


_LOCAL_BOUNDARY = frozenset(" \t\r\n<(,;:[\"")  # what may come right before an RFC 5322 local part
_TEMPLATE_MARKS = ("${", "{{", "}}", "%(")


def _local_start(s: str, rev: str, at: int) -> int:
    """Where the local part of an address whose '@' is at ``at`` starts, or -1.

    The common shape first (letters, digits, ``_.%+-``). Then a quoted local part
    (``"quoted local part"@``), found from its closing quote back to the first quote not
    escaped, and checked forwards. Last, when an RFC 5322 special touches the '@' (``~@``,
    `` `@``), the run of ``atext`` before it, only when that run starts the text, a word or a
    bracket and is no template (``${USER}@``, ``{{ user }}@``): ``a=b@x.org`` keeps ``a=``.
    """
    local = p.LOCAL_REVERSED.match(rev, len(s) - at)
    if local:
        kept = p.local_kept(local[0])
        if kept:
            return at - kept
    if at == 0:
        return -1
    before = s[at - 1]
    if before == '"':
        close, open_ = at - 1, at - 1
        while (open_ := s.rfind('"', max(0, close - 130), open_)) != -1:
            slashes = 0
            while open_ - slashes > 0 and s[open_ - slashes - 1] == "\\":
                slashes += 1
            if slashes % 2 == 0:
                quoted = p.QUOTED_LOCAL.match(s, open_)
                return open_ if quoted is not None and quoted.end() == at else -1
        return -1
    if before in "!#$&'*/=?^`{|}~":
        run = p.SPECIALS_REVERSED.match(rev, len(s) - at)
        start = at - len(run[0])
        if (start == 0 or s[start - 1] in _LOCAL_BOUNDARY) and not any(
                mark in s[start:at] for mark in _TEMPLATE_MARKS):
            return start
    return -1


def _email(m: re.Match) -> str:
    """Replace an address whose domain ends in a plausible TLD; keep any trailing junk."""
    text = m[0]
    at = text.index("@")
    keep = p.email_domain_ok(text[at + 1:])
    kept = p.local_kept(text[:at][::-1]) if keep else 0
    if not kept or p.ssh_algorithm_name(text[at - kept:at], text[at + 1:at + 1 + keep]):
        return text
    return text[:at - kept] + "[email]" + text[at + 1 + keep:]


def _jwk_step(s: str) -> str:
    if len(s) >= 29 and ":" in s and ("d" in s or "k" in s or "q" in s or "p" in s):
        return p.JWK_PRIVATE.sub(_jwk_member, s)
    return s


def _jwk_member(m: re.Match) -> str:
    """Filter the value of a JWK private member that looks like key material."""
    if not p.jwk_value_ok(m[4]):
        return m[0]
    return m[0][:m.start(4) - m.start()] + FILTERED + m[3]


def _ipv6(m: re.Match) -> str:
    """Replace a valid IPv6 address, except loopback and unspecified ones and an EUI-64
    hardware address (``p.eui64``), which is written like one."""
    text = m[0]
    return "[ip]" if p.ipv6_ok(text) and not p.ipv6_local(text) and not p.eui64(text) else text


# The value detectors in the order they run, each named after its prefilter condition
# (prefilter.py): credentials in URLs before e-mail addresses, so ``postgres://app:pw@db``
# keeps its host; vendor tokens before bearer tokens, so ``Bearer sk_live_…`` says which.
# A token with an undocumented vendor prefix: a short word, ``_`` or ``-``, and a body of 30+
# characters with a run of 16 letters or digits, random-looking (``rootly_7f1e…``,
# ``lsv2_pt_f799…``, ``BBDC-MTk4…``). Words joined by ``_`` (identifiers, test names) have
# no such run; ids and digests keep their well-known prefixes (``req_``, ``sha256-``) and
# are left alone, as are bodies shorter than 30 (Stripe, Clerk and ULID-style object ids).
PREFIXED_TOKEN = re.compile(
    r"(?<![\w\-+/=.])([A-Za-z][A-Za-z0-9]{1,11})[_\-]([A-Za-z0-9_\-+]{30,250}+={0,2})(?![\w\-+/=])"
)
_RUN16 = re.compile(r"[A-Za-z0-9]{16}")
_ID_PREFIXES = frozenset({
    "req", "request", "trace", "span", "evt", "event", "id", "msg", "message", "job", "task",
    "run", "build", "commit", "rev", "user", "org", "cus", "txn", "order", "obj", "doc", "file",
    "img", "image", "sha", "sha1", "sha224", "sha256", "sha384", "sha512", "md5", "blake2b",
    "hash", "etag", "uuid", "guid", "ulid", "ksuid", "test", "tmp", "temp", "cache", "lock",
})


_HEX_RUN = re.compile(r"[0-9a-f]{32,}|[0-9A-F]{32,}")
# Words, then a UUID or a hex digest: a name with an id in it (``breadcrumb-test-1aac…``, a queue
# or cache key), not a token. A token's body is the random draw itself (``rootly_<hex>``).
_NAMED_ID = re.compile(r"(?:[a-z]{2,}[-_])+(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64}"
                       r"|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")


def _prefixed_token(m: re.Match) -> str:
    """``[token]`` for a random body: 32+ hex digits, or base62/64 mixing upper and lower case
    and digits, of 10+ distinct characters. ``pgar_abcdefghijklmnopqrstuvwxyz123456`` and
    ``shippo_live_AAAA…`` are no random draws."""
    body = m[2]
    if m[1].lower() in _ID_PREFIXES or _RUN16.search(body) is None or len(set(body)) < 10 \
            or _NAMED_ID.fullmatch(body):
        return m[0]
    mixed = (any(c.isdigit() for c in body) and any(c.islower() for c in body)
             and any(c.isupper() for c in body))
    if not mixed and _HEX_RUN.search(body) is None:
        return m[0]
    return "[token]"


def _prefixed_step(s: str) -> str:
    if len(s) >= 33 and ("_" in s or "-" in s):
        return PREFIXED_TOKEN.sub(_prefixed_token, s)
    return s


STEPS: tuple[tuple[str, object], ...] = (
    ("urls", _urls_step),
    *((f"vendor:{fmt.placeholder}", _vendor_step(literals, fmt)) for literals, fmt in _GATES),
    *((f"guarded:{name[1:-1]}", _guarded_step(literal, pattern, name))
      for literal, pattern, name in vendors.GUARDED),
    ("prefixed", _prefixed_step),
    ("jwt", _jwt_step), ("aws_secret", _aws_secret_step), ("private_key", _private_key_step),
    ("bearer", _bearer_step), ("cookie", _cookie_step), ("jwk", _jwk_step), ("email", _emails_step),
    ("ipv6", _ipv6_step), ("numbers", _numbers_step),
)


def replace_values(s: str) -> str:
    """Return ``s`` after one pass of every value detector (``s`` itself if none fired)."""
    for _, step in STEPS:
        s = step(s)
    return s
