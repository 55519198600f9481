"""A real SMTP server on loopback (aiosmtpd) that records messages or refuses recipients."""

from __future__ import annotations

import email
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Received:
    """One message as the server got it."""

    mail_from: str
    rcpt_tos: list[str]
    message: Message


@dataclass
class SmtpRecorder:
    """aiosmtpd handler: records messages, or refuses every RCPT with `refuse` (e.g. "550 ...")."""

    refuse: str | None = None
    messages: list[Received] = field(default_factory=list)
    refused: int = 0
    _cond: threading.Condition = field(default_factory=threading.Condition)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if self.refuse:
            with self._cond:
                self.refused += 1
                self._cond.notify_all()
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content)
        with self._cond:
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
            self._cond.notify_all()
        return "250 Message accepted"

    def wait_for(self, count: int = 1, timeout: float = 10.0) -> bool:
        """Wait until `count` messages arrived."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self.messages) >= count, timeout)

    def wait_for_refusals(self, count: int = 1, timeout: float = 10.0) -> bool:
        """Wait until `count` recipients were refused."""
        with self._cond:
            return self._cond.wait_for(lambda: self.refused >= count, timeout)


@dataclass
class SmtpServer:
    """A running loopback server: its port and its recorder."""

    port: int
    recorder: SmtpRecorder

    @property
    def messages(self) -> list[Received]:
        """Messages received so far."""
        return self.recorder.messages


@contextmanager
def smtp_server(refuse: str | None = None) -> Iterator[SmtpServer]:
    """Run an aiosmtpd server on 127.0.0.1 for the block's duration."""
    recorder = SmtpRecorder(refuse=refuse)
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer(port, recorder)
    finally:
        controller.stop()


def smtp_settings(port: int) -> dict[str, Any]:
    """Django settings that send mail through the SMTP backend to 127.0.0.1:port."""
    return {"EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend", "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": port, "EMAIL_USE_TLS": False, "EMAIL_USE_SSL": False,
            "EMAIL_HOST_USER": "", "EMAIL_HOST_PASSWORD": "", "EMAIL_TIMEOUT": 5}
