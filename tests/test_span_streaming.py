"""Streamed spans: the lifecycle is pinned, and spans streamed all the same leave scrubbed.

sentry-sdk 2.66+ can stream spans (`trace_lifecycle="stream"`): they then skip
before_send_transaction and pass only `before_send_span`, which cannot drop a span and whose
exception makes the SDK send the original. Each case runs the project's real start-up in a child
process (the SDK's default is changed before `django.setup()`, as a future SDK could) against the
loopback receiver, through sentry-sdk's real HTTP transport (the outbox).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from errorwarden.pipeline import NeverRaising, PipelineStats, blanked
from errorwarden.scrubbing import Scrubber
from tests.support.receiver import EnvelopeReceiver

REPO = Path(__file__).resolve().parent.parent
EMAIL, CARD, STRIPE = "alice@example.com", "4111 1111 1111 1111", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"
SECRETS = (EMAIL, CARD, CARD.replace(" ", ""), STRIPE)

# The child: the SDK's default lifecycle becomes "stream" before the project starts; with `force`,
# the host also overrides our pin (as a project passing its own option would). A segment named with
# an address, a card attribute and a SQL statement carrying a Stripe key, through Django's cursor.
CHILD = """
import json, sys
import sentry_sdk, sentry_sdk.consts
EMAIL, CARD, STRIPE = sys.argv[2:5]
sentry_sdk.consts.DEFAULT_OPTIONS["trace_lifecycle"] = "stream"
if sys.argv[1] == "force":
    _init = sentry_sdk.init
    def _forced(*args, **options):
        options["trace_lifecycle"] = "stream"
        return _init(*args, **options)
    sentry_sdk.init = _forced
import django
django.setup()
from django.db import connection
from sentry_sdk.tracing_utils import has_span_streaming_enabled
options = sentry_sdk.get_client().options
streaming = has_span_streaming_enabled(options)
name = f"checkout for {EMAIL}"
sql = f"SELECT 'token={STRIPE}' AS k"
if streaming:
    from sentry_sdk import traces
    with traces.start_span(name=name, attributes={"customer": EMAIL, "card": CARD}):
        with traces.start_span(name=f"charge {CARD}") as child:
            child.set_attribute("note", f"paid by {EMAIL}")
            with connection.cursor() as cursor:
                cursor.execute(sql)
else:
    with sentry_sdk.start_transaction(name=name, op="task") as transaction:
        transaction.set_data("customer", EMAIL)
        with sentry_sdk.start_span(op="charge", name=f"charge {CARD}") as child:
            child.set_data("note", f"paid by {EMAIL}")
            with connection.cursor() as cursor:
                cursor.execute(sql)
sentry_sdk.flush(timeout=10)
print(json.dumps({"streaming": streaming, "lifecycle": options.get("trace_lifecycle")}))
"""


def _run_child(mode: str, receiver: EnvelopeReceiver, tmp_path: Path) -> dict:
    env = {**os.environ, "SENTRY_DSN": receiver.dsn, "SENTRY_TRACES_SAMPLE_RATE": "1.0",
           "SENTRY_PROFILES_SAMPLE_RATE": "0", "SENTRY_OUTBOX_PATH": str(tmp_path / "outbox.sqlite3"),
           "SENTRY_ALERT_SPOOL_PATH": str(tmp_path / "alerts.sqlite3"),
           "DJANGO_SETTINGS_MODULE": "config.settings", "PYTHONWARNINGS": "ignore"}
    done = subprocess.run([sys.executable, "-c", CHILD, mode, EMAIL, CARD, STRIPE], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _received(receiver: EnvelopeReceiver) -> str:
    """Every envelope the receiver took, headers and payloads, as one text."""
    return json.dumps([[envelope.headers, [[item.headers, item.payload if not isinstance(item.payload, bytes)
                                            else item.payload.decode("utf-8", "replace")]
                                           for item in envelope.items]]
                       for envelope in receiver.envelopes])


def _span_items(receiver: EnvelopeReceiver) -> list[dict]:
    return [span for _, payload in receiver.items("span") for span in payload.get("items", [])]


def test_a_new_sdk_default_cannot_switch_streaming_on(tmp_path):
    """The SDK's default says "stream"; our pin keeps the static lifecycle, so the spans travel in a
    transaction through before_send_transaction and arrive scrubbed."""
    with EnvelopeReceiver() as receiver:
        state = _run_child("default", receiver, tmp_path)
        assert state == {"streaming": False, "lifecycle": "static"}
        assert receiver.wait_for(lambda rx: rx.transactions(), timeout=10)
        received = _received(receiver)
    assert _span_items(receiver) == []
    assert [s for s in SECRETS if s in received] == []
    transaction = receiver.transactions()[0]
    assert transaction["transaction"] == "checkout for [email]"
    assert any("token=[stripe_key]" in (s.get("description") or "") for s in transaction["spans"])
    assert any(s.get("description") == "charge [card]" for s in transaction["spans"])


def test_spans_streamed_all_the_same_reach_the_transport_scrubbed(tmp_path):
    """The host forces streaming over our pin: span items reach the receiver, and before_send_span
    has replaced the address, the card and the Stripe key in names, SQL and attributes."""
    with EnvelopeReceiver() as receiver:
        state = _run_child("force", receiver, tmp_path)
        assert state == {"streaming": True, "lifecycle": "stream"}
        assert receiver.wait_for(lambda rx: len(_span_items(rx)) >= 3, timeout=10)
        received = _received(receiver)
    spans = _span_items(receiver)
    assert [s for s in SECRETS if s in received] == []
    names = {span["name"] for span in spans}
    assert {"checkout for [email]", "charge [card]"} <= names
    assert "SELECT 'token=[stripe_key]' AS k" in names
    attributes = json.dumps([span.get("attributes") for span in spans])
    assert "[email]" in attributes and "[card]" in attributes


def test_the_span_hook_never_raises_and_blanks_what_it_could_not_scrub():
    """A scrub that raises (or returns no span) still gives the SDK a span, with no string of the
    original left; the failure is counted under the hook's name."""
    stats = PipelineStats()

    def broken(span):
        raise RecursionError(EMAIL)

    span = {"trace_id": "a" * 32, "span_id": "b" * 16, "name": f"charge {EMAIL}",
            "attributes": {"db.query.text": f"SELECT '{STRIPE}'", "retries": 2, "ok": True,
                           "cards": [CARD, 3], f"x-{EMAIL}": "y", "sentry.op": "db"}}
    out = NeverRaising("scrub_span", broken, stats)(span, {})
    assert out == {"name": "[Filtered]", "attributes": {
        "db.query.text": "[Filtered]", "retries": 2, "ok": True, "cards": ["[Filtered]", 3],
        "sentry.op": "[Filtered]"}}
    assert stats.snapshot()["failures"] == {"scrub_span:RecursionError": 1}
    assert NeverRaising("scrub_span", lambda s: None, stats)(span, {})["name"] == "[Filtered]"
    assert blanked(object()) == {"name": "[Filtered]", "attributes": {}}
    assert blanked({"attributes": ["not", "a", "dict"]}) == {"name": "[Filtered]", "attributes": {}}


@pytest.mark.parametrize("bad", [None, "span", ["span"]])
def test_scrub_streamed_span_refuses_what_is_not_a_dict(bad):
    with pytest.raises(TypeError, match="scrub_streamed_span expects a dict"):
        Scrubber().scrub_streamed_span(bad)


def test_the_options_are_passed_only_to_an_sdk_that_knows_them(monkeypatch):
    """An older sentry-sdk without span streaming would refuse an unknown option at init."""
    import sentry_sdk.consts

    from errorwarden.runtime import require_runtime
    from errorwarden.sentry_config import _span_options

    runtime = require_runtime()
    expected = {"trace_lifecycle": "static", "before_send_span": runtime.before_send_span}
    assert _span_options(runtime) == expected
    older = {k: v for k, v in sentry_sdk.consts.DEFAULT_OPTIONS.items()
             if k not in ("trace_lifecycle", "before_send_span")}
    monkeypatch.setattr(sentry_sdk.consts, "DEFAULT_OPTIONS", older)
    assert _span_options(runtime) == {}


def test_init_says_nothing_about_the_span_hook(recwarn):
    """before_send_span under the static lifecycle is on purpose: init_sentry silences the SDK's
    warning that it has no effect, and only that one."""
    from django.conf import settings as django_settings

    from infrastructure.sentry_config import init_sentry

    init_sentry(django_settings.SENTRY)
    assert [str(w.message) for w in recwarn if "before_send_span" in str(w.message)] == []
