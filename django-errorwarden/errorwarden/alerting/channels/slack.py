"""Slack through an incoming webhook, as Block Kit built with slack_sdk's models.

slack_sdk's models validate Slack's documented limits when the message is serialised, so a
message that would be rejected fails here, loudly, instead of at Slack. We still cut texts to
fit before that (a 10 KB exception message must arrive shortened, not be refused). Captured
text passes errorwarden.text's Slack functions: control and bidi characters shown as escapes,
Slack's control characters escaped (no mention or link forms from it), mrkdwn objects marked
verbatim (no auto-linking); the only link is the system's own button.
"""

from __future__ import annotations

import http.client
import logging
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from urllib.error import URLError

from errorwarden.alerting.channels import Channel, DeliveryError, http_error, network_reason
from errorwarden.alerting.render import details
from errorwarden.text import for_slack_mrkdwn, for_slack_plain, for_slack_text

if TYPE_CHECKING:
    from errorwarden.settings import Settings

SEVERITY_COLOURS = MappingProxyType({
    "critical": "#D00000",
    "error": "#E8710A",
    "warning": "#F2C744",
    "info": "#439FE0",
    "resolved": "#2EB67D",
})
# Slack's documented limits (characters).
HEADER_MAX, SECTION_MAX, FIELD_MAX, FIELDS_MAX, BUTTON_MAX, URL_MAX, BLOCKS_MAX = (
    150, 3000, 2000, 10, 75, 3000, 50)

# slack_sdk logs each failed attempt at ERROR and, unless its logger's level is above DEBUG, the
# webhook URL and body. Its logger is made outside logging's registry, so no dictConfig can
# re-attach it to handlers, and its level keeps even the URL message from being formatted.
_SDK_LOGGER = logging.Logger("errorwarden.alerting.slack_sdk", logging.CRITICAL + 1)
_SDK_LOGGER.propagate = False
_SDK_LOGGER.addHandler(logging.NullHandler())


def mrkdwn(text: str, limit: int, lines: bool = True) -> str:
    """Captured text for a mrkdwn object: controls and bidi shown, Slack's control characters
    escaped, as much as fits `limit` once escaped (errorwarden.text.for_slack_mrkdwn)."""
    return for_slack_mrkdwn(text, limit, lines)


def _mrkdwn_object(text: str) -> Any:
    from slack_sdk.models.blocks import MarkdownTextObject

    # verbatim: Slack does not auto-link URLs, channel names or mentions in the captured text.
    return MarkdownTextObject(text=text, verbatim=True)


def slack_message(alert: dict[str, Any], channel: str = "") -> dict[str, Any]:
    """A Block Kit message within Slack's limits, coloured by severity through an attachment."""
    from slack_sdk.models.attachments import BlockAttachment
    from slack_sdk.models.blocks import HeaderBlock, PlainTextObject, SectionBlock

    severity = str(alert.get("severity", "error"))
    headline = f"[{severity.upper()}] {alert.get('error_type', '')}"
    summary = f"*{mrkdwn(str(alert.get('title', '')), 500, lines=False)}*\n"
    message = str(alert.get("message", "")) or "(no message)"
    body = summary + "```" + mrkdwn(message, SECTION_MAX - len(summary) - 6) + "```"
    blocks: list[Any] = [SectionBlock(text=_mrkdwn_object(body))]
    fields = [_mrkdwn_object(f"*{name}*\n" + mrkdwn(value, FIELD_MAX - len(name) - 3, lines=False))
              for name, value in details(alert)[:FIELDS_MAX]]
    if fields:
        blocks.append(SectionBlock(fields=fields))
    blocks.extend(_link_blocks(alert))
    attachment = BlockAttachment(blocks=blocks[: BLOCKS_MAX - 1],
                                 color=SEVERITY_COLOURS.get(severity, SEVERITY_COLOURS["error"]))
    header = HeaderBlock(text=PlainTextObject(text=for_slack_plain(headline, HEADER_MAX)))
    # The top-level text is the phone notification and the fallback: Slack parses it as mrkdwn,
    # so it is escaped like the blocks (a title holding <!channel> must not ping anyone).
    payload: dict[str, Any] = {"text": for_slack_text(f"{headline}: {alert.get('title', '')}", SECTION_MAX),
                               "blocks": [header.to_dict()], "attachments": [attachment.to_dict()]}
    if channel:
        payload["channel"] = channel
    return payload


def _link_blocks(alert: dict[str, Any]) -> list[Any]:
    from slack_sdk.models.blocks import ActionsBlock, ButtonElement, ContextBlock

    link = str(alert.get("link", ""))
    if link and len(link) <= URL_MAX:
        label = for_slack_plain(str(alert.get("link_label") or "View in Sentry"), BUTTON_MAX)
        return [ActionsBlock(elements=[ButtonElement(text=label, url=link)])]
    command = str(alert.get("inbox_command", ""))
    if command:
        text = mrkdwn(f"Inspect locally: `{command}`", SECTION_MAX)
        return [ContextBlock(elements=[_mrkdwn_object(text)])]
    return []


class SlackChannel(Channel):
    """Posts Block Kit alerts through slack_sdk's WebhookClient, one attempt per send."""

    name = "slack"
    variables = ("SENTRY_SLACK_ALERTS_ENABLED", "SENTRY_SLACK_WEBHOOK_URL", "SENTRY_SLACK_CHANNEL")

    def __init__(self, webhook_url: str = "", *, channel: str = "", client: Any = None, timeout: float = 5.0):
        if client is None:
            from slack_sdk.webhook import WebhookClient

            # No retry handlers: the dispatcher owns retries, so attempts are counted in one place.
            client = WebhookClient(webhook_url, timeout=timeout, retry_handlers=[], logger=_SDK_LOGGER)
        self._client, self._channel = client, channel

    @classmethod
    def from_settings(cls, settings: Settings) -> SlackChannel | None:
        """Configured from SENTRY_SLACK_*; None when Slack alerts are off or have no webhook."""
        if not (settings.slack_alerts_enabled and settings.slack_webhook_url):
            return None
        return cls(settings.slack_webhook_url, channel=settings.slack_channel)

    def send(self, alert: dict[str, Any]) -> None:
        """Post one alert; raise DeliveryError on a non-2xx answer or a network failure."""
        payload = slack_message(alert, self._channel)
        try:
            response = self._client.send_dict(payload)
        except (TimeoutError, URLError, http.client.HTTPException, OSError) as exc:
            # The exception text is dropped on purpose: urllib's can contain the webhook URL.
            raise DeliveryError(f"slack: {network_reason(exc)}", retryable=True) from None
        if not 200 <= response.status_code < 300:
            raise http_error(response.status_code, response.headers, "slack")
