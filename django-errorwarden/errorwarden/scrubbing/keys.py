"""Key rules: decide whether the name of a field marks its value as sensitive.

A key is split into lowercase words (``X-Api-Key``, ``x_api_key`` and ``xApiKey`` all give
``x api key``) and joined into a compact form (``xapikey``). It is sensitive when a word is a
sensitive word, or the compact form contains a sensitive fragment, unless an allow rule says
the name only describes a secret (``token_type``, ``session_count``) instead of holding one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

# Whole words that name a secret. Matching words (not substrings) keeps ``author``,
# ``tokenizer``, ``passage`` and ``classname`` out without a long allowlist.
SENSITIVE_WORDS = frozenset({
    "password", "passwd", "pwd", "pass", "passphrase", "secret", "secrets", "token",
    "tokens", "auth", "oauth", "authorization", "credential", "credentials", "creds",
    "cookie", "cookies", "session", "sessionid", "sessid", "phpsessid", "sid", "csrf",
    "csrftoken", "xsrf", "jwt", "bearer", "cvv", "cvv2", "cvc", "ssn", "pin", "otp",
    "signature", "dsn", "iban", "pw", "sig", "apikey", "passcode",
})

# Fragments of the compact form: these catch run-together names such as ``csrftoken``,
# ``xapikey``, ``clientsecret`` or ``httpxforwardedfor`` (the client IP headers).
SENSITIVE_FRAGMENTS = (
    "password", "passwd", "passphrase", "secret", "apikey", "privatekey", "accesskey",
    "signingkey", "encryptionkey", "masterkey", "authkey", "authtoken", "accesstoken",
    "refreshtoken", "idtoken", "sessionid", "sessid", "csrf", "xsrf", "jwt", "cookie",
    "authorization", "credential", "creditcard", "cardnumber", "cardno", "ccnumber",
    "ccnum", "cvv", "forwardedfor", "realip", "remoteaddr", "clientip", "connectingip",
    "ipaddress", "ipaddr", "accountkey", "sharedaccesskey", "clientkey", "secretkey",
    "licensekey", "appkey", "webhookkey", "adminkey",
)

# ``*-key`` names hold a key unless the word before says which kind of lookup key it is.
LOOKUP_KEY_WORDS = frozenset({
    "primary", "foreign", "cache", "sort", "partition", "lookup", "dict", "object", "group",
    "idempotency", "unique", "hash", "map", "row", "index", "composite", "natural", "surrogate",
    "translation", "message", "field", "column", "redis", "bucket", "public", "publishable",
    "site", "routing", "shard", "dedup", "dedupe", "lock", "state", "sequence", "order", "item",
    "entry", "node", "name", "config", "setting", "settings", "env", "header", "metric", "event",
    "cursor", "page", "next", "prev", "parent", "child", "join", "table", "query", "search",
    "ordering", "grouping", "i18n", "s3", "storage_path", "tenant", "hotkey", "shortcut", "dom",
    "react", "list", "record", "task", "job", "queue", "stream", "topic", "kv", "data", "json",
    "ssh_public", "gpg_public", "sub", "range", "cluster", "file", "path", "dimension",
})

# Compact names that look sensitive but are ordinary.
SAFE_NAMES = frozenset({
    "secretary", "tokentype", "sessioncount", "authmethod", "isauthenticated",
    "csrfcookiename", "csrfheadername", "sessioncookiename", "sessioncookieage",
})

# A last word that describes a secret rather than holding it: ``token_type``,
# ``session_count``, ``auth_method``, ``password_length``. Never ``id``: ``session_id`` is one.
DESCRIPTIVE_LAST_WORDS = frozenset({
    "type", "types", "method", "methods", "count", "counts", "total", "length", "len",
    "size", "ttl", "expires", "expiry", "expiration", "age", "kind", "scheme", "provider",
    "backend", "version", "enabled", "required", "limit", "used", "remaining", "status",
    "mode", "name", "names", "field", "fields", "url", "uri", "endpoint", "path",
    # UI and validation words: ``passwordLabel``, ``password_hint``, ``token_pattern``.
    "label", "hint", "placeholder", "prompt", "title", "policy", "pattern", "regex", "rule",
    "rules", "strength", "error", "errors", "help", "reset", "visible", "visibility", "icon",
    "button", "tooltip", "dialog", "format",
    # What an authentication *setup* is called, not its secret: MongoDB's ``authMechanism``
    # (SCRAM-SHA-256, GSSAPI) and ``authSource`` (the database that holds the users).
    "mechanism", "mechanisms", "source",
    # Django's own settings around a secret, not the secret: PASSWORD_RESET_TIMEOUT,
    # PASSWORD_HASHERS, AUTH_PASSWORD_VALIDATORS, CSRF_COOKIE_SAMESITE / _DOMAIN / _HTTPONLY,
    # SESSION_ENGINE, SESSION_SERIALIZER, JWT_ALGORITHM.
    "timeout", "hasher", "hashers", "validator", "validators", "samesite", "domain", "httponly",
    "engine", "serializer", "algorithm", "algorithms", "interval", "lifetime",
})

# Names that hold a credential only when the value looks like one (``Using Key=…``,
# ``-Dsonar.login=…``, ``DUO_IKEY=…``): the last word of the key; the value must pass
# ``credential_shaped``. A name of these alone would filter ``key=books:42`` or ``login=bob``.
WEAK_LAST_WORDS = frozenset({"key", "ikey", "skey", "login", "license", "licence"})

# A first word that counts or bounds: ``max_tokens``, ``num_tokens``.
DESCRIPTIVE_FIRST_WORDS = frozenset({"max", "min", "num", "total", "count"})

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_VALID_NAME = re.compile(r"[\w.\- ]{1,100}")
_CACHE_LIMIT = 4096


def key_words(key: str) -> list[str]:
    """Split a key into lowercase words at separators, case changes and digits."""
    return [w.lower() for w in _WORD.findall(key)]


def _parse_names(names: Iterable[str], what: str) -> list[list[str]]:
    """Validate configured key names and return the words of each."""
    if isinstance(names, str):
        raise TypeError(f"{what} must be an iterable of key names, not a single string")
    out = []
    for name in names:
        if not isinstance(name, str) or not _VALID_NAME.fullmatch(name.strip()):
            raise ValueError(f"{what}: {name!r} is not a key name (letters, digits, '_-.')")
        words = key_words(name)
        if not words:
            raise ValueError(f"{what}: {name!r} has no letters or digits")
        out.append(words)
    return out


def _numbered(words: list[str]) -> list[str]:
    """The words without a trailing number: ``sumoKey1`` and ``braintrust_key2`` end in key."""
    while len(words) > 1 and words[-1].isdigit():
        words = words[:-1]
    return words


@lru_cache(maxsize=4096)
def is_weak(key: str) -> bool:
    """True when ``key`` names a credential only if its value looks like one (WEAK_LAST_WORDS)."""
    words = _numbered(key_words(key[:200]))
    if not words or words[-1] not in WEAK_LAST_WORDS:
        return False
    return len(words) == 1 or words[-2] not in LOOKUP_KEY_WORDS


_DOTTED_NAME = re.compile(r"[A-Za-z_][\w\-]*(?:\.[A-Za-z_][\w\-]*)+")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_VERSION = re.compile(r"v?[0-9]+(?:\.[0-9]+)+(?:[\-+][\w.]+)?")


def credential_shaped(value: str, strong: bool = False) -> bool:
    """True when an unnamed-by-key value looks like a credential rather than a word or an id.

    A weak name's value (``Key=``, ``login=``) needs 12+ characters with letters and digits;
    after a strong word in prose (``password hunter2``) 6+ with a digit or a symbol will do.
    Never a dotted name or host (``errors.title``), a date, a version, a path, a URL, a
    ``books:42`` cache key, or text with spaces.
    """
    value = value.strip("\"'`")
    if len(value) < (6 if strong else 12) or len(value) > 512:
        return False
    if any(c.isspace() for c in value) or "://" in value or value[0] in "/.~$%{<":
        return False
    if not strong and ":" in value and all(len(part) <= 12 for part in value.split(":")):
        return False  # ``books:42:summary`` is a cache key; ``user:ATBB…`` is not
    if _DOTTED_NAME.fullmatch(value) or _DATE.match(value) or _VERSION.fullmatch(value):
        return False
    digit = any(c.isdigit() for c in value)
    alpha = any(c.isalpha() for c in value)
    if strong:
        return alpha and (digit or any(not c.isalnum() and c not in "_-." for c in value))
    return digit and alpha


class KeyRules:
    """Decides, with a bounded cache, whether a key name marks a sensitive value."""

    def __init__(self, extra_keys: Iterable[str] = (), safe_keys: Iterable[str] = ()) -> None:
        extra = _parse_names(extra_keys, "extra_keys")
        self.extra = frozenset("".join(words) for words in extra)
        self.safe = frozenset("".join(words) for words in _parse_names(safe_keys, "safe_keys"))
        # The walker reads this dict directly: keys repeat across events (header names,
        # local variable names), so most decisions cost one dict lookup.
        self.cache: dict[object, bool] = {}

    def is_sensitive(self, key: object) -> bool:
        """Return True when a value stored under ``key`` must be filtered."""
        verdict = self.cache.get(key)
        if verdict is None:
            verdict = self._decide(key)
            if len(self.cache) >= _CACHE_LIMIT:
                self.cache.clear()
            if not isinstance(key, str) or len(key) <= 100:
                self.cache[key] = verdict
        return verdict

    def _decide(self, key: object) -> bool:
        """Apply the rules to one key (uncached)."""
        if isinstance(key, bytes):
            key = key.decode("latin-1")
        if not isinstance(key, str):
            return False  # ints, None and tuples cannot name a secret
        if _is_object_id(key):
            return False
        words = _numbered(key_words(key[:200]))
        compact = "".join(words)
        if compact in self.extra:
            return True
        if not words or compact in self.safe or compact in SAFE_NAMES:
            return False
        if len(words) > 1 and (
            words[-1] in DESCRIPTIVE_LAST_WORDS or words[0] in DESCRIPTIVE_FIRST_WORDS
        ):
            return False
        if any(w in SENSITIVE_WORDS for w in words):
            return True
        if len(words) > 1 and words[-1] == "key" and words[-2] not in LOOKUP_KEY_WORDS:
            return True  # x-key, signing-key, stripe_key, but not cache_key or primary_key
        if words[0] == "x" and words[-1] == "api":
            return True  # X-Partner-Api: a header carrying an API credential
        return any(f in compact for f in SENSITIVE_FRAGMENTS)


_ID_BODY = re.compile(r"(?:([A-Za-z][a-z]{0,11})[_\-]){0,3}?([A-Za-z0-9]{10,64})")
_PIECES = re.compile(r"[A-Z][a-z]*|[a-z]+|[0-9]+")


def _is_object_id(key: str) -> bool:
    """True for an object id standing where a key would (``Customer cus_wsG8pwCz5fD8MC: payment
    failed``, ``user_2NNEqL2nrIRdJ194ndJqAHwEfxC:``): a random body, not a name, so the fragments
    it happens to spell (``pw``, ``Jwt``) name nothing. The body mixes digits and letters of both
    cases, and either follows a provider's object prefix (Stripe's ``cus_``, Clerk's ``user_``:
    grouping's table) or splits by case and digit changes into three or more one-character
    pieces, where a camelCase name (``myApiKey2Token``) splits into words."""
    m = _ID_BODY.fullmatch(key)
    if m is None:
        return False
    body = m[2]
    if not (any(c.isdigit() for c in body) and any(c.isupper() for c in body)
            and any(c.islower() for c in body)):
        return False
    from ..grouping.normalize import KNOWN_PREFIXES  # provider facts; grouping imports no scrubbing

    first = key.split("_", 1)[0].split("-", 1)[0].lower()
    if first != body and first in KNOWN_PREFIXES:
        return True
    return sum(len(piece) == 1 for piece in _PIECES.findall(body)) >= 3
