"""A real Sentry-compatible server for the tests: Bugsink on loopback, SQLite in a temporary directory.

Bugsink (PyPI `bugsink`, PolyForm Shield licence) is a test-only extra: it is installed by
`make venv` with the `test` extra, runs in its own processes (`bugsink-manage`, gunicorn) and is
never imported by the app or by this module. One server serves the whole session:

    def test_something(bugsink):
        event = bugsink.event(event_id)          # what Bugsink stored, through its own REST API

Under CI=true a server that cannot start fails the test; on a laptop it skips with the reason.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.smtp import free_port

BIN = Path(sys.executable).parent
BASE_DIR = Path(__file__).resolve().parent.parent.parent
START_TIMEOUT = 60.0  # migrations take ~6 s on a 2-core machine; a loaded CI box needs headroom
USERNAME = "admin"

# Appended to the configuration `bugsink-create-conf --template=local` writes. That template already
# digests events eagerly (SNAPPEA TASK_ALWAYS_EAGER): an event is stored when its request returns.
OVERRIDES = """
DATABASES["default"]["NAME"] = {db!r}
DATABASES["snappea"]["NAME"] = {snappea!r}
BUGSINK["PHONEHOME"] = False  # the default reports usage to the vendor
BUGSINK["INGEST_STORE_BASE_DIR"] = {ingest!r}
EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
"""

# Runs inside `bugsink-manage shell -c`: both databases migrated (a no-op on a copy of the cached
# template), the template saved when there is none, then a user, team, project and a read-only API
# token; prints what the tests need as one JSON line.
PROVISION = """
import json, os, secrets, sqlite3
from django.conf import settings
from django.core.management import call_command
call_command("migrate", verbosity=0)
call_command("migrate", "snappea", database="snappea", verbosity=0)
cache = {cache!r}
if not os.path.exists(os.path.join(cache, "db.sqlite3")):
    os.makedirs(cache, exist_ok=True)
    for alias in ("snappea", "default"):  # db.sqlite3 last: its presence means the template is whole
        name = settings.DATABASES[alias]["NAME"]
        partial = os.path.join(cache, f".{{os.getpid()}}-{{os.path.basename(name)}}")
        source, copy = sqlite3.connect(name), sqlite3.connect(partial)
        source.backup(copy)
        source.close(), copy.close()
        os.replace(partial, os.path.join(cache, os.path.basename(name)))
from django.contrib.auth import get_user_model
from bsmain.models import AuthToken
from projects.models import Project, ProjectMembership
from teams.models import Team
password = secrets.token_urlsafe(16)
user = get_user_model().objects.create_superuser(username={user!r}, email="admin@example.com",
                                                 password=password)
project = Project.objects.create(name="muejam-backend", slug="muejam-backend",
                                 team=Team.objects.create(name="muejam"))
ProjectMembership.objects.create(project=project, user=user, accepted=True)
token = AuthToken.objects.create(description="tests", issues_read=True, events_read=True).token
print("PROVISIONED " + json.dumps({{"project": project.pk, "key": project.sentry_key.hex,
                                    "password": password, "token": token}}))
"""


class BugsinkUnavailable(RuntimeError):
    """Bugsink is not installed or did not start; the message says why."""


class BugsinkServer:
    """One Bugsink instance: configured, migrated and served by gunicorn on a free loopback port."""

    def __init__(self, root: Path, host: str = "127.0.0.1"):
        self.root, self.host = root, host
        self.port = 0
        self.project_id, self.public_key, self.password, self._token = 0, "", "", ""
        self.started_in = 0.0
        self._server: subprocess.Popen | None = None
        self._log = root / "server.log"

    # --- lifecycle -------------------------------------------------------------------------------
    def start(self) -> BugsinkServer:
        """Configure, migrate and serve; raise BugsinkUnavailable with the reason when that fails."""
        began = time.monotonic()
        if not (BIN / "bugsink-manage").exists():
            raise BugsinkUnavailable("the bugsink package is not installed (run `make venv`)")
        self.port = free_port()
        self._configure()
        cache = _template_dir()
        if (cache / "db.sqlite3").exists():
            # Migrating from scratch is most of the start-up (~5 s); a migrated copy needs ~1 s.
            for name in ("snappea.sqlite3", "db.sqlite3"):
                shutil.copyfile(cache / name, self.root / name)
        # Migrating and booting gunicorn are independent until the first request: do both at once.
        provision = self._run_async(["bugsink-manage", "shell", "-c",
                                     PROVISION.format(user=USERNAME, cache=str(cache))])
        self._serve()
        out, err = provision.communicate(timeout=START_TIMEOUT)
        if provision.returncode != 0 or "PROVISIONED " not in out:
            raise BugsinkUnavailable(f"provisioning failed: {(err or out)[-800:]}")
        facts = json.loads(out.split("PROVISIONED ", 1)[1].splitlines()[0])
        self.project_id, self.public_key = facts["project"], facts["key"]
        self.password, self._token = facts["password"], facts["token"]
        self._wait_ready(began + START_TIMEOUT)
        self.started_in = time.monotonic() - began
        return self

    def stop(self) -> None:
        """Stop gunicorn (the process this object started) and wait for it."""
        if self._server is not None and self._server.poll() is None:
            # SIGINT is gunicorn's quick shutdown; SIGTERM would wait for idle keep-alive connections.
            self._server.send_signal(signal.SIGINT)
            try:
                self._server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._server.kill()
                self._server.wait(timeout=5)
        self._server = None

    def _env(self) -> dict[str, str]:
        # A clean environment: the test process's DJANGO_SETTINGS_MODULE and SENTRY_* are ours, not its.
        keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")}
        return {**keep, "DJANGO_SETTINGS_MODULE": "bugsink_conf", "PYTHONPATH": str(self.root),
                "PATH": f"{BIN}{os.pathsep}{keep.get('PATH', '')}"}

    def _run_async(self, args: list[str]) -> subprocess.Popen:
        return subprocess.Popen([str(BIN / args[0]), *args[1:]], cwd=self.root, env=self._env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def _configure(self) -> None:
        done = subprocess.run([str(BIN / "bugsink-create-conf"), "--template=local", f"--host={self.host}",
                               f"--port={self.port}", "--output-file", str(self.root / "bugsink_conf.py")],
                              cwd=self.root, env=self._env(), capture_output=True, text=True, timeout=30)
        if done.returncode != 0:
            raise BugsinkUnavailable(f"bugsink-create-conf failed: {done.stderr[-800:]}")
        with open(self.root / "bugsink_conf.py", "a") as conf:
            conf.write(OVERRIDES.format(db=str(self.root / "db.sqlite3"),
                                        snappea=str(self.root / "snappea.sqlite3"),
                                        ingest=str(self.root / "ingestion")))

    def _serve(self) -> None:
        with open(self._log, "w") as log:
            # --no-control-socket: gunicorn 26 otherwise binds one fixed socket under $HOME for
            # every instance on the machine.
            self._server = subprocess.Popen(
                [str(BIN / "gunicorn"), "--bind", f"{self.host}:{self.port}", "--workers", "1",
                 "--threads", "8", "--timeout", "60", "--no-control-socket", "bugsink.wsgi"],
                cwd=self.root, env=self._env(), stdout=log, stderr=subprocess.STDOUT)

    def _wait_ready(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            if self._server.poll() is not None:
                raise BugsinkUnavailable(f"gunicorn exited: {self._log.read_text()[-800:]}")
            try:
                if requests.get(f"{self.base_url}/health/ready", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise BugsinkUnavailable(f"no answer on {self.base_url} within {START_TIMEOUT:.0f} s")

    # --- what the tests use ----------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """The web UI's and the ingest API's origin."""
        return f"http://{self.host}:{self.port}"

    @property
    def dsn(self) -> str:
        """The project's DSN, as Bugsink shows it."""
        return self.dsn_with()

    def dsn_with(self, key: str | None = None, project: int | None = None) -> str:
        """The DSN with another key or project id (what a user mistyping one would have)."""
        return (f"http://{key if key is not None else self.public_key}@{self.host}:{self.port}/"
                f"{project if project is not None else self.project_id}")

    def api(self, path: str, **params: Any) -> Any:
        """GET Bugsink's REST API (`/api/canonical/0/<path>`) with a read-only token; None on 404."""
        response = requests.get(f"{self.base_url}/api/canonical/0/{path}", params=params, timeout=10,
                                headers={"Authorization": f"Bearer {self._token}"})
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.json()

    def event(self, event_id: str, timeout: float = 10.0) -> dict[str, Any] | None:
        """The stored event with this SDK event id (Bugsink's `data` plus `issue`), waiting up to timeout."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.api("events/lookup/", project=self.project_id, event_id=event_id)
            if found is not None or time.monotonic() > deadline:
                return found
            time.sleep(0.1)

    def latest_event(self, issue_id: str) -> dict[str, Any]:
        """The newest stored event of an issue, with its full `data`."""
        newest = self.api("events/", issue=issue_id)["results"][0]
        return self.api(f"events/{newest['id']}/")

    def wait_for_issue(self, calculated_type: str, timeout: float = 10.0) -> dict[str, Any] | None:
        """The issue whose exception type is `calculated_type`, waiting up to timeout seconds."""
        deadline = time.monotonic() + timeout
        while True:
            found = [i for i in self.issues() if i["calculated_type"] == calculated_type]
            if found or time.monotonic() > deadline:
                return found[0] if found else None
            time.sleep(0.1)

    def issues(self) -> list[dict[str, Any]]:
        """Every issue of the project (Bugsink's issue list, all pages)."""
        page = self.api("issues/", project=self.project_id)
        found = list(page["results"])
        while page.get("next"):
            page = requests.get(page["next"], timeout=10,
                                headers={"Authorization": f"Bearer {self._token}"}).json()
            found.extend(page["results"])
        return found

    def login(self) -> requests.Session:
        """A browser-like session logged in to the web UI."""
        session = requests.Session()
        login = f"{self.base_url}/accounts/login/"
        session.get(login, timeout=10)
        answer = session.post(login, timeout=10, allow_redirects=False, headers={"Referer": login},
                              data={"username": USERNAME, "password": self.password,
                                    "csrfmiddlewaretoken": session.cookies.get("csrftoken", "")})
        if answer.status_code != 302:
            raise AssertionError(f"logging in to Bugsink answered {answer.status_code}")
        return session


def _template_dir() -> Path:
    """Where migrated, empty databases of this Bugsink version are kept between sessions."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("bugsink")
    except PackageNotFoundError:
        found = "unknown"
    return BASE_DIR / "var" / "test" / f"bugsink-{found}-template"


def _unavailable(reason: str) -> None:
    # CI must prove the real server ran: a silent skip there would hide a broken job.
    if os.environ.get("CI") == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def bugsink(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BugsinkServer]:
    """One real Bugsink for the session (fails under CI=true, skips elsewhere, when it cannot start)."""
    if shutil.which("bugsink-manage", path=str(BIN)) is None:
        _unavailable("Bugsink is not installed: run `make venv` (the test extra pins it)")
    server = BugsinkServer(tmp_path_factory.mktemp("bugsink"))
    try:
        server.start()
    except (BugsinkUnavailable, OSError, subprocess.SubprocessError) as exc:
        server.stop()
        _unavailable(f"Bugsink did not start: {exc}")
    try:
        yield server
    finally:
        server.stop()
