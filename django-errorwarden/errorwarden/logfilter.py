"""A logging filter for local handlers: scrub secrets and defuse control characters in log records.

Sentry only ever sees scrubbed events, but the app's own console printed what the SDK never sent:
a password in an exception message, raw ANSI escapes that repaint the terminal, a CR/LF that
forges a second log line. ScrubLogFilter runs the project's Scrubber over the record's message
(after %-formatting its args), its exception text and its stack text, and shows control and bidi
characters as escapes (ESC as \\x1b: an ANSI sequence prints as text, it does not act). Put it
on a handler; every later handler sees the clean text too. The record's msg, args and exc_info
are left alone (sentry-sdk reads them after the handlers, and groups by the template); what
changes is what formatters print: getMessage(), exc_text and stack_info.

    LOGGING = {
        "filters": {"scrub": {"()": "errorwarden.logfilter.ScrubLogFilter"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["scrub"]}},
        ...
    }

LineFormatter is the formatter that goes with it: whatever reaches it (a record from a handler
without the filter, a traceback's own lines), the printed record is one line plus continuation
lines marked with "  | ", so no text inside a record can print a line that passes for another
record. Give it to every handler the project configures:

    "formatters": {"plain": {"class": "errorwarden.logfilter.LineFormatter",
                             "format": "%(levelname)s %(name)s: %(message)s"}},

Options (as keys of the filter's dict): max_message (characters of the message kept, default
16384) and max_exc_text (of the traceback text, default 65536): the cut comes before the scrub,
so a 1 MB message costs no more than a short one.

A filter covers only the handlers it is put on, and Django adds handlers of its own before LOGGING:
`console` on the `django` logger (prints under DEBUG), `django.server` (runserver's request lines)
and `mail_admins` (mails the traceback and the request when DEBUG is off and ADMINS is set). One
line in settings.py covers them and every handler LOGGING adds:

    LOGGING_CONFIG = "errorwarden.logfilter.configure_logging"

It applies LOGGING as Django would, then puts the scrub filter first on every handler of every
logger and turns Django's AdminEmailHandler into ScrubbedAdminEmailHandler, whose report (built
from the exception and the request, not from the filtered record) is scrubbed before it is mailed.
The system check errorwarden.W005 names any handler still left out. When LOGGING gives the root
logger a console on stderr and leaves the `django` logger to Django, Django's `console` prints
only the records below that console's level, so a 500's traceback prints once, not twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from django.utils.log import AdminEmailHandler

from errorwarden.text import LOG_CONTINUATION, for_log, visible


def clean_text(text: str, keep_newlines: bool = False) -> str:
    """Control, bidi and separator characters (ESC of an ANSI sequence included) shown as escapes
    (errorwarden.text.visible): never executed by the terminal, never silently dropped."""
    return visible(text, lines=keep_newlines)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}…[{len(text) - limit} characters cut]"


def _messages(error: BaseException | None) -> list[str]:
    """str() of each exception in a chain, the way a traceback prints them."""
    found, seen = [], set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        with suppress(Exception):  # a str() that raises prints as "<exception str() failed>"
            found.append(str(error))
        error = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
    return found


def _traceback(exc_info: Any) -> str:
    """The formatted traceback, with line breaks inside exception messages escaped.

    A traceback has lines of its own; a message that carries CR/LF must not add lines that pass
    for log records.
    """
    text = logging.Formatter().formatException(exc_info)
    for message in _messages(exc_info[1]):
        if "\n" in message or "\r" in message:
            text = text.replace(message, message.replace("\r", "\\r").replace("\n", "\\n"))
    return text


def _default_scrub() -> Callable[[str], str]:
    """The running process's scrubber (with SENTRY_SCRUB_* keys), else a default one."""
    from errorwarden.runtime import current_runtime

    runtime = current_runtime()
    if runtime is not None:
        return runtime.scrubber.scrub_text
    from errorwarden.scrubbing import Scrubber

    return Scrubber().scrub_text


class CleanRecord(logging.LogRecord):
    """A filtered record: getMessage() answers the clean text; msg and args are the originals."""

    _clean_message = ""

    def getMessage(self) -> str:
        """The scrubbed, defused message."""
        return self._clean_message


def _set_message(record: logging.LogRecord, text: str) -> None:
    # A subclass swap rather than an attribute: sentry-sdk copies a record's public attributes into
    # the event's extra, and skips those starting with '_'.
    record.__class__ = CleanRecord
    record._clean_message = text


class ScrubLogFilter(logging.Filter):
    """Scrubs and defuses a log record in place; never drops it and never raises."""

    def __init__(self, name: str = "", scrub_text: Callable[[str], str] | None = None,
                 max_message: int = 16_384, max_exc_text: int = 65_536):
        super().__init__(name)
        if max_message < 1 or max_exc_text < 1:
            raise ValueError(f"max_message and max_exc_text must be positive, not {max_message}, "
                             f"{max_exc_text}")
        self._scrub = scrub_text
        self.max_message, self.max_exc_text = max_message, max_exc_text

    def _text(self, text: str, limit: int, keep_newlines: bool) -> str:
        scrub = self._scrub or _default_scrub()
        return clean_text(scrub(_cut(text, limit)), keep_newlines)

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message, exception and stack text; always keep the record."""
        if isinstance(record, CleanRecord):
            return True  # a second handler with the same filter
        try:
            try:
                message = record.getMessage()
            except Exception:  # a bad %-format: show the template and say so
                message = f"{record.msg!s} (log arguments did not match the message)"
            # msg, args and exc_info stay: sentry-sdk reads the record after the handlers and
            # groups log events by the template. Formatters print getMessage() and exc_text.
            text = self._text(message, self.max_message, keep_newlines=False)
            if record.exc_info and not record.exc_text:
                record.exc_text = _traceback(record.exc_info)
            if record.exc_text:
                record.exc_text = self._text(record.exc_text, self.max_exc_text, keep_newlines=True)
            if record.stack_info:
                record.stack_info = self._text(record.stack_info, self.max_exc_text, keep_newlines=True)
        except Exception as exc:
            # Failing closed: a record we could not scrub must not print what it carries.
            text = f"[log record withheld: scrubbing failed with {type(exc).__name__}]"
            record.exc_text = "[traceback withheld]" if record.exc_info else None
            record.stack_info = None
        _set_message(record, text)
        return True


class LineFormatter(logging.Formatter):
    """A logging.Formatter whose output cannot forge records: control and bidi characters are shown
    as escapes, and every line after a record's first (a traceback, a stack, a message that kept
    a line break) starts with `continuation`."""

    def __init__(self, *args: Any, continuation: str = LOG_CONTINUATION, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.continuation = continuation

    def format(self, record: logging.LogRecord) -> str:
        """The record formatted by logging.Formatter, then made one record's worth of lines."""
        return for_log(super().format(record), self.continuation)


class MarkedLines(logging.Formatter):
    """Wraps a formatter the project does not own (Celery's coloured one) and marks every line after
    a record's first with `continuation`; the scrub filter on the same handler shows the controls."""

    def __init__(self, inner: logging.Formatter | None, continuation: str = LOG_CONTINUATION):
        super().__init__()
        self.inner, self.continuation = inner or logging.Formatter(), continuation

    def format(self, record: logging.LogRecord) -> str:
        """The inner formatter's text, its further lines marked."""
        return self.inner.format(record).replace("\n", "\n" + self.continuation)


def defuse_handlers(logger: logging.Logger | None = None, **_: Any) -> None:
    """Give the handlers of `logger` that LOGGING did not configure the scrub filter and marked
    continuation lines. Connected to Celery's after_setup_logger and after_setup_task_logger: a
    worker replaces the root logger's handlers with its own (worker_hijack_root_logger)."""
    for handler in getattr(logger, "handlers", ()):
        if not any(isinstance(f, ScrubLogFilter) for f in handler.filters):
            handler.filters.insert(0, ScrubLogFilter())
        if not isinstance(handler.formatter, LineFormatter | MarkedLines):
            handler.setFormatter(MarkedLines(handler.formatter))


class ScrubbedAdminEmailHandler(AdminEmailHandler):
    """Django's mail_admins with its subject and text report scrubbed; the HTML report is never sent.

    AdminEmailHandler builds the mail from the exception and the request itself (the exception's
    message, GET, POST, META, the settings), so a filter on the record cannot reach it: the text is
    scrubbed here, as one text, on its way to Django's mail API. The HTML report shows key names and
    values in separate cells, where a value is no longer beside the key that marks it secret.
    """

    max_report = 262_144  # characters of the report kept; the cut comes before the scrub

    def __init__(self, include_html: bool = False, email_backend: str | None = None,
                 reporter_class: str | None = None):
        super().__init__(False, email_backend, reporter_class)

    def emit(self, record: logging.LogRecord) -> None:
        """Django's emit, never with the HTML report (also after a class swap kept include_html)."""
        from django.conf import settings

        # Django returns early without ADMINS only when send_mail is not overridden, as it is here:
        # without this, every error logged with DEBUG off would build a report to mail nobody.
        if not settings.ADMINS:
            return
        self.include_html = False
        super().emit(record)

    def send_mail(self, subject: str, message: str, *args: Any, **kwargs: Any) -> None:
        """Scrub the subject and the report, then hand them to mail_admins; withhold them if that fails."""
        kwargs["html_message"] = None
        try:
            scrub = _default_scrub()
            subject = clean_text(scrub(_cut(subject, 2_000)))
            message = clean_text(scrub(_cut(message, self.max_report)), keep_newlines=True)
        except Exception as exc:  # failing closed, as the filter does
            subject = "[error report withheld]"
            message = f"[error report withheld: scrubbing failed with {type(exc).__name__}]"
        super().send_mail(subject, message, *args, **kwargs)


def configure_logging(config: dict[str, Any]) -> None:
    """Django's LOGGING_CONFIG: apply LOGGING with dictConfig, then scrub every handler (scrub_handlers).

    settings.py: LOGGING_CONFIG = "errorwarden.logfilter.configure_logging"

    When LOGGING leaves the `django` logger to Django and gives the root logger a console on the
    same stream, Django's own `console` prints only the records that console does not (those
    below its level): each record of a `django` logger prints once (see _yield_django_console).
    """
    import logging.config

    logging.config.dictConfig(config)
    if "django" not in (config.get("loggers") or {}):
        _yield_django_console()
    scrub_handlers()


class BelowLevel(logging.Filter):
    """Passes only records below `level`: those another handler on the same stream does not print."""

    def __init__(self, level: int):
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        """True for a record below the level."""
        return record.levelno < self.level


def _yield_django_console() -> None:
    """Stop Django's default `console` printing what a root console on the same stream prints too.

    Django's DEFAULT_LOGGING prints every INFO and higher record of the `django` loggers on stderr
    while DEBUG is on; the records also propagate to the root logger, whose console (LOGGING's)
    prints them again. Django's console keeps only the records below the root console's level
    (none when it has no level), so nothing printed before is lost and nothing prints twice. A
    root handler with a filter of its own may drop records, so it is not relied on.
    """
    from django.utils.log import RequireDebugTrue

    django_logger = logging.getLogger("django")
    if not django_logger.propagate:
        return
    for ours in logging.getLogger().handlers:
        if type(ours) is not logging.StreamHandler or \
                not all(isinstance(f, ScrubLogFilter) for f in ours.filters):
            continue
        for theirs in django_logger.handlers:
            if type(theirs) is logging.StreamHandler and theirs.stream is ours.stream and \
                    any(isinstance(f, RequireDebugTrue) for f in theirs.filters) and \
                    not any(isinstance(f, BelowLevel) for f in theirs.filters):
                theirs.addFilter(BelowLevel(ours.level))


def scrub_handlers() -> int:
    """Put the scrub filter first on every handler of every logger that lacks one; return how many.

    A plain AdminEmailHandler becomes a ScrubbedAdminEmailHandler (a subclass of it is left alone,
    and the W005 check names it). Handlers that neither print nor send are skipped.
    """
    changed, shared = 0, ScrubLogFilter()
    for _, handler in _handlers():
        if type(handler) is AdminEmailHandler:
            handler.__class__ = ScrubbedAdminEmailHandler
            changed += 1
        if not any(isinstance(f, ScrubLogFilter) for f in handler.filters):
            handler.filters.insert(0, shared)
            changed += 1
        if isinstance(handler, logging.StreamHandler) and \
                not isinstance(handler.formatter, LineFormatter | MarkedLines):
            handler.setFormatter(MarkedLines(handler.formatter))  # a record's further lines marked
    return changed


def unscrubbed_handlers() -> list[tuple[str, logging.Handler]]:
    """(logger name, handler) for each handler that would print or send a record unscrubbed."""
    return [(name, handler) for name, handler in _handlers() if not _scrubbed(handler)]


def _scrubbed(handler: logging.Handler) -> bool:
    if isinstance(handler, AdminEmailHandler) and not isinstance(handler, ScrubbedAdminEmailHandler):
        return False  # its report comes from the exception and the request, not the filtered record
    return any(isinstance(f, ScrubLogFilter) for f in handler.filters)


def _handlers() -> list[tuple[str, logging.Handler]]:
    """Every (logger name, handler) pair that can print or send; each handler once."""
    loggers: list[tuple[str, logging.Logger]] = [("root", logging.getLogger())]
    loggers += [(name, found) for name, found in list(logging.Logger.manager.loggerDict.items())
                if isinstance(found, logging.Logger)]
    seen: set[int] = set()
    found_handlers = []
    for name, logger in loggers:
        for handler in list(logger.handlers):
            if id(handler) in seen or not _emits(handler):
                continue
            seen.add(id(handler))
            found_handlers.append((name, handler))
    return found_handlers


def _emits(handler: logging.Handler) -> bool:
    # NullHandler drops everything; pytest's capture handlers keep records for assertions only.
    return not isinstance(handler, logging.NullHandler) and not type(handler).__module__.startswith("_pytest")
