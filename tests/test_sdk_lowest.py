"""The outbox and the SDK seam on the lowest sentry-sdk django-errorwarden allows.

`make test` runs everything else on the newest sentry-sdk the range allows (the one .venv gets);
this test makes a virtual environment whose own site-packages hold only sentry-sdk at the floor
read from django-errorwarden/pyproject.toml, layered over .venv's (a .pth file adds those after
it, so the floor wins and the rest is shared), and runs tests/test_outbox.py and
tests/test_sdk_contract.py in it. The environment is kept in var/test/ and reused; pip's cache
makes the first install quick too. `make test-sdk-lowest` runs this file alone.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

from packaging.version import Version

REPO = Path(__file__).resolve().parent.parent
TESTS = ["tests/test_outbox.py", "tests/test_sdk_contract.py"]


def sdk_floor() -> str:
    """The '>=' bound of sentry-sdk in django-errorwarden's requirements."""
    meta = tomllib.loads((REPO / "django-errorwarden" / "pyproject.toml").read_text(encoding="utf-8"))
    for requirement in meta["project"]["dependencies"]:
        found = re.fullmatch(r"sentry-sdk\s*>=\s*([\d.]+)\s*,.*", requirement)
        if found:
            return found.group(1)
    raise AssertionError("django-errorwarden/pyproject.toml has no 'sentry-sdk>=...' requirement")


def _run(command: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def floor_venv(version: str) -> Path:
    """var/test/sdk-<version>/: sentry-sdk==version in its own site-packages, .venv's after it."""
    venv = REPO / "var" / "test" / f"sdk-{version}"
    python = venv / "bin" / "python"
    site = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    installed = [p.name.removesuffix(".dist-info").split("-")[1] for p in site.glob("sentry_sdk-*.dist-info")]
    if [Version(v) for v in installed] != [Version(version)]:
        _run([getattr(sys, "_base_executable", sys.executable), "-m", "venv", "--clear", "--without-pip",
              str(venv)], timeout=60)
        _run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps",
              "--target", str(site), f"sentry-sdk=={version}"], timeout=300)
    base = sysconfig.get_paths()["purelib"]
    layer = f"import site; site.addsitedir({base!r})\n"  # .venv's packages, after the floor's sentry-sdk
    (site / "zz_errorwarden_base.pth").write_text(layer, encoding="utf-8")
    return python


def test_the_outbox_and_the_seam_pass_on_the_lowest_supported_sentry_sdk():
    version = sdk_floor()
    python = floor_venv(version)
    probe = _run([str(python), "-c", "import sentry_sdk, errorwarden; print(sentry_sdk.VERSION); "
                                     "print(sentry_sdk.__file__)"], timeout=60).stdout.split()
    # Really the floor, from the new environment (not .venv's newer one shining through).
    assert Version(probe[0]) == Version(version) and str(python.parent.parent) in probe[1], probe
    env = {**os.environ, "SENTRY_DSN": "", "SENTRY_PROFILES_SAMPLE_RATE": "0",
           "SENTRY_INBOX_PATH": f"var/test/sdk-{version}/inbox.sqlite3"}
    done = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", *TESTS], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=600)
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    assert done.returncode == 0, f"on sentry-sdk {version}:\n{done.stdout[-6000:]}\n{done.stderr[-2000:]}"
    assert re.search(r"\d+ passed", summary) and "skipped" not in summary, summary
