"""Probes behind `manage.py sentry_check`: one small function per check, each returning a Check.

A Check says OK, WARN, FAIL or SKIP (not applicable here), what was found, and for anything but
OK the fix. No probe raises and no message shows a secret: DSNs and URLs are masked
(`http://***@127.0.0.1:9000/1` keeps scheme, host, port and project id) and server answers are
quoted only with keys and credentials cut out.
"""

from __future__ import annotations

from errorwarden.diagnostics.base import FAIL, OK, SKIPPED, WARN, Check, mask_dsn, redact
from errorwarden.diagnostics.config import (
    check_ignore_list,
    check_links,
    check_losses,
    check_sample_rates,
)
from errorwarden.diagnostics.delivery import (
    Answer,
    ProbeTransport,
    check_delivery,
    check_dsn,
    check_inbox_delivery,
    check_reachability,
    check_sdk,
    interpret_answer,
)
from errorwarden.diagnostics.services import (
    alert_queue,
    check_broker,
    check_email,
    check_redis,
    check_slack,
    check_worker,
)

__all__ = ["FAIL", "OK", "SKIPPED", "WARN", "Answer", "Check", "ProbeTransport", "alert_queue",
           "check_broker", "check_delivery", "check_dsn", "check_email", "check_ignore_list",
           "check_inbox_delivery", "check_links", "check_losses", "check_reachability", "check_redis",
           "check_sample_rates", "check_sdk", "check_slack", "check_worker", "interpret_answer", "mask_dsn",
           "redact"]
