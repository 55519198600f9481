"""Secrets found by the shape of the text around them rather than by their own shape.

Command lines (``--password x``, ``-p x``, ``curl -u user:pass``), comparisons with the value
before the name (``"hunter2" == password``) and PostgreSQL error details, which quote the
offending values (``Key (title)=(…) already exists``, ``invalid input syntax …: "…"``).
Each sits behind a literal test, like the value detectors.
"""

from __future__ import annotations

import re
from collections.abc import Callable

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
_SINGLE_LETTER_PASSWORD = "-p"  # mysql, mongo, redis-cli -a …: "-p" names a password
_USER_FLAGS = ("-u", "--user")
_KEEP = re.compile(r"[0-9/.~$%{<\[]")  # -p 8080:80, -p /tmp, -p $PW, -p {{ x }}: not a secret


def flags(s: str, sensitive: Callable[[str], bool]) -> str:
    """Filter the values of command-line flags that name a secret."""
    if "-" in s and (" -" in s or s.startswith("-")):
        return CLI_FLAG.sub(lambda m: _flag(m, sensitive), s)
    return s


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


# In the order they run, named after their prefilter conditions (prefilter.py).
STEPS = (("flags", flags), ("comparisons", comparisons), ("pg_details", pg_details))


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
