"""Counter stores: memory and real Redis answer every question the same way."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from errorwarden.alerting.counters import CountCheck, CounterStore, MemoryStore, RateCheck
from tests.support.services import require_redis

T0 = 1_700_000_000.0
BURST = CountCheck("burst:x", window=60, threshold=10, cooldown=300)
RATE = RateCheck("rate:requests", window=300, threshold=0.01, min_requests=100, cooldown=300)


@pytest.fixture
def redis_client() -> Iterator[object]:
    """A client on Redis db 15; every key the test made is deleted afterwards."""
    require_redis()
    import redis

    client = redis.Redis(host="127.0.0.1", port=6379, db=15, socket_timeout=2)
    prefix = f"test-alerting:{uuid.uuid4().hex}:"
    client.test_prefix = prefix
    yield client
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


@pytest.fixture(params=["memory", "redis"])
def store(request) -> CounterStore:
    """Each store implementation in turn."""
    if request.param == "memory":
        return MemoryStore()
    from errorwarden.alerting.redis_counters import RedisStore

    client = request.getfixturevalue("redis_client")
    return RedisStore(client, prefix=client.test_prefix)


def hits(store: CounterStore, times: list[float], check: CountCheck = BURST) -> list[bool]:
    return [store.hit(check, t).fired for t in times]


def test_threshold_fires_on_the_tenth_hit_only(store):
    """Hits one to nine are quiet, the tenth fires, the rest fall in the cooldown."""
    assert hits(store, [T0 + i for i in range(15)]) == [False] * 9 + [True] + [False] * 5


def test_cooldown_counts_what_it_holds_back(store):
    """After the cooldown, the next alert reports the hits held back since the previous one."""
    hits(store, [T0] * 10 + [T0 + 1] * 7)
    result = [store.hit(BURST, T0 + 301) for _ in range(10)]
    assert [r.fired for r in result] == [False] * 9 + [True]
    assert result[-1].suppressed == 7 and result[-1].first_seen == pytest.approx(T0 + 1)


def test_window_slides_instead_of_resetting_at_a_boundary(store):
    """Hits either side of a bucket boundary are counted together."""
    boundary = 60 * 30_000_000
    assert hits(store, [boundary - 0.1] * 5 + [boundary + 0.1] * 5)[-1] is True


def test_old_hits_leave_the_window(store):
    """Hits older than the window no longer count."""
    assert not any(hits(store, [T0 + 70 * i for i in range(20)]))


def test_one_hit_threshold_fires_on_the_first(store):
    """A threshold of 1 (database, external) fires on the first hit."""
    assert store.hit(CountCheck("db:connection", 60, 1, 300), T0).fired


@pytest.mark.parametrize(("batches", "transitions"), [
    ([(99, 1)], [""]),
    ([(4, 3)], [""]),
    ([(200, 2)], [""]),
    ([(200, 4)], ["fire"]),
    ([(200, 4), (200, 0), (200, 0)], ["fire", "recover", ""]),
    ([(200, 4), (50, 50)], ["fire", ""]),
])
def test_rate_transitions(store, batches, transitions):
    """fire once above the threshold with volume; recover once when back under it."""
    got = [store.rate(RATE, total, failed, T0 + i).transition for i, (total, failed) in enumerate(batches)]
    assert got == transitions


def test_a_new_breach_within_the_cooldown_after_recovery_does_not_page_again(store):
    """A flapping rate pages once per cooldown."""
    assert store.rate(RATE, 200, 4, T0).transition == "fire"
    assert store.rate(RATE, 400, 0, T0 + 1).transition == "recover"
    assert store.rate(RATE, 100, 100, T0 + 2).transition == ""


def test_memory_store_keeps_a_bounded_number_of_keys():
    """The memory store forgets the least recently seen issues beyond max_keys."""
    store = MemoryStore(max_keys=100)
    for i in range(1000):
        store.hit(CountCheck(f"burst:{i}", 60, 10, 300), T0)
    assert len(store._keys) == 100


def test_redis_keys_expire_on_their_own(redis_client):
    """Every key written carries a TTL, so quiet issues do not accumulate in Redis."""
    from errorwarden.alerting.redis_counters import RedisStore

    store = RedisStore(redis_client, prefix=redis_client.test_prefix)
    hits(store, [T0] * 10)
    store.rate(RATE, 200, 4, T0)
    keys = list(redis_client.scan_iter(f"{redis_client.test_prefix}*"))
    assert len(keys) == 5
    assert all(0 < redis_client.ttl(k) <= 86_400 for k in keys)


def test_a_hit_without_claim_counts_but_never_takes_the_cooldown(store):
    """claim=False (a process with no channel to page through) adds to the count and fires nothing;
    the next claiming hit finds the threshold reached and no cooldown spent."""
    quiet = [store.hit(BURST, T0 + i * 0.1, claim=False) for i in range(12)]
    assert not any(h.fired for h in quiet) and quiet[-1].count == pytest.approx(12)
    assert all(h.until is None for h in quiet)
    assert store.hit(BURST, T0 + 2).fired


def test_a_rate_without_claim_counts_but_neither_fires_nor_recovers(store):
    """claim=False adds the batch but leaves the firing flag and the cooldown alone."""
    assert store.rate(RATE, 200, 100, T0, claim=False).transition == ""
    assert store.rate(RATE, 1, 0, T0 + 1).transition == "fire"  # the unclaimed batch counted
    assert store.rate(RATE, 10_000, 0, T0 + 2, claim=False).transition == ""  # no silent recovery
    assert store.rate(RATE, 1, 0, T0 + 3).transition == "recover"
