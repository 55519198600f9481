"""docs/integrating.md from the built wheel: a new team's first hour, as they would live it.

The wheel is built from django-errorwarden/ (as `make package` does). For each combination of the
support matrix a fresh virtual environment gets only Django, sentry-sdk and the wheel (no extra),
`django-admin startproject shop` makes the project, and every snippet docs/integrating.md marks
with `<!-- fresh-project: FILE ... -->` is applied exactly as written. Then: `manage.py check`
passes; a view that raises with a secret in its request reaches the local inbox scrubbed; the
mounted dashboard shows the issue to a staff user and answers 404 to anyone else with DEBUG off;
`manage.py sentry_check` passes; a bad variable stops start-up with one line and no traceback (a
SENTRY_IGNORE_ERRORS path naming no class after the others are fixed);
`pip uninstall django-errorwarden` removes the app and nothing of the project's, after which the
project starts again once the marked steps are reverted as "Removing the app" lists them.
django-errorwarden/README.md's shorter Setup is applied to a startproject too.

The matrix (a representative subset, each running the whole flow above): Django 4.2 LTS, 5.2 and
the newest release the metadata allows; the lowest sentry-sdk the metadata allows and the newest;
every CPython from 3.11 on the machine (3.11 must be there; newer ones join when found).
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DIST = REPO / "django-errorwarden"
DOC = REPO / "docs" / "integrating.md"
STEP = re.compile(r'<!-- fresh-project: (?P<file>\S+) (?P<action>append|replace "(?P<old>[^"]+)") -->\n'
                  r"```python\n(?P<code>.*?)```", re.S)
SECRET = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"  # Stripe's documented test-key shape, live prefix
EMAIL = "jane.doe+shop@example.com"
# What `pip install django-errorwarden Django sentry-sdk` may bring, and nothing more: Django with
# asgiref, sqlparse (and tzdata off Linux); sentry-sdk with urllib3 and certifi; our tenacity.
LEAN = {"django-errorwarden", "django", "asgiref", "sqlparse", "tzdata", "sentry-sdk", "urllib3", "certifi",
        "tenacity", "pip", "setuptools", "typing-extensions"}


def doc_steps(doc: Path = DOC) -> list[re.Match[str]]:
    return list(STEP.finditer(doc.read_text(encoding="utf-8")))


def test_the_guide_marks_every_step_a_fresh_project_needs():
    """The parser really finds the guide's steps (so the adoption test below cannot pass on none)."""
    steps = {(m["file"], m["action"].split()[0]) for m in doc_steps()}
    assert steps == {("shop/settings.py", "append"), ("shop/urls.py", "append"),
                     ("manage.py", "replace"), ("shop/wsgi.py", "replace")}


def test_the_readmes_quick_setup_passes_check_in_a_fresh_project(tmp_path):
    """django-errorwarden/README.md's Setup, applied as written to a `startproject` (its urls.py imports
    `path` only, its settings have no LOGGING): `manage.py check` passes, without errorwarden.W005, and
    `sentry_check` passes. Run with this environment's errorwarden (the wheel's own flow is below)."""
    steps = doc_steps(DIST / "README.md")
    assert {(m["file"], m["action"]) for m in steps} == {("shop/settings.py", "append"),
                                                        ("shop/urls.py", "append")}
    env = _clean_env()
    made = _run([sys.executable, "-m", "django", "startproject", "shop"], tmp_path, env)
    assert made.returncode == 0, made.stderr
    project = tmp_path / "shop"
    assert "LOGGING" not in (project / "shop" / "settings.py").read_text()
    for step in steps:
        _apply(project, step)
    check = _run([sys.executable, "manage.py", "check"], project, env)
    assert check.returncode == 0 and "no issues" in check.stdout, check.stdout + check.stderr
    assert "W005" not in check.stdout + check.stderr
    checked = _run([sys.executable, "manage.py", "sentry_check"], project, env)
    assert checked.returncode == 0 and "All checks passed" in checked.stdout, checked.stdout + checked.stderr
    assert (project / "var" / "sentry_inbox.sqlite3").exists()  # the project's own inbox, as set


def _requirement_floor(wheel: Path, name: str) -> str:
    """The lowest version the wheel's metadata allows for `name` (its '>=' bound)."""
    with zipfile.ZipFile(wheel) as archive:
        meta = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        text = archive.read(meta).decode()
    found = re.search(rf"^Requires-Dist: {re.escape(name)}\b[^\n]*?>=\s*([\d.]+)", text, re.M | re.I)
    assert found, f"no lower bound for {name} in the wheel's metadata"
    return found.group(1)


def _python(version: str) -> str | None:
    """An interpreter of this minor version on the machine, or None."""
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return getattr(sys, "_base_executable", sys.executable)
    candidates = [shutil.which(f"python{version}"),
                  *sorted(glob.glob(str(Path.home() / f".pyenv/versions/{version}.*/bin/python{version}")))]
    for candidate in filter(None, candidates):
        probe = subprocess.run([candidate, "-c", "import sys; print(sys.version_info[:2])"],
                               capture_output=True, text=True, timeout=30)
        if probe.returncode == 0:
            return candidate
    return None


# (python, Django requirement, which sentry-sdk): the subset that covers each end of each range.
MATRIX = [
    ("3.11", "Django>=4.2,<4.3", "lowest"),
    ("3.11", "Django>=5.2,<5.3", "newest"),
    ("3.12", "Django", "newest"),
    ("3.13", "Django", "lowest"),
]
AVAILABLE = [(py, django, sdk) for py, django, sdk in MATRIX if py == "3.11" or _python(py)]


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    """The distribution's wheel, built as `make package` builds it (checked: nothing of MueJam in it)."""
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(DIST)],
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    [path] = out.glob("django_errorwarden-*.whl")
    return path


def test_the_wheel_holds_the_app_alone_with_its_templates(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert tops == {"errorwarden"}
    assert "errorwarden/py.typed" in names
    assert {"errorwarden/templates/errors_dashboard/issues.html",
            "errorwarden/templates/errors_dashboard/issue.html"} <= set(names)
    assert "errorwarden/management/commands/sentry_check.py" in names


def test_the_sdist_and_wheel_pass_twine_check_and_the_sdist_holds_the_app_alone(tmp_path):
    """What `make package` publishes: both artefacts pass `twine check --strict`; the sdist carries the
    app, its licence, README and changelog, and nothing of MueJam's (config, library, tests)."""
    import tarfile

    built = subprocess.run([sys.executable, "-m", "build", "--outdir", str(tmp_path), str(DIST)],
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr[-3000:]
    artefacts = sorted((str(p) for p in tmp_path.iterdir()), key=lambda name: name.endswith(".whl"))
    assert [Path(a).suffix for a in artefacts] == [".gz", ".whl"]
    checked = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", *artefacts],
                             capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    with tarfile.open(artefacts[0]) as sdist:
        names = [n.split("/", 1)[1] for n in sdist.getnames() if "/" in n]
    assert {"LICENSE", "README.md", "CHANGELOG.md", "pyproject.toml", "errorwarden/py.typed"} <= set(names)
    assert {n.split("/")[0] for n in names} <= {"LICENSE", "README.md", "CHANGELOG.md", "pyproject.toml",
                                                 "setup.cfg", "PKG-INFO", "MANIFEST.in", "errorwarden",
                                                 "django_errorwarden.egg-info"}


def _run(args: list, cwd: Path, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


def _apply(project: Path, step: re.Match[str]) -> None:
    path = project / step["file"]
    text = path.read_text(encoding="utf-8")
    code = step["code"]
    if step["action"] == "append":
        path.write_text(text.rstrip("\n") + "\n\n" + code, encoding="utf-8")
        return
    lines = text.splitlines(keepends=True)
    at = [i for i, line in enumerate(lines) if line.strip() == step["old"]]
    assert len(at) == 1, f"{step['file']} has {len(at)} lines reading {step['old']!r}"
    lines[at[0]:at[0] + 1] = [code]
    path.write_text("".join(lines), encoding="utf-8")


def _revert(project: Path, step: re.Match[str], original: str) -> None:
    """Undo one step as "Removing the app" says: drop the appended block, put the replaced line back."""
    path = project / step["file"]
    text = path.read_text(encoding="utf-8")
    if step["action"] == "append":
        assert text.count("\n\n" + step["code"]) == 1, step["file"]
        path.write_text(text.replace("\n\n" + step["code"], "\n", 1), encoding="utf-8")
        return
    [line] = [line for line in original.splitlines(keepends=True) if line.strip() == step["old"]]
    assert text.count(step["code"]) == 1, step["file"]
    path.write_text(text.replace(step["code"], line, 1), encoding="utf-8")


# The test's own part of the project, not the guide's: a failing view, DEBUG off, and a probe that
# drives the project through Django's test client inside the fresh environment.
BOOM = '''
from django.urls import path as _path


class PaymentDeclined(Exception):
    """The card processor said no."""


def charge(request):
    token = request.GET.get("token", "")  # a local the SDK records
    raise PaymentDeclined(f"charge failed for {request.GET.get('email')} with {token}")


urlpatterns += [_path("charge/", charge)]
'''
PROBE = f'''
import glob, json, os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
import django
django.setup()
import sentry_sdk
from django.contrib.auth import get_user_model
from django.test import Client

out = {{}}
response = Client(raise_request_exception=False).get("/charge/", {{"token": {SECRET!r}, "email": {EMAIL!r}}})
out["charge"] = response.status_code
sentry_sdk.flush(10)
stored = b"".join(open(p, "rb").read() for p in glob.glob("var/sentry_inbox.sqlite3*"))
out["stored_type"] = b"PaymentDeclined" in stored
out["stored_secret"] = any(s.encode() in stored for s in ({SECRET!r}, {EMAIL!r}))
out["anonymous"] = Client().get("/_errors/").status_code
staff = get_user_model().objects.create_user("ops", password=None, is_staff=True)
client = Client()
client.force_login(staff)
page = client.get("/_errors/")
out["staff"] = page.status_code
html = page.content.decode()
out["listed"] = "PaymentDeclined" in html
out["html_secret"] = {SECRET!r} in html or {EMAIL!r} in html
import re
link = re.search(r'href="(/_errors/issues/[0-9a-f]{{32}}/)"', html)
issue = client.get(link.group(1)) if link else None
out["issue"] = issue.status_code if issue else None
out["issue_names_view"] = bool(issue) and "charge" in issue.content.decode()
print(json.dumps(out))
'''


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SENTRY_", "DJANGO_", "CELERY_", "DATABASE_URL", "REDIS_URL", "PYTHON",
                                "APP_", "VIRTUAL_ENV"))}
    env.update(SENTRY_TRACES_SAMPLE_RATE="0", SENTRY_PROFILES_SAMPLE_RATE="0", **extra)
    return env


@pytest.mark.parametrize("python_version, django, sdk", AVAILABLE,
                         ids=[f"py{p}-{d}-sdk-{s}" for p, d, s in AVAILABLE])
def test_a_fresh_project_adopts_the_wheel_as_the_guide_says(tmp_path, wheel, python_version, django, sdk):
    python = _python(python_version)
    assert python, f"no python{python_version} on this machine"
    sdk_requirement = f"sentry-sdk=={_requirement_floor(wheel, 'sentry-sdk')}" if sdk == "lowest" \
        else "sentry-sdk<3"
    env = _clean_env()
    venv = tmp_path / "venv"
    assert _run([python, "-m", "venv", venv], tmp_path, env).returncode == 0
    vpy, bin_dir = venv / "bin" / "python", venv / "bin"
    installed = _run([vpy, "-m", "pip", "install", "-q", "--disable-pip-version-check", wheel, django,
                      sdk_requirement], tmp_path, env, timeout=600)
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    listed = json.loads(_run([vpy, "-m", "pip", "list", "--format", "json", "--disable-pip-version-check"],
                             tmp_path, env).stdout)
    names = {p["name"].lower().replace("_", "-") for p in listed}
    assert names <= LEAN, f"the core install brought more than it needs: {sorted(names - LEAN)}"

    made = _run([bin_dir / "django-admin", "startproject", "shop"], tmp_path, env)
    assert made.returncode == 0, made.stderr
    project = tmp_path / "shop"
    pristine = {p: p.read_text(encoding="utf-8") for p in project.rglob("*.py")}
    steps = doc_steps()
    for step in steps:
        _apply(project, step)
    settings = project / "shop" / "settings.py"
    text = settings.read_text()
    assert "DEBUG = True" in text
    settings.write_text(text.replace("DEBUG = True", "DEBUG = False").replace(
        "ALLOWED_HOSTS = []", 'ALLOWED_HOSTS = ["testserver", "127.0.0.1"]'))
    (project / "shop" / "urls.py").write_text((project / "shop" / "urls.py").read_text() + BOOM)
    (project / "probe.py").write_text(PROBE)
    project_files = {p: p.read_bytes() for p in project.rglob("*.py")}

    check = _run([vpy, "manage.py", "check"], project, env)
    assert check.returncode == 0 and "no issues" in check.stdout, check.stdout + check.stderr
    migrate = _run([vpy, "manage.py", "migrate", "-v", "0"], project, env)
    assert migrate.returncode == 0, migrate.stderr[-3000:]

    probe = _run([vpy, "probe.py"], project, env)
    assert probe.returncode == 0, probe.stderr[-3000:]
    seen = json.loads(probe.stdout.strip().splitlines()[-1])
    assert seen == {"charge": 500, "stored_type": True, "stored_secret": False, "anonymous": 404,
                    "staff": 200, "listed": True, "html_secret": False, "issue": 200,
                    "issue_names_view": True}, (seen, probe.stderr[-3000:])

    checked = _run([vpy, "manage.py", "sentry_check"], project, env)
    assert checked.returncode == 0, checked.stdout[-3000:] + checked.stderr[-3000:]
    assert "All checks passed" in checked.stdout

    # Django keeps a settings module's ImproperlyConfigured and runs the command anyway; with only the
    # model check (Django 4.2) it used to end in AppRegistryNotReady, and with all checks it did when
    # the model check happened to run first (the check registry is a set).
    for command in (["check"], ["check", "--tag", "models"]):
        bad = _run([vpy, "manage.py", *command], project, {**env, "SENTRY_TRACES_SAMPLE_RATE": "2"})
        assert bad.returncode == 2, bad.stdout + bad.stderr
        assert "Traceback" not in bad.stderr and "SENTRY_TRACES_SAMPLE_RATE='2' is invalid" in bad.stderr
        assert [line for line in bad.stderr.splitlines() if "SENTRY_" in line] == \
            [line for line in bad.stderr.splitlines() if "SENTRY_TRACES_SAMPLE_RATE" in line] != []

    # docs/configuration.md: a SENTRY_IGNORE_ERRORS path that names no class is found at ready(), so it
    # is reported alone once the other variables are right, in the line the page quotes.
    both = {**env, "SENTRY_TRACES_SAMPLE_RATE": "2", "SENTRY_IGNORE_ERRORS": "shop.errors.Missing"}
    first = _run([vpy, "manage.py", "check"], project, both)
    assert first.returncode == 2 and "SENTRY_IGNORE_ERRORS" not in first.stderr, first.stderr
    later = _run([vpy, "manage.py", "check"], project, {**both, "SENTRY_TRACES_SAMPLE_RATE": "0"})
    assert later.returncode == 2 and "Traceback" not in later.stderr, later.stdout + later.stderr
    [line] = later.stderr.splitlines()
    assert line.startswith("ImproperlyConfigured: SENTRY_IGNORE_ERRORS: 'shop.errors.Missing'")
    assert f"\n{line}\n" in (REPO / "docs" / "configuration.md").read_text(encoding="utf-8"), line

    site = Path(_run([vpy, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], project,
                     env).stdout.strip())
    before = {p.name for p in site.iterdir()}
    removed = _run([vpy, "-m", "pip", "uninstall", "-y", "-q", "django-errorwarden"], project, env)
    assert removed.returncode == 0, removed.stderr
    after = {p.name for p in site.iterdir()}
    assert {name for name in before - after if not name.endswith(".dist-info")} == {"errorwarden"}
    assert {p: p.read_bytes() for p in project.rglob("*.py")} == project_files

    # The guide's "Removing the app": uninstalling alone leaves a project that no longer starts; with
    # every marked step reverted as the section lists, it starts again and names errorwarden nowhere.
    broken = _run([vpy, "manage.py", "check"], project, env)
    assert broken.returncode != 0 and "No module named 'errorwarden'" in broken.stderr, broken.stderr[-2000:]
    removal = DOC.read_text(encoding="utf-8").split("\n## Removing the app\n", 1)[1]
    for step in steps:
        assert f"`{step['file']}`" in removal, step["file"]
        _revert(project, step, pristine[project / step["file"]])
    assert not [p for p in project.rglob("*.py") if "errorwarden" in p.read_text(encoding="utf-8")
                and p.name != "probe.py"]
    check = _run([vpy, "manage.py", "check"], project, env)
    assert check.returncode == 0 and "no issues" in check.stdout, check.stdout + check.stderr
    assert (project / "var" / "sentry_inbox.sqlite3").exists() and "`var/`" in removal  # left to delete
