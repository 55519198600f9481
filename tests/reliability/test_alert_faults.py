"""Alert-channel faults through gunicorn: Slack answering 500 or hanging, SMTP down, the counters'
Redis killed, and a shutdown while Slack is down; each alert arrives once per rule and channel.

Each test runs its own gunicorn (3 sync workers) paging a Slack stand-in and a real SMTP server
(aiosmtpd), with a redis-server of its own for the counters and a cooldown of its own; the load fires
four rules (a burst of one issue, the unreachable replica database, S3 and Clerk answering 503).
Outcomes are counted at the stand-ins and in the alert spool, never timed.
"""

from __future__ import annotations

import signal
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from errorwarden.alerting.alert_queue import AlertSpool
from tests.reliability.paging import (
    ONCE,
    RULES,
    Channels,
    attempts,
    channels,
    fire,
    lost_lines,
    lost_rows,
    outcomes,
    rule_of,
    slack_answers,
    spool,
)
from tests.reliability.server import Answer, Gunicorn, wait_until
from tests.support.slack import HANG, OK, SERVER_ERROR

DELIVERED = Counter({"delivered": len(RULES)})  # the spool's rows of one channel, all delivered
RECONNECT_ROUNDS = 6
GONE = "Alert counters: shared store unreachable"  # errorwarden/alerting/failover.py, once per worker
BACK = "Alert counters: shared store reachable again"


def _served(answers: list[Answer]) -> None:
    # Every request of the load fails on its own (the view's 500); none fails for the alerting.
    assert Counter(a.status for a in answers) == Counter({500: len(answers)}), \
        [a.body[:200] for a in answers if a.status != 500][:3]


def _tried(box: AlertSpool, channel: str, times: int) -> Callable[[], bool]:
    """True once each of the channel's deliveries was attempted `times` times and is still owed."""
    def check() -> bool:
        tries = attempts(box, channel)
        return (len(tries) == len(RULES) and min(tries) >= times
                and outcomes(box, channel) == Counter({"retrying": len(RULES)}))
    return check


@dataclass(frozen=True)
class Outage:
    """One channel failing: how it starts and ends, and how many attempts each alert meets meanwhile."""

    channel: str
    begin: Callable[[Channels], None]
    end: Callable[[Channels], None]
    tries: int  # a hanging attempt costs Slack's 5 s timeout: one each is enough to prove the point

    @property
    def other(self) -> str:
        """The channel that keeps working."""
        return "email" if self.channel == "slack" else "slack"


OUTAGES = {
    "slack_500": Outage("slack", slack_answers(SERVER_ERROR), slack_answers(OK), tries=2),
    "slack_hang": Outage("slack", slack_answers(HANG), slack_answers(OK), tries=1),
    "smtp_down": Outage("email", lambda ch: ch.smtp.stop(), lambda ch: ch.smtp.start(), tries=2),
}


def _rules(ch: Channels, channel: str) -> Counter[str]:
    return ch.slack_rules() if channel == "slack" else ch.email_rules()


@pytest.fixture
def paging() -> Iterator[Channels]:
    """This test's Slack stand-in, SMTP server, 503 stand-ins and redis-server."""
    with channels() as ch:
        yield ch


@pytest.fixture
def box(tmp_path) -> Iterator[AlertSpool]:
    """The alert spool this test's gunicorn uses, read as an operator would."""
    alerts = spool(tmp_path)
    yield alerts
    alerts.close()


@pytest.mark.parametrize("name", OUTAGES)
def test_an_outage_shorter_than_the_cooldown_delivers_every_alert_once(name, paging, rx, tmp_path, box):
    """While one channel fails the other gets every alert at its first attempt; after the outage the
    failing channel gets each alert exactly once, and a second burst in the cooldown pages nobody."""
    outage, run, ch = OUTAGES[name], uuid.uuid4().hex[:8], paging
    with Gunicorn(ch.env(tmp_path, rx.dsn, cooldown=120), tmp_path / "gunicorn.log") as server:
        outage.begin(ch)
        _served(fire(server, run))
        assert wait_until(lambda: _rules(ch, outage.other) == ONCE, timeout=30), _rules(ch, outage.other)
        assert wait_until(_tried(box, outage.channel, outage.tries), timeout=60), box.recent()
        assert _rules(ch, outage.channel) == Counter()  # the outage was real: nothing got through
        outage.end(ch)
        assert wait_until(lambda: box.pending() == 0, timeout=30), box.recent()
        rows = len(box.recent(1000))
        _served(fire(server, run))  # the cooldown was spent on delivered alerts: this burst is quiet
        assert len(box.recent(1000)) == rows
        log = server.log_text()
    assert _rules(ch, outage.channel) == ONCE and _rules(ch, outage.other) == ONCE
    assert outcomes(box, outage.channel) == DELIVERED == outcomes(box, outage.other)
    assert attempts(box, outage.other) == [1] * len(RULES)  # never delayed by the failing one
    assert min(attempts(box, outage.channel)) >= outage.tries  # each alert met the outage
    assert lost_lines(log) == Counter()


def test_an_outage_longer_than_the_cooldown_logs_each_loss_once_and_the_next_burst_pages(paging, rx,
                                                                                         tmp_path, box):
    """Slack failing past the cooldown: each lost alert is logged once by its title and marked failed,
    e-mail still gets them all; after the cooldown the next burst pages every rule on Slack again."""
    ch, run, cooldown = paging, uuid.uuid4().hex[:8], 5
    with Gunicorn(ch.env(tmp_path, rx.dsn, cooldown=cooldown), tmp_path / "gunicorn.log") as server:
        ch.slack.default = SERVER_ERROR
        _served(fire(server, run))
        assert wait_until(lambda: box.pending() == 0, timeout=cooldown + 30), box.recent()
        lost = lost_rows(box)  # a rule may page twice here if the load outlasts the short cooldown
        assert {rule_of(title) for title, _ in lost} == set(RULES.values())
        assert wait_until(lambda: lost_lines(server.log_text()) == lost, timeout=10), \
            lost_lines(server.log_text())
        assert outcomes(box, "slack") == Counter({"failed": lost.total()})
        assert outcomes(box, "email") == Counter({"delivered": lost.total()})
        assert wait_until(lambda: not box.claims(time.time()), timeout=cooldown + 10)
        ch.slack.default = OK
        second = time.time()
        _served(fire(server, run))
        assert wait_until(lambda: box.pending() == 0, timeout=30), box.recent()
        log = server.log_text()
    paged = [row for row in box.recent(1000) if row["channel"] == "slack" and row["fired"] >= second]
    assert {row["outcome"] for row in paged} == {"delivered"}
    assert {rule_of(row["title"]) for row in paged} == set(RULES.values())  # every rule pages again
    assert ch.slack_rules().total() == len(paged)  # each exactly once
    assert lost_lines(log) == lost  # logged once, when it was lost, and never again
    assert [e for e in rx.events() if e.get("logger") == "errorwarden.alerting"] == []  # console only


def test_a_redis_kill_and_empty_restart_pages_at_most_once_per_rule_and_channel(paging, rx, tmp_path, box):
    """The counters' Redis is killed between two loads and comes back empty (no persistence): across
    the 3 workers, counting in memory and then writing their cooldowns back, each rule pages once on
    Slack and once by e-mail, in all."""
    ch, run = paging, uuid.uuid4().hex[:8]
    with Gunicorn(ch.env(tmp_path, rx.dsn, cooldown=300), tmp_path / "gunicorn.log") as server:
        _served(fire(server, run))
        assert wait_until(lambda: ch.slack_rules() == ONCE and ch.email_rules() == ONCE, timeout=30)
        ch.redis.kill()
        _served(fire(server, run))  # each worker counts in memory
        ch.redis.start()  # empty
        for _ in range(RECONNECT_ROUNDS):  # a worker probes Redis again with a backoff, on its next hit
            _served(fire(server, run))
            if server.log_text().count(BACK) == server.workers:
                break
        assert wait_until(lambda: box.pending() == 0, timeout=30)
        log = server.log_text()
    assert ch.slack_rules() == ONCE and ch.email_rules() == ONCE
    assert outcomes(box, "slack") == DELIVERED == outcomes(box, "email")
    # Every worker lost Redis, then found it again and wrote its cooldowns back.
    assert log.count(GONE) == server.workers and log.count(BACK) == server.workers


def test_alerts_undelivered_at_sigterm_are_delivered_by_the_next_gunicorn(paging, rx, tmp_path, box):
    """Slack is down when gunicorn gets SIGTERM: its alerts stay in the spool, and the next gunicorn
    on the same spool delivers each exactly once when Slack answers again; e-mail is not sent twice."""
    ch, run = paging, uuid.uuid4().hex[:8]
    env = ch.env(tmp_path, rx.dsn, cooldown=120)
    ch.slack.default = SERVER_ERROR
    first = Gunicorn(env, tmp_path / "first.log").start()
    try:
        _served(fire(first, run))
        assert wait_until(lambda: ch.email_rules() == ONCE, timeout=30)
        assert wait_until(_tried(box, "slack", 1), timeout=30)
    finally:
        assert first.stop(signal.SIGTERM) == 0
    assert box.pending("slack") == len(RULES) and ch.slack_rules() == Counter()
    ch.slack.default = OK
    with Gunicorn(env, tmp_path / "second.log") as second:
        assert wait_until(lambda: box.pending() == 0, timeout=30), box.recent()
        log = second.log_text()
    assert ch.slack_rules() == ONCE and ch.email_rules() == ONCE
    assert outcomes(box, "slack") == DELIVERED == outcomes(box, "email")
    assert lost_lines(first.log_text() + log) == Counter()
