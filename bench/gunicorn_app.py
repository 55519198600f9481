"""The WSGI app bench_gunicorn serves: config.wsgi under one configuration of bench_request.boot.

gunicorn loads ``bench.gunicorn_app:application`` in its worker; ``BENCH_CONFIG`` names the
configuration (none, plain, ours, ours+inbox) and ``SENTRY_TRACES_SAMPLE_RATE`` the rate, so
the configurations are exactly those of the in-process benchmark. ``GET /_bench/items`` answers
with the envelope items the worker handed to its transport, so the parent can show that the
sampled configurations really sent transactions. Only for measuring; never used by the app.
"""

from __future__ import annotations

import json
import os
from typing import Any

from bench.bench_request import boot

CONFIG = os.environ.get("BENCH_CONFIG", "ours")
_discard = boot(CONFIG, float(os.environ.get("SENTRY_TRACES_SAMPLE_RATE") or 0))

from config.wsgi import application as _project  # noqa: E402  (boot() must run first)


def _items() -> dict[str, Any]:
    if _discard is not None:
        return dict(_discard.items)
    from errorwarden.runtime import current_runtime

    transport = getattr(current_runtime(), "transport", None)
    return {"inbox_dropped": getattr(transport, "dropped", None)}


def application(environ: dict[str, Any], start_response: Any) -> Any:
    """The project's app, but for one path of the benchmark's own."""
    if environ.get("PATH_INFO") == "/_bench/items":
        body = json.dumps({"config": CONFIG, "pid": os.getpid(), "items": _items()}).encode()
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(body)))])
        return [body]
    return _project(environ, start_response)
