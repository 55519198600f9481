"""The console log filter: secrets scrubbed, control characters defused, Sentry's view of the record kept."""

from __future__ import annotations

import io
import logging
import logging.config
import pickle

import pytest
import sentry_sdk

from errorwarden.logfilter import CleanRecord, ScrubLogFilter, clean_text


def _print(message: str, *args: object, exc: BaseException | None = None, **options: object) -> str:
    """What a console handler with the filter prints for one record."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ScrubLogFilter(**options))
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger(f"test.logfilter.{id(stream)}")
    logger.handlers, logger.propagate = [handler], False
    exc_info = (type(exc), exc, exc.__traceback__) if exc else None
    logger.error(message, *args, exc_info=exc_info)
    return stream.getvalue()


@pytest.mark.parametrize(("message", "args", "absent", "present"), [
    ("login with password=%s", ("hunter2-secret",), "hunter2-secret", "password=[Filtered]"),
    ("mail to %s", ("jane.reader@example.com",), "jane.reader@example.com", "mail to [email]"),
    ("card %s declined", ("4111 1111 1111 1111",), "4111 1111 1111", "[card]"),
    ("\x1b[31mred\x1b[0m and \x1b]0;new title\x07", (), "\x1b",
     "\\x1b[31mred\\x1b[0m and \\x1b]0;new title\\x07"),
    ("a NUL\x00 here", (), "\x00", "a NUL\\0 here"),
    ("one\r\nERROR forged record", (), "\nERROR forged", "one\\r\\nERROR forged record"),
    ("bidi \u202eevil", (), "\u202e", "bidi \\u202eevil"),
    ("undecodable %s", (b"\xff".decode("utf-8", "surrogateescape"),), "\udcff", "undecodable \\udcff"),
])
def test_a_record_prints_scrubbed_on_one_line(message, args, absent, present):
    """Secrets are replaced, control characters (an ANSI sequence's ESC too) shown escaped, one line each."""
    printed = _print(message, *args)
    assert absent not in printed and present in printed
    assert printed.count("\n") == 1


def test_the_traceback_is_scrubbed_and_its_message_cannot_add_lines():
    """A traceback keeps its own lines, loses its secrets, and a CR/LF in the message stays escaped."""
    try:
        raise ValueError("token for jane.reader@example.com\r\nERROR forged: line")
    except ValueError as exc:
        printed = _print("request failed", exc=exc)
    assert "Traceback (most recent call last):" in printed and "jane.reader" not in printed
    assert "\nERROR forged" not in printed and "\\r\\nERROR forged: line" in printed


def test_a_long_message_is_cut_before_the_scrubber_sees_it():
    """A 1 MB message reaches the scrubber as at most max_message characters, with a note."""
    seen: list[int] = []

    def scrub(text: str) -> str:
        seen.append(len(text))
        return text

    printed = _print("x" * 1_000_000, scrub_text=scrub, max_message=1_000)
    assert max(seen) < 1_100 and "[999000 characters cut]" in printed


def test_sentry_still_sees_the_template_and_the_exception(tracked):
    """Grouping by message template survives the filter: the event's logentry keeps msg and params."""
    logger = logging.getLogger("library.logfilter_test")
    handler = logging.StreamHandler(io.StringIO())
    handler.addFilter(ScrubLogFilter())
    logger.addHandler(handler)
    try:
        try:
            raise KeyError("missing")
        except KeyError:
            logger.error("user %s failed", 7, exc_info=True)
    finally:
        logger.removeHandler(handler)
    sentry_sdk.flush(5)
    assert tracked.wait_for(lambda r: len(r.events()) == 1)
    event = tracked.events()[0]
    assert event["logentry"]["message"] == "user %s failed"
    assert event["exception"]["values"][-1]["type"] == "KeyError"
    assert "getMessage" not in event.get("extra", {}) and "_clean_message" not in event.get("extra", {})


def test_it_is_configured_from_a_logging_dict_and_records_stay_picklable():
    """dictConfig builds it with options; a filtered record pickles (queue handlers) and is filtered once."""
    stream = io.StringIO()
    logging.config.dictConfig({
        "version": 1, "disable_existing_loggers": False,
        "filters": {"scrub": {"()": "errorwarden.logfilter.ScrubLogFilter", "max_message": 50}},
        "handlers": {"mem": {"class": "logging.StreamHandler", "stream": stream, "filters": ["scrub"]}},
        "loggers": {"test.dictconfig": {"handlers": ["mem"], "propagate": False}},
    })
    logging.getLogger("test.dictconfig").warning("y" * 100)
    assert "[50 characters cut]" in stream.getvalue()
    record = logging.LogRecord("n", logging.INFO, "f", 1, "mail %s", ("a.b@example.com",), None)
    ScrubLogFilter().filter(record)
    assert isinstance(record, CleanRecord) and record.args == ("a.b@example.com",)
    clone = pickle.loads(pickle.dumps(record))
    assert clone.getMessage() == "mail [email]"
    assert ScrubLogFilter(scrub_text=lambda t: "changed").filter(record)  # a second filter: no-op
    assert record.getMessage() == "mail [email]"


def test_a_scrubber_that_fails_withholds_the_record_instead_of_printing_it():
    """Fail closed: when scrubbing raises, the message and traceback are withheld."""
    def broken(text: str) -> str:
        raise RuntimeError("scrubber broke")

    try:
        raise ValueError("secret 4111 1111 1111 1111")
    except ValueError as exc:
        printed = _print("card %s", "4111 1111 1111 1111", exc=exc, scrub_text=broken)
    assert "4111" not in printed and "withheld" in printed


@pytest.mark.parametrize(("text", "keep_newlines", "expected"), [
    ("a\tb", False, "a\tb"),
    ("a\nb", False, "a\\nb"),
    ("a\nb", True, "a\nb"),
    ("a\rb", True, "a\\rb"),
    ("\x1b[1;32mok\x1b[0m", False, "\\x1b[1;32mok\\x1b[0m"),
    ("\x7f\x85", False, "\\x7f\\x85"),
])
def test_clean_text_table(text, keep_newlines, expected):
    """clean_text keeps tabs (and newlines when asked) and escapes every other control character."""
    assert clean_text(text, keep_newlines) == expected
