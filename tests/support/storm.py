"""A loop gone wrong, as a process of its own: `python -m tests.support.storm KINDS PER_KIND [SEED]`.

Loads Django with the project's settings from the environment (SENTRY_DSN empty: the local inbox
at SENTRY_INBOX_PATH), so the real init_sentry runs, then raises PER_KIND errors of each of KINDS
exception types (Storm0Error, Storm1Error, ...), shuffled by SEED, each captured with
sentry_sdk.capture_exception as fast as the loop goes. It prints one JSON line, what it raised per
title: {"Storm0Error": n, ...}, and exits WITHOUT flushing, so what reaches the inbox after the
loop is what the SDK's shutdown (its atexit hook closing the client) writes.
"""

from __future__ import annotations

import json
import os
import random
import sys
from collections import Counter


def _fail(kind: type[Exception], n: int) -> None:
    raise kind(f"loop iteration {n} went wrong")


def main(kinds: int, per_kind: int, seed: int = 0) -> None:
    """Raise and capture the storm; print what was raised per exception type."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    import sentry_sdk

    types = [type(f"Storm{k}Error", (Exception,), {}) for k in range(kinds)]
    order = [k for k in range(kinds) for _ in range(per_kind)]
    random.Random(seed).shuffle(order)
    raised: Counter[str] = Counter()
    for n, k in enumerate(order):
        try:
            _fail(types[k], n)
        except Exception as exc:
            sentry_sdk.capture_exception(exc)
            raised[types[k].__name__] += 1
    print(json.dumps(dict(raised)), flush=True)


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:4]))
