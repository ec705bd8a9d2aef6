"""Talk to Rasa's REST channel: POST <url>/webhooks/rest/webhook {sender, message, metadata}.

Sticky by sender: with more than one Rasa server, every message from one sender goes to the
same server (crc32 of the sender id modulo the number of servers). Rasa's open-source Redis
lock store has a race under concurrent takes of the same conversation, so one conversation
must never be served by two servers at once; a stable hash guarantees that without any
shared state, and is the same across processes and restarts (unlike Python's `hash()`).

Every failure (connection refused, timeout, HTTP 5xx, a reply that is not Rasa's JSON list)
is raised as `RasaUnavailable`, one plain exception the caller catches to fall back to the
999 floor reply (bot/failsafe/fallback.py). Message text is never logged here.

Every request is signed with the deployment's channel secret (bot/core/channel_auth.py): the
Rasa server takes the sender ("telegram:<user id>") from a signed request only.
"""

from __future__ import annotations

import asyncio
import json
import zlib
from typing import Any

import aiohttp

from bot.config import settings
from bot.config.secrets import CHANNEL_SECRET, SecretError, shared_secret
from bot.core import channel_auth

DEFAULT_URL = settings.DEFAULT_RASA_URL
DEFAULT_TIMEOUT = 30.0
ENV_URLS = "SAFEGUARD_RASA_URLS"
WEBHOOK_PATH = "/webhooks/rest/webhook"


class RasaUnavailable(Exception):
    """Rasa could not be reached, timed out, errored (5xx) or answered nonsense."""


def urls_from_env(value: str | None = None) -> list[str]:
    """The Rasa server base URLs from SAFEGUARD_RASA_URLS (comma-separated), or the default."""
    raw = settings.current().rasa_urls if value is None else value
    urls = [u.strip().rstrip("/") for u in raw.split(",") if u.strip()]
    for url in urls:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"{ENV_URLS}: {url!r} is not an http:// or https:// URL")
    return urls or [DEFAULT_URL]


def server_index(sender: str, count: int) -> int:
    """Stable choice of one of `count` servers for `sender` (crc32 modulo count)."""
    if count < 1:
        raise ValueError("no Rasa servers configured")
    return zlib.crc32(sender.encode("utf-8")) % count


class RasaClient:
    """POSTs messages to the Rasa server that owns each sender; async, one aiohttp session."""

    def __init__(
        self,
        urls: list[str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        secret: str | None = None,
    ) -> None:
        self.urls = [u.rstrip("/") for u in (urls if urls else urls_from_env())]
        if not self.urls:
            raise ValueError("no Rasa servers configured")
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.timeout = timeout
        self._secret = secret  # None: the deployment's (bot.config.secrets), read when first needed
        self._session: aiohttp.ClientSession | None = None

    def _signing_secret(self, server: str) -> str:
        if self._secret is None:

            try:
                self._secret = shared_secret(CHANNEL_SECRET)
            except SecretError as exc:
                raise RasaUnavailable(f"Rasa at {server}: cannot sign: {exc}") from None
        return self._secret

    def server_for(self, sender: str) -> str:
        """The base URL of the server this sender's conversation always goes to."""
        return self.urls[server_index(sender, len(self.urls))]

    async def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        return self._session

    async def send(
        self, sender: str, message: str, metadata: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Send one message; return Rasa's replies ([{"recipient_id", "text", "buttons"...}])."""
        url = self.server_for(sender) + WEBHOOK_PATH
        body: dict[str, Any] = {"sender": sender, "message": message}
        if metadata:
            body["metadata"] = metadata
        data = json.dumps(body).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            **channel_auth.sign(self._signing_secret(self.server_for(sender)), data),
        }
        session = await self._get_session()
        try:
            async with session.post(url, data=data, headers=headers) as response:
                if response.status >= 500:
                    raise RasaUnavailable(
                        f"Rasa at {self.server_for(sender)}: HTTP {response.status}"
                    )
                if response.status >= 400:
                    raise RasaUnavailable(
                        f"Rasa at {self.server_for(sender)} refused the message: "
                        f"HTTP {response.status}"
                    )
                try:
                    replies = await response.json(content_type=None)
                except ValueError:
                    raise RasaUnavailable(
                        f"Rasa at {self.server_for(sender)} answered with something not JSON"
                    ) from None
        except asyncio.TimeoutError:
            raise RasaUnavailable(
                f"Rasa at {self.server_for(sender)} did not answer within {self.timeout:g}s"
            ) from None
        except aiohttp.ClientError as exc:
            raise RasaUnavailable(
                f"Rasa at {self.server_for(sender)} unreachable: {type(exc).__name__}"
            ) from None
        if not isinstance(replies, list) or not all(isinstance(r, dict) for r in replies):
            raise RasaUnavailable(f"Rasa at {self.server_for(sender)} answered an unexpected shape")
        return replies

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def __aenter__(self) -> RasaClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
