"""The terminal chat of `safeguard chat`: a small client of the REST channel.

It talks to the Rasa server's /webhooks/rest/webhook exactly as the Telegram gateway does,
so the terminal gets the same fail-safe (bot.failsafe.safety, applied in the server). Buttons
are shown numbered; typing the number sends the button. If the Rasa server itself cannot be
reached, the client still answers: a plain line, 999 and the lead's numbers, and for a danger
message it raises the alarm itself (once, by the same per-message claim) so the lead is paged.

Requests are signed with the deployment's channel secret (bot/core/channel_auth.py) and the sender
is "terminal:<name>" (the account's login name unless given): a terminal user is a worker,
whatever name they give, never a roster lead (leads use Telegram, Teams or the CLI).
"""

from __future__ import annotations

import getpass
import json
import sys
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Any, TextIO

from bot.config.secrets import CHANNEL_SECRET, shared_secret
from bot.core import channel_auth
from bot.failsafe import safety


def terminal_sender(name: str | None = None) -> str:
    """'terminal:<name>', by default the login name of the account running the chat."""

    if not name:
        try:
            name = getpass.getuser()
        except Exception:  # noqa: BLE001 - no login name (a container): still a worker
            name = "user"
    return name if name.startswith("terminal:") else f"terminal:{name}"


STOP_WORDS = {"/stop", "/quit", "/exit"}
PROMPT = "You: "


@dataclass
class TerminalChat:
    """One worker's conversation with the assistant at `url` (the Rasa server's root)."""

    url: str
    sender: str = field(default_factory=terminal_sender)
    secret: str | None = None  # None: the deployment's channel secret (bot.config.secrets)
    out: TextIO = field(default_factory=lambda: sys.stdout)
    timeout: float = field(default_factory=lambda: safety.reply_within_seconds() + 60)
    buttons: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sender = terminal_sender(self.sender)

    def send(self, text: str) -> list[dict[str, Any]]:
        """The replies to `text`: from the server, or the client's own fail-safe."""
        body = json.dumps({"sender": self.sender, "message": text}).encode("utf-8")
        try:
            if self.secret is None:

                self.secret = shared_secret(CHANNEL_SECRET)
            request = urllib.request.Request(
                self.url.rstrip("/") + "/webhooks/rest/webhook",
                data=body,
                headers={
                    "Content-Type": "application/json",
                    **channel_auth.sign(self.secret, body),
                },
            )
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                replies = json.loads(response.read())
            if not isinstance(replies, list):
                raise ValueError("not a list of messages")
            if replies:
                return replies
        except (urllib.error.URLError, OSError, ValueError):
            pass  # includes a SecretError (a ValueError): the client's own fail-safe answers
        return self.unreachable(text)

    def unreachable(self, text: str) -> list[dict[str, Any]]:
        """The assistant did not answer at all: say so, give 999 and the numbers, page for
        danger (with a message id of our own, so it is raised once)."""
        if safety.floor_danger(text):
            alarm = safety.raise_alarm_once(
                safety.alarm_key(self.sender, uuid.uuid4().hex),
                safety.worker_for(self.sender),
                safety.report_text(text),
            )
            # 999 first, once; then who was paged and the numbers (bot.core.replies).
            return [
                safety.reply(self.sender, safety.CALL_999_FIRST),
                safety.reply(self.sender, safety.alarm_message(alarm.outcome)),
            ]
        return [safety.reply(self.sender, safety.failure_reply())]

    def resolve(self, typed: str) -> str:
        """A number picks one of the last buttons shown; anything else is sent as typed."""
        choice = typed.strip()
        if choice.isdigit() and self.buttons and 1 <= int(choice) <= len(self.buttons):
            return str(self.buttons[int(choice) - 1].get("payload") or "")
        return typed

    def show(self, replies: list[dict[str, Any]]) -> None:
        self.buttons = []
        for message in replies:
            text = message.get("text")
            if isinstance(text, str) and text:
                print(text, file=self.out)
            for button in message.get("buttons") or []:
                self.buttons.append(button)
                print(f"  [{len(self.buttons)}] {button.get('title', '')}", file=self.out)
            if message.get("image"):
                print(f"(image: {message['image']})", file=self.out)
        print(file=self.out, flush=True)

    def loop(self, stdin: TextIO | None = None) -> int:
        """Read lines until /stop, end of input or Ctrl-C."""
        stdin = stdin or sys.stdin
        print(
            "Type your message (numbers pick a button). /stop to quit. "
            "If a child is in danger right now, call 999.\n",
            file=self.out,
            flush=True,
        )
        while True:
            print(PROMPT, end="", file=self.out, flush=True)
            try:
                line = stdin.readline()
            except KeyboardInterrupt:
                return 0
            if not line:
                return 0
            typed = line.rstrip("\n")
            if typed.strip().lower() in STOP_WORDS:
                return 0
            if not typed.strip():
                continue
            self.show(self.send(self.resolve(typed)))
