"""Settings declared once: a variable is a dataclass field that carries its parser and doc line.

    dsn: str = env("SENTRY_DSN", "", dsn_url, doc="...", secret=True)

`load(cls, environ)` reads every declared variable of a frozen dataclass from one mapping and
collects every problem before raising, so an operator sees all bad variables at once, one line
each. The same declarations feed `.env.example` and docs/configuration.md (tests keep them in
step), so a default is written in exactly one place.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

T = TypeVar("T")
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


class Invalid(ValueError):
    """A parser's refusal: `allowed` says what would have been accepted, `hint` how to fix it."""

    def __init__(self, allowed: str, hint: str = ""):
        super().__init__(allowed)
        self.allowed, self.hint = allowed, hint


@dataclass(frozen=True)
class Var:
    """One environment variable: its parser, what it allows, whether it is secret, its doc line."""

    name: str
    parse: Callable[[str], Any]
    allowed: str
    doc: str
    secret: bool = False
    example: str = ""
    show_path: bool = True  # False when a URL's path is the secret (a webhook)


@dataclass(frozen=True)
class Problem:
    """One bad variable, already safe to print (a secret value is masked)."""

    name: str
    shown: str
    allowed: str
    hint: str = ""

    def __str__(self) -> str:
        line = f"{self.name}={self.shown} is invalid: {self.allowed}."
        return f"{line} Hint: {self.hint}" if self.hint else line


def install_hint(extra: str) -> str:
    """How to add one extra of django-errorwarden: from PyPI (its future home), or from the built
    wheel it is installed from until then (`make package` in the source repository)."""
    from errorwarden import __version__

    wheel = f"django_errorwarden-{__version__}-py3-none-any.whl"
    return (f"install the [{extra}] extra of django-errorwarden: pip install 'django-errorwarden[{extra}]', "
            f"or from the built wheel pip install 'path/to/{wheel}[{extra}]'")


class SettingsError(ImproperlyConfigured):
    """Every bad variable of one start-up, one line each; `problems` holds them."""

    def __init__(self, problems: Iterable[Problem | str]):
        self.problems = tuple(problems)
        lines = [str(p) for p in self.problems]
        text = lines[0] if len(lines) == 1 else (
            f"{len(lines)} configuration problems:\n" + "\n".join(f"  {line}" for line in lines))
        super().__init__(text)


def env(name: str, default: Any, parse: Callable[[str], Any], doc: str, *, allowed: str = "",
        secret: bool = False, example: str = "", show_path: bool = True) -> Any:
    """A dataclass field read from the environment variable `name` (empty or unset: `default`,
    or `default()` when it is a function, called each time settings are made).

    `allowed` defaults to the parser's own description (its `allowed` attribute). A secret's value
    is shown masked in errors; `show_path=False` masks a URL's path too.
    """
    meta = {"var": Var(name, parse, allowed or getattr(parse, "allowed", ""), doc, secret, example,
                       show_path)}
    if isinstance(default, dict):
        frozen = dict(default)
        return dataclasses.field(default_factory=lambda: frozen_map(frozen), metadata=meta, repr=not secret)
    if callable(default):  # worked out when the settings are made (e.g. from the working directory)
        return dataclasses.field(default_factory=default, metadata=meta, repr=not secret)
    return dataclasses.field(default=default, metadata=meta, repr=not secret)


def variables(cls: type) -> list[tuple[dataclasses.Field, Var]]:
    """The (field, Var) pairs a settings dataclass declares, in declaration order."""
    return [(f, f.metadata["var"]) for f in dataclasses.fields(cls) if "var" in f.metadata]


def collect(cls: type[T], environ: Mapping[str, str], problems: list[Problem]) -> dict[str, Any]:
    """Parse every declared variable of `cls`; bad ones go to `problems` and keep their default."""
    values: dict[str, Any] = {}
    for field, var in variables(cls):
        raw = str(environ.get(var.name, "") or "").strip()
        if raw == "":
            continue
        try:
            values[field.name] = var.parse(raw)
        except Invalid as exc:
            shown = mask(raw, var.show_path) if var.secret else repr(raw)
            problems.append(Problem(var.name, shown, exc.allowed or var.allowed, exc.hint))
    return values


def load(cls: type[T], environ: Mapping[str, str]) -> T:
    """An instance of `cls` from `environ`; SettingsError lists every bad variable at once."""
    problems: list[Problem] = []
    values = collect(cls, environ, problems)
    if problems:
        raise SettingsError(problems)
    return cls(**values)


def frozen_map(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    """A read-only copy."""
    from types import MappingProxyType

    return MappingProxyType(dict(mapping))


def read_dotenv(path: Path, environ: dict[str, str]) -> None:
    """Add the variables of a .env file to `environ`, never overriding one already set."""
    if not path.is_file():
        return
    from dotenv import dotenv_values

    # python-dotenv reads a '#' as a comment only after white space, so the spec's own
    # SENTRY_SLACK_CHANNEL=#engineering-alerts keeps its value.
    for name, value in dotenv_values(path).items():
        if value is not None:
            environ.setdefault(name, value)


# ---- masking ------------------------------------------------------------------------------

def split_url(value: str):
    """urlsplit, or None for a URL it cannot parse (an unclosed IPv6 bracket, a bad port)."""
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises ValueError on a malformed port
        return parts
    except ValueError:
        return None


def masked_url(value: str, show_path: bool = True) -> str:
    """A secret URL's shape without its credentials: scheme, host, port and (unless told) the path.

    Without '@' a DSN's key would sit where the host is, so the host is shown only after one. A
    webhook's secret is its path: pass show_path=False.
    """
    parts = split_url(value) if "://" in value else None
    if parts is None or not parts.scheme:
        return "***" if value else ""
    if "@" not in parts.netloc:
        return f"{parts.scheme}://{parts.netloc}/***" if not show_path and parts.hostname \
            else f"{parts.scheme}://***"
    host = parts.netloc.rsplit("@", 1)[1]
    path = parts.path if show_path else ("/***" if parts.path.strip("/") else "")
    return f"{parts.scheme}://***@{host}{path}"


def mask(value: str, show_path: bool = True) -> str:
    """masked_url() quoted, as configuration errors show a value."""
    return f"'{masked_url(value, show_path)}'"


# ---- parsers ------------------------------------------------------------------------------

def allows(text: str) -> Callable[[Callable[[str], T]], Callable[[str], T]]:
    """Attach the description of what a parser accepts (read by env() and the docs)."""

    def mark(parse: Callable[[str], T]) -> Callable[[str], T]:
        parse.allowed = text  # type: ignore[attr-defined]
        return parse

    return mark


@allows("one of true/false, 1/0, yes/no, on/off (any case)")
def boolean(raw: str) -> bool:
    """true/false, 1/0, yes/no, on/off in any case."""
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise Invalid(boolean.allowed)  # type: ignore[attr-defined]


def number(low: float, high: float, low_open: bool = False) -> Callable[[str], float]:
    """A parser for a float in [low, high] (or (low, high])."""
    allowed = f"a number in {'(' if low_open else '['}{low:g}, {high:g}]"

    def parse(raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise Invalid(allowed) from None
        if math.isnan(value) or value > high or value < low or (low_open and value == low):
            raise Invalid(allowed)
        return value

    return allows(allowed)(parse)


def integer(low: int = 1, high: int = 10**9) -> Callable[[str], int]:
    """A parser for a whole number from low to high."""
    allowed = f"a whole number from {low} to {high}"

    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise Invalid(allowed) from None
        if not low <= value <= high:
            raise Invalid(allowed)
        return value

    return allows(allowed)(parse)


def matching(pattern: str, allowed: str) -> Callable[[str], str]:
    """A parser for a string that fully matches `pattern`."""
    compiled = re.compile(pattern)

    def parse(raw: str) -> str:
        if not compiled.fullmatch(raw):
            raise Invalid(allowed)
        return raw

    return allows(allowed)(parse)


def items(check: Callable[[str], Any], allowed: str) -> Callable[[str], tuple]:
    """A parser for a comma-separated list; each item goes through `check` (a parser)."""

    def parse(raw: str) -> tuple:
        out = []
        for item in (i.strip() for i in raw.split(",")):
            if not item:
                continue
            try:
                out.append(check(item))
            except Invalid:
                raise Invalid(f"{allowed} ({item!r} is not)") from None
        return tuple(out)

    return allows(allowed)(parse)


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url(schemes: tuple[str, ...]) -> Callable[[str], str]:
    """A parser for a URL with one of `schemes`."""
    allowed = f"a URL with scheme {', '.join(schemes)}"

    def parse(raw: str) -> str:
        parts = split_url(raw)
        if parts is None or parts.scheme not in schemes:
            raise Invalid(allowed)
        return raw

    return allows(allowed)(parse)


def _load_settings() -> None:
    """Import the settings module now, so a bad variable stops here.

    Django's `ManagementUtility` catches ImproperlyConfigured from the settings module, keeps it, and
    runs the command anyway; the error then comes back from whichever check first touches settings or
    the app registry, and a check registered before the settings-reading ones (the model check, for
    one; the registry is a set, so the order changes per process) fails with AppRegistryNotReady.
    Any other problem (no DJANGO_SETTINGS_MODULE, an ImportError) is left for `start` to report.
    On a Django command line, ``--settings`` and ``--pythonpath`` are applied first, as Django's
    own ManagementUtility does before it reads settings, so the module loaded is the one asked for.
    """
    import os

    _apply_command_line_options()

    if not os.environ.get("DJANGO_SETTINGS_MODULE"):
        return
    from django.conf import settings

    try:
        settings.INSTALLED_APPS  # noqa: B018 - the access is the import
    except SettingsError:
        raise
    except Exception:  # Django reports these itself, in its own words
        return


_COMMAND_LINES = frozenset({"manage.py", "django-admin", "django-admin.py", "__main__.py"})


def _apply_command_line_options() -> None:
    """``manage.py CMD --settings=X --pythonpath=Y``: set DJANGO_SETTINGS_MODULE and sys.path as
    Django's ManagementUtility.execute() does, with its own parser and handler (it would do so
    only after this module had already loaded the settings named by the environment)."""
    import os
    import sys

    argv = sys.argv
    if len(argv) < 3 or os.path.basename(argv[0]) not in _COMMAND_LINES:
        return
    if not any(a.startswith(("--settings", "--pythonpath")) for a in argv[2:]):
        return
    from django.core.management.base import CommandError, CommandParser, handle_default_options

    parser = CommandParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--settings")
    parser.add_argument("--pythonpath")
    parser.add_argument("args", nargs="*")
    try:
        options, _ = parser.parse_known_args(argv[2:])
        handle_default_options(options)
    except CommandError:
        pass  # Django ignores option errors at this point too, and reports them later


def exit_on_settings_error(start: Callable[[], T], code: int = 2) -> T:
    """Run `start` (a WSGI/ASGI or management entry point); on bad settings print them and exit.

    The problems are one line each and already masked: a traceback would only bury them. A reader
    of stdout that went away (`manage.py sentry_check | head -1`) ends the command quietly with
    status 1, as Python's documentation recommends, instead of a BrokenPipeError traceback that
    sentry-sdk's excepthook would record as an application error.
    """
    import sys

    try:
        _load_settings()
        try:
            started = start()
        except SystemExit:  # a command's status (CommandError: 1) with its output still buffered
            _flush_stdout()
            raise
        _flush_stdout()
        return started
    except SettingsError as exc:
        sys.stderr.write(f"ImproperlyConfigured: {exc}\n")
        raise SystemExit(code) from None
    except BrokenPipeError:
        if not stdout_closed():
            raise
        _stdout_to_devnull()
        raise SystemExit(1) from None


def settings_before_celery(**_signal) -> None:
    """A Celery app's ``on_configure`` receiver: bad settings end the worker or beat with one
    line each and status 2, as ``manage.py`` does, instead of a traceback through Celery's CLI.

    ``app.on_configure.connect(settings_before_celery)`` in the project's celery.py. It does
    nothing while the settings module is being imported or once it is (settings.py importing
    the Celery app, or ``init_sentry()`` reading its configuration): loading them again there
    would build Django's settings from a half-run module.
    """
    import os
    import sys

    module = os.environ.get("DJANGO_SETTINGS_MODULE")
    if module and module not in sys.modules:
        exit_on_settings_error(lambda: None)


def _flush_stdout() -> None:
    """Flush stdout now, so a closed pipe raises here and not in the interpreter's last flush; any
    other failure is left to that last flush to report, as before."""
    import sys

    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except BrokenPipeError:
        raise
    except (OSError, ValueError):  # a closed or detached stream
        pass


def stdout_closed() -> bool:
    """True when nobody reads stdout any more: its pipe or socket reports an error or a hang-up.

    Tells a BrokenPipeError of stdout from one of a socket or a child's pipe; False where poll() is
    missing (Windows) or stdout has no descriptor.
    """
    import select
    import sys

    if sys.stdout is None or not hasattr(select, "poll"):
        return False
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))
    except (OSError, ValueError, AttributeError):  # closed, detached or in-memory
        return False


def _stdout_to_devnull() -> None:
    """Point stdout's descriptor at devnull, so the interpreter's last flush raises nothing."""
    import os
    import sys

    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    finally:
        os.close(devnull)
