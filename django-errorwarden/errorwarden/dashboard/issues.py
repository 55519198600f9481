"""What the Issues pages show, read from the inbox through InboxStore's public methods only.

Counts, first/last seen and sparklines cover every event captured, kept or not (the inbox counts
each event against its issue and minute; InboxStore.minute_counts reads no payload); "kept" is how
many payloads are stored. The page reads one payload per listed issue, its latest kept event, and
the loss ledger whole: what every process recorded in the inbox file plus what this process has not
written yet (errorwarden/losses.py `whole`), every kind: pipeline, outbox, alert, inbox, aggregates.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from errorwarden import event as ev
from errorwarden.dashboard.charts import sparkline
from errorwarden.local import InboxStore, culprit_of, fingerprint_of, title_of
from errorwarden.local.triage import TriageStore
from errorwarden.losses import is_loss

ISSUE_LIMIT = 200
SPARK_MINUTES = 60
ALERTS_READ = 500


def epoch(value: Any) -> float | None:
    """An SDK or inbox timestamp (ISO 8601 string or epoch seconds) as epoch seconds, or None."""
    if isinstance(value, int | float):
        return float(value)
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def moment(value: Any) -> datetime | None:
    """A timestamp as an aware UTC datetime for the templates' date filter, or None."""
    seconds = epoch(value)
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def tags_of(event: dict[str, Any]) -> dict[str, str]:
    """An event's tags as a dict (the SDK may store them as a list of pairs)."""
    tags = event.get("tags") or {}
    if isinstance(tags, list):
        tags = {str(pair[0]): pair[1] for pair in tags if isinstance(pair, list | tuple) and len(pair) == 2}
    return {str(k): "" if v is None else str(v) for k, v in tags.items()} if isinstance(tags, dict) else {}


def _key(fingerprint: Any) -> str:
    return json.dumps(fingerprint, ensure_ascii=False)


def _fingerprint(stored: Any) -> Any:
    """A fingerprint as a list: InboxStore.issues() parses it, a search hands over the stored JSON."""
    return json.loads(stored) if isinstance(stored, str) else stored


@dataclass
class IssueRow:
    """One issue line of the list."""

    key: str
    category: str
    level: str
    title: str
    culprit: str
    count: int
    kept: int
    first_seen: datetime | None
    last_seen: datetime | None
    last_event_id: str
    spark: Any = ""
    last_alert: dict[str, Any] | None = None
    status: str = "unresolved"


@dataclass
class IssueList:
    """The rows after filtering, and the choices the filters offer."""

    rows: list[IssueRow]
    categories: list[str] = field(default_factory=list)
    levels: list[str] = field(default_factory=list)
    total: int = 0
    events: int = 0  # every event counted, kept or not
    kept: int = 0  # payloads stored
    losses: list[tuple[str, str, int]] = field(default_factory=list)  # (kind, reason, count), largest first
    lost: int = 0  # items gone (the rows above also count failed attempts and spooled items)


def issue_list(store: InboxStore, alerts: list[dict[str, Any]], now: float, category: str = "",
               level: str = "", triage: TriageStore | None = None, found: list[dict[str, Any]] | None = None,
               statuses: tuple[str, ...] = (), losses: list[tuple[str, str, int]] | None = None) -> IssueList:
    """Issues with category, per-minute sparkline and last alert, filtered by category and level.

    `found`: the issues a search returned (InboxStore.issues' shape, counts of matching events)
    instead of the most recent ones; `statuses`: keep only issues in one of these triage states;
    `losses`: the loss ledger's rows (losses.whole(runtime)), else those saved in the inbox file.
    """
    first_minute = int(now // 60) - SPARK_MINUTES + 1
    since = datetime.fromtimestamp(first_minute * 60, UTC)
    minutes: dict[str, list[int]] = {}
    for stored, per_minute in store.minute_counts(since).items():
        counts = minutes.setdefault(_key(json.loads(stored)), [0] * SPARK_MINUTES)
        for minute, count in per_minute.items():
            index = int(datetime.fromisoformat(minute).replace(tzinfo=UTC).timestamp() // 60) - first_minute
            if 0 <= index < SPARK_MINUTES:
                counts[index] += count
    last_alerts = _last_alerts(store, alerts, {})
    rows = []
    issues = store.issues(limit=ISSUE_LIMIT) if found is None else found
    if triage is not None:
        states = triage.states([_key(_fingerprint(i["fingerprint"])) for i in issues])
        if statuses:
            issues = [i for i in issues if states[_key(_fingerprint(i["fingerprint"]))].status in statuses]
    issues = issues[:ISSUE_LIMIT]
    for issue in issues:
        key = _key(_fingerprint(issue["fingerprint"]))
        latest = (store.get(issue["last_event_id"]) if issue["last_event_id"] else None) or {}
        counts = minutes.get(key, [0] * SPARK_MINUTES)
        rows.append(IssueRow(
            key=key, category=tags_of(latest).get("error.category", "") or "-", level=issue["level"],
            title=issue["title"], culprit=issue["culprit"], count=issue["count"], kept=issue["kept"],
            first_seen=moment(issue["first_seen"]), last_seen=moment(issue["last_seen"]),
            last_event_id=issue["last_event_id"], last_alert=last_alerts.get(key),
            spark=sparkline(counts, label=f"{sum(counts)} events in the last {SPARK_MINUTES} minutes")))
    if triage is not None:
        for row in rows:
            row.status = states[row.key].status
    shown = [r for r in rows if (not category or r.category == category) and (not level or r.level == level)]
    totals = store.totals("event")
    if losses is None:
        losses = [(kind, reason, n) for (kind, reason), n in store.losses().items()]
    return IssueList(rows=shown, categories=sorted({r.category for r in rows}),
                     levels=sorted({r.level for r in rows}), total=len(rows), events=totals["events"],
                     kept=totals["kept"], losses=losses,
                     lost=sum(n for kind, reason, n in losses if is_loss((kind, reason))))


def _last_alerts(store: InboxStore, alerts: list[dict[str, Any]],
                 by_id: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The newest alert per issue key; an alert names its triggering event, whose fingerprint is the issue."""
    found: dict[str, dict[str, Any]] = {}
    for alert in alerts[:ALERTS_READ]:  # newest first
        event_id = alert.get("event_id") or ""
        event = by_id.get(event_id) or (store.get(event_id) if event_id else None)
        if event is not None:
            key = _key(fingerprint_of("event", event))
            found.setdefault(key, {**alert, "fired_at": moment(alert["fired"])})
    return found


def issue_summary(store: InboxStore, event: dict[str, Any]) -> dict[str, Any] | None:
    """The issue (count, first and last seen) this event belongs to, if it is among the listed ones."""
    key = _key(fingerprint_of("event", event))
    for issue in store.issues(limit=ISSUE_LIMIT * 5):
        if _key(issue["fingerprint"]) == key:
            return {**issue, "first_seen": moment(issue["first_seen"]),
                    "last_seen": moment(issue["last_seen"])}
    return None


def _frames(source: dict[str, Any]) -> list[dict[str, Any]]:
    frames = []
    for frame in ev.frames(source):
        lineno = frame.get("lineno") if isinstance(frame.get("lineno"), int) else None
        pre, post = frame.get("pre_context") or [], frame.get("post_context") or []
        source = []
        if lineno is not None and frame.get("context_line") is not None:
            source += [(lineno - len(pre) + i, line, False) for i, line in enumerate(pre)]
            source.append((lineno, frame["context_line"], True))
            source += [(lineno + 1 + i, line, False) for i, line in enumerate(post)]
        variables = frame.get("vars") or {}
        where = frame.get("filename") or frame.get("abs_path") or frame.get("module") or "?"
        frames.append({**frame, "where": where, "source": source, "variables": sorted(
            (str(k), v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str))
            for k, v in variables.items()) if isinstance(variables, dict) else []})
    return frames


def _stacks(event: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Exceptions newest first (the one raised last leads), and threads that carry a stack."""
    exceptions = [{**exc, "frames": _frames(exc),
                   "readable": ev.readable_value(exc.get("type"), exc.get("value"))}
                  for exc in reversed(ev.exceptions(event))]
    stacked = [t for t in ev.threads(event) if ev.frames(t)]
    threads = [{**t, "label": str(t.get("name") or t.get("id") or "?"), "frames": _frames(t)}
               for t in stacked]
    return exceptions, threads


def _breadcrumbs(event: dict[str, Any]) -> list[dict[str, Any]]:
    crumbs = event.get("breadcrumbs") or []
    crumbs = (crumbs.get("values") or []) if isinstance(crumbs, dict) else crumbs
    return [{**c, "at": moment(c.get("timestamp")), "kind": c.get("category") or c.get("type") or "",
             "data_text": _pretty(c.get("data"))} for c in crumbs if isinstance(c, dict)]


def event_detail(event: dict[str, Any]) -> dict[str, Any]:
    """The parts of one stored event the issue page lays out: stacks, request, user, tags, breadcrumbs."""
    exceptions, threads = _stacks(event)
    request = dict(event.get("request") or {})
    headers = request.get("headers") or {}
    return {
        "title": title_of("event", event), "culprit": culprit_of("event", event),
        "timestamp": moment(event.get("timestamp")), "exceptions": exceptions, "threads": threads,
        "request": request,
        "headers": sorted(headers.items()) if isinstance(headers, dict) else [tuple(h) for h in headers],
        "request_data": _pretty(request.get("data")), "user": sorted((event.get("user") or {}).items()),
        "tags": sorted(tags_of(event).items()),
        "contexts": sorted((str(k), _pretty(v)) for k, v in (event.get("contexts") or {}).items()),
        "extra": _pretty(event.get("extra")), "breadcrumbs": _breadcrumbs(event),
        "raw": json.dumps(event, indent=2, sort_keys=True, ensure_ascii=False, default=str),
    }


def _pretty(value: Any) -> str:
    if value in (None, "", {}, []):
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
