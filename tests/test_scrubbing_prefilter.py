"""The prefilter (errorwarden/scrubbing/prefilter.py) never hides a string the detectors change.

Soundness is the whole contract: for every text, if the full detectors change it, the scan
flags it, whichever engine runs and wherever the text sits among others. Checked on the
catalogue, on hand-picked edge cases (Unicode spaces, split key names, the joint byte) and on
generated text. The engine switch and the cross-event caches are tested here too.
"""

from __future__ import annotations

import sys
import tempfile
from functools import lru_cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from errorwarden.scrubbing import Scrubber, keys, prefilter
from tests.support import secret_eval
from tests.test_scrub_catalogue import NEGATIVES, POSITIVES, planted

PROFILE = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FULL = Scrubber(engine="python")


ENGINES = list(prefilter.available())  # both in CI: they are dependencies
# hyperscan's databases as a later process has them: loaded from the cache (SENTRY_SCRUB_CACHE_DIR)
# the first one wrote. The soundness tests run on it as on an engine of its own.
CACHED = "hyperscan-cached"
SOUND = [*ENGINES, *([CACHED] if "hyperscan" in ENGINES else [])]
NEIGHBOURS = ["GET /api/books/?page=2 HTTP/1.1", "héllo wörld ✓", "plain words here"]


def _changed(text: str, source: bool = False) -> bool:
    """True when the full detectors (no prefilter, no cache) change ``text``."""
    return FULL._text._full(text, source) != text


@lru_cache(maxsize=1)
def _cache_dir() -> Path:
    """A cache directory holding the databases an earlier build compiled and stored."""
    directory = Path(tempfile.mkdtemp(prefix="errorwarden-prefilter-"))
    assert prefilter.HyperscanPrefilter(prefilter.conditions(), directory).source == "compiled"
    return directory


def _scrubber(engine: str) -> Scrubber:
    """A scrubber on ``engine``; on CACHED, hyperscan's loaded from the cache, never compiled."""
    if engine != CACHED:
        return Scrubber(engine=engine)
    scrubber = Scrubber(engine="hyperscan", cache_dir=_cache_dir())
    assert scrubber._text.prefilter.source == "cache"
    return scrubber


def _missed(engine: str, texts: list[str]) -> list[str]:
    """Texts the detectors change but ``engine`` does not flag, scanned among neighbours, or
    whose gated pass (only the steps whose conditions it meets, as the batch scan saw them or
    looked up alone) differs from the full one."""
    scrubber = _scrubber(engine)
    flagged = scrubber._text._flagged([*NEIGHBOURS, *texts, *NEIGHBOURS])
    missed = [t for t in texts if t not in flagged and (_changed(t) or _changed(t, True))]
    gated = scrubber._text._full
    return missed + [t for t in texts if any(
        gated(t, source, hints) != FULL._text._full(t, source)
        for source in (False, True) for hints in (None, flagged))]


EDGE_CASES = [
    "pass_word=hunter2", "sec_ret: x", "api.key=abc", "x-api-key: abc", "A-P-I-K-E-Y=abc",
    "Sharedaccess_Key=abc", "user_pw = 'x'", "PIN=1234", "--sec-ret value", "--api_key=x",
    "-p s3cret", "-u bob:pw", "--sec_ret x", "--s-e-c-r-e-t x", "--client_ip x",
    "curl -u bob:pw https://x", "token\u00a0= abc", "password\u2003: x",
    "Bearer\u00a0abcdefghijk123", "Cookie\u2003: a=b", "'x'\u00a0== password", "password\x1c= x",
    "jane%40example.com", "card=4111+1111+1111+1111", "q=a+--password+secret", "%5BFiltered%5D",
    "x %5Bcard%5d y", "[aws_key] wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "a\x00b password=x",
    "::ffff:10.0.0.1", "fe80::1", "2001:db8:0:0:0:0:0:1", "x:: y 2001:db8:1:2:3:4:10.0.0.1",
    "Key (email)=(a) already exists", "invalid input syntax for type integer: \"x\"",
    "ssn 219.09.9999", "iban GB82WEST12345698765432", "ghp_" + "a1" * 18, "eyJhbGciOi.eyJzdWIiOi.",
    "-----BEGIN PRIVATE KEY-----\nabc", "postgres://u:p@db/x", "mail b@exämple.com and a@b.io",
    "<Secret>\n  a1b2c3d4e5</Secret>", "<x:apiKey>k9</x:apiKey>", "<add name='DbPass' value='x1'/>",
    "setProperty('X_TOKEN',\t'v')", 'new NetworkCredential("u", "p4ss")', "pw\u00a0hunter2x",
    "password\u2003s3cr3t!", "Using KEY=Ab12Cd34Ef56Gh78", "-Dsonar.login=Ab12Cd34Ef56",
    "svc_Zq8Xw3Lp0Tn5Vr2Ys7Ku4Hm9Gd6Bf1Jc", "pk-" + "0123456789abcdef" * 2,
    "no2812345678901", "NO 28 1234.56.78901", "(de25-1002-0030-0123-4567-89)", "Zoë.Renée@example.org",
    # Experimental-list IBANs, a dash after the country code, e-mail shapes beyond the common one
    # and JWK private members (tests/test_scrubbing_recall.py).
    "SN08SN0100152000048500003035", "dz58 0002 1000 0111 3000 0005 70", "BE-315380075470 55",
    '"quoted local part"@example.org', "x ~@example.org", "jeff@臺網中心.tw", "राम@मोहन.ईन्फो",
    "\u1fef@example.com", "\uff20@fullwidth.at", "s\u0323\u0307@nfc.tld",
    '"d": "9GJquUJf57a9sev-u8-PoYlIezIPqI_vGpIaiu4zyZk"',
    "{'qi':\t'9GJquUJf57a9sev-u8-PoYlIezIPqI_vGpIaiu4zyZk'}",
]


@pytest.mark.parametrize("engine", SOUND)
def test_independent_set_is_all_flagged(engine):
    """Every text of the independent set (both parts: PyPI sources and clean.txt, see
    tests/data/independent/README.md) the detectors change is flagged, and its gated pass
    equals the full one on data nobody here wrote."""
    texts = [e.text for part in secret_eval.PARTS for e in secret_eval.part_for_test(part)]
    assert _missed(engine, texts) == []


@pytest.mark.parametrize("engine", SOUND)
def test_catalogue_values_and_plantings_are_all_flagged(engine):
    """Every catalogue positive, negative and planted event string the detectors change is flagged."""
    texts = [e.text for e in POSITIVES + NEGATIVES]
    for entry in POSITIVES[::7]:
        texts += _strings(planted(entry.text))
    assert _missed(engine, texts) == []


@pytest.mark.parametrize("engine", SOUND)
def test_edge_cases_are_flagged(engine):
    """Unicode spaces, split key names, encoded text and the joint byte cannot slip past a scan."""
    assert all(_changed(t) or _changed(t, True) for t in EDGE_CASES)
    assert _missed(engine, EDGE_CASES) == []


@pytest.mark.parametrize("engine", SOUND)
@pytest.mark.parametrize("one_by_one", [0, 10**6])
def test_edge_cases_are_flagged_one_at_a_time_and_joined(engine, one_by_one, monkeypatch):
    """A small batch is matched one string at a time, a large one joined: each way flags every
    edge case, and the steps it names give the full detectors' result."""
    monkeypatch.setattr(type(_scrubber(engine)._text.prefilter), "_ONE_BY_ONE", one_by_one)
    assert _missed(engine, EDGE_CASES) == []
    flagged = _scrubber(engine)._text._flagged(EDGE_CASES)
    assert set(flagged) >= set(EDGE_CASES)
    assert flagged["a\x00b password=x"] is None  # holds the joint: flagged, steps looked up later


_PIECES = st.sampled_from([
    "password", "pass_word", "sec-ret", "api", "_key", "Key", "token", "pin", "sid", "=", ":",
    ":=", "=>", "\"", "'", " ", "\u00a0", "\u2003", "\x1c", "\n", "\\", "[", "]", "-", "--", "-p ",
    "-u ", "==", "!=", "@", ".", "example.com", "%40", "%5B", "%5D", "+", "4111", "1111", "0",
    "192.168", ".1", "::", "ff", "DE89", "3704", "eyJhbGciOi", "Bearer ", "cookie", "://",
    "hooks.slack.com/", "AKIA", "IOSFODNN7EXAMPLE", "ghp_", "é", "✓", "\x00", "Key (",
    "<", ">", "</", "secret>", " value=", ", ", "(", ")", "Credential(", "pw ", " is ", "login",
    "license", "a1B2c3D4e5F6", "Zq8Xw3Lp0Tn5Vr2Ys7Ku4Hm9Gd6Bf1Jc", "_", "xxx",
    "\"@", "~@", "`", "臺網.tw", "\u0907", "\uff20", "SN08", "BE-31", "\"d\": \"", "'k':'", "kty",
])
GENERATED = st.lists(st.one_of(_PIECES, st.text(min_size=1, max_size=6)), min_size=1, max_size=14).map(
    "".join)


@pytest.mark.parametrize("engine", SOUND)
@PROFILE
@given(texts=st.lists(GENERATED, min_size=1, max_size=6))
def test_generated_text_is_flagged_whenever_it_would_change(engine, texts):
    """On generated text built from detector triggers, no change ever hides from the scan."""
    assert _missed(engine, texts) == []


def _strings(obj) -> list[str]:
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for v in obj.values() for s in _strings(v)]
    if isinstance(obj, list):
        return [s for v in obj for s in _strings(v)]
    return []


@pytest.mark.parametrize("engine", ENGINES)
def test_every_condition_compiles_without_lookarounds(engine):
    """The conditions are plain regular expressions both engines compile (no lookaround left)."""
    found = prefilter.conditions(["my_field"])
    assert all("(?<" not in p and "(?=" not in p and "(?!" not in p for _, p, _ in found)
    assert prefilter.compile_gate(engine, frozenset({"myfield"})) is not None


def test_extra_key_names_are_seeds():
    """A configured extra key (my_field) makes its pairs flagged: my-field=…, MyField: …."""
    for engine in ENGINES:
        scrubber = Scrubber(extra_keys=("my_field",), engine=engine)
        texts = ["my-field=abc", "MyField: abc", "my.field = 'abc'", "--myfield abc", "--my-field abc"]
        assert set(scrubber._text._flagged(texts)) == set(texts)
        assert [scrubber.scrub_text(t) for t in texts] == [
            "my-field=[Filtered]", "MyField: [Filtered]", "my.field = '[Filtered]'",
            "--myfield [Filtered]", "--my-field [Filtered]"]


def test_engine_names_are_checked():
    """An unknown engine name is a ValueError naming the allowed ones; 'python' means no prefilter."""
    with pytest.raises(ValueError, match="auto, python, hyperscan, re2"):
        Scrubber(engine="pcre")
    assert Scrubber(engine="python")._text.prefilter is None


def test_auto_falls_back_to_pure_python_without_the_wheels(monkeypatch):
    """With neither wheel importable, 'auto' runs the detectors on every string and still scrubs."""
    monkeypatch.setitem(sys.modules, "hyperscan", None)
    monkeypatch.setitem(sys.modules, "re2", None)
    prefilter._compiled.cache_clear()
    try:
        scrubber = Scrubber()
        assert scrubber._text.prefilter is None
        with pytest.raises(ImportError):
            Scrubber(engine="hyperscan")
        assert scrubber.scrub_text("mail bob@example.com") == "mail [email]"
    finally:
        prefilter._compiled.cache_clear()


def test_auto_takes_the_module_switch(monkeypatch):
    """prefilter.AUTO narrows what 'auto' tries: () is the pure-Python path."""
    monkeypatch.setattr(prefilter, "AUTO", ())
    assert Scrubber()._text.prefilter is None
    for engine in ENGINES:
        monkeypatch.setattr(prefilter, "AUTO", (engine,))
        assert Scrubber()._text.prefilter.name == engine


def test_dirty_results_are_remembered_without_the_secret():
    """A string that held a secret is scrubbed once per process, and its cache keeps no copy of it."""
    scrubber = Scrubber()
    secret = "password=Correct-Horse-Battery-42"
    assert scrubber.scrub_text(secret) == "password=[Filtered]"
    assert scrubber.scrub_text(secret) == "password=[Filtered]"
    tables = repr(scrubber._text.results._dirty)
    assert "[Filtered]" in tables and secret not in tables and "Correct-Horse" not in tables
    assert secret not in scrubber._text.clean


def test_clean_cache_is_bounded(monkeypatch):
    """The clean-string cache empties itself when full instead of growing without bound."""
    from errorwarden.scrubbing import memory

    monkeypatch.setattr(memory, "CLEAN_LIMIT", 10)
    scrubber = Scrubber()
    for i in range(25):
        scrubber.scrub_text(f"plain words number {i} here")
    assert 0 < len(scrubber._text.clean) <= 10


def test_a_shared_value_filtered_elsewhere_stays_filtered():
    """A dict reached under a plain and a sensitive key keeps [Filtered], not the detectors' text."""
    shared = {"note": "call bob@example.com"}
    event = {"extra": {"plain": shared, "password": shared}}
    Scrubber().scrub_event(event)
    assert shared["note"] == "[Filtered]"


def test_a_renamed_key_keeps_its_scrubbed_value():
    """A key rewritten because it holds a secret carries its value's scrub result under the new name."""
    event = {"extra": {"bob@example.com": "call 4111 1111 1111 1111"}}
    Scrubber().scrub_event(event)
    assert event["extra"] == {"[email]": "call [card]"}


def test_sensitive_words_stay_seeds():
    """Every sensitive word and fragment of the key rules is a seed of the pair condition,
    whole, and every fragment split after each of its letters."""
    seeds = prefilter._seeds((), split=False)
    assert all(word in seeds for word in keys.SENSITIVE_WORDS)
    assert all(fragment in seeds for fragment in keys.SENSITIVE_FRAGMENTS)
    pairs = {p for step, p, _ in prefilter.conditions() if step == "pairs"}
    for fragment in keys.SENSITIVE_FRAGMENTS:
        for i in range(1, len(fragment)):
            assert any(p.startswith(fragment[:i] + prefilter._SPLIT + "+") for p in pairs), (fragment, i)


@pytest.mark.parametrize("engine", SOUND)
def test_split_fragments_are_flagged(engine):
    """A fragment split anywhere by ``_ . -``, once or at every letter, still flags its pair."""
    gate = _scrubber(engine)._text.prefilter
    texts = []
    for fragment in keys.SENSITIVE_FRAGMENTS:
        texts += [f"{fragment[:i]}{sep}{fragment[i:]}=abc" for i in range(1, len(fragment)) for sep in "_.-"]
        texts += ["-".join(fragment).upper() + ": abc", "x_" + "_.".join(fragment) + "_y = 'abc'"]
    assert all(_changed(t) for t in texts)
    assert set(gate.flagged(texts)) == set(texts)


def test_every_step_has_a_condition_and_every_condition_a_step():
    """The prefilter's conditions name exactly the detectors' steps (a new step needs its condition)."""
    steps = {name for name, _ in FULL._text._steps}
    named = {step for step, _, _ in prefilter.conditions()}
    assert named - steps == {"rebracket"}
    assert steps - named == set()


def test_threads_share_one_scrubber():
    """Eight threads scrubbing through one Scrubber (one hyperscan scratch each) get the serial results."""
    import copy
    from concurrent.futures import ThreadPoolExecutor

    events = [planted(e.text) for e in POSITIVES[::11]]
    expected = [Scrubber(engine="python").scrub_event(copy.deepcopy(e)) for e in events]
    shared = Scrubber()
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda e: shared.scrub_event(copy.deepcopy(e)), events * 4))
    assert results == expected * 4
