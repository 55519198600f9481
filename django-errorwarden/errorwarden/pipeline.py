"""before_send / before_send_transaction / before_breadcrumb as ordered steps with failure policies.

A step is `step(event, hint) -> event | None`. Each step runs under a policy that says what an
exception inside it means:
  FAIL_CLOSED  drop the event: used for scrubbing, where sending unscrubbed data is the worse outcome;
  SKIP         keep the event as the previous step left it: used for enrichment such as grouping;
  OBSERVE      ignore the result: used for alerting, which must never change or block an event.
Only the pipeline catches a step's exception: steps themselves let errors out. Every failure and
every drop is counted in the runtime's loss ledger (kind "pipeline") and logged at most once per
interval per (step, exception type) with its traceback's frames, but never with the exception's
message, which may quote event data. Entry points that are not steps (request accounting,
flushes) run under `PipelineStats.guard`, which applies the same rule.

Steps talk to later steps through the hint: the classifier leaves its Verdict under
event.VERDICT, so alerting never has to parse it back out of tags.
"""

from __future__ import annotations

import contextlib
import logging
import re
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from errorwarden.losses import FAILED, LossLedger, is_loss

Event = dict[str, Any]
Hint = dict[str, Any]
Step = Callable[[Event, Hint], Event | None]

FAIL_CLOSED = "fail_closed"
SKIP = "skip"
OBSERVE = "observe"
_POLICIES = frozenset({FAIL_CLOSED, SKIP, OBSERVE})
T = TypeVar("T")

logger = logging.getLogger("errorwarden.pipeline")


@dataclass(frozen=True)
class Stage:
    """One named step and what its failure means."""

    name: str
    step: Step
    policy: str = SKIP

    def __post_init__(self) -> None:
        if self.policy not in _POLICIES:
            raise ValueError(f"policy {self.policy!r} for step {self.name!r}: use one of {sorted(_POLICIES)}")


class PipelineStats:
    """The pipelines' view of the runtime's loss ledger (kind "pipeline"): what they dropped and why.

    Nothing is counted here: every drop and every failure goes to the ledger (errorwarden/losses.py),
    which logs each (step, exception type) at most once per interval, with the frames of the
    traceback but never the exception's message. `dropped` and `failures` read the ledger back.
    """

    KIND = "pipeline"

    def __init__(self, ledger: LossLedger | None = None) -> None:
        self.ledger = ledger if ledger is not None else LossLedger()

    def record_drop(self, reason: str, on_purpose: bool = True) -> None:
        """Count an event dropped: on purpose (ignored type, an attachment) or by a failed step."""
        self.ledger.lost(self.KIND, reason, 1, "dropped on purpose by the step" if on_purpose else
                         "a fail-closed step failed: the event was dropped rather than sent unscrubbed",
                         level=logging.INFO if on_purpose else logging.WARNING)

    def record_failure(self, stage: Stage, exc: BaseException) -> None:
        """Count a step's exception; the ledger logs it once per interval per (step, exception type)."""
        name = type(exc).__name__
        self.ledger.failed(self.KIND, f"{stage.name}:{name}", 1,
                           f"error-tracking step {stage.name!r} failed with {name} (policy {stage.policy})",
                           level=logging.ERROR, where=where_it_failed(exc))

    def guard(self, name: str, call: Callable[..., T], *args: Any, default: T | None = None) -> T | None:
        """Run an entry point that is not a pipeline step; a failure is counted and logged like one."""
        try:
            return call(*args)
        except Exception as exc:
            self.record_failure(Stage(name, _unused, OBSERVE), exc)
            return default

    @property
    def dropped(self) -> dict[str, int]:
        """Events dropped, by step (a `_failed` suffix: the fail-closed step raised)."""
        return {key[1]: n for key, n in self.ledger.totals(self.KIND).items() if is_loss(key)}

    @property
    def failures(self) -> dict[str, int]:
        """Step failures, as "step:ExceptionType"."""
        return {reason.removeprefix(FAILED): n for (_, reason), n in self.ledger.totals(self.KIND).items()
                if reason.startswith(FAILED)}

    def snapshot(self) -> dict[str, dict[str, int]]:
        """A copy of the counts."""
        return {"dropped": self.dropped, "failures": self.failures}


def where_it_failed(exc: BaseException) -> str:
    """The traceback's frames (file, line, function, source line) without the exception's message."""
    frames = traceback.extract_tb(exc.__traceback__)
    return "".join(traceback.format_list(frames)).rstrip() or "  (no traceback)"


def _unused(event: Event, hint: Hint) -> Event:
    return event


class Pipeline:
    """Runs stages in order; the SDK calls an instance as before_send and friends."""

    def __init__(self, stages: Sequence[Stage], stats: PipelineStats | None = None):
        self.stages = tuple(stages)
        self.stats = stats if stats is not None else PipelineStats()

    def __call__(self, event: Event, hint: Hint | None) -> Event | None:
        hint = hint if hint is not None else {}
        for stage in self.stages:
            # Steps that may fail without dropping get a shallow copy, so a step that raises half-way
            # leaves no top-level change behind (fail-closed steps drop the event anyway).
            given = event if stage.policy == FAIL_CLOSED else dict(event)
            try:
                result = stage.step(given, hint)
            except Exception as exc:
                self.stats.record_failure(stage, exc)
                if stage.policy == FAIL_CLOSED:
                    self.stats.record_drop(f"{stage.name}_failed", on_purpose=False)
                    return None
                continue
            if stage.policy == OBSERVE:
                continue
            if result is None:
                self.stats.record_drop(stage.name)
                return None
            event = result
        return event


class NeverRaising:
    """before_send_span: scrub a streamed span; never raise, never return anything but a span.

    sentry-sdk cannot drop a streamed span, and when this hook raises (or returns something
    that is not a span) it sends the original. So a failed scrub is counted and logged like a
    fail-closed step's, and the span goes out blanked: its name and every string attribute
    replaced, attributes whose name is not a plain lower-case semantic-convention name removed.
    """

    BLANK = "[Filtered]"

    def __init__(self, name: str, scrub: Callable[[Event], Event], stats: PipelineStats):
        self._stage = Stage(name, _unused, FAIL_CLOSED)
        self._scrub = scrub
        self.stats = stats

    def __call__(self, span: Event, hint: Hint | None) -> Event:
        try:
            result = self._scrub(span)
            if isinstance(result, dict) and isinstance(result.get("name"), str):
                return result
            raise TypeError(f"the scrub returned {type(result).__name__}, not a span")
        except Exception as exc:
            with contextlib.suppress(Exception):  # the span must still go out blanked
                self.stats.record_failure(self._stage, exc)
            return blanked(span)


_ATTRIBUTE_NAME = re.compile(r"[a-z][a-z0-9_.]{0,63}")


def blanked(span: Any) -> Event:
    """A copy of a streamed span with no string of its own left; never raises."""
    try:
        attributes = span.get("attributes") if isinstance(span, dict) else None
        kept = {key: _blank_value(value) for key, value in (attributes or {}).items()
                if type(key) is str and _ATTRIBUTE_NAME.fullmatch(key)}
        return {"name": NeverRaising.BLANK, "attributes": kept}
    except Exception:
        return {"name": NeverRaising.BLANK, "attributes": {}}


def _blank_value(value: Any) -> Any:
    if type(value) in (bool, int, float):
        return value
    if type(value) in (list, tuple):
        return [v if type(v) in (bool, int, float) else NeverRaising.BLANK for v in value]
    return NeverRaising.BLANK


class DropIgnored:
    """Drops events whose exception is an expected one (Http404 and friends).

    A plain name matches any class of that name in the exception's MRO. A dotted path matches a
    class whose defining module and qualified name spell it (`library.models.Book.DoesNotExist`),
    without importing anything; once Django's app registry is ready the paths are imported too
    (`resolve()`, called from the app's ready()), so a re-export such as `django.http.Http404`
    matches and a path that names no exception class stops start-up with one line. Importing
    earlier, from settings.py, would load models before the registry and crash start-up.
    """

    def __init__(self, names: Iterable[str]):
        names = tuple(names)
        self._plain = frozenset(n for n in names if "." not in n)
        self._paths = tuple(dict.fromkeys(n for n in names if "." in n))
        self._qualified = frozenset(self._paths)
        self._classes: tuple[type, ...] = ()
        self._pending = bool(self._paths)
        if self._pending and _apps_ready():  # re-initialised after start-up: check the paths now
            self.resolve()

    @property
    def pending(self) -> bool:
        """Whether the dotted paths still wait for the app registry to be imported."""
        return self._pending

    def resolve(self) -> None:
        """Import every dotted path once; ImproperlyConfigured naming each that is no exception class.

        Call it when the app registry is ready. Until then (and if it fails) the paths still match
        by qualified name.
        """
        from django.core.exceptions import ImproperlyConfigured

        found, problems = [], []
        for path in self._paths:
            cls, why = _import_exception(path)
            if cls is None:
                problems.append(f"SENTRY_IGNORE_ERRORS: {path!r} {why}; use the dotted path of an "
                                "exception class, such as django.http.Http404 or "
                                "myapp.models.Book.DoesNotExist, or a plain class name.")
            else:
                found.append(cls)
        self._classes, self._pending = tuple(found), False
        if problems:
            raise ImproperlyConfigured(problems[0] if len(problems) == 1 else "\n".join(problems))

    def __call__(self, event: Event, hint: Hint) -> Event | None:
        exc_info = hint.get("exc_info")
        if not exc_info or not isinstance(exc_info[0], type):
            return event
        if issubclass(exc_info[0], BrokenPipeError) and _reader_went_away(event):
            return None
        if self._classes and issubclass(exc_info[0], self._classes):
            return None
        for cls in exc_info[0].__mro__:
            if cls.__name__ in self._plain:
                return None
            if self._qualified and f"{cls.__module__}.{cls.__qualname__}" in self._qualified:
                return None
        return event


def _reader_went_away(event: Event) -> bool:
    """True for an uncaught BrokenPipeError of a script whose stdout nobody reads any more
    (``manage.py my_report | head -1``, a script of one's own without exit_on_settings_error):
    the reader closing the pipe is how such a script normally ends, as Python's documentation
    on SIGPIPE says, not an application error. One of a socket or a child's pipe, caught or
    raised in a request, is still reported: stdout is open then."""
    from .envvars import stdout_closed

    values = (event.get("exception") or {}).get("values") or ()
    mechanism = (values[-1].get("mechanism") or {}) if values and isinstance(values[-1], dict) else {}
    return mechanism.get("type") in {"excepthook", "threading"} and stdout_closed()


def _apps_ready() -> bool:
    try:
        from django.apps import apps
    except ImportError:
        return False
    return apps.ready


def _import_exception(path: str) -> tuple[type | None, str]:
    """The exception class at `path`, or None and why not (never the import's own traceback).

    The longest importable module prefix is imported and the rest looked up as attributes, so a
    nested class (`library.models.Book.DoesNotExist`) resolves as well as a top-level one.
    """
    import importlib

    parts = path.split(".")
    module, missing = None, ""
    for cut in range(len(parts) - 1, 0, -1):
        name = ".".join(parts[:cut])
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and not name.startswith(exc.name):
                return None, f"could not be imported: {name} needs the module {exc.name}, which is missing"
            missing = missing or name
            continue
        except Exception as exc:  # the module raised while importing: name the type, not its text
            return None, f"could not be imported ({type(exc).__name__} while importing {name})"
        break
    if module is None:
        return None, f"does not import (no module {missing or parts[0]})"
    found: object = module
    for attribute in parts[cut:]:
        if not hasattr(found, attribute):
            return None, f"does not resolve ({'.'.join(parts[:cut])} has no {'.'.join(parts[cut:])})"
        found = getattr(found, attribute)
    if not isinstance(found, type):
        return None, f"is a {type(found).__name__}, not a class"
    if not issubclass(found, BaseException):
        return None, "is a class but not an exception"
    return found, ""
