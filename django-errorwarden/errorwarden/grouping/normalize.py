"""Turn variable parts of messages and URLs into placeholders so they stop splitting issues."""

from __future__ import annotations

import functools
import ipaddress
import re
from types import MappingProxyType

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

# --- Ids of the providers the backend talks to and of the common id generators -------------
# Each shape is taken from its documented format (sources named per shape in docs/grouping.md).
#
# Stripe object ids: a type prefix, "_", then a random base62 body of 14 (older objects) to 24+
# characters; Checkout sessions add "test_"/"live_", PaymentIntent client secrets "_secret_…".
# Source: Stripe API reference, docs.stripe.com/api (the example object of each resource).
STRIPE_PREFIXES = frozenset({
    "acct", "ba", "card", "ch", "cn", "cs", "cus", "dp", "evt", "fee", "file", "iauth", "ic", "ich",
    "ii", "il", "in", "ipi", "pi", "pm", "po", "price", "prod", "promo", "py", "pyr", "qt", "re",
    "seti", "si", "src", "sub", "sub_sched", "tok", "tr", "trr", "txi", "txn", "we",
})
# Clerk object ids: a type prefix, "_", then a 27-character KSUID in base62 ("user_29w83sxmDNG…").
# Source: Clerk Backend API reference, clerk.com/docs/reference/backend-api (object examples).
CLERK_PREFIXES = frozenset({
    "user", "sess", "org", "orginv", "orgmem", "client", "inv", "sms", "idn", "ins", "app", "jtmp",
    "samlc", "act",
})
KNOWN_PREFIXES = STRIPE_PREFIXES | CLERK_PREFIXES
# An Amazon Resource Name: arn:partition:service:region:account-id:resource.
# Source: AWS IAM User Guide, "Identify AWS resources with Amazon Resource Names (ARNs)".
_ARN = re.compile(
    r"(?<![A-Za-z0-9])arn:aws(?:-cn|-us-gov|-iso(?:-[a-z])?)?:[a-z0-9\-]{1,64}:[a-z0-9\-]{0,32}:"
    r"[0-9]{0,12}:[^\s'\"<>,;)\]]{1,1024}+"
)
# Long base64 text with '+', '/' or '=' (S3's x-amz-id-2 host id, opaque cursors): 40 or more
# characters holding upper and lower case letters and digits. It may follow a ``key=`` (HostId=…):
# an '=' right after a name character starts a value, not base64 padding.
_BASE64 = re.compile(r"(?:(?<![A-Za-z0-9+/=])|(?<=[A-Za-z0-9_\]]=))(?=[A-Za-z0-9]{0,1024}+[+/])"
                     r"[A-Za-z0-9+/]{40,1024}+={0,2}+(?![A-Za-z0-9+/=])")
# A candidate token: a run of base62 characters with '_' and '-' (nanoid's alphabet, and the
# separators of prefixed ids). Each is judged whole by _token below. A plain word (lower case
# after its first letter) is never an id, so the lookahead keeps it from costing a call.
_TOKEN = re.compile(r"(?<![A-Za-z0-9_\-])(?=[A-Za-z][a-z]{0,127}+[A-Z0-9_\-]|[0-9_\-])"
                    r"[A-Za-z0-9_\-]{6,128}+(?![A-Za-z0-9_\-])")
_PREFIXED = re.compile(
    r"([a-z][a-z0-9]{0,15}(?:_sched)?_)((?:test|live)_)?([A-Za-z0-9]{8,}?)(_secret_[A-Za-z0-9]+)?"
)
_HEXISH = re.compile(r"(?:0x)?[0-9A-Fa-f]+|[0-9]+")
# Digits, then letters of one case (1024MB, 100ms, 64bit, 3rd, 2Gb, 8GiB): a quantity and its unit.
_QUANTITY = re.compile(r"[0-9]+(?:[a-z]{1,12}|[A-Z]{1,12}|[A-Z][a-z]{1,11}|[KMGTP]i[Bb])")
# Slack ids: a type letter (U, W users; C, G, D conversations; T teams; B bots; E enterprises;
# F files; A apps; R reminders) and 8-11 upper-case letters and digits, the first a digit
# ("U024BE7LH", "C012AB3CD"). Source: Slack API docs, api.slack.com (object types).
_SLACK = re.compile(r"[ABCDEFGRTUW][0-9][0-9A-Z]{7,10}")
# ULID: 26 characters of Crockford's base32, the first 0-7 (48-bit time, then randomness).
# Source: the ULID specification, github.com/ulid/spec.
_ULID = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}|[0-7][0-9a-hjkmnp-tv-z]{25}")
# Code words in camelCase or PascalCase, read part by part: a lower-case lead (get, i, mac, utf8,
# k8s), then capitalized words that hold a vowel (Phone, Error, Id, By) or are a common
# consonant-only abbreviation (Http, Xml, Ptr, Cmd), acronyms (HTTP, IDs, the XML of XMLHttp),
# versions glued to letters (IPv6, TLSv1, S3, Ed25519, Axes3D) and a trailing capital (TypeVarT).
# Random base62 text seldom reads so, and when it does it needs many short parts: a code word has
# at most one part per three characters (three at least). Words of one case never reach it.
# Measured in bench/bench_normalize.py; the trade-off is in docs/grouping.md.
_ABBREVIATIONS = ("Db|Js|Fn|Fx|Dt|Tz|Pk|Nd|Gt|Lt|Ws|Vm|Tk|Qt|Cs|Fp|Dc|Rb|Rd|Mb|Kb|Gb|Ms|Ns|Px|Sql|Xml|Html"
                  "|Https?|Url|Src|Cfg|Ctx|Msg|Str|Pkg|Mgr|Tmp|Dst|Crc|Rpc|Grpc|Dns|Pdf|Svg|Png|Jpg|Gzip|Sdk"
                  "|Csv|Tsv|Css|Tls|Ssl|Ssh|Tcp|Smtp|Mqtt|Cdn|Cls|Std|Nth|Kwd|Rgb|Csrf|Jwt|Ttl|Ptr|Cmd|Cfn"
                  "|Dsn|Stmt|Cmp|Bsd|Bmp|Cjk|Amqp|Bnf|Bdb|Bdd|Ddl|Dml|Dll|Lnk|Fmt|Mnt|Pwd|Sync|Sys|Lxml")
# A word piece holds a vowel and no five consonants in a row (Abstract, not bhqkakw).
_WORDISH = r"(?=[a-z]*[aeiouy])(?![a-z]*[b-df-hj-np-tv-xz]{5})"
_CODE_LEAD = re.compile(r"(?:" + _WORDISH + r"[a-z]++|[a-z]{1,2}+|(?:" + _ABBREVIATIONS.lower()
                        + r")(?![a-z]))(?:[0-9]{1,5}+[a-z]?+(?![a-z]))?+")
_CODE_PART = re.compile(
    r"(?:[AEIOUY](?![a-z]*[b-df-hj-np-tv-xz]{5})|[A-Z]" + _WORDISH + r")[a-z]{2,}+"  # Phone, Address
    r"|(?<![A-Z])(?:[AEIOUY][a-z]|[A-Z][aeiouy])(?![a-z])"    # By, Id, To: after a word, not an acronym
    r"|(?:" + _ABBREVIATIONS + r")(?![a-z])|[A-Z][a-z]{2}(?=[A-Z][a-z])"     # Cpp of CppLexer
    r"|[A-Z]{1,8}v(?=[0-9])"                                   # IPv6, TLSv1
    r"|[A-Z]{2,8}+s?+(?![A-Za-z])"                             # HTTP, JSON, IDs
    r"|[A-Z]{1,8}(?=[A-Z][a-z])"                               # the XML of XMLHttp, the A of IsAString
    r"|[A-Z](?=[0-9])"                                         # S3, X509
    r"|[0-9]{1,5}+(?:[dD]|[a-z])?(?![a-z])"                    # 64, Axes3D, Argon2d
    r"|(?<=[a-z])[A-Z]\Z"                                      # TypeVarT
)
# After a ``prefix_`` a code word is rare, so the body also meets a plainer reading: words of
# 3+ letters, acronyms and numbers only.
_PLAIN_CAMEL = re.compile(r"(?:[A-Z]?[a-z]{2,}+|[A-Z]{2,}+(?![a-z])|[A-Z]{1,64}(?=[A-Z][a-z])|[0-9]{1,4}+)++")
_DIGIT_RUN = re.compile(r"[0-9]+")
_SEPARATOR = re.compile(r"[_-]")
_LETTER_RUN = re.compile(r"[A-Za-z]+")
# Scrubber placeholders that stand for a value this module would have replaced itself: a
# Luhn-passing Snowflake id is "[card]" after the scrub and must group with the others.
_SCRUBBED = MappingProxyType({"[card]": "<num>", "[ssn]": "<num>-<num>-<num>", "[email]": "<email>",
                              "[ip]": "<ip>"})
_SCRUBBED_RE = re.compile(r"\[(?:card|ssn|email|ip)\]")

_DIGIT = re.compile(r"\d")
# Words of one case (or Capitalized) and runs of ASCII digits, single spaces between: no pass
# below changes such a text but the last, which makes each number <num> (a property test holds
# the shortcut to the full passes).
_PLAIN_WORD = r"(?:[a-z]++|[A-Z][a-z]*+|[A-Z]++|[0-9]++)"
_PLAIN_WORDS = re.compile(f"{_PLAIN_WORD}(?: {_PLAIN_WORD})*+")
_MIXED_CASE = re.compile(r"[a-z][A-Z]|[A-Z][A-Z]").search  # a base62 id without digits

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


def _classes(body: str) -> tuple[bool, bool, bool]:
    """Whether ``body`` holds an upper-case letter, a lower-case letter, a digit."""
    return (not body.islower() and any(c.isupper() for c in body),
            not body.isupper() and any(c.islower() for c in body),
            any(c.isdigit() for c in body))


def _transitions(body: str) -> int:
    """How many times ``body`` switches between letters and digits."""
    return len(_DIGIT_RUN.findall(body)) + len(_LETTER_RUN.findall(body)) - 1


@functools.lru_cache(maxsize=64)
def _code_word(parts: int) -> re.Pattern:
    """A code word of at most ``parts`` parts: the lead, then each part the first alternative that
    fits, never revisited (one C-level match, linear)."""
    part = f"(?>{_CODE_PART.pattern})"
    return re.compile(f"(?>{_CODE_LEAD.pattern}){part}{{0,{parts - 1}}}+|{part}{{0,{parts}}}+")


def _reads_as_code(body: str) -> bool:
    """True for letters and digits that read as a code word (``IPv6Address``, ``iPhone12``)."""
    return _code_word(max(3, (len(body) + 1) // 3)).fullmatch(body) is not None


def _random_body(body: str) -> bool:
    """True for the random part of an id: not a word, a constant, a number or a hex id.

    That is: led by a digit (no word is) and not a quantity; or holding letters of both cases
    that do not read as a code word (``aMPrupjMA4ffry``, not ``IPv6Address``); or letters of one
    case and digits alternating often (``a7k2pq9x``, not ``utf8mb4`` nor ``secp256k1``).
    """
    if _HEXISH.fullmatch(body) or (body.isalpha() and (body.islower() or body.isupper()
                                                       or (body[0].isupper() and body[1:].islower()))):
        return False  # a word, Word or CONSTANT stays; numbers and hex ids: <num> below
    upper, lower, _ = _classes(body)
    if body[0].isdigit():  # KSUIDs, ULIDs, new Stripe ids: no word starts with a digit
        return not _QUANTITY.fullmatch(body) and (_transitions(body) >= 2 or (upper and lower))
    if upper and lower:
        return not _reads_as_code(body)
    return len(body) >= 8 and _transitions(body) >= 5


def _token(match: re.Match) -> str:
    """The placeholder for one candidate token that is an id, else the token itself."""
    token = match.group(0)
    if _SLACK.fullmatch(token):
        return "<id>"  # before the hex test: C0A1B2C3D is a Slack id, all of it hex digits
    if _HEXISH.fullmatch(token):
        return token  # numbers and hex ids: <num> below
    prefixed = _PREFIXED.fullmatch(token)
    if prefixed is not None:
        prefix, body = prefixed.group(1, 3)
        # A known provider's prefix needs only a body that is no word: 14 characters or more
        # (Stripe's shortest) that are not all digits nor letters of one case (in_progress).
        known = prefix[:-1].removesuffix("_sched") in KNOWN_PREFIXES and len(body) >= 14
        if (known and not body.isdigit() and not (body.isalpha() and (body.islower() or body.isupper()))
                ) or (len(body) >= 8 and (_random_body(body) or (
                    all(_classes(body)[:2]) and _PLAIN_CAMEL.fullmatch(body) is None))):
            return "<id>"  # the prefix too: a nanoid can start like one (abc_…)
    if len(token) >= 16 and all(_classes(token)) and not _reads_as_code(_SEPARATOR.sub("", token)):
        return "<id>"  # a default-size nanoid: 21 characters mixing all three, not a code name
    if "_" in token or "-" in token:
        # nanoid (github.com/ai/nanoid: A-Za-z0-9_-, 21 characters by default, any size) or
        # snake_case, kebab-case, tenant-42: an id when a part of four or more reads as random.
        return "<id>" if any(len(part) >= 4 and _random_body(part) and (
            len(part) >= 8 or all(_classes(part)[:2])) for part in _SEPARATOR.split(token)) else token
    if _ULID.fullmatch(token):
        return "<id>"
    # KSUID (27 base62 characters, github.com/segmentio/ksuid), hashids (hashids.org), nanoids
    # without '_' or '-', and other base62 ids of 6 or more characters.
    return "<id>" if _random_body(token) else token


def _scrubbed(match: re.Match) -> str:
    return _SCRUBBED[match.group(0)]


def normalize_message(text: str) -> str:
    """Replace numbers, ids, UUIDs, emails, IPs, timestamps and quoted values by placeholders."""
    if not isinstance(text, str):
        text = str(text)
    text = _QUOTED.sub("<str>", text) if ("'" in text or '"' in text) else text
    if "[" in text:
        text = _SCRUBBED_RE.sub(_scrubbed, text)
    # Cheap C-level gates first: most messages skip most passes.
    if _PLAIN_WORDS.fullmatch(text) is not None:  # words and whole numbers only: "entry 1234 failed"
        return _NUMBER.sub("<num>", text) if _DIGIT.search(text) is not None else text
    if ("@" not in text and _DIGIT.search(text) is None and "_" not in text and not _MIXED_CASE(text)
            and "arn:" not in text):
        return text
    text = _UUID.sub("<uuid>", text)
    text = _TIMESTAMP.sub("<ts>", text)
    if "@" in text:
        text = _EMAIL.sub("<email>", text)
    text = _IPV4.sub("<ip>", text)
    if "arn:" in text:
        text = _ARN.sub("<arn>", text)
    if "::" in text or text.count(":") >= 7:
        text = _IPV6_CANDIDATE.sub(_ipv6, text)
    if "/" in text or "+" in text:
        text = _BASE64.sub(_base64, text)
    text = _TOKEN.sub(_token, text)
    text = _HEX.sub("<num>", text)  # a hex id is a number in base 16: both ids group alike
    return _NUMBER.sub("<num>", text)


def _base64(match: re.Match) -> str:
    body = match.group(0).rstrip("=")
    return "<id>" if all(_classes(body)) and _transitions(body) >= 3 else match.group(0)


def normalize_route(route: str, concrete: bool = False) -> str:
    """One route shape: '<int:pk>' becomes '{pk}'; ids in a concrete path become '{id}'.

    An id is a number, a UUID, a hex id or any id message normalization writes as <id>.
    """
    route = route.split("?", 1)[0].split("#", 1)[0]
    route = _ROUTE_CONVERTER.sub(r"{\1}", route)
    if not concrete:
        return route
    return "/".join("{id}" if _ID_SEGMENT.match(s) or _is_id(s) else s for s in route.split("/"))


def _is_id(segment: str) -> bool:
    """True for a path segment that message normalization would write as <id> (cus_…, a ULID)."""
    match = _TOKEN.fullmatch(segment)
    return match is not None and _token(match) == "<id>"
