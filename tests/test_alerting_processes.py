"""Exactly once across processes: four real OS processes share one Redis and page once."""

from __future__ import annotations

import multiprocessing
import uuid

import pytest

from infrastructure.settings import Settings
from tests.support.services import require_redis
from tests.support.slack import SlackStandIn

REDIS_URL = "redis://127.0.0.1:6379/15"


def _worker(webhook: str, prefix: str, errors: int, start: multiprocessing.synchronize.Barrier) -> None:
    """One worker process: its own engine, counting errors of one issue on the shared Redis."""
    from infrastructure.alerting import build_engine

    settings = Settings(redis_url=REDIS_URL, slack_alerts_enabled=True, slack_webhook_url=webhook,
                        email_alerts_enabled=False)
    engine = build_engine(settings, scrub_text=str, key_prefix=prefix)
    event = {"event_id": uuid.uuid4().hex, "level": "error", "fingerprint": ["shared-issue"],
             "exception": {"values": [{"type": "OperationalError", "value": "could not connect"}]}}
    start.wait(30)  # all four start counting together
    for _ in range(errors):
        engine.observe_event(event)
    assert engine.flush(15)


@pytest.mark.parametrize("split", [(3, 3, 2, 2), (1, 1, 1, 7), (10, 0, 0, 0)])
def test_ten_errors_spread_over_four_processes_page_exactly_once(split):
    """However ten errors of one issue fall across four processes, Slack gets exactly one alert."""
    require_redis()
    import redis

    prefix = f"test-alerting:{uuid.uuid4().hex}:"
    spawn = multiprocessing.get_context("spawn")
    start = spawn.Barrier(len(split))
    try:
        with SlackStandIn() as slack:
            processes = [spawn.Process(target=_worker, args=(slack.url, prefix, n, start)) for n in split]
            for p in processes:
                p.start()
            for p in processes:
                p.join(60)
            assert [p.exitcode for p in processes] == [0] * len(split)
            assert len(slack.received) == 1 and len(slack.accepted) == 1
            assert "OperationalError" in slack.accepted[0]["blocks"][0]["text"]["text"]
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)
