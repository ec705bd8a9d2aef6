"""Talking to a real Rasa server's REST channel the way the gateway and terminal do: signed.

The REST channel takes only requests signed with the deployment's channel secret, from a
channel-qualified sender (bot/core/channel_auth.py); tests that play a worker sign like the
terminal chat, as "terminal:<name>" unless the sender already names its channel.
"""

from __future__ import annotations

import json
import urllib.request

from bot.core import channel_auth


def qualified(sender: str) -> str:
    return sender if channel_auth.channel_of(sender) else f"terminal:{sender}"


def request(port: int, sender: str, message: str, secret: str) -> urllib.request.Request:
    body = json.dumps({"sender": qualified(sender), "message": message}).encode()
    return urllib.request.Request(
        f"http://127.0.0.1:{port}/webhooks/rest/webhook",
        data=body,
        headers={"Content-Type": "application/json", **channel_auth.sign(secret, body)},
    )


def post(port: int, sender: str, message: str, secret: str, timeout: float = 60) -> list[dict]:
    with urllib.request.urlopen(request(port, sender, message, secret), timeout=timeout) as answer:  # noqa: S310 (loopback)
        return json.loads(answer.read())
