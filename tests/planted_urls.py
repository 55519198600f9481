"""A URLconf whose view plants secrets everywhere an event can carry them (tests/test_e2e_scrubbing.py)."""

import contextlib
import logging

import requests
import sentry_sdk
from django.contrib.auth import get_user_model
from django.db import connection
from django.urls import path

from infrastructure.sentry_config import ErrorTracker

SECRETS = {
    "card": "4111 1111 1111 1111",
    "card_dashed": "5500-0000-0000-0004",
    "ssn": "123-45-6789",
    "iban": "DE89370400440532013000",
    "email": "jane.reader@example.com",
    "ipv4": "203.0.113.77",
    "ipv6": "2001:db8::8a2e:370:7334",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "aws": "AKIAIOSFODNN7EXAMPLE",
    "stripe": "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "github": "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
    "slack_hook": "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
    "google": "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
    "db_password": "hunter2-db-pass",
    "api_key": "qk_9f8e7d6c5b4a3210",
    "password": "correct horse battery staple",
    "session": "s3ss10nvalue0123456789",
    "csrf": "csrfvalue0123456789abcdef",
    "pem": "MIIEowIBAAKCAQEA7bq98secretkeymaterial",
    "slack_token": "xoxb-2048613997-1234567890123-ZXhhbXBsZXRva2Vu",
    "bearer": "Zk8xQmVhcmVyVG9rZW4tOTk4MjE",
    "extra_key_email": "alice.key@example.com",
    "context_key_email": "bob.key@example.org",
}
PEM = f"-----BEGIN RSA PRIVATE KEY-----\n{SECRETS['pem']}\n-----END RSA PRIVATE KEY-----"
logger = logging.getLogger("library.planted")
# Where the view's outgoing call goes; the test points it at a listening loopback stub.
UPSTREAM = {"url": "http://127.0.0.1:9"}


def planted(request):
    """Uses every secret in a way real code might, then fails."""
    s = SECRETS
    customer_email = s["email"]  # noqa: F841  (a frame local the SDK records)
    api_token = s["stripe"]  # noqa: F841
    settings_blob = {"password": s["password"], "note": f"key {s['aws']}"}  # noqa: F841
    pem_local = PEM  # noqa: F841
    logger.info("charging card %s for %s from %s", s["card"], s["email"], s["ipv4"])
    logger.info("retrying with token=%s", s["api_key"])
    # Secrets in free text and under harmless key names: only the value detectors can find them.
    logger.info("calling the ledger with Bearer %s", s["bearer"])
    logger.info("ledger handed back %s", s["jwt"])
    sentry_sdk.set_extra("ledger_reply", f"session {s['jwt']} for {s['email']}")
    sentry_sdk.set_extra("notify_via", f"slack {s['slack_token']}")
    sentry_sdk.set_extra("recipients", {s["extra_key_email"]: 1})
    user = get_user_model().objects.get(username="jane")
    ErrorTracker.set_user(user_id=user.pk, email=user.email, username=user.username)
    ErrorTracker.set_tag("customer", s["email"])
    ErrorTracker.set_context("payment", {"iban": s["iban"], "card_number": s["card_dashed"],
                                         "ssn_note": f"ssn {s['ssn']}", "hook": s["slack_hook"]})
    ErrorTracker.set_context("mailing", {s["context_key_email"]: "subscribed", "bot": s["slack_token"]})
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT '{s['email']}' AS contact, '{s['ssn']}' AS ssn")
    with contextlib.suppress(requests.RequestException):  # params are sent percent-encoded (%40)
        requests.get(f"{UPSTREAM['url']}/charge", params={"api_key": s["api_key"], "email": s["email"],
                                                          "page": 2}, timeout=2)
    dsn = f"postgres://admin:{s['db_password']}@db.internal/app"
    raise RuntimeError(f"payment failed for {s['email']} card {s['card']} via {dsn} "
                       f"github {s['github']} google {s['google']} ip {s['ipv6']} refund to {s['iban']} "
                       f"after the ledger refused Bearer {s['bearer']}")


urlpatterns = [path("pay/", planted)]
