"""Benchmark: our Scrubber against sentry-sdk's EventScrubber(recursive=True), in one run.

Run with ``.venv/bin/python -m bench.bench_scrubbing``. It prints per-event times for Django
error events of about 5, 20 and 50 KB with planted secrets (seen before, with new source lines,
with every string new, and with three new random tokens), the ratio to the anchor, how many
planted secrets each scrubber leaves, and adversarial 1 MB inputs against a plain 1 MB string.
It never asserts: absolute times on shared machines are noise, the ratios are the result.
"""

from __future__ import annotations

import base64
import copy
import itertools
import json
import os
import secrets
import time

from sentry_sdk.scrubber import EventScrubber

from errorwarden.scrubbing import Scrubber

# Each planted secret is unique, so "left" counts exactly the secrets still in the output.
SECRETS = {
    "bearer": "Bearer 9fQ2xL7vK3pZ8rT1wY6uN4mB",
    "sid": "k2h9x7q4w1e8r5t3y6u0i9o8p7a6s5d4",
    "csrf": "Zx81Lq0Pm7Rt4Vn2Bc9Yd6Hs3Jk5Wf1G",
    "password": "hunter2-Correct-Horse",
    "card": "4111 1111 1111 1111",
    "card_plain": "5555555555554444",
    "email": "bob.smith@example.com",
    "ip": "203.0.113.77",
    "ip6": "2001:db8:85a3::8a2e:370:7334",
    "ssn": "219-09-9999",
    "iban": "DE89 3704 0044 0532 0130 00",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.c2lnbmF0dXJlX3ZhbHVl",
    "aws": "AKIAIOSFODNN7EXAMPLE",
    "stripe": "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "github": "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
    "slack": "xoxb-263594206564-2343594206574-FGqddMF8t08v8N7Oq4i57vs1",
    "webhook": "https://hooks.slack.com/services/T0001/B0001/XXXXXXXXXXXXXXXXXXXXXXXX",
    "google": "AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe",
    "db_password": "pg-s3cr3t-pw",
    "api_key": "q7w8e9r0t1y2u3i4o5p6",
    "pem": "MIIEowIBAAKCAQEA7bq98kdj1Pq0",
}

_S = SECRETS
_CODE = [
    "    def post(self, request, *args, **kwargs):",
    "        serializer = self.get_serializer(data=request.data)",
    "        serializer.is_valid(raise_exception=True)",
    "        order = Order.objects.select_related('customer').get(pk=kwargs['pk'])",
    "        if order.status != Order.Status.PENDING:",
    "            raise ValidationError({'status': 'order is not pending'})",
    "        result = self.gateway.charge(order.total, currency=order.currency)",
    "        logger.info('charged order %s for %s', order.pk, order.total)",
    "        return Response(self.get_serializer(order).data, status=201)",
    "",
    "    # retry once: the gateway drops idle keep-alive connections",
]


def _frame(i: int, in_app: bool, secret_vars: bool) -> dict:
    """One realistic frame: location, 5+1+5 source lines and serialized local variables."""
    module = f"library.api.views.payments{i}" if in_app else f"django.core.handlers.base{i}"
    frame_vars = {
        "self": f"<library.api.views.PaymentView object at 0x7f3a1c2{i:05x}>",
        "request": "<WSGIRequest: POST '/api/v1/orders/42/pay?page=2'>",
        "args": [],
        "kwargs": {"pk": "'42'"},
        "order": f"<Order: Order #{1000 + i} (pending)>",
        "total": "Decimal('129.90')",
        "attempt": str(i % 3),
    }
    if secret_vars:
        frame_vars |= {
            "password": f"'{_S['password']}'",
            "card": f"'{_S['card']}'",
            "payload": {"email": f"'{_S['email']}'", "note": "'call back tomorrow'",
                        "aws_key": f"'{_S['aws']}'"},
        }
    src = _CODE[i % 5: i % 5 + 5]
    return {
        "filename": module.replace(".", "/") + ".py",
        "abs_path": "/srv/app/" + module.replace(".", "/") + ".py",
        "function": "post", "module": module, "lineno": 40 + i, "in_app": in_app,
        "pre_context": src, "context_line": _CODE[(i + 5) % len(_CODE)],
        "post_context": _CODE[(i + 6) % 11: (i + 6) % 11 + 5], "vars": frame_vars,
    }


def _crumbs(n: int) -> list:
    """Breadcrumbs: SQL queries, log lines and HTTP calls, some carrying secrets."""
    out = []
    for i in range(n):
        kind = i % 3
        if kind == 0:
            out.append({"type": "default", "category": "query", "timestamp": "2025-11-28T10:00:01Z",
                        "message": 'SELECT "orders"."id", "orders"."total" FROM "orders" '
                                   f'WHERE "orders"."customer_id" = %s LIMIT {i + 1}',
                        "data": {"db.params": [str(40 + i)], "db.paramstyle": "format"}})
        elif kind == 1:
            out.append({"type": "log", "category": "library.payments", "level": "info",
                        "timestamp": "2025-11-28T10:00:02Z",
                        "message": f"charged order {1000 + i} for 129.90 EUR", "data": {}})
        else:
            out.append({"type": "http", "category": "httplib", "timestamp": "2025-11-28T10:00:03Z",
                        "data": {"url": "https://api.gateway.example/v2/charges", "method": "POST",
                                 "status_code": 200, "reason": "OK"}})
    out[0]["message"] = f"SELECT * FROM users WHERE email = '{_S['email']}'"
    out[1]["message"] = f"verify failed for ssn {_S['ssn']} from {_S['ip6']}"
    out[2]["data"]["url"] = f"https://api.gateway.example/v2/charges?api_key={_S['api_key']}"
    return out


def _request() -> dict:
    """The request interface with auth headers, cookies, a form and the client IP."""
    return {
        "url": "https://api.muejam.example/api/v1/orders/42/pay", "method": "POST",
        "query_string": f"api_key={_S['api_key']}&page=2",
        "headers": {"Host": "api.muejam.example", "User-Agent": "Mozilla/5.0 (X11; Linux)",
                    "Authorization": _S["bearer"], "Content-Type": "application/json",
                    "Cookie": f"sessionid={_S['sid']}; csrftoken={_S['csrf']}",
                    "X-Forwarded-For": _S["ip"], "Accept-Language": "en-GB,en;q=0.9"},
        "cookies": {"sessionid": _S["sid"], "csrftoken": _S["csrf"], "theme": "dark"},
        "data": {"username": "bob", "password": _S["password"],
                 "card_number": _S["card_plain"], "comment": f"my iban is {_S['iban']}"},
        "env": {"REMOTE_ADDR": _S["ip"], "SERVER_NAME": "web-1", "SERVER_PORT": "8000"},
    }


def _contexts_tags_extra() -> dict:
    """Contexts, tags and extra as an app's own capture calls would set them."""
    return {
        "contexts": {
            "trace": {"trace_id": "4c79f60c11214eb38604f4ae0781bfb2", "span_id": "fa90fdead5f74052",
                      "op": "http.server", "status": "internal_error"},
            "runtime": {"name": "CPython", "version": "3.11.7"},
            "payment": {"gateway": "stripe", "secret_key": _S["stripe"], "amount": "129.90",
                        "webhook": _S["webhook"], "maps": _S["google"]},
        },
        "tags": {"client_ip": _S["ip"], "endpoint": "orders-pay", "http.status_code": "500"},
        "extra": {"session_token": _S["jwt"], "deploy_note": f"ci token {_S['github']}",
                  "notify": f"slack {_S['slack']}",
                  "database": f"postgres://app:{_S['db_password']}@db.internal:5432/app",
                  "key_pem": f"-----BEGIN RSA PRIVATE KEY-----\n{_S['pem']}\n"
                             "-----END RSA PRIVATE KEY-----"},
    }


def build_event(frames: int, crumbs: int, modules: int = 40) -> dict:
    """A serialized Django error event as before_send receives it, with planted secrets."""
    stack = [_frame(i, in_app=i >= frames - 3, secret_vars=i == frames - 1) for i in range(frames)]
    stack[-2]["context_line"] = f'    STRIPE_KEY = "{_S["stripe"]}"'
    return {
        "event_id": "9d1c2e3f4a5b6c7d8e9f0a1b2c3d4e5f", "level": "error", "platform": "python",
        "timestamp": "2025-11-28T10:00:04.123456Z", "environment": "production",
        "release": "1.0.0", "server_name": "web-1", "transaction": "/api/v1/orders/{pk}/pay",
        "exception": {"values": [{
            "type": "PaymentError", "module": "library.payments",
            "value": f"charge declined for card {_S['card']} ({_S['email']})",
            "mechanism": {"type": "django", "handled": False},
            "stacktrace": {"frames": stack},
        }]},
        "request": _request(),
        "user": {"id": 42, "username": "bob", "email": _S["email"], "ip_address": _S["ip"]},
        **_contexts_tags_extra(),
        "breadcrumbs": {"values": _crumbs(crumbs)},
        "sdk": {"name": "sentry.python.django", "version": "2.75.0"},
        "modules": {f"package-{i}": f"1.{i}.0" for i in range(modules)},
    }


# sentry-sdk's max_value_length as sentry_config.py sets it (docs/scrubbing.md).
MAX_VALUE_LENGTH = 8192
# (frames, breadcrumbs, modules) for events of about 5, 20 and 50 KB.
SIZES = ((2, 5, 15), (10, 32, 60), (28, 90, 80))


def _size(event: dict) -> int:
    """JSON size in bytes, as it would go over the wire."""
    return len(json.dumps(event, default=str))


def _left(event: dict) -> int:
    """How many planted secrets still appear anywhere in the event."""
    text = json.dumps(event, default=str, ensure_ascii=False).replace("\\n", "\n")
    return sum(1 for secret in SECRETS.values() if secret in text)


_TAGS = itertools.count()


def _fresh_source(event: dict) -> dict:
    """A deep copy whose source lines were never seen: defeats the source-line cache."""
    item = copy.deepcopy(event)
    tag = next(_TAGS)
    for frame in item["exception"]["values"][0]["stacktrace"]["frames"]:
        frame["context_line"] += f"  # {tag}"
    return item


def _fresh_strings(event: dict) -> dict:
    """A copy in which every string value is new (a unique tag after a space): no cache helps.

    Real events repeat many strings (source lines, reprs, header values); this is the worst
    case, every string of the event seen for the first time.
    """
    tag = f" ~{next(_TAGS)}"

    def fresh(obj):
        if isinstance(obj, str):
            return obj + tag
        if isinstance(obj, dict):
            return {k: fresh(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [fresh(v) for v in obj]
        return obj

    return fresh(event)


def _fresh_tokens(event: dict) -> dict:
    """A deep copy with three new random values, as a recurring error carries: a hex request
    id, a URL-safe CSRF token and a 128-character base64 header; every other string repeats.

    Random content is what secrets and ids look like, and the worst case of a lazily built
    automaton (google-re2 falls back to its NFA on it: docs/scrubbing.md, "Engines").
    """
    item = copy.deepcopy(event)
    extra, headers = item.setdefault("extra", {}), item.setdefault("request", {}).setdefault("headers", {})
    extra["request_id"] = secrets.token_hex(16)
    extra["csrf"] = secrets.token_urlsafe(32)
    headers["X-Upload"] = base64.b64encode(os.urandom(96)).decode()
    return item


def _best(scrub, event: dict, copier=copy.deepcopy, rounds=15, batch=30) -> float:
    """Best round's time per event (fresh copies made outside the clock).

    The minimum is the run least disturbed by other processes on a shared machine.
    """
    best = float("inf")
    for _ in range(rounds):
        copies = [copier(event) for _ in range(batch)]
        start = time.perf_counter()
        for item in copies:
            scrub(item)
        best = min(best, (time.perf_counter() - start) / batch)
    return best


def adversarial_inputs(size: int = 1_000_000) -> dict[str, str]:
    """Inputs built to make regular expressions backtrack, plus the plain baseline."""
    return {
        "plain lowercase": ("lorem ipsum dolor sit amet " * size)[:size],
        "digits": ("1234567890" * size)[:size],
        "digits with single spaces": ("1234 " * size)[:size],
        "'@' repeated": "@" * size,
        "'a'*N + '@' + 'a'*N": "a" * (size // 2) + "@" + "a" * (size // 2),
        "a@a.a@ repeated": ("a@a." * size)[:size],
        "nested quotes": ('"a=\\"' * size)[:size],
        "dotted run 1.1.1…": ("1." * size)[:size],
        "'=' run": "token" + "=" * size,
        "':' run": ":" * size,
        "'://' repeated": ("a://b:" * size)[:size],
        "password=x& repeated (90 000 real secrets)": ("password=x&" * size)[:size],
    }


def _time_text(scrub, text: str, rounds: int = 3) -> float:
    """Best of a few runs of one text scrub."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        scrub(text)
        best = min(best, time.perf_counter() - start)
    return best


def capture_event() -> dict:
    """The event bench_capture sends (an error with large locals), as before_send receives it."""
    import sentry_sdk

    from bench.bench_capture import capture_once

    seen: list[dict] = []
    sentry_sdk.init(dsn="http://public@127.0.0.1:9/1", default_integrations=False,
                    max_value_length=MAX_VALUE_LENGTH,
                    before_send=lambda event, hint: seen.append(copy.deepcopy(event)))
    try:
        capture_once()
    finally:
        sentry_sdk.init(dsn=None)
    return seen[0]


def engines() -> None:
    """One combined scan of every vendor format over an event's strings: re, re2, hyperscan."""
    import re

    from errorwarden.scrubbing.vendors import FORMATS

    strings: list[str] = []

    def collect(obj) -> None:
        if isinstance(obj, str):
            strings.append(obj)
        elif isinstance(obj, dict):
            for value in obj.values():
                collect(value)
        elif isinstance(obj, list):
            for value in obj:
                collect(value)

    collect(build_event(*SIZES[-1]))
    text = "\n".join(strings)
    combined = "|".join(f"(?:{f.pattern})" for f in FORMATS)
    plain = re.sub(r"\(\?!\[[^\]]*\]\)", "", combined).replace("++", "+").replace("}+", "}")
    runs = {"re, one combined pattern": lambda: re.compile(combined).findall(text)}
    try:
        import re2
        compiled = re2.compile(plain)
        runs["google-re2"] = lambda: compiled.search(text)
    except Exception as exc:  # not installed, or a pattern it cannot compile
        print(f"  google-re2 not measured: {exc!r:.80}")
    try:
        import hyperscan
        db = hyperscan.Database()
        exprs = [re.sub(r"\(\?!\[[^\]]*\]\)", "", f.pattern).replace("++", "+").replace("}+", "}").encode()
                 for f in FORMATS]
        db.compile(expressions=exprs, ids=list(range(len(exprs))), elements=len(exprs),
                   flags=[hyperscan.HS_FLAG_SINGLEMATCH] * len(exprs))
        data = text.encode()
        runs["hyperscan"] = lambda: db.scan(data, match_event_handler=lambda *a: None)
    except Exception as exc:
        print(f"  hyperscan not measured: {exc!r:.80}")
    print(f"Engines: one scan for {len(FORMATS)} vendor formats over the {len(text) / 1024:.0f} KB of "
          f"strings of the largest event (best of 5)")
    for name, run in runs.items():
        print(f"  {name:<26} {_time_text(lambda _t, run=run: run(), text, rounds=5) * 1e6:8.0f} us")
    from errorwarden.scrubbing import prefilter

    distinct = list(dict.fromkeys(strings))
    print(f"The prefilter as used ({len(prefilter.conditions())} conditions) over the same event's "
          f"{len(distinct)} distinct strings, joined (best of 5)")
    for name in prefilter.ENGINES:
        try:
            gate = prefilter.compile_gate(name)
        except ImportError:
            continue
        t = _time_text(lambda _t, gate=gate: gate.flagged(distinct), text, rounds=5)
        print(f"  {name:<26} {t * 1e6:8.0f} us, {len(gate.flagged(distinct))} strings flagged")


def available_engines() -> list[str]:
    """The prefilter engines whose wheels import here, fastest first, then 'python' (none)."""
    from errorwarden.scrubbing import prefilter

    found = prefilter.available()
    for name in sorted(set(prefilter.ENGINES) - set(found)):
        print(f"  {name}: wheel not installed, not measured")
    return [*found, "python"]


def _events_for(name: str, events: list, large_locals: dict, anchors: list) -> None:
    """One engine's rows: each event seen before, with new source lines, with every string new."""
    ours = Scrubber(engine=name)
    for event in events:  # warm-up: caches filled, CPU clock up
        _best(ours.scrub_event, event, rounds=3)
    print(f"  engine {name}:")
    for event, t_anchor in zip([*events, large_locals], anchors, strict=True):
        ours.scrub_event(copy.deepcopy(event))
        times = [_best(ours.scrub_event, event, copier) for copier in
                 (copy.deepcopy, _fresh_source, _fresh_strings, _fresh_tokens)]
        left = _left(ours.scrub_event(copy.deepcopy(event))) if event is not large_locals else 0
        label = "large-locals" if event is large_locals else "Django error"
        print(f"    {_size(event) / 1024:5.1f} KB {label}: seen before {times[0] * 1e6:7.1f} us = "
              f"{times[0] / t_anchor:5.2f}x; new source lines {times[1] / t_anchor:5.2f}x; every "
              f"string new {times[2] * 1e6:7.1f} us = {times[2] / t_anchor:5.2f}x; three new tokens "
              f"{times[3] / t_anchor:5.2f}x; secrets left {left}")


def main() -> None:
    """Print the event comparison per engine, the engines' raw scans and the adversarial timings."""
    anchor = EventScrubber(recursive=True)
    events = [build_event(*size) for size in SIZES]
    large_locals = capture_event()
    print("Scrubber vs sentry_sdk EventScrubber(recursive=True), per event, best of 15 rounds of 30")
    anchors = []
    for event in [*events, large_locals]:
        _best(anchor.scrub_event, event, rounds=3)
        anchors.append(min(_best(anchor.scrub_event, event, copier, rounds=10)
                           for copier in (copy.deepcopy, _fresh_strings)))
        ev_anchor = copy.deepcopy(event)
        anchor.scrub_event(ev_anchor)
        left = _left(ev_anchor) if event is not large_locals else 0
        print(f"  {_size(event) / 1024:5.1f} KB: EventScrubber {anchors[-1] * 1e6:6.1f} us; "
              f"planted secrets it leaves: {left} of {len(SECRETS)}")
    for name in available_engines():
        _events_for(name, events, large_locals, anchors)
    engines()
    print("Adversarial 1 MB inputs to scrub_text (best of 3): the detectors (engine 'python')"
          " relative to plain 1 MB text, and with the prefilter (engine 'auto')")
    detectors, gated = Scrubber(engine="python"), Scrubber()
    inputs = adversarial_inputs()
    text = inputs.pop("plain lowercase")
    plain, plain_gated = _time_text(detectors.scrub_text, text), _time_text(gated.scrub_text, text)
    print(f"  plain lowercase: {plain * 1e3:8.2f} ms (1.0x); prefiltered {plain_gated * 1e3:8.2f} ms")
    for name, text in inputs.items():
        t, t_gated = _time_text(detectors.scrub_text, text), _time_text(gated.scrub_text, text)
        print(f"  {name}: {t * 1e3:8.2f} ms ({t / plain:.1f}x); prefiltered {t_gated * 1e3:8.2f} ms")


if __name__ == "__main__":
    main()
