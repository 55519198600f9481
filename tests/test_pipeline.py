"""Pipeline failure policies, drop accounting, secret-free logging, and DropIgnored matching."""

from __future__ import annotations

import logging
import sys

import pytest

from errorwarden.losses import LOGGER_NAME as LOSSES_LOGGER
from errorwarden.pipeline import FAIL_CLOSED, OBSERVE, SKIP, DropIgnored, Pipeline, PipelineStats, Stage

SECRET = "card=4111111111111111 password=hunter2"


class Boom(Exception):
    """A step failure whose message stands in for event data that must never be logged."""


class Recorder:
    """A step that records each call and returns a configured result (or the event, tagged)."""

    def __init__(self, name: str, calls: list[str], result: object = "tag"):
        self.name, self.calls, self.result = name, calls, result

    def __call__(self, event, hint):
        self.calls.append(self.name)
        if self.result == "tag":
            return {**event, "seen": [*event.get("seen", []), self.name]}
        return self.result


def raising(exc: BaseException):
    """A step that raises the given exception without touching the event."""

    def step(event, hint):
        raise exc

    return step


def exc_info_of(exc: BaseException):
    """The real sys.exc_info() triple for exc, as sentry-sdk puts it in the hint."""
    try:
        raise exc
    except BaseException:
        return sys.exc_info()


@pytest.mark.parametrize(
    ("policy", "dropped", "later_ran"),
    [
        pytest.param(FAIL_CLOSED, True, False, id="fail_closed-drops"),
        pytest.param(SKIP, False, True, id="skip-continues"),
        pytest.param(OBSERVE, False, True, id="observe-continues"),
    ],
)
def test_failing_stage_follows_its_policy(policy, dropped, later_ran):
    """A raising stage drops the event under FAIL_CLOSED and passes it on unchanged under SKIP/OBSERVE."""
    calls: list[str] = []
    stats = PipelineStats()
    pipeline = Pipeline([
        Stage("first", Recorder("first", calls)),
        Stage("broken", raising(Boom(SECRET)), policy),
        Stage("after", Recorder("after", calls)),
    ], stats)

    result = pipeline({"message": "m"}, {})

    assert (result is None) is dropped
    assert ("after" in calls) is later_ran
    assert stats.failures == {"broken:Boom": 1}
    if dropped:
        assert stats.dropped == {"broken_failed": 1}
    else:
        assert stats.dropped == {}
        assert result == {"message": "m", "seen": ["first", "after"]}


def test_skip_passes_previous_event_to_next_stage():
    """After a SKIP stage raises, the next stage receives exactly the event the stage before left."""
    received = []

    def capture(event, hint):
        received.append(dict(event))
        return event

    pipeline = Pipeline([
        Stage("enrich", lambda e, h: {**e, "enriched": True}),
        Stage("broken", raising(Boom("x")), SKIP),
        Stage("capture", capture),
    ])
    assert pipeline({"id": 1}, {}) == {"id": 1, "enriched": True}
    assert received == [{"id": 1, "enriched": True}]


@pytest.mark.parametrize("policy", [SKIP, OBSERVE], ids=[SKIP, OBSERVE])
def test_failed_stage_partial_mutation_is_discarded(policy):
    """A SKIP or OBSERVE stage that mutates the event in place and then raises leaves no trace on it."""

    def half_done(event, hint):
        event["fingerprint"] = ["half"]
        raise Boom("x")

    assert Pipeline([Stage("group", half_done, policy)])({"id": 1}, {}) == {"id": 1}


@pytest.mark.parametrize(
    "step",
    [
        pytest.param(lambda e, h: None, id="returns-none"),
        pytest.param(lambda e, h: {"replaced": True}, id="returns-other-event"),
        pytest.param(raising(Boom(SECRET)), id="raises"),
    ],
)
def test_observe_stage_never_changes_or_drops(step):
    """An OBSERVE stage's return value and exception are both ignored: the event goes on as it was."""
    stats = PipelineStats()
    pipeline = Pipeline([Stage("alert", step, OBSERVE), Stage("tail", lambda e, h: {**e, "tail": 1})], stats)
    assert pipeline({"id": 7}, {}) == {"id": 7, "tail": 1}
    assert stats.dropped == {}


@pytest.mark.parametrize("policy", [FAIL_CLOSED, SKIP], ids=[FAIL_CLOSED, SKIP])
def test_stage_returning_none_drops_under_its_name(policy):
    """A non-OBSERVE stage returning None drops the event, counts it under the stage name, stops the run."""
    calls: list[str] = []
    stats = PipelineStats()
    pipeline = Pipeline([
        Stage("filter", Recorder("filter", calls, result=None), policy),
        Stage("after", Recorder("after", calls)),
    ], stats)
    assert pipeline({"id": 1}, {}) is None
    assert calls == ["filter"]
    assert stats.dropped == {"filter": 1}
    assert stats.failures == {}


def test_failure_logged_once_per_stage_and_type_without_message(caplog):
    """Failures log once per (stage, exception type) and interval, through the loss ledger, never
    with the exception's text."""
    state = {"exc": Boom(SECRET)}

    def flaky(event, hint):
        raise state["exc"]

    stats = PipelineStats()
    pipeline = Pipeline([Stage("scrub", flaky, SKIP), Stage("other", raising(Boom(SECRET)), SKIP)], stats)
    with caplog.at_level(logging.DEBUG, logger=LOSSES_LOGGER):
        for _ in range(3):
            pipeline({"id": 1}, {})
        state["exc"] = KeyError(SECRET)
        pipeline({"id": 1}, {})

    records = [r for r in caplog.records if r.name == LOSSES_LOGGER]
    assert sorted(r.args[3] for r in records) == [
        "failed:other:Boom", "failed:scrub:Boom", "failed:scrub:KeyError"]
    assert all(r.levelno == logging.ERROR and "Where it failed" in r.getMessage() for r in records)
    assert stats.ledger.totals("pipeline") == {("pipeline", "failed:scrub:Boom"): 3,
                                               ("pipeline", "failed:scrub:KeyError"): 1,
                                               ("pipeline", "failed:other:Boom"): 4}
    assert stats.failures == {"scrub:Boom": 3, "scrub:KeyError": 1, "other:Boom": 4}
    for record in records:
        assert record.exc_info is None
        assert SECRET not in record.getMessage()
    assert "hunter2" not in caplog.text
    assert "4111111111111111" not in caplog.text


@pytest.mark.parametrize("hint", [pytest.param(None, id="none"), pytest.param({}, id="empty")])
def test_stages_run_in_order_and_hint_may_be_none(hint):
    """Stages run in the order given, each seeing the previous result, and a None hint arrives as {}."""
    calls: list[str] = []
    hints = []

    def hint_probe(event, h):
        hints.append(h)
        return event

    names = ["c", "a", "b", "d"]
    pipeline = Pipeline([Stage(n, Recorder(n, calls)) for n in names] + [Stage("probe", hint_probe)])
    result = pipeline({}, hint)
    assert calls == names
    assert result == {"seen": names}
    assert hints == [{}]


@pytest.mark.parametrize("policy", ["drop", "FAIL_CLOSED", "", None], ids=["drop", "upper", "empty", "none"])
def test_unknown_policy_rejected(policy):
    """A Stage with an unknown policy raises ValueError naming the stage and every allowed policy."""
    with pytest.raises(ValueError) as caught:
        Stage("scrub", lambda e, h: e, policy)
    message = str(caught.value)
    assert "'scrub'" in message
    for allowed in (FAIL_CLOSED, SKIP, OBSERVE):
        assert allowed in message


class ExpectedError(Exception):
    """An exception configured as ignored."""


class SubExpectedError(ExpectedError):
    """A subclass of an ignored exception."""


class OtherError(Exception):
    """An exception nobody ignores."""


MODULE = __name__


@pytest.mark.parametrize(
    ("names", "exc", "dropped"),
    [
        pytest.param(["ExpectedError"], ExpectedError("x"), True, id="plain-name"),
        pytest.param([f"{MODULE}.ExpectedError"], ExpectedError("x"), True, id="dotted-path"),
        pytest.param(["ExpectedError"], SubExpectedError("x"), True, id="subclass-plain"),
        pytest.param([f"{MODULE}.ExpectedError"], SubExpectedError("x"), True, id="subclass-dotted"),
        pytest.param(["KeyError"], KeyError("k"), True, id="builtin-plain"),
        pytest.param(["LookupError"], KeyError("k"), True, id="builtin-base-class"),
        pytest.param(["builtins.KeyError"], KeyError("k"), True, id="builtin-dotted"),
        pytest.param(["ExpectedError"], OtherError("x"), False, id="other-kept"),
        pytest.param(["SubExpectedError"], ExpectedError("x"), False, id="base-of-ignored-kept"),
        pytest.param([], ExpectedError("x"), False, id="nothing-ignored"),
    ],
)
def test_drop_ignored_with_real_exceptions(names, exc, dropped):
    """DropIgnored drops an event whose exception (or a base of it) is ignored and keeps all others."""
    event = {"exception": {}}
    result = DropIgnored(names)(event, {"exc_info": exc_info_of(exc)})
    assert (result is None) is dropped
    if not dropped:
        assert result is event


@pytest.mark.parametrize(
    "hint",
    [
        pytest.param({}, id="no-exc_info"),
        pytest.param({"exc_info": None}, id="exc_info-none"),
        pytest.param({"exc_info": (None, None, None)}, id="exc_info-empty-triple"),
    ],
)
def test_drop_ignored_keeps_messages_without_exception(hint):
    """A message event with no exception info is never dropped, even with ignores configured."""
    event = {"message": "hello"}
    assert DropIgnored(["ExpectedError", "builtins.Exception"])(event, hint) is event


def test_drop_ignored_in_pipeline_counts_drop_under_stage_name():
    """As a pipeline stage, DropIgnored drops an ignored exception and counts it under its stage name."""
    stats = PipelineStats()
    pipeline = Pipeline([Stage("ignored", DropIgnored(["ExpectedError"]), FAIL_CLOSED)], stats)
    assert pipeline({"id": 1}, {"exc_info": exc_info_of(SubExpectedError("x"))}) is None
    assert pipeline({"id": 2}, {"exc_info": exc_info_of(OtherError("x"))}) == {"id": 2}
    assert stats.dropped == {"ignored": 1}


def test_drop_ignored_matches_a_re_exported_dotted_path():
    """`django.http.Http404` (a re-export) drops Http404, whose defining module is django.http.response."""
    from django.http import Http404

    try:
        raise Http404("no such book")
    except Http404:
        hint = {"exc_info": sys.exc_info()}
    assert DropIgnored(["django.http.Http404"])({"id": 1}, hint) is None


@pytest.mark.parametrize("path", ["elsewhere.ExpectedError", "django.http.HttpResponse"])
def test_drop_ignored_refuses_a_path_that_is_not_an_exception_class(path):
    """A dotted path that does not import, or is not an exception class, stops start-up naming it."""
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="SENTRY_IGNORE_ERRORS"):
        DropIgnored([path])
