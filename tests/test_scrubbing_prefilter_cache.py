"""The hyperscan prefilter's on-disk cache (SENTRY_SCRUB_CACHE_DIR, errorwarden/scrubbing/prefilter.py).

Only the first process on a machine compiles the databases; the next ones load them. Checked
in fresh processes that count hyperscan's compiles, with a damaged file, with other patterns,
with the cache turned off and with a bad setting. That a loaded database flags exactly what the
compiled one does is checked here on the catalogue, and by tests/test_scrubbing_prefilter.py,
whose soundness tests run on a cache-loaded engine too.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from errorwarden.scrubbing import prefilter
from errorwarden.settings import SettingsError, load_settings
from tests.test_scrub_catalogue import NEGATIVES, POSITIVES, planted
from tests.test_scrubbing_prefilter import EDGE_CASES, NEIGHBOURS, _strings

pytest.importorskip("hyperscan")  # a dependency of the [fast] extra: under CI=true it is installed
ROOT = Path(__file__).resolve().parent.parent

# A child process: builds the prefilter with the cache directory given, counting hyperscan's compiles.
CHILD = """
import json, sys
import hyperscan
compiles = []
class Counting(hyperscan.Database):
    def compile(self, *args, **kwargs):
        compiles.append(1)
        return super().compile(*args, **kwargs)
hyperscan.Database = Counting
from pathlib import Path
from errorwarden.scrubbing import prefilter
extra = sys.argv[2:]
built = prefilter.HyperscanPrefilter(prefilter.conditions(sorted(extra)), Path(sys.argv[1]))
print(json.dumps({"source": built.source, "compiles": len(compiles), "file": str(built.cache_file),
                  "flags": sorted(built.flagged(["password=hunter2", "plain text", "a@b.io"]))}))
"""


def _build(cache_dir: Path, *extra: str) -> dict:
    """Build the prefilter in a fresh process: where it came from, how many compiles, its file."""
    done = subprocess.run([sys.executable, "-c", CHILD, str(cache_dir), *extra], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_second_process_loads_the_cache_without_compiling(tmp_path):
    first = _build(tmp_path)
    assert (first["source"], first["compiles"]) == ("compiled", 2)  # the batch and single-match dbs
    cached = Path(first["file"])
    assert cached.parent == tmp_path and cached.name.startswith("prefilter-")
    assert stat.S_IMODE(cached.stat().st_mode) == 0o600
    assert os.listdir(tmp_path) == [cached.name]  # no temporary file left behind
    second = _build(tmp_path)
    assert (second["source"], second["compiles"], second["file"]) == ("cache", 0, first["file"])
    assert second["flags"] == first["flags"] == ["a@b.io", "password=hunter2"]


def test_a_loaded_database_flags_what_the_compiled_one_does(tmp_path):
    """Every catalogue value and planting, the edge cases and clean text, joined and one by one."""
    found = prefilter.conditions()
    compiled = prefilter.HyperscanPrefilter(found, tmp_path)
    loaded = prefilter.HyperscanPrefilter(found, tmp_path)
    assert (compiled.source, loaded.source) == ("compiled", "cache")
    texts = [*NEIGHBOURS, *EDGE_CASES, *(e.text for e in POSITIVES + NEGATIVES),
             *(s for e in POSITIVES[::7] for s in _strings(planted(e.text)))]
    assert loaded.flagged(texts) == compiled.flagged(texts)
    assert [loaded.steps_in(t) for t in texts] == [compiled.steps_in(t) for t in texts]
    assert loaded.flagged(texts)  # the comparison is not between two empty results


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "altered"])
def test_a_damaged_cache_file_is_compiled_again_and_replaced(tmp_path, damage):
    cached = Path(_build(tmp_path)["file"])
    good = cached.read_bytes()
    middle = len(good) // 2
    damaged = {"garbage": b"\x00not a database" * 50, "truncated": good[:middle], "empty": b"",
               "altered": good[:middle] + bytes([good[middle] ^ 1]) + good[middle + 1:]}[damage]
    cached.write_bytes(damaged)
    again = _build(tmp_path)
    assert (again["source"], again["compiles"]) == ("compiled", 2)
    assert cached.read_bytes() != damaged
    assert _build(tmp_path)["source"] == "cache"  # the file was replaced by a good one
    assert stat.S_IMODE(cached.stat().st_mode) == 0o600


def test_a_cache_file_others_may_write_is_not_loaded(tmp_path):
    """Whoever could write the file could make the scrubber miss secrets: it is compiled again."""
    cached = Path(_build(tmp_path)["file"])
    cached.chmod(0o666)
    assert _build(tmp_path)["source"] == "compiled"
    assert stat.S_IMODE(cached.stat().st_mode) == 0o600
    assert _build(tmp_path)["source"] == "cache"


def test_other_patterns_are_another_file(tmp_path):
    plain = _build(tmp_path)
    extra = _build(tmp_path, "loyalty_number")
    assert extra["file"] != plain["file"] and extra["source"] == "compiled"
    assert sorted(os.listdir(tmp_path)) == sorted([Path(plain["file"]).name, Path(extra["file"]).name])
    expressions = [p.encode() for _, p, _ in prefilter.conditions()]
    flags = [[0] * len(expressions)] * 2
    name = prefilter._cache_file(tmp_path, expressions, flags)
    assert name == prefilter._cache_file(tmp_path, list(expressions), [list(f) for f in flags])
    assert name != prefilter._cache_file(tmp_path, [*expressions[:-1], expressions[-1] + b"x"], flags)
    assert name != prefilter._cache_file(tmp_path, expressions, [[1] * len(expressions)] * 2)


def test_a_directory_that_cannot_be_written_only_costs_the_compile(tmp_path):
    """(The suite may run as root, whom permissions do not stop: here the directory's parent is a file.)"""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    built = prefilter.HyperscanPrefilter(prefilter.conditions(), blocker / "cache")
    assert built.source == "compiled" and built.flagged(["password=x"]) == {"password=x": {"pairs"}}
    assert sorted(os.listdir(tmp_path)) == ["file"]


def test_a_file_as_the_setting_stops_start_up_with_its_reason(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(SettingsError) as caught:
        load_settings({"SENTRY_SCRUB_CACHE_DIR": str(blocker)})
    assert str(caught.value) == (f"SENTRY_SCRUB_CACHE_DIR={str(blocker)!r} is invalid: a directory path, or "
                                 "off. Hint: it exists and is not a directory: name a directory, or off")
    new = tmp_path / "new"
    assert load_settings({"SENTRY_SCRUB_CACHE_DIR": str(new)}).scrub_cache_dir == new
    assert load_settings({"SENTRY_SCRUB_CACHE_DIR": "off"}).scrub_cache_dir is None


SETUP = ("import django; django.setup(); from errorwarden import runtime; "
         "print(runtime.current_runtime().settings.scrub_cache_dir)")


@pytest.mark.parametrize("setting", [None, "", "off"])
def test_django_setup_caches_under_the_users_cache_unless_off(tmp_path, setting):
    """Start-up end to end: unset or empty is $XDG_CACHE_HOME/errorwarden; off writes nothing."""
    environ = {k: v for k, v in os.environ.items() if k != "SENTRY_SCRUB_CACHE_DIR"}
    environ |= {"XDG_CACHE_HOME": str(tmp_path), "DJANGO_SETTINGS_MODULE": "config.settings",
                "SENTRY_SCRUB_ENGINE": "hyperscan"}
    if setting is not None:
        environ["SENTRY_SCRUB_CACHE_DIR"] = setting
    done = subprocess.run([sys.executable, "-c", SETUP], cwd=ROOT, env=environ, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    if setting == "off":
        assert (done.stdout.strip(), os.listdir(tmp_path)) == ("None", [])
    else:
        assert done.stdout.strip() == str(tmp_path / "errorwarden")
        assert [f.startswith("prefilter-") for f in os.listdir(tmp_path / "errorwarden")] == [True]


def test_the_suite_keeps_its_own_cache_under_var_test():
    """`make test` (and so CI) points the cache at the run's own directory, emptied before the run."""
    makefile = (ROOT / "Makefile").read_text()
    assert "SENTRY_SCRUB_CACHE_DIR=$(CURDIR)/var/test/scrub-cache" in makefile
    assert "rm -rf var/test/scrub-cache" in makefile
    if os.environ.get("MAKELEVEL"):  # run by make
        assert os.environ.get("SENTRY_SCRUB_CACHE_DIR") == str(ROOT / "var" / "test" / "scrub-cache")
