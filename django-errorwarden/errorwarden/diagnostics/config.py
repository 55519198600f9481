"""Settings that parse but may not do what was meant: the ignore list, sample rates, alert links,
and the loss ledger (what was dropped, spooled or failed)."""

from __future__ import annotations

from collections.abc import Iterable

from errorwarden.diagnostics.base import OK, WARN, Check
from errorwarden.issue_links import issue_url, server_type
from errorwarden.losses import SPOOLED, on_purpose
from errorwarden.settings import Settings


def _exception_names() -> set[str]:
    names, stack = set(), [BaseException]
    while stack:
        cls = stack.pop()
        names.add(cls.__name__)
        stack.extend(cls.__subclasses__())
    return names


def check_ignore_list(configured: Iterable[str], defaults: Iterable[str] = ()) -> Check:
    """Lists what is never reported; warns about plain names no loaded exception class has."""
    configured, defaults = tuple(configured), tuple(defaults)
    # Dotted paths were imported when the apps became ready (a typo stops start-up); a plain name
    # matches by class name, so a misspelt one silently ignores nothing.
    known = _exception_names()
    unmatched = [n for n in configured if "." not in n and n not in known]
    shown = ", ".join(configured) if configured else "none"
    message = (f"never reported: {len(defaults)} built-in (Http404, DRF NotFound ...) + "
               f"SENTRY_IGNORE_ERRORS: {shown}")
    if unmatched:
        return Check("ignore list", WARN, f"{message}; no loaded exception class is named "
                                          f"{', '.join(unmatched)}",
                     "Check the spelling, or give the dotted path (e.g. django.http.Http404) so that a "
                     "typo stops start-up.")
    return Check("ignore list", OK, message)


def check_sample_rates(traces: float, profiles: float, environment: str, errors_only: bool = False) -> Check:
    """Sample rates that cost without informing, or cannot record anything."""
    message, problems, fixes = f"traces {traces:g}, profiles {profiles:g}", [], []
    if traces >= 1.0 and environment == "production":
        problems.append("every production request is traced, where sentry-sdk costs most")
        fixes.append("use SENTRY_TRACES_SAMPLE_RATE=0.1 or lower in production")
    if profiles > 0 and traces == 0:
        problems.append("profiles are recorded only inside sampled transactions, and none are sampled")
        fixes.append("raise SENTRY_TRACES_SAMPLE_RATE or set SENTRY_PROFILES_SAMPLE_RATE=0")
    if errors_only and traces > 0:
        problems.append("the server refuses transactions (X-Sentry-Rate-Limits: transaction for 86400 s, "
                        "Bugsink's answer), so no performance data arrives")
        fixes.append("set SENTRY_TRACES_SAMPLE_RATE=0 to save the cost, or send to a server with "
                     "performance support")
    if problems:
        fix = "; ".join(fixes)
        return Check("sample rates", WARN, f"{message}: {'; '.join(problems)}",
                     fix[0].upper() + fix[1:] + ".")
    return Check("sample rates", OK, message)


def check_losses(rows: list[tuple[str, str, int]], outbox_dropped: int = 0) -> Check:
    """The loss ledger whole (errorwarden/losses.py, `losses.whole(runtime)`): every kind and reason.

    WARN for a loss or a failure, first among them a fail-closed pipeline step that dropped events;
    an event dropped on purpose (an ignored Http404, say) and items waiting in a spool are no
    warning. Never FAIL: with the local inbox the counts are every process's since the file was
    created (`sentry_inbox --clear` resets them), and history must not fail a deploy's check.
    `outbox_dropped`: what the outbox file itself records as dropped for space, every process.
    """
    counts = "; ".join(f"{kind}: " + ", ".join(f"{reason} {n}" for k, reason, n in rows if k == kind)
                       for kind in dict.fromkeys(kind for kind, _, _ in rows))
    if outbox_dropped:
        counts += (f"{'; ' if counts else ''}outbox file: {outbox_dropped} dropped for space "
                   "since it was created")
    if not counts:
        return Check("losses", OK, "nothing dropped, spooled or failed")
    fail_closed = [r for r in rows if r[0] == "pipeline" and r[1].endswith("_failed")]
    attention = [r for r in rows if not r[1].startswith(SPOOLED) and not on_purpose((r[0], r[1]))]
    if fail_closed:
        return Check("losses", WARN, f"a fail-closed step failed and dropped events ({counts})",
                     "The errorwarden.losses log line '... (failed:<step>:<type>)' names the step and the "
                     "exception type; a scrubbing failure drops the event rather than send it unscrubbed.")
    if attention or outbox_dropped:
        return Check("losses", WARN, f"items were lost or attempts failed ({counts})",
                     "The errorwarden.losses log names each kind and reason once a minute while it goes on.")
    return Check("losses", OK, counts)


def check_links(settings: Settings, event_id: str, errors_only: bool = False) -> Check:
    """The alert link for the test event, and whether it fits the server that answered."""
    if not settings.dsn:
        return Check("alert links", OK, "local inbox: alerts show `manage.py sentry_inbox --show <id>`")
    declared = settings.server_type
    link = issue_url(settings.dsn, event_id or "0" * 32, org=settings.sentry_org,
                     template=settings.issue_url_template, server=declared,
                     web_url=settings.sentry_url)
    kind = server_type(settings.dsn, declared)
    if errors_only and kind != "bugsink" and not settings.issue_url_template:
        return Check("alert links", WARN, f"the server answers like Bugsink, but links are built for {kind}: "
                                          f"{link or 'none'}",
                     "Set SENTRY_SERVER_TYPE=bugsink (or SENTRY_ISSUE_URL_TEMPLATE).")
    if not link:
        return Check("alert links", WARN, f"no link can be built for {kind} without SENTRY_ORG",
                     "Set SENTRY_ORG to the organization slug shown in the server's URLs.")
    if kind == "saas" and not settings.sentry_org:
        return Check("alert links", WARN, f"{link} (Sentry picks the organization you are signed in to)",
                     "Set SENTRY_ORG to your organization slug for a direct link.")
    return Check("alert links", OK, f"{kind}: {link}")
