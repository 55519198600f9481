"""A loopback stand-in for a Slack incoming webhook: scripted answers, recorded bodies.

Answers come from a script (`answer(...)`), then the default: OK, SERVER_ERROR, a 429 made by
`rate_limited(seconds)`, BAD_REQUEST, or HANG (read the request, never answer until released).
The server underneath is tests/support/http.py's LoopbackHTTP, shared by every stand-in.
Like Slack, it answers 400 "invalid_blocks" when a payload breaks a Block Kit limit.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from tests.support.http import HANG as HANG_REPLY
from tests.support.http import LoopbackHTTP, Request
from tests.support.http import Reply as HttpReply


@dataclass(frozen=True)
class Reply:
    """One scripted answer."""

    status: int = 200
    body: str = "ok"
    retry_after: int | None = None
    hang: bool = False


OK = Reply()
SERVER_ERROR = Reply(500, "internal_error")
BAD_REQUEST = Reply(400, "invalid_payload")
HANG = Reply(hang=True)


def rate_limited(seconds: int = 1) -> Reply:
    """A 429 answer carrying Retry-After."""
    return Reply(429, "rate_limited", retry_after=seconds)


def block_kit_problems(payload: dict[str, Any]) -> list[str]:
    """Which of Slack's Block Kit limits the payload breaks (empty when it is valid).

    slack_sdk's own models parse each block and validate it as Slack documents it.
    """
    from slack_sdk.errors import SlackObjectFormationError
    from slack_sdk.models.blocks import Block

    blocks = list(payload.get("blocks") or [])
    for attachment in payload.get("attachments") or []:
        blocks += attachment.get("blocks") or []
    problems = ["more than 50 blocks"] if len(blocks) > 50 else []
    for block in blocks:
        try:
            parsed = Block.parse(block)
            if parsed is None:
                problems.append(f"not a block: {block!r:.80}")
            else:
                parsed.validate_json()
        except SlackObjectFormationError as exc:
            problems.append(str(exc))
    return problems


class SlackStandIn:
    """A loopback stand-in for Slack's webhook endpoint (tests/support/http.py serves it)."""

    def __init__(self, default: Reply = OK):
        self.default = default
        self.received: list[dict[str, Any]] = []  # every body, in arrival order
        self.accepted: list[dict[str, Any]] = []  # bodies answered 2xx
        self._script: deque[Reply] = deque()
        self._cond = threading.Condition()
        self._http = LoopbackHTTP(self._respond).start()

    @property
    def url(self) -> str:
        """The webhook URL to configure (loopback http, allowed by the settings validation)."""
        return f"{self._http.url}/services/T0TEST/B0TEST/standin"

    def answer(self, *replies: Reply) -> None:
        """Give these answers to the next requests, in order, before the default."""
        with self._cond:
            self._script.extend(replies)

    def wait_for(self, accepted: int = 1, timeout: float = 10.0, received: int = 0) -> bool:
        """Wait until at least `accepted` bodies were accepted (and `received` seen)."""
        with self._cond:
            return self._cond.wait_for(
                lambda: len(self.accepted) >= accepted and len(self.received) >= received, timeout)

    def release(self) -> None:
        """Let hanging requests end (they close without an answer)."""
        self._http.released.set()

    def hold(self) -> None:
        """Make HANG answers hang again after a release() (requests let go before stay let go)."""
        self._http.released = threading.Event()

    def __enter__(self) -> SlackStandIn:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.stop()

    def _respond(self, request: Request) -> HttpReply:
        body = request.json() if request.method == "POST" else {}
        with self._cond:
            self.received.append(body)
            reply = self._script.popleft() if self._script else self.default
            if not reply.hang and reply.status < 300 and block_kit_problems(body):
                reply = Reply(400, "invalid_blocks")
            if 200 <= reply.status < 300 and not reply.hang:
                self.accepted.append(body)
            self._cond.notify_all()
        if reply.hang:
            return HANG_REPLY
        headers = {"Retry-After": str(reply.retry_after)} if reply.retry_after is not None else {}
        return HttpReply(reply.status, reply.body, headers)
