"""A storm through gunicorn: 10,000 errors of one issue and 1,000 over 50 others, with a healthy Sentry.

The SDK's queue (100 envelopes) overflows at once; the overflow goes to the outbox, where repeated
events of an issue are sampled. Every issue must be present in Sentry with its exact count.
"""

from __future__ import annotations

import json
import random
import uuid

from tests.reliability.conftest import issue_counts, outbox, oversized
from tests.reliability.server import load, wait_until

BIG, BIG_COUNT = "big", 10_000
OTHERS, OTHER_COUNT = 50, 20  # 1,000 events over 50 issues
PER_REQUEST = 100


def test_a_storm_keeps_every_issue_with_its_exact_count(server, rx, workdir):
    """All 51 issues arrive, and each one's events plus its sampling summaries add up to what was captured."""
    run = uuid.uuid4().hex[:6]
    paths = [f"/storm/?issue={run}-{BIG}&count={PER_REQUEST}" for _ in range(BIG_COUNT // PER_REQUEST)]
    paths += [f"/storm/?issue={run}-{n}&count={OTHER_COUNT}" for n in range(OTHERS)]
    random.Random(7).shuffle(paths)  # the small issues are captured in the middle of the big one
    answers = load(server, paths)
    accepted = [json.loads(a.body)["accepted"] if a.status == 200 else a.status for a in answers]
    assert sum(accepted) == BIG_COUNT + OTHERS * OTHER_COUNT  # every capture was accepted by the SDK
    expected = {f"{run}-{BIG}": BIG_COUNT, **{f"{run}-{n}": OTHER_COUNT for n in range(OTHERS)}}
    assert wait_until(lambda: issue_counts(rx, "storm") == expected, timeout=120), \
        sorted(set(issue_counts(rx, "storm").items()) ^ set(expected.items()))
    sampled = len([e for e in rx.events() if (e.get("fingerprint") or [""])[0] == "storm"])
    assert sampled < BIG_COUNT  # the storm was sampled, not sent event by event
    assert wait_until(lambda: outbox(workdir).pending() == 0, timeout=30)
    assert oversized(rx) == []
