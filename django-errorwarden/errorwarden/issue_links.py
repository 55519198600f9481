"""Links from an alert to the event on the server that stored it: Sentry SaaS, self-hosted Sentry,
Bugsink or GlitchTip, or a template of your own (SENTRY_ISSUE_URL_TEMPLATE).

    issue_url("https://key@o1.ingest.us.sentry.io/42", event_id, org="acme")
    -> "https://acme.sentry.io/issues/?project=42&query=<event_id>"

At alert time only the SDK's event id is known (the server assigns the issue id), so each default
link goes through the server's own lookup of an event id:

- Sentry SaaS (DSN host `o<n>.ingest.sentry.io`, `.ingest.us.`, `.ingest.de.`):
  `https://<org>.sentry.io/issues/?project=<id>&query=<event_id>`. The issue search answers an
  event id with `X-Sentry-Direct-Hit` and the UI jumps to the event. The customer domain serves
  EU organizations too.
- Self-hosted Sentry: `<base>/organizations/<org>/issues/?project=<id>&query=<event_id>`, the
  same search; the organization defaults to `sentry`, the one a self-hosted install creates.
- Bugsink: `<base>/issues/event/<event uuid>/`. Its event_by_id view redirects to the issue's
  event page (to the login page first); it takes the hyphenated UUID only, 32 hex digits are 404.
- GlitchTip: `<base>/<org>/issues?project=<id>&query=<event_id>`; GlitchTip's issue list answers
  an event id the same way (`X-Sentry-Direct-Hit`) and opens `<org>/issues/<issue>/events/<event>`.

`<base>` is SENTRY_URL when it names another server than sentry.io, else the DSN's scheme, host,
port and path prefix. A template may use {event_id}, {event_uuid}, {project}, {org}, {issue_id}.
"""

from __future__ import annotations

import re
import string
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from django.core.exceptions import ImproperlyConfigured

from errorwarden.envvars import split_url

if TYPE_CHECKING:
    from errorwarden.settings import Settings

__all__ = ["PLACEHOLDERS", "SERVER_TYPES", "issue_link_for", "issue_url", "server_type",
           "validate_server_type", "validate_template"]

PLACEHOLDERS = ("event_id", "event_uuid", "project", "org", "issue_id")
SERVER_TYPES = ("auto", "sentry", "bugsink", "glitchtip")
SAAS_URL = "https://sentry.io"
SELF_HOSTED_ORG = "sentry"  # the organization a self-hosted Sentry install creates
# Sentry's documented ingest hosts: o<n>.ingest.sentry.io, o<n>.ingest.us.sentry.io (the IP-ranges
# page also writes o<n>.us.ingest.sentry.io), o<n>.ingest.de.sentry.io, and the apex sentry.io.
_SAAS_HOST = re.compile(r"^(?:o\d+\.(?:ingest\.(?:(?:us|de)\.)?|(?:us|de)\.ingest\.))?sentry\.io$")
_SENTRY_SEARCH = "issues/?project={project}&query={event_id}"
_SENTRY_ISSUE = "issues/{issue_id}/events/{event_id}/"
_HEX = re.compile(r"^[0-9a-f]{32}$")
_ORG = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def validate_template(template: str, org: str = "") -> str:
    """The template unchanged, or ImproperlyConfigured naming what is wrong and what is allowed."""
    if template == "":
        return template
    shown, allowed = f"SENTRY_ISSUE_URL_TEMPLATE={template!r}", ", ".join("{" + p + "}" for p in PLACEHOLDERS)
    if not template.startswith(("https://", "http://")):
        raise ImproperlyConfigured(f"{shown} is invalid: it must start with https:// or http://.")
    try:
        fields = [(f, spec, conv) for _, f, spec, conv in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise ImproperlyConfigured(f"{shown} is invalid ({exc}): write a literal brace as "
                                   "{{ or }}.") from None
    names = {f for f, _, _ in fields}
    unknown = sorted("{" + f + "}" for f in names - set(PLACEHOLDERS))
    if unknown:
        raise ImproperlyConfigured(f"{shown} has unknown placeholder(s) {', '.join(unknown)}: use {allowed}.")
    styled = sorted("{" + f + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "") + "}"
                    for f, spec, conv in fields if spec or conv)
    if styled:
        raise ImproperlyConfigured(f"{shown} formats {', '.join(styled)}: placeholders take no "
                                   f"conversion or format spec; use {allowed}.")
    if not names & {"event_id", "event_uuid"}:
        raise ImproperlyConfigured(f"{shown} names no event: use {{event_id}} or {{event_uuid}}.")
    if "org" in names and not org:
        raise ImproperlyConfigured(f"{shown} uses {{org}} but SENTRY_ORG is empty: set SENTRY_ORG.")
    return template


def validate_server_type(value: str) -> str:
    """The server type, or ImproperlyConfigured listing the allowed ones."""
    if value not in SERVER_TYPES:
        raise ImproperlyConfigured(f"SENTRY_SERVER_TYPE={value!r} is invalid: use one of "
                                   f"{', '.join(SERVER_TYPES)}.")
    return value


def server_type(dsn: str, declared: str = "auto") -> str:
    """'saas', 'sentry' (self-hosted), 'bugsink' or 'glitchtip' for this DSN; '' without a DSN."""
    parts = split_url(dsn) if dsn else None
    host = (parts.hostname or "") if parts else ""
    if not host:
        return ""
    if _SAAS_HOST.match(host):
        return "saas"
    if declared != "auto":
        return declared
    # A host named after its server is the only hint a DSN carries (app.glitchtip.com is GlitchTip's
    # hosted service); anything else is taken for self-hosted Sentry: say SENTRY_SERVER_TYPE otherwise.
    label = host.split(".")[0]
    if host == "app.glitchtip.com" or "glitchtip" in label:
        return "glitchtip"
    return "bugsink" if "bugsink" in label else "sentry"


def issue_url(dsn: str, event_id: str, *, template: str = "", server: str = "auto", org: str = "",
              issue_id: str = "", web_url: str = "") -> str:
    """A link to the event on its server, or '' when none can be built (no DSN, bad id, no org)."""
    parts = split_url(dsn) if dsn else None
    hex_id = event_id.replace("-", "").lower()
    if parts is None or not parts.hostname or not _HEX.match(hex_id):
        return ""
    project = parts.path.rstrip("/").rsplit("/", 1)[-1]
    values = {"event_id": hex_id, "project": project, "org": quote(org, safe="") if _ORG.match(org) else "",
              "issue_id": quote(str(issue_id), safe=""),
              "event_uuid": f"{hex_id[:8]}-{hex_id[8:12]}-{hex_id[12:16]}-{hex_id[16:20]}-{hex_id[20:]}"}
    chosen = template if template and _fillable(template, values) else ""
    chosen = chosen or _default_template(parts, server_type(dsn, server), values, web_url)
    return chosen.format(**values) if chosen else ""


def issue_link_for(settings: Settings, event_id: str, issue_id: str = "") -> str:
    """issue_url() for these settings' DSN, template, server type, organization and web address."""
    return issue_url(settings.dsn, event_id, template=settings.issue_url_template,
                     server=settings.server_type, org=settings.sentry_org,
                     issue_id=issue_id, web_url=settings.sentry_url)


def _fillable(template: str, values: dict[str, str]) -> bool:
    # A template naming a value not known for this event ({issue_id} at alert time) falls back to
    # the server's default link rather than a link with an empty path segment.
    return all(values.get(f) for _, f, _, _ in string.Formatter().parse(template) if f is not None)


def _default_template(parts: Any, kind: str, values: dict[str, str], web_url: str) -> str:
    org, issue = values["org"], values["issue_id"]
    if kind == "saas":
        # The customer domain serves every region (EU organizations too); orgredirect is Sentry's own
        # documented stand-in for "the organization you are signed in to".
        base = f"https://{org}.sentry.io" if org else "https://sentry.io/orgredirect/organizations/:orgslug"
        return f"{base}/{_SENTRY_ISSUE if issue else _SENTRY_SEARCH}"
    base = _base(parts, web_url)
    if kind == "bugsink":
        return f"{base}/issues/event/{{event_uuid}}/"
    if kind == "glitchtip":
        if not org:
            return ""  # every GlitchTip page sits under an organization slug
        tail = "issues/{issue_id}/events/{event_id}" if issue else "issues?project={project}&query={event_id}"
        return f"{base}/{{org}}/{tail}"
    org_part = "{org}" if org else SELF_HOSTED_ORG
    return f"{base}/organizations/{org_part}/{_SENTRY_ISSUE if issue else _SENTRY_SEARCH}"


def _base(parts: Any, web_url: str) -> str:
    if web_url and web_url.rstrip("/") != SAAS_URL:
        base = web_url.rstrip("/")
    else:
        host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        port = f":{parts.port}" if parts.port else ""
        prefix = parts.path.rstrip("/").rsplit("/", 1)[0]  # a server under a path keeps its prefix
        base = f"{parts.scheme}://{host}{port}{prefix}"
    return base.replace("{", "{{").replace("}", "}}")
