"""How a page reaches a Safeguarding Lead: Telegram, a Microsoft Teams webhook, or the console.

A page carries NO child data. `PageMessage` is the only thing a transport ever sees, and it
is built from an explicit whitelist of fields (urgency, concern reference, category, the
worker's name and how to reach them, the escalation step, and an opaque acknowledgement
token). Nothing else exists on it to leak, so no transport can send a child's name or words.

Every transport's `send(message, address)` either returns (delivered to the service) or
raises `TransportError` with one plain line; the pager then retries with back-off and moves on
to the person's next transport, then to the next escalation step.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol, TextIO
from urllib.parse import urlsplit

from bot.config import settings
from bot.config.secrets import SecretError, secret

ACK_PREFIX = "ack:"


class TransportError(RuntimeError):
    """A page could not be handed to a service; the message is one plain line."""


@dataclass(frozen=True)
class PageMessage:
    """The whole content of a page, by construction. Add a field here only if it can never
    hold anything about the child."""

    page_id: int
    token: str
    urgency: str
    concern_ref: str
    category: str
    worker_name: str
    worker_contact: str
    step_label: str
    # Why a page that was already under way is being sent again: a fixed phrase and a time
    # ("danger reported again at 21:52"), never anything about the child (bot.paging.pager).
    update: str = ""
    # Sent straight through a transport, not from a page (bot.paging.watch: the pager itself
    # is down): no acknowledgement button, nothing to acknowledge.
    direct: bool = False

    @property
    def ack_data(self) -> str:
        """Telegram callback_data: an opaque id only (<= 64 bytes)."""
        return f"{ACK_PREFIX}{self.token}"

    @property
    def headline(self) -> str:
        if self.direct:
            return f"SAFEGUARD NOTICE - {self.urgency.upper()} - {self.concern_ref}"
        kind = "SAFEGUARDING PAGE - UPDATE" if self.update else "SAFEGUARDING PAGE"
        return f"{kind} - {self.urgency.upper()} - concern {self.concern_ref}"

    def lines(self) -> list[str]:
        if self.direct:
            return [
                self.headline,
                self.worker_name,
                f"Look: {self.worker_contact}",
                f"Sent as: {self.step_label}. There is nothing to acknowledge.",
                "No details about any child are in this notice.",
            ]
        out = [self.headline]
        if self.update:
            out.append(f"Update: {self.update}.")
        if self.urgency == "immediate":
            out.append("A child may be in danger now. Call the worker back immediately.")
        out += [
            f"Category: {self.category}",
            f"Worker: {self.worker_name} - call back on {self.worker_contact}",
            f"Paged as: {self.step_label}",
            f"Acknowledge: press the button, or run `safeguard pager ack {self.page_id}`",
            "No details about the child are sent by page; call the worker back.",
        ]
        return out

    def text(self) -> str:
        return "\n".join(self.lines())


class Transport(Protocol):
    name: str

    def send(self, message: PageMessage, address: str) -> None:
        """Hand the page to the service for `address`, or raise TransportError."""


# --------------------------------------------------------------------------- console


class ConsoleTransport:
    """The embedded default: prints the page (e.g. to the terminal running the pager)."""

    name = "console"

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def send(self, message: PageMessage, address: str) -> None:
        stream = self.stream or sys.stdout
        bar = "=" * 64
        try:
            print(f"{bar}\nPAGE for {address}\n{message.text()}\n{bar}", file=stream, flush=True)
        except (OSError, ValueError) as exc:
            raise TransportError(f"console: cannot print the page ({exc})") from None


# --------------------------------------------------------------------------- Teams


def card_value(text: str, limit: int = 120) -> str:
    """One field of a card as inert text: one line, bounded, and no Markdown link syntax (a
    worker's display name or a chat id comes from outside and must not put a link in front
    of a Safeguarding Lead)."""
    flat = " ".join(str(text).split()).replace("[", "(").replace("]", ")")
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def adaptive_card(message: PageMessage) -> dict[str, Any]:
    """A Workflows-webhook payload holding an Adaptive Card built from the whitelist only."""
    facts = [
        *([{"title": "Update", "value": card_value(message.update)}] if message.update else []),
        {"title": "Urgency", "value": card_value(message.urgency.upper())},
        {"title": "Concern ref", "value": card_value(message.concern_ref)},
        {"title": "Category", "value": card_value(message.category)},
        {
            "title": "What" if message.direct else "Worker",
            "value": card_value(message.worker_name, 200 if message.direct else 120),
        },
        {
            "title": "Look" if message.direct else "Call back on",
            "value": card_value(message.worker_contact),
        },
        {"title": "Paged as", "value": card_value(message.step_label)},
    ]
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [
                        {
                            "type": "TextBlock",
                            "text": card_value(message.headline, 200),
                            "weight": "Bolder",
                            "size": "Medium",
                            "wrap": True,
                            "color": "Attention" if message.urgency == "immediate" else "Default",
                        },
                        {"type": "FactSet", "facts": facts},
                        {
                            "type": "TextBlock",
                            "wrap": True,
                            "text": (
                                "A direct notice: there is nothing to acknowledge. No details "
                                "about any child are in it."
                                if message.direct
                                else "No details about the child are sent by page; call the "
                                "worker back. Acknowledge with `safeguard pager ack "
                                f"{message.page_id}` or the Telegram button."
                            ),
                        },
                    ],
                    "msteams": {"width": "Full"},
                },
            }
        ],
    }


class TeamsTransport:
    """Microsoft Teams via a Workflows incoming webhook: one-way HTTP POST of a card."""

    name = "teams"

    def __init__(self, timeout: float = 10.0) -> None:
        self.timeout = timeout

    def send(self, message: PageMessage, address: str) -> None:
        import httpx  # heavy: imported on first use, not at start-up

        # The webhook URL carries its own secret (sig=...): never shown in an error, and only
        # ever sent over HTTPS (plain http is allowed to this machine only, for tests).
        parts = urlsplit(address or "")
        if parts.scheme != "https" and not (
            parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")
        ):
            raise TransportError("teams: the webhook address is not an https:// URL")
        try:
            response = httpx.post(address, json=adaptive_card(message), timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise TransportError(f"teams: webhook unreachable ({type(exc).__name__})") from None
        if response.status_code >= 300:
            raise TransportError(f"teams: webhook answered HTTP {response.status_code}")


# --------------------------------------------------------------------------- Telegram


class TelegramTransport:
    """Telegram via python-telegram-bot 22 (async), run on a private event loop thread so the
    synchronous pager can call it from any thread, inside or outside an asyncio app."""

    name = "telegram"

    def __init__(self, token: str, base_url: str | None = None, timeout: float = 15.0) -> None:
        if not token:
            raise TransportError("telegram: no bot token set (TELEGRAM_BOT_TOKEN)")
        self.token = token
        self.base_url = base_url
        self.timeout = timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._bot: Any = None
        self._lock = threading.Lock()

    # The event loop and Bot are created lazily and live until close().
    def _run(self, factory: Callable[[Any], Coroutine[Any, Any, Any]]) -> Any:
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(
                    target=self._loop.run_forever, name="telegram-transport", daemon=True
                )
                self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._call(factory), self._loop)
        return future.result(timeout=self.timeout * 2)

    async def _call(self, factory: Callable[[Any], Coroutine[Any, Any, Any]]) -> Any:
        if self._bot is None:
            from telegram import Bot  # heavy: imported on first use, not at start-up
            from telegram.request import (  # heavy: imported on first use, not at start-up
                HTTPXRequest,  # heavy: imported on first use, not at start-up
            )

            kwargs: dict[str, Any] = {
                "request": HTTPXRequest(
                    connect_timeout=self.timeout,
                    read_timeout=self.timeout,
                    write_timeout=self.timeout,
                )
            }
            if self.base_url:
                kwargs["base_url"] = self.base_url
            bot = Bot(self.token, **kwargs)
            await bot.initialize()
            self._bot = bot
        return await factory(self._bot)

    def send(self, message: PageMessage, address: str) -> None:
        from telegram import (  # heavy: imported on first use, not at start-up
            InlineKeyboardButton,
            InlineKeyboardMarkup,
        )
        from telegram.error import TelegramError  # heavy: imported on first use, not at start-up

        markup = InlineKeyboardMarkup(
            [[InlineKeyboardButton("Acknowledge", callback_data=message.ack_data)]]
        )
        try:
            self._run(
                lambda bot: bot.send_message(
                    chat_id=int(address),
                    text=message.text(),
                    reply_markup=None if message.direct else markup,
                )
            )
        except TelegramError as exc:
            raise TransportError(f"telegram: {type(exc).__name__}: {self._clean(exc)}") from None
        except (OSError, TimeoutError, ValueError) as exc:
            raise TransportError(f"telegram: {type(exc).__name__}") from None

    def _clean(self, exc: BaseException) -> str:
        """An error line with the bot token blanked out (it must never reach the database)."""
        return " ".join(str(exc).replace(self.token, "<token>").split())[:200]

    def answer_callback(self, callback_query_id: str, text: str) -> None:
        from telegram.error import TelegramError  # heavy: imported on first use, not at start-up

        try:
            self._run(
                lambda bot: bot.answer_callback_query(
                    callback_query_id=callback_query_id, text=text
                )
            )
        except TelegramError as exc:
            raise TransportError(f"telegram: {type(exc).__name__}: {self._clean(exc)}") from None

    def close(self) -> None:
        with self._lock:
            loop, thread, bot = self._loop, self._thread, self._bot
            self._loop = self._thread = self._bot = None
        if loop is None:
            return
        if bot is not None:
            try:
                asyncio.run_coroutine_threadsafe(bot.shutdown(), loop).result(timeout=self.timeout)
            except Exception:  # noqa: BLE001 - closing must never fail the caller
                pass
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(timeout=self.timeout)
        loop.close()


def token_from_callback(data: str | None) -> str | None:
    """The opaque page token from a button's callback_data, or None if it is not ours."""
    if not data or not data.startswith(ACK_PREFIX):
        return None
    return data[len(ACK_PREFIX) :] or None


def default_transports(stream: TextIO | None = None) -> dict[str, Transport]:
    """Transports configured from the environment; the console is always there.

    TELEGRAM_BOT_TOKEN            enables Telegram (or TELEGRAM_BOT_TOKEN_FILE, a chmod 600
                                  file; SAFEGUARD_TELEGRAM_TOKEN also accepted)
    TELEGRAM_BASE_URL             another Bot API server, e.g. a local one or a test fake
    SAFEGUARD_TEAMS_DISABLED=1    turns Teams webhooks off (on by default; URLs are per person)
    """

    config = settings.current()
    out: dict[str, Transport] = {"console": ConsoleTransport(stream)}
    # The token from the environment or TELEGRAM_BOT_TOKEN_FILE (a chmod 600 file).
    try:
        token = secret("TELEGRAM_BOT_TOKEN") or config.text("SAFEGUARD_TELEGRAM_TOKEN")
    except SecretError as exc:
        raise TransportError(f"telegram: {exc}") from None
    if token:
        base = config.telegram_base_url or config.old_telegram_base_url or None
        out["telegram"] = TelegramTransport(token, base_url=base)
    if not config.teams_disabled:
        out["teams"] = TeamsTransport()
    return out
