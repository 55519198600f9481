"""Importing does nothing; the registry (errorwarden/runtime.py) holds all process-wide state.

Two proofs: an AST scan of every module of the app (django-errorwarden/errorwarden, at least 60
of them) for module-level mutable state (dict, list and set literals, locks, threads, any call not
known to build a constant or a frozen dataclass; read-only tables are MappingProxyType, tuple or
frozenset), for functions that rebind or mutate module-level names, and for calls made for their
effect at import (registrations, patches, signal connections, thread starts); ALLOWED lists the
reviewed exceptions with a reason each, and an entry no longer needed fails too; and a child
process that imports every module with the registration calls recorded and urllib3's and httpx's
send methods compared before and after. Then `install()` sets its hooks up and `reset()` undoes
every one of them.
"""

from __future__ import annotations

import ast
import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "django-errorwarden" / "errorwarden"
REGISTRY = "errorwarden/runtime.py"

# Reviewed exceptions, each with why the registry cannot hold it. Anything new fails the scan.
ALLOWED = {
    # A forked child must never close a SQLite handle it inherited (closing could checkpoint or
    # unlink the parent's WAL); the handles must outlive every runtime and every SqliteFile, so
    # they are parked for the life of the process. Nothing ever reads them.
    ("errorwarden/local/sqlite.py", "_INHERITED"):
        "handles parked for the life of the process, never read",
    # slack_sdk logs the webhook URL at DEBUG: its logger is built once outside logging's registry
    # (so no dictConfig re-attaches it) with a level above CRITICAL and one NullHandler. It holds
    # no data and nothing changes it after import.
    ("errorwarden/alerting/channels/slack.py", "_SDK_LOGGER"):
        "a silent logger outside logging's registry, configured once, never changed",
}
# Names a framework reads from a module as a list by its own convention (`from m import *`,
# Django's URL resolver), never state of ours.
FRAMEWORK_NAMES = frozenset({"__all__", "urlpatterns"})
# Calls whose result is immutable (or a constant by construction): bound to a module-level name
# they are constants. Any other call bound at module level is state unless its class is a
# frozen dataclass or NamedTuple of the app (found by the scan), or ALLOWED says why.
IMMUTABLE_CALLS = frozenset({
    "frozenset", "tuple", "MappingProxyType", "frozen_map", "compile", "getLogger", "ContextVar",
    "TypeVar", "NewType", "object", "maketrans", "replace", "join", "format", "str", "bytes", "int",
    "float", "range", "Path", "namedtuple", "matching", "items", "number", "integer", "url",
    "timedelta",
})
# Calls known to build a mutable object (named in the finding; any unknown call is refused too).
MUTABLE_CALLS = frozenset({
    "dict", "list", "set", "bytearray", "defaultdict", "Counter", "OrderedDict", "deque", "WeakSet",
    "WeakValueDictionary", "WeakKeyDictionary", "Lock", "RLock", "Event", "Condition", "Semaphore",
    "local", "Queue", "SimpleQueue", "Thread", "Timer",
})
MUTATORS = frozenset({
    "append", "extend", "insert", "add", "update", "setdefault", "pop", "popitem", "clear", "remove",
    "discard", "appendleft", "popleft", "__setitem__",
})
# Registrations that must never run at import (named in the finding; any call made for its effect
# at module level is refused too).
REGISTRATIONS = frozenset({
    ("atexit", "register"), ("os", "register_at_fork"), ("signal", "signal"), ("sys", "settrace"),
    ("sys", "setprofile"), ("threading", "settrace"), ("faulthandler", "register"),
})


def _modules() -> list[tuple[str, ast.Module]]:
    return [(str(path.relative_to(APP.parent)), ast.parse(path.read_text(), str(path)))
            for path in sorted(APP.rglob("*.py"))]


def _frozen_classes(trees: list[ast.Module]) -> frozenset[str]:
    """Classes of the app whose instances cannot change: @dataclass(frozen=True) and NamedTuples."""
    found = set()
    for tree in trees:
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef):
                continue
            frozen = any(isinstance(d, ast.Call) and _call_name(d) == "dataclass" and
                         any(k.arg == "frozen" and isinstance(k.value, ast.Constant) and k.value.value
                             for k in d.keywords) for d in node.decorator_list)
            if frozen or any(ast.unparse(b).endswith("NamedTuple") for b in node.bases):
                found.add(node.name)
    return frozenset(found)


@functools.cache
def _app_frozen_classes() -> frozenset[str]:
    return _frozen_classes([tree for _, tree in _modules()])


def _call_name(node: ast.AST) -> str:
    func = node.func if isinstance(node, ast.Call) else None
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _is_mutable(value: ast.AST | None, frozen: frozenset[str] = frozenset()) -> bool:
    """True for a value that can change after import: a dict, list or set (literal, comprehension
    or call), a lock, a thread, or any call not known to build a constant."""
    if isinstance(value, ast.Dict | ast.List | ast.Set | ast.DictComp | ast.ListComp | ast.SetComp):
        return True
    if isinstance(value, ast.Tuple):
        return any(_is_mutable(element, frozen) for element in value.elts)
    if isinstance(value, ast.Call):
        name = _call_name(value)
        return name in MUTABLE_CALLS or (name not in IMMUTABLE_CALLS and name not in frozen)
    return False


def _top_level(tree: ast.Module) -> list[ast.stmt]:
    """Statements that run at import: the module body and the bodies of its if/try/with blocks."""
    found, todo = [], list(tree.body)
    while todo:
        stmt = todo.pop(0)
        found.append(stmt)
        if isinstance(stmt, ast.If | ast.Try | ast.With | ast.For | ast.While):
            for field in ("body", "orelse", "finalbody"):
                todo.extend(getattr(stmt, field, []))
            for handler in getattr(stmt, "handlers", []):
                todo.extend(handler.body)
    return found


def _targets(stmt: ast.stmt) -> list[ast.expr]:
    if isinstance(stmt, ast.Assign):
        return stmt.targets
    if isinstance(stmt, ast.AnnAssign | ast.AugAssign):
        return [stmt.target]
    return []


def _bindings(stmt: ast.stmt) -> list[tuple[ast.expr, ast.AST | None]]:
    """(target, value) pairs a module-level statement binds; `a, b = 1, []` gives two. A value
    unpacked from a call or generator (`A, B = range(2)`) counts as immutable."""
    found: list[tuple[ast.expr, ast.AST | None]] = []
    value = getattr(stmt, "value", None)
    for target in _targets(stmt):
        if isinstance(target, ast.Tuple | ast.List):
            values = value.elts if isinstance(value, ast.Tuple | ast.List) and \
                len(value.elts) == len(target.elts) else [None] * len(target.elts)
            found.extend(zip(target.elts, values, strict=True))
        else:
            found.append((target, value))
    if isinstance(stmt, ast.For):  # a loop at module level binds its variable on every pass
        found.append((stmt.target, None))
    return found


def _root(node: ast.expr) -> str:
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value
    return node.id if isinstance(node, ast.Name) else ""


def _imported_names(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def scan(path: str, tree: ast.Module) -> list[str]:
    """What one module does wrong, one line per finding."""
    problems = []
    module_names = set()
    imported = _imported_names(tree)
    frozen = _app_frozen_classes() | _frozen_classes([tree])
    for stmt in _top_level(tree):
        for target, value in _bindings(stmt):
            if isinstance(target, ast.Name):
                module_names.add(target.id)
                if target.id not in FRAMEWORK_NAMES and _is_mutable(value, frozen):
                    problems.append(f"{path}:{stmt.lineno}: module-level mutable state {target.id!r}")
            elif isinstance(target, ast.Attribute | ast.Subscript) and _root(target) in imported:
                problems.append(f"{path}:{stmt.lineno}: patches {ast.unparse(target)} at import")
            elif isinstance(target, ast.Attribute | ast.Subscript):
                problems.append(f"{path}:{stmt.lineno}: changes module-level {_root(target)!r} at import")
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            # A call made for its effect when the module is imported: a registration, a patch or
            # a change to some object, whatever its name.
            call = stmt.value
            shown = _root(call.func) if isinstance(call.func, ast.Attribute) else _call_name(call)
            problems.append(f"{path}:{stmt.lineno}: calls {ast.unparse(call.func)}() at import "
                            f"({shown!r})")
        for node in ast.walk(stmt) if not isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef
                                                       | ast.ClassDef) else ():
            problems.extend(_registration(path, node))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            problems.extend(_mutations(path, node, module_names))
    return [p for p in problems if not any(f"'{name}'" in p for allowed_path, name in ALLOWED
                                           if allowed_path == path)]


def _registration(path: str, node: ast.AST) -> list[str]:
    if not isinstance(node, ast.Call):
        return []
    func = node.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) \
            and (func.value.id, func.attr) in REGISTRATIONS:
        return [f"{path}:{node.lineno}: {func.value.id}.{func.attr}() at import"]
    if isinstance(func, ast.Attribute) and func.attr == "start" and isinstance(func.value, ast.Call) \
            and _call_name(func.value) in ("Thread", "Timer"):
        return [f"{path}:{node.lineno}: starts a thread at import"]
    if isinstance(func, ast.Name) and func.id == "setattr":
        return [f"{path}:{node.lineno}: setattr() at import"]
    return []


def _mutations(path: str, func: ast.FunctionDef | ast.AsyncFunctionDef, module_names: set[str]) -> list[str]:
    found = []
    local = {a.arg for a in func.args.args + func.args.kwonlyargs + func.args.posonlyargs}
    for node in ast.walk(func):
        if isinstance(node, ast.Global):
            found.extend(f"{path}:{node.lineno}: {func.name}() rebinds module-level {name!r}"
                         for name in node.names)
        elif isinstance(node, ast.Assign | ast.AugAssign | ast.Delete):
            targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
            for target in targets:
                if isinstance(target, ast.Subscript | ast.Attribute) and isinstance(target.value, ast.Name) \
                        and target.value.id in module_names and target.value.id not in local:
                    found.append(f"{path}:{node.lineno}: {func.name}() mutates module-level "
                                 f"{target.value.id!r}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in MUTATORS and isinstance(node.func.value, ast.Name) \
                and node.func.value.id in module_names and node.func.value.id not in local:
            found.append(f"{path}:{node.lineno}: {func.name}() mutates module-level {node.func.value.id!r}")
    return found


def test_no_module_holds_state_or_registers_anything_at_import():
    """Outside the registry, no module keeps mutable state, rebinds or mutates its globals, or
    registers an exit or fork hook, a signal handler, a thread or a patch when imported."""
    modules = _modules()
    assert len(modules) > 60 and REGISTRY in dict(modules)  # the scan reads the app, not nothing
    problems = [problem for path, tree in modules if path != REGISTRY for problem in scan(path, tree)]
    assert problems == []


def test_every_allowed_exception_is_still_needed():
    """An ALLOWED entry whose finding went away is removed, so the list stays the reviewed few."""
    modules = dict(_modules())
    for path, name in ALLOWED:
        found = scan(path, modules[path]) if path in modules else []
        unfiltered = [p for p in _unfiltered(path, modules.get(path)) if f"'{name}'" in p]
        assert unfiltered, f"{path} {name}: no longer found, drop it from ALLOWED"
        assert not [p for p in found if f"'{name}'" in p]


def _unfiltered(path: str, tree: ast.Module | None) -> list[str]:
    if tree is None:
        return []
    saved = dict(ALLOWED)
    ALLOWED.clear()
    try:
        return scan(path, tree)
    finally:
        ALLOWED.update(saved)


@pytest.mark.parametrize("code, finding", [
    ("_cache = {}\n", "module-level mutable state '_cache'"),
    ("import collections\n_seen = collections.Counter()\n", "module-level mutable state '_seen'"),
    ("_on = False\ndef f():\n    global _on\n    _on = True\n", "rebinds module-level '_on'"),
    ("TABLE = {}\ndef f(k):\n    TABLE[k] = 1\n", "mutates module-level 'TABLE'"),
    ("ITEMS = []\ndef f(k):\n    ITEMS.append(k)\n", "mutates module-level 'ITEMS'"),
    ("import atexit\natexit.register(print)\n", "atexit.register() at import"),
    ("import os\nos.register_at_fork(after_in_child=print)\n", "os.register_at_fork() at import"),
    ("import signal\nsignal.signal(15, print)\n", "signal.signal() at import"),
    ("import threading\nthreading.Thread(target=print).start()\n", "starts a thread at import"),
    ("import urllib3\nurllib3.PoolManager.urlopen = print\n", "patches urllib3.PoolManager.urlopen"),
    ("import httpx\nsetattr(httpx.Client, 'send', print)\n", "setattr() at import"),
    ("try:\n    import atexit\n    atexit.register(print)\nexcept ImportError:\n    pass\n",
     "atexit.register() at import"),
    ("TABLE = {'a': 1}\n", "module-level mutable state 'TABLE'"),
    ("_NAMES = ['a']\n", "module-level mutable state '_NAMES'"),
    ("_SEEN = {1, 2}\n", "module-level mutable state '_SEEN'"),
    ("import threading\n_lock = threading.Lock()\n", "module-level mutable state '_lock'"),
    ("from collections import defaultdict\n_by = defaultdict(list)\n", "module-level mutable state '_by'"),
    ("class Cache:\n    pass\n_cache = Cache()\n", "module-level mutable state '_cache'"),
    ("A, B = 1, []\n", "module-level mutable state 'B'"),
    ("import threading\n_t = threading.Thread(target=print)\n_t.start()\n", "_t.start() at import"),
    ("import os\nos.environ['X'] = '1'\n", "patches os.environ['X'] at import"),
    ("import sys\nsys.path.insert(0, '.')\n", "sys.path.insert() at import"),
    ("from django.core.signals import request_finished\nrequest_finished.connect(print)\n",
     "request_finished.connect() at import"),
    ("import logging\nlogger = logging.getLogger('x')\nlogger.addHandler(logging.NullHandler())\n",
     "logger.addHandler() at import"),
    ("class S:\n    n = 0\n_s = S\ndef f():\n    _s.n = 1\n", "mutates module-level '_s'"),
])
def test_the_scan_finds_each_kind_of_side_effect(code, finding):
    """Each rule of the scan fires on a module that breaks it (so the scan above can fail)."""
    problems = scan("errorwarden/example.py", ast.parse(code))
    assert any(finding in p for p in problems), problems


def test_the_scan_lets_constants_functions_and_the_registry_pattern_pass():
    code = ("import logging, contextvars, re\nfrom dataclasses import dataclass\n"
            "from types import MappingProxyType\nlogger = logging.getLogger(__name__)\n"
            "KINDS = ('a', 'b')\nLIMITS = MappingProxyType({'a': 1})\nNAMES = frozenset({'a'})\n"
            "_var = contextvars.ContextVar('v', default=None)\nA, B = range(2)\n_RE = re.compile('a')\n"
            "@dataclass(frozen=True)\nclass Policy:\n    n: int = 1\nPOLICY = Policy()\n"
            "__all__ = ['f']\ndef f(x):\n    seen = {}\n    seen[x] = 1\n    return seen\n")
    assert scan("errorwarden/example.py", ast.parse(code)) == []


# A child process imports every module of the app and records what importing registered.
IMPORT_ALL = r"""
import atexit, importlib, json, os, pkgutil, signal, sys, threading
calls = []
def ours(frame):
    # The app's frame that made the call, directly or through library code it called; a library
    # registering something while it is itself being imported (an import frame comes first) is
    # that library's business.
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return None
        if str(frame.f_globals.get("__name__", "")).startswith("errorwarden"):
            return f"{frame.f_globals['__name__']}:{frame.f_lineno}"
        frame = frame.f_back
    return None
for owner, name in ((atexit, "register"), (os, "register_at_fork"), (signal, "signal")):
    real = getattr(owner, name)
    def record(*args, _real=real, _name=f"{owner.__name__}.{name}", **kwargs):
        if ours(sys._getframe(1)):
            calls.append(f"{_name} by {ours(sys._getframe(1))}")
        return _real(*args, **kwargs)
    setattr(owner, name, record)
real_start = threading.Thread.start
def start(self, *args, **kwargs):
    if ours(sys._getframe(1)):
        calls.append(f"thread {self.name} by {ours(sys._getframe(1))}")
    return real_start(self, *args, **kwargs)
threading.Thread.start = start
import django
from django.conf import settings
settings.configure(INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth",
                                   "rest_framework", "errorwarden"],
                   DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
                   ROOT_URLCONF="errorwarden.dashboard.urls")
import httpx, urllib3.connectionpool
before = (urllib3.connectionpool.HTTPConnectionPool.urlopen, httpx.Client.send, httpx.AsyncClient.send)
django.setup()
import errorwarden
names = sorted(m.name for m in pkgutil.walk_packages(errorwarden.__path__, "errorwarden."))
for name in names:
    importlib.import_module(name)
after = (urllib3.connectionpool.HTTPConnectionPool.urlopen, httpx.Client.send, httpx.AsyncClient.send)
patched = [a is not b for a, b in zip(before, after)]
print(json.dumps({"modules": len(names), "calls": calls, "patched": patched}))
"""


def test_importing_every_module_registers_nothing_and_patches_nothing():
    """Django set up with the app, then every module of `errorwarden` imported: no exit or fork
    hook, no signal handler, no thread, and urllib3's and httpx's send methods are the originals."""
    done = subprocess.run([sys.executable, "-c", IMPORT_ALL], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["modules"] > 60
    assert found["calls"] == [] and found["patched"] == [False, False, False]


def test_install_sets_up_the_hooks_and_reset_undoes_every_one(tmp_path, monkeypatch):
    """install() wraps urllib3 and httpx (local inbox, SENTRY_MEASURE_OUTGOING on) and registers the
    exit flush; re-installing never stacks wrappers; reset() puts the originals back and unregisters
    the exit hook; with the setting off nothing is wrapped."""
    import atexit

    import httpx
    from django.conf import settings as django_settings
    from urllib3.connectionpool import HTTPConnectionPool

    from errorwarden import runtime as registry
    from infrastructure.sentry_config import init_sentry

    def methods():
        return (HTTPConnectionPool.urlopen, httpx.Client.send, httpx.AsyncClient.send)

    local = django_settings.SENTRY.with_overrides(dsn="", inbox_path=tmp_path / "inbox.sqlite3")
    hooks: list[object] = []  # the exit callbacks registered and not unregistered
    register, unregister = atexit.register, atexit.unregister
    monkeypatch.setattr(atexit, "register", lambda f, *a, **k: (hooks.append(f), register(f, *a, **k))[1])
    monkeypatch.setattr(atexit, "unregister", lambda f: (hooks.remove(f) if f in hooks else None,
                                                         unregister(f))[1])
    try:
        registry.reset()
        originals = methods()

        registry.install(local)
        registry.install(local)  # the second closes the first before it wraps: one layer only
        wrapped = methods()
        assert not set(wrapped) & set(originals)
        assert [m.__wrapped__ for m in wrapped] == list(originals)
        assert hooks == [registry._at_exit]

        registry.reset()
        assert methods() == originals and hooks == []

        registry.install(local.with_overrides(measure_outgoing=False))
        assert methods() == originals
        registry.install(local.with_overrides(dsn="http://key@127.0.0.1:9/1"))  # no inbox: nothing to time
        assert methods() == originals
    finally:
        init_sentry(django_settings.SENTRY)


def test_a_call_wrapped_over_ours_survives_reset(tmp_path):
    """When another library wraps the method after us, reset() cannot take ours out of its chain:
    ours is switched off and passes calls through; the other library's wrapper stays in place."""
    from django.conf import settings as django_settings
    from urllib3.connectionpool import HTTPConnectionPool

    from errorwarden import runtime as registry
    from infrastructure.sentry_config import init_sentry

    try:
        registry.install(django_settings.SENTRY.with_overrides(dsn="", inbox_path=tmp_path / "i.sqlite3"))
        ours = HTTPConnectionPool.urlopen

        def theirs(pool, *args, **kwargs):
            return ours(pool, *args, **kwargs)

        HTTPConnectionPool.urlopen = theirs
        outgoing = registry.require_runtime().outgoing
        registry.reset()
        assert HTTPConnectionPool.urlopen is theirs
        assert outgoing._service("api.clerk.com", 443) is None  # switched off
        HTTPConnectionPool.urlopen = ours.__wrapped__
    finally:
        init_sentry(django_settings.SENTRY)


def test_the_apps_own_loggers_are_named_to_sentry_sdk_when_built_not_when_imported():
    """Importing every module names no logger to sentry-sdk's LoggingIntegration; building the
    runtime (or an outbox, a ledger, an outage log) does, so their warnings never become events."""
    code = (
        "import importlib, pkgutil, django\n"
        "from django.conf import settings\n"
        "settings.configure(INSTALLED_APPS=['django.contrib.contenttypes', 'django.contrib.auth',\n"
        "                                   'errorwarden'],\n"
        "                   DATABASES={'default': {'ENGINE': 'django.db.backends.sqlite3',\n"
        "                                          'NAME': ':memory:'}})\n"
        "django.setup()\n"
        "import errorwarden\n"
        "from sentry_sdk.integrations import logging as sdk_logging\n"
        "from errorwarden.logs import QUIET_LOGGERS\n"
        "for info in pkgutil.walk_packages(errorwarden.__path__, 'errorwarden.'):\n"
        "    importlib.import_module(info.name)\n"
        "assert not set(QUIET_LOGGERS) & set(sdk_logging._IGNORED_LOGGERS), 'named at import'\n"
        "from errorwarden.losses import LossLedger\n"
        "LossLedger()\n"
        "assert set(QUIET_LOGGERS) <= set(sdk_logging._IGNORED_LOGGERS), 'not named when built'\n"
        "print('ok')\n")
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-3000:]
