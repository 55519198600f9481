"""Redis going away mid-run: alerts still fire from memory, requests keep their status, sharing resumes."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import uuid
from email.header import decode_header, make_header
from typing import Any

import pytest
import requests

from errorwarden.alerting import build_engine, build_store
from errorwarden.alerting.dispatch import Dispatcher
from errorwarden.settings import Settings
from infrastructure.sentry_alerts import flush
from tests.support.paging import paging
from tests.support.services import require_redis
from tests.support.smtp import free_port


class TcpProxy:
    """A loopback TCP proxy in front of Redis that the test can stop and restart on the same port."""

    def __init__(self, target: tuple[str, int]):
        self.target, self.port = target, free_port()
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        """Close the listener and cut every open connection."""
        with self._lock:
            sockets, self._sockets = self._sockets, []
            listener, self._listener = self._listener, None
        for sock in [listener, *sockets]:
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.close()


class Recorder(Dispatcher):
    """Keeps submitted alerts."""

    def __init__(self) -> None:
        self.alerts: list[dict[str, Any]] = []

    def submit(self, alert: dict[str, Any], key: str = "", until: float = 0.0) -> bool:
        self.alerts.append(alert)
        return True


def event(issue: str) -> dict[str, Any]:
    exception = {"values": [{"type": "E", "value": issue}]}
    return {"level": "error", "fingerprint": [issue], "exception": exception}


def wait_until(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_alerts_fire_from_memory_while_redis_is_away_and_sharing_resumes():
    """Stop the proxy: alerts still fire from memory, not Redis; restart it: counts go to Redis again."""
    require_redis()
    import redis

    proxy, prefix = TcpProxy(("127.0.0.1", 6379)), f"test-alerting:{uuid.uuid4().hex}:"
    proxy.start()
    settings = Settings(redis_url=f"redis://127.0.0.1:{proxy.port}/15")
    store = build_store(settings, key_prefix=prefix, min_backoff=0.05)
    sent = Recorder()
    engine = build_engine(settings, scrub_text=str, store=store, dispatcher=sent)
    direct = redis.Redis(host="127.0.0.1", port=6379, db=15)
    try:
        engine.observe_event(event("before"))
        assert direct.exists(f"{prefix}w:{_key('before')}") and store.shared

        proxy.stop()
        for _ in range(10):
            engine.observe_event(event("during"))
        engine.observe_request(True)
        assert not store.shared
        assert [a["message"] for a in sent.alerts] == ["during"]
        assert not direct.exists(f"{prefix}w:{_key('during')}")

        proxy.start()
        assert wait_until(lambda: engine.observe_event(event("after")) or store.shared)
        engine.observe_event(event("after"))
        assert direct.exists(f"{prefix}w:{_key('after')}")
    finally:
        proxy.stop()
        for key in direct.scan_iter(f"{prefix}*"):
            direct.delete(key)


def test_two_projects_on_one_redis_count_apart_by_app_name():
    """Two projects in the same environment on one Redis database: each one's burst of the same issue
    is counted under its own APP_NAME, so each pages once for its own ten errors and neither takes
    the other's cooldown."""
    require_redis()
    import redis

    environment = f"apart-{uuid.uuid4().hex[:12]}"
    direct = redis.Redis(host="127.0.0.1", port=6379, db=15)
    engines, recorders = {}, {}
    for name in ("muejam-backend", "shop"):
        settings = Settings(redis_url="redis://127.0.0.1:6379/15", environment=environment, app_name=name)
        recorders[name] = Recorder()
        engines[name] = build_engine(settings, scrub_text=str, store=build_store(settings),
                                     dispatcher=recorders[name])
    try:
        for _ in range(10):
            for engine in engines.values():
                engine.observe_event(event("same issue"))
        assert [len(r.alerts) for r in recorders.values()] == [1, 1]
        for name in engines:
            assert direct.exists(f"{name}:alerts:{environment}:w:{_key('same issue')}")
            assert direct.exists(f"{name}:alerts:{environment}:cd:{_key('same issue')}")
    finally:
        for name in engines:
            for key in direct.scan_iter(f"{name}:alerts:{environment}:*"):
                direct.delete(key)


def _key(issue: str) -> str:
    from errorwarden.alerting.rules import digest

    return f"burst:{digest((issue,))}"


def _statuses(live_server, *paths: str) -> list[int]:
    return [requests.get(live_server.url + path, timeout=10).status_code for path in paths]


@pytest.mark.django_db(transaction=True, databases=["default", "replica"])
def test_requests_keep_their_status_and_a_database_failure_pages_from_memory_while_redis_is_away(
        envelope_receiver, live_server):
    """With the alert counters' Redis stopped, real requests get their usual 200 or 500, the refused
    replica connection pages once (counted in memory: nothing reaches Redis), and once Redis is back
    the app's request and error counts land in Redis again."""
    require_redis()
    import redis

    proxy, environment = TcpProxy(("127.0.0.1", 6379)), f"failover-{uuid.uuid4().hex[:12]}"
    prefix = f"muejam-backend:alerts:{environment}:"  # build_store's prefix for this environment
    direct = redis.Redis(host="127.0.0.1", port=6379, db=15)
    proxy.start()
    try:
        with paging(envelope_receiver, environment=environment,
                    redis_url=f"redis://127.0.0.1:{proxy.port}/15",
                    critical_error_threshold=1000, error_rate_min_requests=10_000) as (runtime, smtp, slack):
            store = runtime.alerts.store
            assert _statuses(live_server, "/api/books/") == [200]
            runtime.alerts.flush_requests()
            assert store.shared and direct.exists(f"{prefix}w:rate:requests")
            direct.delete(f"{prefix}w:rate:requests")

            proxy.stop()
            paths = ["/api/books/", "/api/reports/overdue/", "/api/health/replica/", "/api/books/",
                     "/api/health/replica/", "/api/books/"]
            assert _statuses(live_server, *paths) == [200, 500, 500, 200, 500, 200]
            runtime.alerts.flush_requests()
            assert flush(10)
            assert smtp.recorder.wait_for(1) and slack.wait_for(1)
            assert not store.shared
            assert list(direct.scan_iter(f"{prefix}*")) == []
            assert len(smtp.messages) == 1 and len(slack.accepted) == 1
            subject = str(make_header(decode_header(smtp.messages[0].message["Subject"])))
            assert subject.startswith("[CRITICAL] OperationalError")
            assert "Database connection failure" in str(slack.accepted[0])

            proxy.start()

            def shared_again() -> bool:
                assert _statuses(live_server, "/api/books/") == [200]
                runtime.alerts.flush_requests()  # a store call lets the store probe Redis
                return store.shared

            assert wait_until(shared_again, timeout=20)
            assert _statuses(live_server, "/api/reports/overdue/", "/api/books/") == [500, 200]
            runtime.alerts.flush_requests()
            assert direct.exists(f"{prefix}w:rate:requests")
            assert list(direct.scan_iter(f"{prefix}w:burst:*"))
        assert len(smtp.messages) == 1 and len(slack.accepted) == 1
    finally:
        proxy.stop()
        for key in direct.scan_iter(f"{prefix}*"):
            direct.delete(key)


@pytest.mark.parametrize("errors", [1, 10])
def test_a_redis_url_nobody_answers_still_alerts_from_memory(errors):
    """With REDIS_URL pointing at a closed port, observe_event never raises and the burst still pages."""
    settings = Settings(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    sent = Recorder()
    engine = build_engine(settings, scrub_text=str, dispatcher=sent)
    for _ in range(errors):
        engine.observe_event(event("issue"))
    for _ in range(150):
        engine.observe_request(True)
    assert [a["rule"] for a in sent.alerts].count("critical_burst") == (1 if errors == 10 else 0)
    assert "error_rate" in [a["rule"] for a in sent.alerts]
