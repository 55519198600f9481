"""Channels against real parts (the loopback Slack stand-in, aiosmtpd), and channels as backends."""

from __future__ import annotations

import logging

import pytest
from django.test import override_settings

from errorwarden.alerting.channels import DeliveryError, load_channels
from errorwarden.alerting.channels.email import EmailChannel
from errorwarden.alerting.channels.slack import SlackChannel
from errorwarden.alerting.render import WITHHELD, build_alert
from errorwarden.envvars import SettingsError
from errorwarden.settings import DEFAULT_CHANNELS, Settings
from tests.support.slack import BAD_REQUEST, HANG, OK, SERVER_ERROR, SlackStandIn, rate_limited
from tests.support.smtp import free_port, smtp_server, smtp_settings
from tests.support.webhook_channel import WebhookChannel

RECIPIENTS = ("oncall@example.com", "engineering@example.com")
HOOK = "https://hooks.slack.com/services/T/B/x"


def alert(**changes):
    """A typical firing alert."""
    fields = dict(rule="database_connection", severity="critical", title="Database connection failure",
                  error_type="OperationalError", message="could not connect to server",
                  environment="production", release="muejam-backend@1.0.0", event_id="c" * 32)
    fields.update(changes)
    fields.setdefault("scrub", None)
    return build_alert(**fields)


@pytest.fixture
def slack():
    with SlackStandIn() as stand_in:
        yield stand_in


def slack_notifier(stand_in: SlackStandIn, **kwargs) -> SlackChannel:
    return SlackChannel(stand_in.url, channel="#alerts", timeout=kwargs.pop("timeout", 2.0), **kwargs)


@pytest.mark.parametrize(("reply", "retryable", "retry_after"), [
    (SERVER_ERROR, True, None),
    (rate_limited(7), True, 7.0),
    (BAD_REQUEST, False, None),
    (HANG, True, None),
])
def test_slack_failures_say_whether_a_retry_can_help(slack, reply, retryable, retry_after):
    """5xx, 429 (with Retry-After) and timeouts are retryable; other 4xx give up."""
    slack.answer(reply)
    with pytest.raises(DeliveryError) as caught:
        slack_notifier(slack, timeout=0.5).send(alert())
    assert (caught.value.retryable, caught.value.retry_after) == (retryable, retry_after)
    assert slack.url not in str(caught.value) and "T0TEST" not in str(caught.value)


def test_slack_ok_delivers_block_kit_to_the_channel(slack):
    """A 200 answer is success, and the stand-in received a valid Block Kit body."""
    slack_notifier(slack).send(alert())
    body = slack.accepted[0]
    assert body["channel"] == "#alerts" and body["blocks"][0]["type"] == "header"
    assert "OperationalError" in body["blocks"][0]["text"]["text"]


def test_a_10kb_message_is_delivered_cut_not_rejected(slack):
    """The stand-in rejects invalid blocks like Slack; a 10 KB message still goes through."""
    slack_notifier(slack).send(alert(message="y" * 10_240))
    assert len(slack.accepted) == 1


def test_slack_unreachable_is_retryable_and_names_no_url(caplog):
    """A closed port is a retryable failure whose text names neither URL nor port."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/services/T0SECRET/B0SECRET/xyz"
    with caplog.at_level(logging.DEBUG), pytest.raises(DeliveryError) as caught:
        SlackChannel(url, timeout=0.5).send(alert())
    assert caught.value.retryable
    assert "T0SECRET" not in str(caught.value) + caplog.text and str(port) not in str(caught.value)


def test_texts_are_scrubbed_once_when_the_alert_is_built_and_withheld_if_the_scrubber_fails(slack):
    """build_alert runs the scrubber on every free text; if it raises, the text is withheld."""
    def broken(text):
        raise ValueError("scrubber bug")

    clean = alert(message="password=hunter2", scrub=lambda t: t.replace("hunter2", "[Filtered]"))
    withheld = alert(message="password=hunter2", scrub=broken)
    slack_notifier(slack).send(clean)
    slack_notifier(slack).send(withheld)
    first, second = (str(body) for body in slack.accepted)
    assert "hunter2" not in first and "[Filtered]" in first
    assert "hunter2" not in second and WITHHELD in second


def test_email_reaches_a_real_smtp_server_as_multipart_text_and_html():
    """Django's SMTP backend delivers one text+HTML message to every recipient, from DEFAULT_FROM_EMAIL."""
    with smtp_server() as server, override_settings(**smtp_settings(server.port),
                                                    DEFAULT_FROM_EMAIL="alerts@muejam.local"):
        EmailChannel(RECIPIENTS).send(alert(message="<b>could not connect</b>"))
        assert server.recorder.wait_for(1)
    received = server.messages[0]
    assert received.rcpt_tos == list(RECIPIENTS) and received.mail_from == "alerts@muejam.local"
    assert received.message["Subject"] == "[CRITICAL] OperationalError: <b>could not connect</b> (production)"
    parts = {part.get_content_type(): part.get_payload(decode=True).decode()
             for part in received.message.walk() if not part.is_multipart()}
    assert set(parts) == {"text/plain", "text/html"}
    assert "<b>could not connect</b>" in parts["text/plain"]
    assert "&lt;b&gt;could not connect&lt;/b&gt;" in parts["text/html"]


@pytest.mark.parametrize(("refuse", "retryable"), [
    ("550 5.1.1 mailbox unavailable", False),
    ("451 4.3.0 try again later", True),
])
def test_refused_recipients_are_permanent_or_temporary_by_code(refuse, retryable):
    """A 5xx refusal gives up, a 4xx refusal is worth a retry; neither names the recipients."""
    with smtp_server(refuse=refuse) as server, override_settings(**smtp_settings(server.port)), \
            pytest.raises(DeliveryError) as caught:
        EmailChannel(RECIPIENTS).send(alert())
    assert caught.value.retryable is retryable
    assert "oncall@example.com" not in str(caught.value)


def test_smtp_server_down_is_retryable():
    """Nothing listening on the SMTP port is a retryable failure."""
    with override_settings(**smtp_settings(free_port())), pytest.raises(DeliveryError) as caught:
        EmailChannel(RECIPIENTS).send(alert())
    assert caught.value.retryable


@pytest.mark.parametrize(("overrides", "names"), [
    ({}, []),
    ({"alert_email_recipients": RECIPIENTS}, ["email"]),
    ({"alert_email_recipients": RECIPIENTS, "email_alerts_enabled": False}, []),
    ({"slack_alerts_enabled": True, "slack_webhook_url": HOOK}, ["slack"]),
    ({"slack_alerts_enabled": True, "slack_webhook_url": HOOK, "alert_email_recipients": RECIPIENTS},
     ["slack", "email"]),
])
def test_enabled_channels_follow_settings(overrides, names):
    """Only channels switched on and configured are built."""
    assert [n.name for n in load_channels(Settings(**overrides))] == names


def test_a_new_channel_is_one_module_and_one_setting():
    """A webhook channel from its own module joins Slack and email through SENTRY_ALERT_CHANNELS only."""
    from errorwarden.settings import load_settings

    with SlackStandIn() as hook:
        settings = load_settings({"SENTRY_ALERT_CHANNELS": ",".join(
            (*DEFAULT_CHANNELS, "tests.support.webhook_channel.WebhookChannel")),
            "SENTRY_ALERT_EMAIL_RECIPIENTS": "oncall@example.com"})
        with override_settings(ALERT_WEBHOOK_URL=hook.url):
            channels = load_channels(settings)
            assert [c.name for c in channels] == ["email", "webhook"]
            channels[1].send(alert(message="disk full"))
        assert hook.accepted[0]["message"] == "disk full"
        assert isinstance(channels[1], WebhookChannel)


@pytest.mark.parametrize("path", ["tests.support.webhook_channel.Missing", "os.path.join",
                                  "errorwarden.settings.Settings"])
def test_a_path_that_is_not_a_channel_names_the_setting(path):
    """A dotted path that does not import to a Channel subclass stops start-up naming the variable."""
    with pytest.raises(SettingsError, match="SENTRY_ALERT_CHANNELS"):
        load_channels(Settings(), paths=[path])


def test_the_stand_in_answers_ok_by_default(slack):
    """The stand-in's default answer is 200 ok, so scripted failures end on their own."""
    slack.answer(SERVER_ERROR)
    with pytest.raises(DeliveryError):
        slack_notifier(slack).send(alert())
    slack_notifier(slack).send(alert())
    assert len(slack.received) == 2 and len(slack.accepted) == 1
    assert slack.default == OK


@pytest.mark.parametrize(("ours", "django", "given", "channel", "notifier"), [
    (None, None, None, 10.0, 4.0),  # neither set: 10 s (the synchronous face caps it at 4 s)
    (None, 3, None, 3.0, 3.0),  # Django's EMAIL_TIMEOUT when ours is unset
    (None, 30, None, 30.0, 4.0),
    (2.5, 30, None, 2.5, 2.5),  # SENTRY_EMAIL_TIMEOUT_SECONDS beats EMAIL_TIMEOUT
    (2.5, 30, 7.0, 7.0, 7.0),  # a timeout given in code beats both
])
def test_the_alert_email_timeout_is_given_then_ours_then_djangos_then_10_seconds(ours, django, given, channel,
                                                                                 notifier):
    """The documented order (docs/alerting.md): timeout= in code, SENTRY_EMAIL_TIMEOUT_SECONDS,
    Django's EMAIL_TIMEOUT, 10 s; the spec's synchronous EmailNotifier caps the last three at 4 s."""
    from errorwarden.sentry_alerts import EmailNotifier
    from errorwarden.settings import load_settings

    environ = {"SENTRY_ALERT_EMAIL_RECIPIENTS": ",".join(RECIPIENTS)}
    if ours is not None:
        environ["SENTRY_EMAIL_TIMEOUT_SECONDS"] = str(ours)
    settings = load_settings(environ)
    with override_settings(EMAIL_TIMEOUT=django):
        built = EmailChannel.from_settings(settings) if given is None else \
            EmailChannel(RECIPIENTS, timeout=given)
        assert built.timeout == channel
        assert EmailNotifier(settings, timeout=given)._channel().timeout == notifier


def test_the_alert_email_timeout_reaches_the_smtp_connection():
    """A server that says nothing for 5 s and then refuses (421): with SENTRY_EMAIL_TIMEOUT_SECONDS
    at 0.5 and Django's EMAIL_TIMEOUT at 60 the attempt ends as a timeout, not as the refusal the
    60 s wait would have seen."""
    import socket
    import threading

    from errorwarden.settings import load_settings

    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def silent_then_refuse() -> None:
        conn, _ = listener.accept()
        with conn:
            stop.wait(5.0)
            conn.sendall(b"421 4.3.2 closing\r\n")

    thread = threading.Thread(target=silent_then_refuse, daemon=True)
    thread.start()
    settings = load_settings({"SENTRY_ALERT_EMAIL_RECIPIENTS": RECIPIENTS[0],
                              "SENTRY_EMAIL_TIMEOUT_SECONDS": "0.5"})
    try:
        with override_settings(**{**smtp_settings(listener.getsockname()[1]), "EMAIL_TIMEOUT": 60}), \
                pytest.raises(DeliveryError) as caught:
            EmailChannel.from_settings(settings).send(alert())
        assert str(caught.value) == "email: timed out" and caught.value.retryable
    finally:
        stop.set()
        thread.join(10)
        listener.close()


class _Recording:
    """Settings that note which fields are read (to hold from_settings to its declared rows)."""

    def __init__(self, settings: Settings):
        self._settings, self.read = settings, set()

    def __getattr__(self, name):
        self.read.add(name)
        return getattr(self._settings, name)


@pytest.mark.parametrize("path", DEFAULT_CHANNELS)
def test_a_channel_reads_exactly_the_variables_it_declares(path):
    """A built-in channel's from_settings, configured and switched on, reads every row its
    `variables` names and no other; each named row is a variable of the settings table."""
    from errorwarden.alerting.channels import channel_class, variables_of

    cls = channel_class(path)
    declared = {field for field, _ in variables_of(cls)}
    assert [var.name for _, var in variables_of(cls)] == list(cls.variables) and declared
    settings = _Recording(Settings(slack_alerts_enabled=True, slack_webhook_url=HOOK,
                                   alert_email_recipients=RECIPIENTS, email_timeout=3.0))
    assert cls.from_settings(settings) is not None
    assert settings.read == declared


def test_the_alerting_docs_list_each_built_in_channels_variables():
    """docs/alerting.md's channel table is the channels' own `variables`, in order."""
    import re
    from pathlib import Path

    from errorwarden.alerting.channels import channel_class

    text = (Path(__file__).resolve().parent.parent / "docs" / "alerting.md").read_text()
    rows = dict(re.findall(r"^\| `(errorwarden\.alerting\.channels\.[\w.]+)` \| ([^|]*) \|", text,
                           flags=re.M))
    assert sorted(rows) == sorted(DEFAULT_CHANNELS)
    for path in DEFAULT_CHANNELS:
        assert re.findall(r"`([A-Z0-9_]+)`", rows[path]) == list(channel_class(path).variables), path


def test_a_channel_naming_a_variable_the_settings_lack_stops_start_up():
    """channel_class refuses a channel whose `variables` names no row of the settings table."""
    from errorwarden.alerting.channels import Channel, channel_class

    class Misspelt(Channel):
        variables = ("SENTRY_SLACK_WEBHOOK",)

    import sys
    module = type(sys)("tests_misspelt_channel")
    module.Misspelt = Misspelt
    sys.modules[module.__name__] = module
    try:
        with pytest.raises(SettingsError, match="SENTRY_SLACK_WEBHOOK is not one"):
            channel_class("tests_misspelt_channel.Misspelt")
    finally:
        del sys.modules[module.__name__]
