"""A generic JSON webhook channel: what adding a channel takes (this module, and one setting)."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from errorwarden.alerting.channels import Channel, DeliveryError, http_error, network_reason
from errorwarden.settings import Settings


class WebhookChannel(Channel):
    """POSTs the alert dict as JSON to Django's ALERT_WEBHOOK_URL."""

    name = "webhook"

    def __init__(self, url: str, timeout: float = 5.0):
        self._url, self._timeout = url, timeout

    @classmethod
    def from_settings(cls, settings: Settings) -> WebhookChannel | None:
        """On when Django's ALERT_WEBHOOK_URL is set (configured from Django's settings: it declares
        no `variables` of the settings table)."""
        from django.conf import settings as django_settings

        url = getattr(django_settings, "ALERT_WEBHOOK_URL", "")
        return cls(url) if url else None

    def send(self, alert: dict[str, Any]) -> None:
        """One POST; 2xx delivers, anything else raises DeliveryError."""
        request = urllib.request.Request(self._url, data=json.dumps(alert).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                status, headers = response.status, dict(response.headers)
        except urllib.error.HTTPError as exc:
            raise http_error(exc.code, dict(exc.headers), self.name) from None
        except OSError as exc:
            raise DeliveryError(f"webhook: {network_reason(exc)}", retryable=True) from None
        if not 200 <= status < 300:
            raise http_error(status, headers, self.name)
