"""Fixtures of the reliability suite: one receiver and one gunicorn per module, and outcome helpers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from errorwarden.delivery import OutboxStore, represented
from tests.reliability.server import Gunicorn, project_env
from tests.support.receiver import EnvelopeReceiver

MAX_ITEM_BYTES = 1_000_000  # Sentry: an event over 1 MB decompressed is rejected ...
MAX_WIRE_BYTES = 200_000  # ... and over 200 KB compressed (docs.sentry.io, size limits)


def pytest_collection_modifyitems(config, items):
    """Everything under tests/reliability/ carries the `reliability` marker (run alone: -m reliability)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.reliability)


@pytest.fixture(scope="module")
def receiver() -> Iterator[EnvelopeReceiver]:
    """The loopback Sentry of this module's server; each test starts it at mode ok with nothing recorded."""
    with EnvelopeReceiver() as rx:
        yield rx


@pytest.fixture
def rx(receiver: EnvelopeReceiver) -> EnvelopeReceiver:
    """The module's receiver, reset for this test."""
    receiver.reset()
    return receiver


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """The module's files: spool, inbox, database, gunicorn's log."""
    return tmp_path_factory.mktemp("reliability")


@pytest.fixture(scope="module")
def server(receiver: EnvelopeReceiver, workdir: Path) -> Iterator[Gunicorn]:
    """gunicorn with 3 sync workers serving config.wsgi, SENTRY_DSN at the receiver."""
    with Gunicorn(project_env(workdir, receiver.dsn), workdir / "gunicorn.log") as gunicorn:
        yield gunicorn


def outbox(workdir: Path) -> OutboxStore:
    """The spool the server's processes share."""
    return OutboxStore(workdir / "sentry_outbox.sqlite3")


def unique_events(rx: EnvelopeReceiver) -> list[dict]:
    """Received events, each event id once (Sentry drops a repeated id: a replayed duplicate is harmless)."""
    seen, events = set(), []
    for event in rx.events():
        if event.get("event_id") not in seen:
            seen.add(event.get("event_id"))
            events.append(event)
    return events


def issue_counts(rx: EnvelopeReceiver, kind: str) -> Counter[str]:
    """Captured events per issue of one kind ("reliability", "storm"), counting storm summaries."""
    counts: Counter[str] = Counter()
    for event in unique_events(rx):
        fingerprint = event.get("fingerprint") or []
        if len(fingerprint) == 2 and fingerprint[0] == kind:
            counts[fingerprint[1]] += represented(event)
    return counts


def oversized(rx: EnvelopeReceiver) -> list[str]:
    """Descriptions of received events or transactions over Sentry's limits (empty when all fit)."""
    found = []
    for envelope in rx.envelopes:
        types = [item.type for item in envelope.items]
        if not {"event", "transaction"} & set(types):
            continue
        if envelope.wire_size > MAX_WIRE_BYTES:
            found.append(f"{types}: {envelope.wire_size} bytes compressed")
        found += [f"{t}: {len(raw)} bytes" for t, raw in zip(types, envelope.raw_items, strict=False)
                  if t in ("event", "transaction") and len(raw) > MAX_ITEM_BYTES]
    return found
