"""The seam to sentry-sdk's internals (errorwarden/sdk.py): its contract, its monopoly, its fallback.

Every private sentry-sdk member the app relies on is a row of sdk.CONTRACT; each row is checked
against the installed SDK here (and on the lowest supported release by tests/test_sdk_lowest.py).
No other module of the app touches a private SDK member. When the SDK's shape does not match,
start-up says so once, loudly, and events still reach the server through the SDK's own transport.
"""

from __future__ import annotations

import ast
import importlib
import json
import logging
import tomllib
from pathlib import Path

import pytest
import sentry_sdk
from sentry_sdk.transport import BaseHttpTransport, HttpTransport, HttpTransportCore
from sentry_sdk.worker import BackgroundWorker

from errorwarden import sdk
from errorwarden.runtime import require_runtime
from tests.reliability.server import wait_until
from tests.support.fixtures import tracking

REPO = Path(__file__).resolve().parent.parent
APP = REPO / "django-errorwarden" / "errorwarden"


@pytest.fixture(scope="module")
def probe():
    instance = sdk.probe_transport()
    assert instance is not None, "sentry-sdk's HttpTransport cannot be built from its default options"
    yield instance
    instance.kill()


@pytest.mark.parametrize("member", sdk.CONTRACT, ids=lambda member: member.name)
def test_each_member_the_app_relies_on_has_its_shape_in_the_installed_sdk(member, probe):
    found = sdk.problem(member, probe)
    assert found is None, f"{found} (needed because it {member.why})"


def test_the_supported_range_is_the_distributions_requirement():
    meta = tomllib.loads((REPO / "django-errorwarden" / "pyproject.toml").read_text(encoding="utf-8"))
    required = [r.replace(" ", "") for r in meta["project"]["dependencies"] if r.startswith("sentry-sdk")]
    assert required == [sdk.SUPPORTED], "errorwarden.sdk.SUPPORTED must say what pyproject.toml requires"
    assert ",<3" in sdk.SUPPORTED  # the next major may change any private member: not allowed unchecked


@pytest.mark.parametrize(("owner", "name"), [
    (BaseHttpTransport, "_flush_client_reports"),  # its loss was swallowed in the SDK's worker thread
    (HttpTransportCore, "_update_rate_limits"),
    (HttpTransportCore, "_handle_response"),
])
def test_a_missing_member_is_named(monkeypatch, owner, name):
    monkeypatch.delattr(owner, name)
    assert sdk.check() == [f"sentry_sdk HttpTransport.{name} is missing"]


def test_a_changed_signature_is_named(monkeypatch):
    original = BaseHttpTransport._send_request

    def send_request(self, body, headers, endpoint_type, envelope=None, *, compressed=True):
        return original(self, body, headers, endpoint_type, envelope)

    monkeypatch.setattr(BaseHttpTransport, "_send_request", send_request)
    assert sdk.check() == ["sentry_sdk HttpTransport._send_request has signature (self, body, headers, "
                           "endpoint_type, envelope=, *, compressed=), expected (self, body, headers, "
                           "endpoint_type, envelope=)"]


def test_a_changed_instance_member_is_named(monkeypatch):
    built = HttpTransportCore.__init__

    def init(self, options):
        built(self, options)
        del self._disabled_until

    monkeypatch.setattr(HttpTransportCore, "__init__", init)
    assert sdk.check() == ["sentry_sdk HttpTransport()._disabled_until is missing"]


# -- only the seam touches sentry-sdk's private members ----------------------------------------

def _sdk_private_names(probe: HttpTransport) -> set[str]:
    names = {n for cls in (HttpTransport, BackgroundWorker) for n in dir(cls)}
    names |= set(vars(probe)) | set(vars(BackgroundWorker()))
    return {n for n in names if n.startswith("_") and not n.startswith("__")}


def _module_of(path: Path) -> str:
    return ".".join(path.relative_to(APP.parent).with_suffix("").parts)


def _violations(path: Path, private: set[str]) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    module = importlib.import_module(_module_of(path))
    found: list[str] = []

    def sdk_class(node: ast.ClassDef) -> bool:
        cls = getattr(module, node.name, None)
        return isinstance(cls, type) and issubclass(cls, HttpTransportCore | BackgroundWorker)

    def visit(node: ast.AST, in_sdk_class: bool) -> None:
        where = f"{path.relative_to(REPO)}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.ClassDef):
            in_sdk_class = sdk_class(node)
        elif isinstance(node, ast.FunctionDef) and in_sdk_class and node.name in private:
            found.append(f"{where} overrides sentry-sdk's {node.name}")
        elif isinstance(node, ast.Attribute) and node.attr in private:
            on_self = isinstance(node.value, ast.Name) and node.value.id == "self"
            if in_sdk_class or not on_self:
                found.append(f"{where} uses sentry-sdk's {node.attr}")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sentry_sdk"):
            names = [a.name for a in node.names]
            private_module = node.module == "sentry_sdk.worker" or "._" in node.module
            if private_module or any(n.startswith("_") for n in names):
                found.append(f"{where} imports {node.module}: {', '.join(names)}")
        for child in ast.iter_child_nodes(node):
            visit(child, in_sdk_class)

    visit(tree, False)
    return found


def test_no_module_but_the_seam_touches_a_private_sdk_member(probe):
    private = _sdk_private_names(probe)
    assert {"_send_request", "_disabled_until", "_worker", "_flush_client_reports"} <= private
    sources = [p for p in sorted(APP.rglob("*.py")) if p.name != "sdk.py" or p.parent != APP]
    found = [v for path in sources for v in _violations(path, private)]
    assert found == [], "sentry-sdk internals outside errorwarden/sdk.py:\n" + "\n".join(found)
    assert _violations(APP / "sdk.py", private), "the scan must see the seam's own uses (it cannot be blind)"


# -- the fallback: an SDK of another shape still delivers, and says so once -----------------------

@pytest.mark.parametrize("break_it", ["missing", "signature"])
def test_an_sdk_of_another_shape_falls_back_to_its_own_transport_and_says_so_once(
        envelope_receiver, monkeypatch, caplog, break_it):
    rx = envelope_receiver
    if break_it == "missing":
        monkeypatch.delattr(BaseHttpTransport, "_flush_client_reports")
        member = "_flush_client_reports"
    else:
        original = HttpTransportCore._update_rate_limits
        monkeypatch.setattr(HttpTransportCore, "_update_rate_limits",
                            lambda self, response, now=None: original(self, response))
        member = "_update_rate_limits"
    with caplog.at_level(logging.WARNING), tracking(dsn=rx.dsn) as runtime:
        assert runtime.transport is None
        assert type(sentry_sdk.get_client().transport) is HttpTransport  # the SDK's own, unchanged
        sentry_sdk.capture_message("fallback works for alice@example.com")
        sentry_sdk.flush(5)
        assert wait_until(lambda: len(rx.events()) == 1, timeout=10)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR and r.name == sdk.LOGGER_NAME]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert member in errors[0].getMessage() and sdk.SUPPORTED in errors[0].getMessage()
    text = json.dumps(rx.events())
    assert "alice@example.com" not in text and "[email]" in text  # the pipeline still scrubbed it


def test_a_matching_sdk_gets_the_outbox_and_no_error(envelope_receiver, caplog):
    with caplog.at_level(logging.WARNING), tracking(dsn=envelope_receiver.dsn):
        transport = require_runtime().transport
        assert type(transport).__name__ == "OutboxTransport"
        assert sentry_sdk.get_client().transport is transport
    assert not [r for r in caplog.records if r.name == sdk.LOGGER_NAME]


def test_sentry_check_shows_the_seam(monkeypatch):
    from errorwarden.diagnostics import FAIL, OK, check_sdk

    assert check_sdk().status == OK and sdk.SUPPORTED in check_sdk().message
    monkeypatch.delattr(BaseHttpTransport, "_send_envelope")
    broken = check_sdk()
    assert broken.status == FAIL and "HttpTransport._send_envelope is missing" in broken.message
    assert sdk.SUPPORTED in broken.fix
