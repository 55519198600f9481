"""Read grouping signals from a live exception and a scrubbed sentry-sdk event, never raising."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from errorwarden import event as ev
from errorwarden.grouping.normalize import normalize_message, normalize_route
from errorwarden.text import cut

MAX_CHAIN = 10
MAX_FRAMES = 200
# Text that reaches a fingerprint is cut: Sentry shows it, and a 1 MB message must not cost
# 1 MB of regex work on the error path. Normalizing first, then cutting, keeps cut points
# stable across ids of different lengths.
MAX_TEXT_IN = 64 * 1024
MAX_PART = 512
# Texts up to this long are normalized once and remembered: most events repeat their message and
# route, and the normalizer's regular expressions cost more than the rest of classifying.
MAX_REMEMBERED = 1024


class cached_property:  # functools.cached_property without its lock
    """A property computed once per instance, then read from the instance's __dict__.

    functools.cached_property takes a lock on every first access in Python 3.11; a Facts object
    belongs to one event on one thread, so the lock only costs.
    """

    def __init__(self, func: Any):
        self.func, self.name = func, func.__name__
        self.__doc__ = func.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.func(instance)
        return value


@lru_cache(maxsize=4096)
def _remembered_message(text: str) -> str:
    return clip(normalize_message(text))


def normalized_message(text: str) -> str:
    """normalize_message cut to a fingerprint part; a short text's answer is remembered."""
    if len(text) <= MAX_REMEMBERED:
        return _remembered_message(text)
    return clip(normalize_message(text[:MAX_TEXT_IN]))


@lru_cache(maxsize=4096)
def _remembered_route(route: str, concrete: bool) -> str:
    return clip(normalize_route(route, concrete=concrete), 200)


def normalized_route(route: str, concrete: bool) -> str:
    """normalize_route cut to a tag size; a short route's answer is remembered."""
    if len(route) <= MAX_REMEMBERED:
        return _remembered_route(route, concrete)
    return clip(normalize_route(route, concrete=concrete), 200)


@dataclass(frozen=True)
class Verdict:
    """The classifier's answer for one event: category, kind, fingerprint, tags, level, service."""

    category: str
    kind: str
    fingerprint: tuple[str, ...]
    tags: dict[str, str] = field(default_factory=dict)
    level: str | None = None
    service: str = ""


def safe_attr(obj: Any, name: str, default: Any = None) -> Any:
    """getattr that survives properties and __getattr__ hooks raising anything."""
    try:
        return getattr(obj, name, default)
    except Exception:
        return default


def get_path(data: Any, *keys: Any) -> Any:
    """Walk nested dicts and lists by key or index; None when any step is missing."""
    for key in keys:
        try:
            data = data[key]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def clip(text: str, limit: int = MAX_PART) -> str:
    """Cut text to a fingerprint-part or tag size (no marker: a fingerprint must stay stable)."""
    return cut(text, limit, marker="")


@lru_cache(maxsize=1024)
def class_names(cls: type) -> frozenset[str]:
    """Every 'module.QualName' and bare 'QualName' of a class and its bases."""
    names: set[str] = set()
    for base in getattr(cls, "__mro__", (cls,)):
        qualname = getattr(base, "__qualname__", "")
        names.add(qualname)
        names.add(f"{getattr(base, '__module__', '')}.{qualname}")
    return frozenset(names)


def qualified_name(cls: type) -> str:
    """'KeyError' for builtins, 'package.module.Class' otherwise."""
    module = getattr(cls, "__module__", "") or ""
    qualname = getattr(cls, "__qualname__", "") or getattr(cls, "__name__", "?")
    return qualname if module in ("builtins", "") else f"{module}.{qualname}"


def exception_chain(exc: BaseException | None) -> tuple[BaseException, ...]:
    """The exception, then what caused it (explicit cause, else unsuppressed context)."""
    chain: list[BaseException] = []
    seen: set[int] = set()
    while isinstance(exc, BaseException) and id(exc) not in seen and len(chain) < MAX_CHAIN:
        chain.append(exc)
        seen.add(id(exc))
        cause = safe_attr(exc, "__cause__")
        if cause is None and not safe_attr(exc, "__suppress_context__", False):
            cause = safe_attr(exc, "__context__")
        exc = cause
    return tuple(chain)


def traceback_frames(exc: BaseException) -> Iterator[Any]:
    """The live frames an exception passed through, innermost (the raise point) first."""
    frames = []
    tb = safe_attr(exc, "__traceback__")
    while tb is not None and len(frames) < MAX_FRAMES:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    return reversed(frames)


def frame_local(frame: Any, name: str) -> Any:
    """One local variable of a live frame, or None."""
    try:
        return frame.f_locals.get(name)
    except Exception:
        return None


def url_host(url: Any) -> tuple[str, int | None]:
    """The lower-case host and port of a URL string, or ('', None)."""
    try:
        parts = urlsplit(str(url))
        return (parts.hostname or "").lower(), parts.port
    except (ValueError, TypeError):
        return "", None


def live_qualnames(exc: BaseException | None) -> dict:
    """(module, function, line) -> qualified name ('LoanCreate.post') for a live traceback.

    sentry-sdk records a frame's bare function name, so two views' ``post`` methods in one
    module would share a fingerprint; the live code object knows the class.
    """
    names: dict = {}
    try:
        tb = exc.__traceback__ if exc is not None else None
        while tb is not None and len(names) < MAX_FRAMES:
            code = tb.tb_frame.f_code
            module = tb.tb_frame.f_globals.get("__name__")
            names[(module, code.co_name, tb.tb_lineno)] = code.co_qualname
            tb = tb.tb_next
    except Exception:
        return names
    return names


class _QualnameOf:
    """live_qualnames(exc).get(key, default) for the one frame asked about, without the dict.

    Only the crash frame's name is ever looked up; walking the traceback to it is cheaper than
    naming every frame first.
    """

    def __init__(self, exc: BaseException | None):
        self._exc = exc

    def __bool__(self) -> bool:
        return self._exc is not None

    def get(self, key: tuple, default: Any = None) -> Any:
        module, function, line = key
        try:
            tb = self._exc.__traceback__ if self._exc is not None else None
            for _ in range(MAX_FRAMES):
                if tb is None:
                    break
                code = tb.tb_frame.f_code
                if code.co_name == function and tb.tb_lineno == line and \
                        tb.tb_frame.f_globals.get("__name__") == module:
                    return code.co_qualname
                tb = tb.tb_next
        except Exception:
            return default
        return default


def event_route(event: dict) -> str:
    """The route pattern of the request ('/api/books/{pk}/'), never a concrete id."""
    transaction = event.get("transaction")
    if isinstance(transaction, str) and transaction:
        source = get_path(event, "transaction_info", "source")
        source = getattr(source, "value", source)
        return normalized_route(transaction, source == "url")
    url = get_path(event, "request", "url")
    if isinstance(url, str) and url:
        try:
            path = urlsplit(url).path or "/"
        except ValueError:
            return "unknown"
        return normalized_route(path, True)
    return "unknown"


class Facts:
    """What the classifier reads about one event: the live exception chain and scrubbed text."""

    def __init__(self, event: dict, hint: dict):
        self.event = event
        exc_info = hint.get("exc_info") if isinstance(hint, dict) else None
        exc = exc_info[1] if isinstance(exc_info, tuple) and len(exc_info) > 1 else None
        self.exc: BaseException | None = exc if isinstance(exc, BaseException) else None
        self.chain = exception_chain(self.exc)

    @cached_property
    def top_value(self) -> dict:
        """The event's entry for the raised exception (the last in 'exception.values')."""
        return ev.main_exception(self.event) or {}

    @cached_property
    def is_message(self) -> bool:
        """True for events without an exception (capture_message, logger.error without exc_info)."""
        return self.exc is None and not self.top_value

    @cached_property
    def names(self) -> frozenset[str]:
        """Class names of the raised exception and its bases (from the event when not live)."""
        if self.exc is not None:
            return class_names(type(self.exc))
        kind, module = str(self.top_value.get("type") or ""), self.top_value.get("module")
        return frozenset({kind, f"{module}.{kind}"} if module else {kind}) - {""}

    @cached_property
    def type_name(self) -> str:
        """'KeyError' or 'library.errors.OrderNotFound'; '' for message events."""
        if self.exc is not None:
            return qualified_name(type(self.exc))
        kind, module = str(self.top_value.get("type") or ""), self.top_value.get("module")
        return f"{module}.{kind}" if module and module != "builtins" and kind else kind

    @cached_property
    def module(self) -> str:
        """The module that defines the exception class."""
        if self.exc is not None:
            return str(getattr(type(self.exc), "__module__", "") or "")
        return str(self.top_value.get("module") or "")

    @cached_property
    def message(self) -> str:
        """The scrubbed text users see: the exception value, or the formatted log message."""
        if not self.is_message:
            value = self.top_value.get("value")
            return value if isinstance(value, str) else ""
        return ev.message(self.event)

    @cached_property
    def group_text(self) -> str:
        """The normalized text that groups: the log template when there is one."""
        text = ev.message(self.event, template=True) if self.is_message else self.message
        return normalized_message(text)

    @cached_property
    def function(self) -> str:
        """'module.Class.function' of the in-app frame that raised."""
        return ev.crash_function(self.event, _QualnameOf(self.exc))

    @cached_property
    def route(self) -> str:
        """The route pattern the request matched."""
        return event_route(self.event)

    @cached_property
    def logger(self) -> str:
        """The logger name of a logging event, else ''."""
        logger = self.event.get("logger")
        return logger if isinstance(logger, str) else ""
