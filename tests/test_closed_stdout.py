"""A command whose reader went away (`manage.py sentry_check | head -1`) ends quietly with status 1, as
Python's documentation recommends for SIGPIPE, and the closed pipe is neither recorded as an error
event nor reported as a problem with the inbox. The commands run as a user runs them (subprocesses
of manage.py) with stdout a pipe whose reading end is already closed, so every write fails the way
it does once `head` has exited."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from errorwarden.envvars import exit_on_settings_error, stdout_closed
from errorwarden.local import InboxStore

BASE_DIR = Path(__file__).resolve().parent.parent
_OURS = ("SENTRY_", "REDIS_URL", "CELERY_", "EMAIL_", "DATABASE_URL", "DJANGO_", "PYTHONUNBUFFERED")


def _run_into_a_closed_pipe(tmp_path: Path, unbuffered: bool, *command: str,
                            **extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OURS)}
    env.update(SENTRY_DSN="", SENTRY_INBOX_PATH=str(tmp_path / "inbox.sqlite3"),
               SENTRY_TRACES_SAMPLE_RATE="0", SENTRY_PROFILES_SAMPLE_RATE="0",
               SENTRY_EMAIL_ALERTS_ENABLED="false", **extra)
    if unbuffered:  # every line is written at once: the first write fails
        env["PYTHONUNBUFFERED"] = "1"  # else the output waits in the buffer and the last flush fails
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody reads: `head` has exited
    try:
        return subprocess.run([sys.executable, "manage.py", *command], cwd=BASE_DIR, env=env,
                              stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write_end)


def _recorded(tmp_path: Path) -> list[str]:
    path = tmp_path / "inbox.sqlite3"
    if not path.exists():
        return []
    store = InboxStore(path)
    try:
        return [issue["title"] for issue in store.issues()]
    finally:
        store.close()


@pytest.mark.parametrize("unbuffered", [True, False], ids=["unbuffered", "buffered"])
@pytest.mark.parametrize("command", [("sentry_check", "--no-color", "--skip-slack"), ("sentry_inbox",),
                                     ("sentry_inbox", "--transactions")], ids=" ".join)
def test_a_closed_stdout_ends_the_command_quietly_and_records_nothing(tmp_path, command, unbuffered):
    """Exit status 1, nothing on stderr (no traceback, no 'Cannot read the local inbox'), and no
    BrokenPipeError event in the inbox (sentry_check's own test event may be there)."""
    result = _run_into_a_closed_pipe(tmp_path, unbuffered, *command)
    assert (result.returncode, result.stderr) == (1, ""), result.stderr[-3000:]
    assert not [title for title in _recorded(tmp_path) if "BrokenPipe" in title]


@pytest.mark.parametrize("unbuffered", [True, False], ids=["unbuffered", "buffered"])
def test_a_failing_check_into_a_closed_stdout_says_only_which_check_failed(tmp_path, unbuffered):
    """A FAIL (Redis on a closed port) ends sentry_check with CommandError: its output, still buffered
    when the command exits, reaches the closed pipe quietly too."""
    from tests.support.smtp import free_port

    result = _run_into_a_closed_pipe(tmp_path, unbuffered, "sentry_check", "--no-color", "--skip-slack",
                                     REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    assert result.returncode == 1, result.stderr[-3000:]
    assert result.stderr in ("", "CommandError: 1 check(s) failed: redis.\n"), result.stderr[-3000:]
    assert not [title for title in _recorded(tmp_path) if "BrokenPipe" in title]


def test_stdout_that_is_read_is_not_closed(tmp_path):
    """A file (and, below, an open pipe) as stdout is not a closed reader."""
    with (tmp_path / "out").open("w") as out:
        saved, sys.stdout = sys.stdout, out
        try:
            assert not stdout_closed()
        finally:
            sys.stdout = saved


def test_a_broken_pipe_elsewhere_still_propagates(monkeypatch):
    """A BrokenPipeError of a socket or a child's pipe, with stdout still read, is the application's:
    the wrapper lets it through to be reported."""
    read_end, write_end = os.pipe()
    out = io.TextIOWrapper(io.FileIO(write_end, "w"), write_through=True)
    monkeypatch.setattr(sys, "stdout", out)
    try:
        def start() -> None:
            raise BrokenPipeError(32, "Broken pipe")

        with pytest.raises(BrokenPipeError):
            exit_on_settings_error(start)
    finally:
        monkeypatch.undo()
        out.close()
        os.close(read_end)


_SCRIPT = """
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django
django.setup()
if sys.argv[1] == "print":
    for n in range(100000):
        print("row", n)
else:
    raise BrokenPipeError(32, "Broken pipe to the billing worker")
"""


@pytest.mark.parametrize("unbuffered", [True, False], ids=["unbuffered", "buffered"])
def test_a_script_of_ones_own_into_a_closed_stdout_records_nothing(tmp_path, unbuffered):
    """A script without exit_on_settings_error, its stdout read by `head`: Python prints its own
    BrokenPipeError, but sentry-sdk's excepthook no longer records it as an application error."""
    script = tmp_path / "report.py"
    script.write_text(_SCRIPT)
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OURS)}
    env.update(SENTRY_DSN="", SENTRY_INBOX_PATH=str(tmp_path / "inbox.sqlite3"), PYTHONPATH=str(BASE_DIR),
               SENTRY_TRACES_SAMPLE_RATE="0", SENTRY_PROFILES_SAMPLE_RATE="0",
               SENTRY_EMAIL_ALERTS_ENABLED="false", **({"PYTHONUNBUFFERED": "1"} if unbuffered else {}))
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        closed = subprocess.run([sys.executable, str(script), "print"], cwd=BASE_DIR, env=env,
                                stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write_end)
    assert closed.returncode != 0 and "BrokenPipeError" in closed.stderr, closed.stderr[-2000:]
    assert not [title for title in _recorded(tmp_path) if "BrokenPipe" in title]
    # The same script's BrokenPipeError of another pipe, with stdout read, is recorded.
    other = subprocess.run([sys.executable, str(script), "raise"], cwd=BASE_DIR, env=env,
                           capture_output=True, text=True, timeout=120)
    assert other.returncode == 1, other.stderr[-2000:]
    assert [title for title in _recorded(tmp_path) if "BrokenPipe" in title], other.stderr[-2000:]
