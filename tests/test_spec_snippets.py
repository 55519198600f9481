"""Every snippet of the spec's Usage and Best Practices sections, run verbatim against the receiver."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import requests

# Verbatim from the spec (../shared/seeds/000_3816f1d9f38f0d38.txt), sections "Usage" and "Best Practices".
MANUAL_CAPTURE = """
from infrastructure.sentry_config import ErrorTracker

try:
    # Some operation
    process_payment(user_id, amount)
except PaymentError as e:
    # Capture with custom context
    ErrorTracker.capture_exception(
        e,
        context={
            'payment': {
                'user_id': user_id,
                'amount': amount,
                'currency': 'USD',
            }
        },
        level='error'
    )
"""
CAPTURE_MESSAGE = """
from infrastructure.sentry_config import ErrorTracker

# Log a warning
ErrorTracker.capture_message(
    'User attempted to access restricted content',
    level='warning',
    context={
        'user': {'id': user_id},
        'content': {'id': content_id},
    }
)
"""
SET_USER = """
from infrastructure.sentry_config import ErrorTracker

# Set user context
ErrorTracker.set_user(
    user_id=user.id,
    email=user.email,
    username=user.username
)
"""
SET_TAGS = """
from infrastructure.sentry_config import ErrorTracker

# Set tags
ErrorTracker.set_tag('payment_provider', 'stripe')
ErrorTracker.set_tag('feature', 'checkout')
"""
SET_CONTEXT = """
from infrastructure.sentry_config import ErrorTracker

# Set custom context
ErrorTracker.set_context('database', {
    'query': 'SELECT * FROM users',
    'duration_ms': 150,
    'rows_returned': 100,
})
"""
ADD_CONTEXT = """
ErrorTracker.capture_exception(
    exception,
    context={
        'user': {'id': user_id},
        'operation': 'payment_processing',
        'metadata': {'amount': amount, 'currency': 'USD'},
    }
)
"""
USE_TAGS = """
ErrorTracker.set_tag('feature', 'checkout')
ErrorTracker.set_tag('payment_provider', 'stripe')
"""


class PaymentError(Exception):
    """The snippet's payment failure."""


def process_payment(user_id, amount):
    """The snippet's operation; it fails like a declined card would."""
    raise PaymentError(f"card declined for user {user_id}")


def _names(**extra) -> dict:
    return {"process_payment": process_payment, "PaymentError": PaymentError, "user_id": 7,
            "amount": 12.5, "content_id": 99, **extra}


def _last_event(rx) -> dict:
    assert rx.wait_for(lambda r: r.events(), timeout=10)
    return rx.events()[-1]


def test_manual_capture_snippet_sends_the_exception_with_its_payment_context(tracked):
    """The spec's manual-capture snippet sends the PaymentError with the payment context and level."""
    exec(MANUAL_CAPTURE, _names())
    event = _last_event(tracked)
    assert event["exception"]["values"][-1]["type"] == "PaymentError"
    assert event["contexts"]["payment"] == {"user_id": 7, "amount": 12.5, "currency": "USD"}
    assert event["level"] == "error"


def test_capture_message_snippet_sends_a_warning_with_context(tracked):
    """The spec's capture_message snippet sends a warning message with both context blocks."""
    exec(CAPTURE_MESSAGE, _names())
    event = _last_event(tracked)
    assert event["level"] == "warning"
    assert event["message"] == "User attempted to access restricted content"
    assert event["contexts"]["content"] == {"id": 99}


def test_user_tag_and_context_snippets_apply_to_later_events(tracked):
    """set_user, set_tag and set_context from the spec apply to the next capture; email never leaves."""
    user = SimpleNamespace(id=5, email="reader@example.com", username="reader5")
    import sentry_sdk

    with sentry_sdk.isolation_scope():
        for snippet in (SET_USER, SET_TAGS, SET_CONTEXT):
            exec(snippet, _names(user=user))
        exec(MANUAL_CAPTURE, _names())
    event = _last_event(tracked)
    assert event["user"] == {"id": "5", "username": "reader5"}
    assert event["tags"]["payment_provider"] == "stripe" and event["tags"]["feature"] == "checkout"
    assert event["contexts"]["database"]["duration_ms"] == 150


def test_best_practice_snippets_run_and_context_stays_with_one_event(tracked):
    """The Best Practices snippets run; a capture's context does not leak into the next capture."""
    from infrastructure.sentry_config import ErrorTracker

    with pytest.raises(PaymentError) as caught:
        process_payment(7, 12.5)
    exec(ADD_CONTEXT, _names(exception=caught.value, ErrorTracker=ErrorTracker))
    exec(USE_TAGS, _names(ErrorTracker=ErrorTracker))
    first = _last_event(tracked)
    assert first["contexts"]["operation"] == {"value": "payment_processing"}
    assert first["contexts"]["metadata"] == {"amount": 12.5, "currency": "USD"}
    event_id = ErrorTracker.capture_message("next event")
    assert tracked.wait_for(lambda r: any(e["event_id"] == event_id for e in r.events()), timeout=10)
    second = next(e for e in tracked.events() if e["event_id"] == event_id)
    assert "metadata" not in second.get("contexts", {})


def test_capture_methods_return_the_event_id_sent(tracked):
    """capture_exception and capture_message return the id of the event the receiver gets."""
    from infrastructure.sentry_config import ErrorTracker

    event_id = ErrorTracker.capture_exception(ValueError("x"))
    assert tracked.wait_for(lambda r: any(e["event_id"] == event_id for e in r.events()), timeout=10)


@pytest.mark.django_db(transaction=True)
@pytest.mark.urls("tests.snippet_urls")
def test_automatic_capture_snippet_reports_the_view_error(tracked, live_server):
    """The spec's my_view snippet, served by Django, is captured without any call of ours."""
    assert requests.get(f"{live_server.url}/my-view/", timeout=10).status_code == 500
    assert tracked.wait_for(lambda r: any(
        e.get("exception", {}).get("values", [{}])[-1].get("value") == "Something went wrong!"
        for e in r.events()), timeout=10)


def test_error_tracker_has_exactly_the_specs_methods_and_signatures():
    """The public face is the spec's five methods with the spec's parameters and defaults, nothing more."""
    import inspect

    from infrastructure.sentry_config import ErrorTracker

    public = {name for name in vars(ErrorTracker) if not name.startswith("_")}
    assert public == {"capture_exception", "capture_message", "set_user", "set_tag", "set_context"}
    for name, expected in {
        "capture_exception": "(exception, context=None, level='error')",
        "capture_message": "(message, level='info', context=None)",
        "set_user": "(user_id, email=None, username=None)",
        "set_tag": "(key, value)",
        "set_context": "(name, context)",
    }.items():
        params = inspect.signature(getattr(ErrorTracker, name)).parameters.values()
        bare = ", ".join(p.name if p.default is inspect.Parameter.empty else f"{p.name}={p.default!r}"
                         for p in params)
        assert f"({bare})" == expected, name
