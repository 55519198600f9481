"""What adopting the app costs a fresh project at start-up: django.setup() with and without it.

A fresh virtual environment gets Django, sentry-sdk and the built wheel (no extra), then two
projects from `django-admin startproject`: `plain` as made, and `shop` with docs/integrating.md's
marked steps applied (tests/test_wheel.py applies the same ones). Each is started five times,
interleaved, in a new interpreter; the figure is the median wall time of `django.setup()` (with
init_sentry() inside settings.py), and the anchor is the plain project of the same run.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.test_wheel import DIST, _apply, _clean_env, doc_steps

ROUNDS = 5
TIMED = ("import os, time\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', '{name}.settings')\n"
         "t = time.perf_counter()\nimport django\ndjango.setup()\nprint(time.perf_counter() - t)")


def _run(args: list, cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)
    if done.returncode:
        raise RuntimeError(f"{args[:3]} failed: {done.stderr[-2000:]}")
    return done.stdout


def main() -> None:
    env = _clean_env()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _run([sys.executable, "-m", "build", "--wheel", "--outdir", root / "dist", DIST], root, env)
        wheel = next((root / "dist").glob("*.whl"))
        _run([sys.executable, "-m", "venv", root / "venv"], root, env)
        python, admin = root / "venv/bin/python", root / "venv/bin/django-admin"
        _run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", wheel, "Django>=5.2,<5.3"],
             root, env)
        for name in ("plain", "shop"):
            _run([admin, "startproject", name], root, env)
        shop = root / "shop"
        for step in doc_steps():
            _apply(shop, step)
        times: dict[str, list[float]] = {"plain": [], "shop": []}
        for _ in range(ROUNDS):
            for name in times:
                times[name].append(float(_run([python, "-c", TIMED.format(name=name)], root / name, env)))
    plain, ours = statistics.median(times["plain"]), statistics.median(times["shop"])
    print(f"django.setup() of a fresh startproject, median of {ROUNDS} (Django 5.2, no extras):")
    print(f"  without the app: {plain * 1000:.0f} ms   with django-errorwarden: {ours * 1000:.0f} ms   "
          f"ratio {ours / plain:.2f}x (+{(ours - plain) * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
