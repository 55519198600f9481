"""Secrets found by the shape of the text around them rather than by their own shape.

Command lines (``--password x``, ``-p x``, ``curl -u user:pass``), comparisons with the value
before the name (``"hunter2" == password``), PostgreSQL error details, which quote the
offending values (``Key (title)=(…) already exists``, ``invalid input syntax …: "…"``),
markup that names a secret (``<secret>…</secret>``, ``<add key="…Password" value="…"/>``), a
quoted name before a literal (``setProperty("API_TOKEN", "…")``), credential constructors
(``NetworkCredential("user", "…")``) and a secret named in prose (``pw …``, ``key is …``).
Each sits behind a literal test, like the value detectors.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from . import keys
from . import patterns as p

FILTERED = "[Filtered]"
# A flag and its value: ``--password s3cr3t``, ``--api-key=x``, ``-p s3cr3t``, ``-u user:pass``.
CLI_FLAG = re.compile(
    r"(?<![\w\-])(--?[A-Za-z][A-Za-z0-9_\-]{0,40}+)([ =]|\s{1,3})(?=[^\s\-])"
    r"(\"[^\"\n]{0,200}+\"|'[^'\n]{0,200}+'|[^\s\"']{1,200}+)"
)
# A quoted literal compared with a name: ``"hunter2" == password``, ``'x' != settings.TOKEN``.
COMPARED = re.compile(
    r"([\"'])((?:(?!\1)[^\\\n]){1,200}+)\1(\s{0,3}(?:===?|!==?)\s{0,3})([A-Za-z_][\w.]{0,80}+)"
)
# PostgreSQL's messages that quote a row's values (src/backend/utils/adt and access/nbtree
# report them this way): unique and foreign-key violations, check and not-null failures,
# and type input errors.
PG_DETAIL = re.compile(
    r"(Key \([^)\n]{1,200}+\)=\()(.{0,2000}?)(\) (?:already exists|is not present in table|conflicts))"
    r"|(Failing row contains \()(.{0,4000}?)(\)\.?$)"
    r"|((?:invalid input (?:syntax|value) for (?:type |enum )?[\w .()]{1,60}: "
    r"|value too long[^\"\n]{0,80}\"))"
    r"(\"(?:[^\"\n]|\"\")*+\")",
    re.MULTILINE,
)
# Markup that names a secret: ``<secret>…</secret>``, ``<add key="SmtpPassword" value="…"/>``.
MARKUP_OPEN = re.compile(r"<([A-Za-z][\w.\-:]{0,60}+)>")
MARKUP_TEXT = re.compile(r"(\s{0,40}+)([^<\s][^<]{0,400}?)(\s{0,40}+)</([A-Za-z][\w.\-:]{0,60}+)>")
MARKUP_ATTRIBUTE = re.compile(
    r"((?:key|name)\s{0,3}=\s{0,3}([\"'])([\w.\-:]{1,80}+)\2\s{1,20}value\s{0,3}=\s{0,3}([\"']))"
    r"([^\"'\n]{1,400}+)(\4)"
)
# A quoted name and the quoted literal after it: ``System.setProperty("API_TOKEN", "…")``,
# ``buildConfigField "String", "API_KEY", "\"…\""``, ``config.put('password', '…')``.
QUOTED_NAME = re.compile(r"([\"'])([A-Za-z_][\w.\-]{0,80}+)\1\s{0,3},\s{0,3}(?=[\"'])")
LITERAL = re.compile(r"([\"'])((?:\\.|(?!\1)[^\\\n]){1,400}+)\1")
# A constructor or call made for credentials, with a user and a password literal:
# ``new NetworkCredential("user", "…")``, ``UsernamePasswordCredentials("u", "…")``.
# Also a login call and requests' auth tuple: ``client.login("u", "…")``, ``auth=("u", "…")``.
CREDENTIAL_CALL = re.compile(
    r"((?:\b\w{0,40}(?:Credential|Password|Auth|[Ll]ogin)\w{0,40}|\bauth\s{0,3}=\s{0,3})"
    r"\(\s{0,3}([\"'])[^\"'\n]{0,100}\2\s{0,3},\s{0,3})"
    r"([\"'])([^\"'\n]{1,400}+)(\3)"
)
# MySQL's and MariaDB's clients take the password glued to -p (``mysql -uroot -ps3cr3t``).
MYSQL_GLUED_PASSWORD = re.compile(
    r"(\b(?:mysql|mysqldump|mysqladmin|mariadb|mariadb-dump)\b[^\n]{0,300}?\s-p)([^\s\"'\-][^\s\"']{0,199})"
)
# A secret named in prose, after a word and spaces: ``pw hunter2!``, ``key is 2afd…``,
# ``netrc: machine h login u password s3cr3t``, ``twilio AC… auth 0123…``. The value must look
# like a credential (after ``auth``, ``key`` or ``token``: the weak names' test).
PROSE = re.compile(
    r"(?<![\w\-])((?i:api[ _\-]?key|key|token|secret|password|passwd|passphrase|pwd|pw|auth))"
    r"((?:\s{1,3}(?:is|was|=|:))?\s{1,3})([^\s\"'<>(),;\[\]{}`]{6,512}+)"
)
_STRONG_PROSE = frozenset({"password", "passwd", "passphrase", "pwd", "pw", "secret"})
# Whole words a name must hold for the markup and argument steps: the prefilter's seeds
# (prefilter.conditions) are these, so a step never changes a text the scan did not flag.
_SEEDED = re.compile(
    "(?i:" + "|".join(sorted(keys.SENSITIVE_WORDS | keys.WEAK_LAST_WORDS | {"key", "api"},
                             key=len, reverse=True)) + ")"
)
_SINGLE_LETTER_PASSWORD = "-p"  # mysql, mongo, redis-cli -a …: "-p" names a password
_USER_FLAGS = ("-u", "--user")
_KEEP = re.compile(r"[0-9/.~$%{<\[]")  # -p 8080:80, -p /tmp, -p $PW, -p {{ x }}: not a secret


def flags(s: str, sensitive: Callable[[str], bool]) -> str:
    """Filter the values of command-line flags that name a secret."""
    if "-" in s and (" -" in s or s.startswith("-")):
        s = CLI_FLAG.sub(lambda m: _flag(m, sensitive), s)
        if " -p" in s and ("mysql" in s or "mariadb" in s):
            s = MYSQL_GLUED_PASSWORD.sub(_glued_password, s)
    return s


def _glued_password(m: re.Match) -> str:
    return m[0] if _KEEP.match(m[2]) or m[2] == FILTERED else f"{m[1]}{FILTERED}"


def comparisons(s: str, sensitive: Callable[[str], bool]) -> str:
    """Filter quoted literals compared with a sensitive name."""
    if "==" in s or "!=" in s:
        return COMPARED.sub(lambda m: _compared(m, sensitive), s)
    return s


def pg_details(s: str, sensitive: Callable[[str], bool]) -> str:
    """Filter the row values PostgreSQL quotes in its error details."""
    if "Key (" in s or "Failing row" in s or "invalid input" in s or "value too long" in s:
        return PG_DETAIL.sub(_pg_detail, s)
    return s


def markup(s: str, sensitive: Callable[[str], bool]) -> str:
    """Filter element text and ``value=`` attributes whose tag or key names a secret."""
    if "</" in s:
        s = _elements(s, sensitive)
    if "value" in s and "=" in s:
        s = MARKUP_ATTRIBUTE.sub(lambda m: _attribute(m, sensitive), s)
    return s


def quoted_args(s: str, sensitive: Callable[[str], bool]) -> str:
    """Filter a quoted literal that follows a quoted name of a secret, and the password
    argument of a credential constructor."""
    if "," in s and ('"' in s or "'" in s):
        s = _arguments(s, sensitive)
        if "(" in s:
            s = CREDENTIAL_CALL.sub(_credential_call, s)
    return s


def prose(s: str, sensitive: Callable[[str], bool]) -> str:
    """Filter a credential-shaped word after a word that names a secret in free text."""
    if " " in s or "\t" in s or "\n" in s or not s.isascii():  # Unicode spaces too
        return PROSE.sub(_prose, s)
    return s


# In the order they run, named after their prefilter conditions (prefilter.py).
STEPS = (("flags", flags), ("comparisons", comparisons), ("pg_details", pg_details),
         ("markup", markup), ("quoted_args", quoted_args), ("prose", prose))


def _names_secret(name: str, sensitive: Callable[[str], bool]) -> bool:
    return _SEEDED.search(name) is not None and sensitive(name)


def _kept(value: str) -> bool:
    """A value that reveals nothing: a placeholder, a template or a scrubbed one."""
    return (value == FILTERED or p.PLACEHOLDER_VALUE.fullmatch(value) is not None
            or p.KEEP_VALUE.fullmatch(value) is not None)


def _elements(s: str, sensitive: Callable[[str], bool]) -> str:
    """The text of each element whose tag names a secret, filtered. Opening tags are found
    first and their names judged; only a secret's element is read to its closing tag."""
    out, pos = [], 0
    for m in MARKUP_OPEN.finditer(s):
        tag = m[1]
        if m.start() < pos or not _names_secret(tag.rpartition(":")[2], sensitive):
            continue
        text = MARKUP_TEXT.match(s, m.end())
        if text is None or text[4] != tag:
            continue
        value = text[2]
        if _kept(value) or _kept(value.strip("{} ")):
            continue
        out += (s[pos:text.start(2)], FILTERED)
        pos = text.end(2)
    return "".join(out) + s[pos:] if out else s


def _attribute(m: re.Match, sensitive: Callable[[str], bool]) -> str:
    if _kept(m[5]) or not _names_secret(m[3], sensitive):
        return m[0]
    return f"{m[1]}{FILTERED}{m[6]}"


def _arguments(s: str, sensitive: Callable[[str], bool]) -> str:
    """Each quoted name of a secret followed by a literal: the literal filtered. A name's
    literal may itself be the next name (``"String", "API_KEY", "…"``), so names are found
    one after another, not as pairs."""
    out, pos = [], 0
    for m in QUOTED_NAME.finditer(s):
        if m.start() < pos or not _names_secret(m[2], sensitive):
            continue
        literal = LITERAL.match(s, m.end())
        if literal is None or s[literal.end():literal.end() + 2].lstrip()[:1] == ":":
            continue  # ``"token_type": "Bearer", "expires_in": 3600``: the next key, not a value
        value = literal[2].strip("\\\"'")
        if not value or _kept(value):
            continue
        out += (s[pos:literal.start(2)], FILTERED)
        pos = literal.end(2)
    return "".join(out) + s[pos:] if out else s


def _credential_call(m: re.Match) -> str:
    return m[0] if _kept(m[4]) else f"{m[1]}{m[3]}{FILTERED}{m[5]}"


def _prose(m: re.Match) -> str:
    word, value = m[1], m[3].rstrip(".:!?")
    strong = word.lower() in _STRONG_PROSE
    if _kept(value) or not keys.credential_shaped(value, strong=strong):
        return m[0]
    return f"{m[1]}{m[2]}{FILTERED}{m[3][len(value):]}"


def scrub_structures(s: str, sensitive: Callable[[str], bool]) -> str:
    """Filter flag values, compared literals and PostgreSQL details in ``s``."""
    for _, step in STEPS:
        s = step(s, sensitive)
    return s


def _flag(m: re.Match, sensitive: Callable[[str], bool]) -> str:
    """The flag with its value filtered when the flag names a secret."""
    flag, sep, value = m[1], m[2], m[3]
    if flag in _USER_FLAGS and ":" in value:  # curl -u user:password
        user, _, secret = value.strip("\"'").partition(":")
        quote = value[0] if value[0] in "\"'" else ""
        return f"{flag}{sep}{quote}{user}:{FILTERED}{quote}" if secret else m[0]
    if flag == _SINGLE_LETTER_PASSWORD:
        return m[0] if _KEEP.match(value) else f"{flag}{sep}{FILTERED}"
    if len(flag) > 2 and sensitive(flag.lstrip("-")) and value not in ("", FILTERED):
        return f"{flag}{sep}{FILTERED}"
    return m[0]


def _compared(m: re.Match, sensitive: Callable[[str], bool]) -> str:
    """A literal compared with a sensitive name is filtered, the name kept."""
    name = m[4].rpartition(".")[2]
    if not sensitive(name) or m[2] == FILTERED:
        return m[0]
    return f"{m[1]}{FILTERED}{m[1]}{m[3]}{m[4]}"


def _pg_detail(m: re.Match) -> str:
    """Keep the message and column names, filter the quoted values."""
    if m[1] is not None:
        return f"{m[1]}{FILTERED}{m[3]}"
    if m[4] is not None:
        return f"{m[4]}{FILTERED}{m[6]}"
    return f'{m[7]}"{FILTERED}"'
