"""SENTRY_IGNORE_ERRORS naming any class, models' included: start-up as a user runs it (subprocesses).

settings.py runs before the app registry, so a path into a module that imports models cannot be
imported there; the paths match by qualified name until the app's ready() imports them, and a path
that names no exception class stops start-up with one line.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from errorwarden import pipeline
from errorwarden.pipeline import DropIgnored

ROOT = Path(__file__).resolve().parent.parent


def _manage(*args: str, ignore: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    environ = {**os.environ, "SENTRY_DSN": "", "SENTRY_INBOX_PATH": str(tmp_path / "inbox.sqlite3"),
               "SENTRY_IGNORE_ERRORS": ignore, **env}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=environ, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("ignore", [
    "library.models.Book.DoesNotExist",            # a model's own exception: its module imports models
    "django.http.Http404",                        # a re-export (defined in django.http.response)
    "library.models.Loan.MultipleObjectsReturned,KeyError",
])
def test_check_starts_with_a_path_into_a_models_module(ignore, tmp_path):
    """`manage.py check` passes: no AppRegistryNotReady traceback."""
    result = _manage("check", ignore=ignore, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("ignore", "why"), [
    ("library.models.Book", "'library.models.Book' is a class but not an exception"),
    ("library.models.Book.NoSuchError", "library.models has no Book.NoSuchError"),
    ("library.modelz.Gone", "library has no modelz.Gone"),
    ("nosuchpackage.Error", "does not import (no module nosuchpackage)"),
    ("library.models.Book.DoesNotExist,library.models.models", "is a module, not a class"),
])
def test_a_path_that_names_no_exception_class_stops_start_up_with_one_line(ignore, why, tmp_path):
    """Exit 2 and one ImproperlyConfigured line naming the path and why; never a traceback."""
    result = _manage("check", ignore=ignore, tmp_path=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ImproperlyConfigured: SENTRY_IGNORE_ERRORS: "), lines
    assert why in lines[0]
    assert "Traceback" not in result.stderr


def test_an_ignored_model_exception_is_dropped_and_its_sibling_sent(envelope_receiver, tmp_path):
    """Through the real start-up and the real SDK transport: Book.DoesNotExist is dropped, Author's sent."""
    script = textwrap.dedent("""
        import sentry_sdk
        from library.models import Author, Book
        from infrastructure.sentry_config import ErrorTracker
        ErrorTracker.capture_exception(Book.DoesNotExist("Book matching query does not exist."))
        ErrorTracker.capture_exception(Author.DoesNotExist("Author matching query does not exist."))
        sentry_sdk.flush(timeout=10)
    """)
    result = _manage("shell", "-c", script, ignore="library.models.Book.DoesNotExist", tmp_path=tmp_path,
                     SENTRY_DSN=envelope_receiver.dsn, SENTRY_TRACES_SAMPLE_RATE="0",
                     SENTRY_PROFILES_SAMPLE_RATE="0")
    assert result.returncode == 0, result.stderr
    assert envelope_receiver.wait_for(lambda rx: len(rx.events()) >= 1)
    types = [e["exception"]["values"][-1]["type"] for e in envelope_receiver.events()]
    assert types == ["Author.DoesNotExist"]
    assert envelope_receiver.events()[0]["exception"]["values"][-1]["module"] == "library.models"


def _hint(exc: BaseException) -> dict:
    return {"exc_info": (type(exc), exc, None)}


def test_before_the_registry_is_ready_paths_match_by_qualified_name(monkeypatch):
    """Built from settings.py (registry not ready), nothing is imported and a model exception matches."""
    from library.models import Author, Book

    monkeypatch.setattr(pipeline, "_apps_ready", lambda: False)
    step = DropIgnored(["library.models.Book.DoesNotExist", "library.never.Imported"])
    assert step.pending
    assert step({"id": 1}, _hint(Book.DoesNotExist())) is None
    assert step({"id": 2}, _hint(Author.DoesNotExist())) == {"id": 2}


def test_resolving_matches_subclasses_and_re_exports():
    """Once resolved, a subclass of an ignored class is dropped too, and the re-export matches."""
    from django.http import Http404

    class NoSuchShelf(Http404):
        pass

    step = DropIgnored(["django.http.Http404"])
    assert not step.pending
    assert step({"id": 1}, _hint(NoSuchShelf())) is None
    assert step({"id": 2}, _hint(LookupError())) == {"id": 2}
