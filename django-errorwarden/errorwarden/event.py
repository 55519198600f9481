"""One reading of a sentry-sdk event: exceptions, stacks, crash frame, message, tags, fingerprint.

Grouping, alerting, trimming, the local inbox and the dashboard all read events through these
functions, so they agree on which exception was raised, which frame crashed and what
`{{ default }}` means; nothing else walks the exception chain or the frames. There is one
grouping identity: `default_fingerprint` gives the classifier its generic fingerprint and the
inbox and the alert rules their fallback when the classifier did not run, and `issue_fingerprint`
is the key both group by. Every function tolerates any missing or malformed part (an event may
come from anywhere) and never raises.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from errorwarden.text import cut

# Our own frames (ErrorTracker, the query wrapper, the pipeline) are never where an error
# happened: the caller's frame is.
OWN_MODULES = ("errorwarden",)
_OWN_PREFIXES = tuple(m + "." for m in OWN_MODULES)
LEVELS = ("fatal", "error", "warning", "info", "debug")  # Sentry's event levels
# The hint key under which the classifier leaves its Verdict for the steps after it.
VERDICT = "errorwarden.verdict"
_ONLY_STR = frozenset({str})
_DEFAULT = re.compile(r"^\{\{\s*default\s*\}\}$")


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _mapping(value: Any) -> bool:
    # The common case (a dict) without the ABC check, which costs more than the rest of a lookup.
    return type(value) is dict or isinstance(value, Mapping)


def exceptions(event: Mapping[str, Any]) -> list[dict]:
    """The exception chain as Sentry orders it: the cause first, the raised exception last."""
    if type(event) is dict:  # the common shape, read without the ABC checks below
        values = event.get("exception")
        values = values.get("values") if type(values) is dict else None
        if type(values) is list:
            return [v for v in values if type(v) is dict or isinstance(v, dict)]
    values = (event.get("exception") or {}) if _mapping(event) else {}
    values = values.get("values") if _mapping(values) else None
    return [v for v in _list(values) if isinstance(v, dict)]


def main_exception(event: Mapping[str, Any]) -> dict | None:
    """The raised exception's entry, or None for a message event."""
    chain = exceptions(event)
    return chain[-1] if chain else None


def threads(event: Mapping[str, Any]) -> list[dict]:
    """The event's thread entries (sentry-sdk sends them with attach_stacktrace on messages)."""
    values = event.get("threads") if isinstance(event, Mapping) else None
    values = values.get("values") if isinstance(values, Mapping) else None
    return [t for t in _list(values) if isinstance(t, dict)]


def stored_frames(source: Any) -> list | None:
    """The frame list of an exception, a thread or an event as stored (edit it in place), or None."""
    stack = source.get("stacktrace") if isinstance(source, Mapping) else None
    frames = stack.get("frames") if isinstance(stack, Mapping) else None
    return frames if isinstance(frames, list) else None


def frames(source: Any) -> list[dict]:
    """The frames of an exception, a thread or an event, outermost first (the well-formed ones)."""
    return [f for f in _list(stored_frames(source)) if isinstance(f, dict)]


def _sources(event: Mapping[str, Any]) -> list[Any]:
    return [*reversed(exceptions(event)), *reversed(threads(event)), event]


def frame_lists(event: Mapping[str, Any]) -> list[list]:
    """Every non-empty frame list as stored and in stored order (exceptions cause first, threads,
    the event's own), for code that edits frames in place (trimming)."""
    found = []
    for source in (*exceptions(event), *threads(event), event):
        stored = stored_frames(source)
        if stored:
            found.append(stored)
    return found


def stacktraces(event: Mapping[str, Any]) -> list[list[dict]]:
    """Frame lists: the raised exception's first, then its causes', then the threads', then the event's."""
    found = []
    for source in _sources(event):
        listed = frames(source)
        if listed:
            found.append(listed)
    return found


def is_own(frame: Mapping[str, Any]) -> bool:
    """True for a frame of the error-tracking system itself."""
    module = frame.get("module")
    return isinstance(module, str) and (module in OWN_MODULES or module.startswith(_OWN_PREFIXES))


def crash_frame(event: Mapping[str, Any], in_app_only: bool = False,
                stacks: list[list[dict]] | None = None) -> dict | None:
    """Where it happened: the innermost in-app frame of any stack, else the first stack's innermost
    (None instead with in_app_only=True).

    Our own frames are passed over in both searches while any other frame exists. `stacks` is
    stacktraces(event), when the caller has it already.
    """
    if stacks is None:
        # The common event has one exception with one stack: look there before listing them all.
        chain = exceptions(event)
        if chain:
            found = _innermost_in_app(frames(chain[-1]))
            if found is not None:
                return found
        stacks = stacktraces(event)
    for listed in stacks:
        found = _innermost_in_app(listed)
        if found is not None:
            return found
    if not stacks or in_app_only:
        return None
    others = [f for f in stacks[0] if not is_own(f)]
    return (others or stacks[0])[-1]


def _innermost_in_app(frames: list[dict]) -> dict | None:
    for frame in reversed(frames):
        if frame.get("in_app") is True and not is_own(frame):
            return frame
    return None


def _frame_name(frame: Mapping[str, Any], qualnames: Mapping) -> str:
    module = frame.get("module") or ""
    if not module and isinstance(frame.get("filename"), str):
        module = frame["filename"].rsplit("/", 1)[-1].removesuffix(".py")
    function = frame.get("function") or "<unknown>"
    function = qualnames.get((frame.get("module"), function, frame.get("lineno")), function)
    return f"{module}.{function}" if module else str(function)


def crash_function(event: Mapping[str, Any], qualnames: Mapping | None = None) -> str:
    """'module.Class.function' of the crash frame: the in-app one, else the DRF view, else the innermost.

    ``qualnames`` ((module, function, line) -> qualified name, read from the live traceback)
    adds the class; without it the bare name is used.
    """
    qualnames = qualnames or {}
    frame = crash_frame(event, in_app_only=True)
    if frame is None:
        # DRF raises permission, authentication and validation errors from its own code; the view
        # the exception handler recorded is the application's place for them, stable per endpoint.
        drf = event.get("contexts") if isinstance(event, Mapping) else None
        drf = drf.get("drf") if isinstance(drf, Mapping) else None
        view = drf.get("view") if isinstance(drf, Mapping) else None
        if isinstance(view, str) and view:
            return cut(view, 200, marker="")
        frame = crash_frame(event)
    return cut(_frame_name(frame, qualnames), 200, marker="") if frame is not None else "unknown"


def exception_type(event: Mapping[str, Any]) -> str:
    """'KeyError' or 'library.errors.OrderNotFound' as Sentry recorded the raised exception; ''
    for a message event."""
    exc = main_exception(event) or {}
    kind, module = str(exc.get("type") or ""), exc.get("module")
    return f"{module}.{kind}" if module and module != "builtins" and kind else kind


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):  # the older protocol shape {"message": ..., "formatted": ...}
        return _text(value.get("formatted") or value.get("message"))
    return ""


def message(event: Mapping[str, Any], template: bool = False) -> str:
    """A message event's text; with template=True the unformatted log template when there is one."""
    entry = event.get("logentry")
    entry = entry if isinstance(entry, Mapping) else {}
    keys = ("message", "formatted") if template else ("formatted", "message")
    for value in (*(entry.get(k) for k in keys), event.get("message")):
        text = _text(value)
        if text:
            return text
    return ""


def text(event: Mapping[str, Any]) -> str:
    """What a person reads first: the raised exception's value (readable_value), else the message."""
    exc = main_exception(event)
    value = readable_value(exc.get("type"), _text(exc.get("value"))) if exc else ""
    return value or message(event)


_DETAIL = re.compile(r"""ErrorDetail\(string=(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")""")
_KEYED_DETAIL = re.compile(r"""(?:'([^']*)'|"([^"]*)"):\s*\[\s*""" + _DETAIL.pattern)


def readable_value(kind: Any, value: Any) -> str:
    """A validation error's value as `field: message; field: message`, not the Python repr its str() is.

    DRF's ValidationError reads `{'email': [ErrorDetail(string='Enter a valid email address.',
    code='invalid')]}` and Django's `{'email': ['Enter a valid email address.']}`; both become
    `email: Enter a valid email address.` (nested fields joined with dots, list items by index).
    The repr is read as a literal syntax tree (ast.parse, never evaluated); one the SDK cut short
    is read by pattern. Any other value, or one that says nothing readable, comes back as it was.
    """
    text = "" if value is None else str(value)
    if not str(kind or "").endswith("ValidationError") or text[:1] not in ("{", "["):
        return text
    try:
        parts = _parts(ast.parse(text, mode="eval").body, "")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        parts = [(a or b, c if c is not None else d) for a, b, c, d in _KEYED_DETAIL.findall(text)] or \
                [("", c or d) for c, d in _DETAIL.findall(text)]
    readable = "; ".join(f"{field}: {message}" if field else message for field, message in parts if message)
    return readable or text


def _parts(node: ast.AST, field: str, depth: int = 0) -> list[tuple[str, str]]:
    if depth > 20:
        return []
    if isinstance(node, ast.Dict):
        found = []
        for key, value in zip(node.keys, node.values, strict=False):
            name = str(key.value) if isinstance(key, ast.Constant) else "?"
            found += _parts(value, f"{field}.{name}" if field else name, depth + 1)
        return found
    if isinstance(node, ast.List | ast.Tuple):
        found = []
        for index, item in enumerate(node.elts):
            nested = isinstance(item, ast.Dict) and len(node.elts) > 1
            found += _parts(item, f"{field}[{index}]" if nested else field, depth + 1)
        return found
    if isinstance(node, ast.Call):  # ErrorDetail(string='...', code='...')
        for keyword in node.keywords:
            if keyword.arg == "string" and isinstance(keyword.value, ast.Constant):
                return [(field, str(keyword.value.value))]
        return _parts(node.args[0], field, depth + 1) if node.args else []
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [(field, node.value)]
    return []


def tags(event: Mapping[str, Any]) -> dict[str, str]:
    """The event's tags as a dict (the protocol also allows a list of [key, value] pairs)."""
    raw = event.get("tags")
    if isinstance(raw, Mapping):
        return {str(k): str(v) for k, v in raw.items()}
    return {str(p[0]): str(p[1]) for p in _list(raw) if isinstance(p, list | tuple) and len(p) == 2}


def timestamp(value: Any) -> float | None:
    """Seconds since the epoch from an ISO 8601 string, a datetime or a number; None otherwise."""
    if isinstance(value, str) and value:
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if isinstance(value, datetime):
        # Sentry's timestamps are UTC; a naive one must not be read as local time.
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def is_default_fingerprint(part: Any) -> bool:
    """True for Sentry's '{{ default }}' placeholder in any spacing."""
    return isinstance(part, str) and "default" in part and _DEFAULT.match(part) is not None


# Fingerprint parts are cut to this size (no marker: a fingerprint must stay stable).
FINGERPRINT_PART = 512
_TITLE = 200


def _first_line(value: Any) -> str:
    text = "" if value is None else str(value)
    return cut(text.strip().splitlines()[0] if text.strip() else "", _TITLE)


def default_fingerprint(event: Mapping[str, Any], *, type_name: str | None = None, text: str | None = None,
                        function: str | None = None, transaction: bool | None = None) -> list[str]:
    """The one default grouping identity of an event.

    A transaction: its name. A message: ``["message", text]``. An exception:
    ``["generic", type, text, function]``. The classifier passes what it read from the live
    exception (the qualified type, the normalized text, the function with its class); without
    them the parts come from the event alone: the type as recorded, the crash function, and as
    text the message's template, or for an exception the value only when no code location tells
    errors apart (a value may carry ids). `transaction` overrides the event's own "type".
    """
    if transaction if transaction is not None else event.get("type") == "transaction":
        return [_first_line(event.get("transaction")) or "<unnamed transaction>"]
    exc = main_exception(event)
    if exc is None and type_name is None:
        shown = text if text is not None else _first_line(message(event, template=True))
        return ["message", cut(shown, FINGERPRINT_PART, marker="")]
    where = function if function is not None else crash_function(event)
    if text is None:
        text = "" if where != "unknown" else _first_line(_text((exc or {}).get("value")))
    kind = type_name if type_name is not None else exception_type(event)
    return ["generic", kind or "unknown", cut(text, FINGERPRINT_PART, marker=""), where]


def issue_fingerprint(event: Mapping[str, Any], transaction: bool | None = None) -> list[str]:
    """The key an event is grouped by: its own fingerprint (the classifier's, or the caller's) with
    '{{ default }}' expanded, else default_fingerprint. The inbox and the alert rules both use it,
    so they agree on the issue even when the classifier did not run."""
    custom = event.get("fingerprint")
    if type(custom) is list and custom and set(map(type, custom)) == _ONLY_STR and \
            "default" not in "".join(custom):
        return list(custom)  # strings, none of them '{{ default }}': the default is not needed
    if isinstance(custom, list | tuple) and custom and not any(map(is_default_fingerprint, custom)):
        return [str(part) for part in custom]  # the default is not needed: do not compute it
    return expand_fingerprint(custom, default_fingerprint(event, transaction=transaction))


def expand_fingerprint(custom: Any, default: Sequence[str]) -> list[str]:
    """The fingerprint that groups: `default` when none is set, else `custom` with
    '{{ default }}' replaced by the default's parts."""
    if not isinstance(custom, list | tuple) or not custom:
        return list(default)
    parts: list[str] = []
    for part in custom:
        parts.extend(default if is_default_fingerprint(part) else (str(part),))
    return parts
