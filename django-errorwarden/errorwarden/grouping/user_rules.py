"""User grouping rules from SENTRY_GROUPING_RULES: validated once, tried before built-in ones."""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from errorwarden.event import LEVELS
from errorwarden.grouping.sources import Facts, Verdict, clip

MATCH_FIELDS = ("type", "module", "message", "logger")
OUTPUT_FIELDS = ("category", "kind", "fingerprint", "level")
CATEGORIES = ("database", "external", "auth", "rate_limit", "validation", "generic")
TEMPLATE_VARS = ("type", "module", "function", "route", "message", "logger")
DEFAULT_FINGERPRINT = ("{category}", "{kind}", "{type}", "{message}")
_DOTTED = re.compile(r"^[A-Za-z_][\w.]{0,199}$")
_KIND = re.compile(r"^[a-z0-9_.-]{1,64}$")
# User regexes are not ours to bound: cap the text they run on instead.
MAX_MATCH_TEXT = 4096

Template = tuple[tuple[str, str | None], ...]


class _RuleError(ValueError):
    def __init__(self, field: str, problem: str):
        super().__init__(f"field '{field}': {problem}")


def _dotted(rule: dict, field: str) -> str | None:
    value = rule.get(field)
    if value is None:
        return None
    if not isinstance(value, str) or not _DOTTED.match(value):
        raise _RuleError(field, f"{value!r} is not a name or dotted path")
    return value


def _regex(rule: dict) -> re.Pattern | None:
    value = rule.get("message")
    if value is None:
        return None
    if not isinstance(value, str):
        raise _RuleError("message", "must be a regular expression string")
    try:
        return re.compile(value)
    except re.error as exc:
        raise _RuleError("message", f"bad regex {value!r}: {exc}") from None


def _template(text: Any, allowed: tuple[str, ...]) -> Template:
    if not isinstance(text, str) or not text:
        raise _RuleError("fingerprint", "every part must be a non-empty string")
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise _RuleError("fingerprint", f"{text!r}: {exc}") from None
    parts = []
    for literal, name, spec, conversion in parsed:
        # Only bare names: str.format attribute access ({type.__class__}) must never run.
        if name is not None and (name not in allowed or spec or conversion):
            raise _RuleError("fingerprint", f"unknown template variable {{{name}}} in {text!r} "
                                            f"(allowed: {', '.join(allowed)})")
        parts.append((literal, name))
    return tuple(parts)


def _fingerprint(rule: dict) -> tuple[Template, ...]:
    value = rule.get("fingerprint")
    if value is None:
        return tuple(_template(t, (*TEMPLATE_VARS, "category", "kind")) for t in DEFAULT_FINGERPRINT)
    if not isinstance(value, list) or not 1 <= len(value) <= 10:
        raise _RuleError("fingerprint", "must be a list of 1 to 10 template strings")
    return tuple(_template(t, TEMPLATE_VARS) for t in value)


def _choice(rule: dict, field: str, allowed: Sequence[str], required: bool = False) -> str | None:
    value = rule.get(field)
    if value is None and not required:
        return None
    if value not in allowed:
        shown = "missing" if value is None else f"{value!r} is not allowed"
        raise _RuleError(field, f"{shown} (use one of: {', '.join(allowed)})")
    return value


@dataclass(frozen=True)
class Rule:
    """One validated grouping rule: what it matches and what it produces."""

    index: int
    type: str | None
    module: str | None
    message: re.Pattern | None
    logger: str | None
    category: str
    kind: str
    fingerprint: tuple[Template, ...]
    level: str | None

    @classmethod
    def parse(cls, index: int, rule: Any) -> Rule:
        """Validate one rule dict; raise ImproperlyConfigured naming its index and field."""
        try:
            return cls._parse(index, rule)
        except _RuleError as exc:
            raise ImproperlyConfigured(f"SENTRY_GROUPING_RULES[{index}]: {exc}") from None

    @classmethod
    def _parse(cls, index: int, rule: Any) -> Rule:
        if not isinstance(rule, dict):
            raise _RuleError("*", "a rule must be a JSON object")
        for key in rule:
            if key not in MATCH_FIELDS + OUTPUT_FIELDS:
                raise _RuleError(key, f"unknown field (allowed: "
                                      f"{', '.join(MATCH_FIELDS + OUTPUT_FIELDS)})")
        if not any(rule.get(f) is not None for f in MATCH_FIELDS):
            raise _RuleError("type", f"a rule needs at least one of {', '.join(MATCH_FIELDS)}")
        kind = rule.get("kind", "custom")
        if not isinstance(kind, str) or not _KIND.match(kind):
            raise _RuleError("kind", f"{kind!r} must be 1-64 of a-z, 0-9, '_', '.', '-'")
        return cls(index, _dotted(rule, "type"), _dotted(rule, "module"), _regex(rule),
                   _dotted(rule, "logger"), _choice(rule, "category", CATEGORIES, True), kind,
                   _fingerprint(rule), _choice(rule, "level", LEVELS))

    def matches(self, facts: Facts) -> bool:
        """True when every match field given in the rule matches the event."""
        if self.type is not None and self.type not in facts.names:
            return False
        if self.module is not None and not _under(facts.module, self.module):
            return False
        if self.logger is not None and not _under(facts.logger, self.logger):
            return False
        return self.message is None or bool(self.message.search(facts.message[:MAX_MATCH_TEXT]))

    def verdict(self, facts: Facts) -> Verdict:
        """The rule's category, kind, rendered fingerprint and level for one event."""
        values = {"category": self.category, "kind": self.kind}
        fingerprint = tuple(clip(_render(t, facts, values)) for t in self.fingerprint)
        tags = {"error.category": self.category, "error.kind": self.kind}
        return Verdict(self.category, self.kind, fingerprint, tags,
                       self.level or CATEGORY_LEVELS.get(self.category))


# The level a category gets when a rule names none, as the built-in classification gives it:
# expected client errors are warnings (they never count towards a critical burst).
CATEGORY_LEVELS = MappingProxyType({"auth": "warning", "rate_limit": "warning", "validation": "warning"})


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _render(template: Template, facts: Facts, fixed: dict[str, str]) -> str:
    out = []
    for literal, name in template:
        out.append(literal)
        if name is not None:
            out.append(fixed[name] if name in fixed else _fact(facts, name))
    return "".join(out)


def _fact(facts: Facts, name: str) -> str:
    if name == "message":
        return facts.group_text
    if name == "type":
        return facts.type_name
    return str(getattr(facts, name))


def compile_rules(rules: Sequence[Any]) -> tuple[Rule, ...]:
    """Validate every rule in order; the first bad one raises ImproperlyConfigured."""
    if isinstance(rules, str | bytes | dict) or not isinstance(rules, Sequence):
        raise ImproperlyConfigured("SENTRY_GROUPING_RULES: expected a list of rule objects")
    return tuple(Rule.parse(i, rule) for i, rule in enumerate(rules))
