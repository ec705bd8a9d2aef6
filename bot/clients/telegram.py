"""The Telegram gateway: staff chat with the assistant on Telegram, through Rasa.

Long polling by default (`getUpdates`: no public URL needed), or a webhook with Telegram's
`secret_token` checked on every request. Every update goes through `handle_update`:

* Only private chats. In a group, other members would see a disclosure (principle 5), so
  the gateway says it only works one to one and passes nothing on.
* Only staff (`bot.records.access`: the roster, plus staff approved in chat). A stranger gets the
  public NSPCC helpline and 999, nothing of the organisation's, and their words go nowhere;
  their /start becomes an access request the leads and admins are told about once, with
  Approve / Refuse buttons.
* A staff message goes to Rasa (`RasaClient`, sticky by sender) as sender = the Telegram user
  id, which `actions.context.worker_from` resolves to the person and their role. Rasa's
  replies come back split to fit, with buttons as an inline keyboard; a press sends the
  button's payload to Rasa and answers the callback query.
* If Rasa is unreachable, times out or errors, the worker still gets the floor reply
  (999 first, then the lead's and out-of-hours numbers), and on danger now the gateway
  raises the alarm itself (`bot.failsafe.fallback`).
* Page Acknowledge presses go to `Pager.handle_ack_callback`. Worker notices (the lead was
  paged, escalated, acknowledged) are pushed to the chat of the worker who raised the concern.
* Leads' commands (/open, /ack, /rota, /staff, /approve, /refuse, /addstaff, /removestaff)
  are refused to workers.

Flood control (`RetryAfter`) is waited out and the message resent. A Telegram outage never
stops the gateway: polling backs off (doubling, capped) and logs one line when the outage
starts and one when it ends. Message text is never logged.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.clients.rasa_client import RasaClient, RasaUnavailable
from bot.clients.telegram_format import ButtonPayloads, outgoing, split_text, tap_to_call
from bot.core import clock, rota
from bot.core.limits import RateLimiter, too_long
from bot.core.pack import load_pack
from bot.core.replies import too_fast
from bot.core.replies import too_long as too_long_reply
from bot.failsafe.fallback import DANGER_FIRST, emergency_lines, floor_reply, is_danger_now
from bot.paging.models import PagerError
from bot.paging.transports import TransportError, token_from_callback
from bot.records.access import AccessError, Identity, StaffDirectory
from bot.records.audit import AuditTrail
from bot.records.concern_access import actor_for_chat
from bot.records.concern_log import ConcernRecord

logger = logging.getLogger("safeguard.telegram")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ["message", "callback_query"]
ACCESS_PREFIX = "acc:"
SEND_TRIES = 4
MAX_RETRY_AFTER = 300.0

LEAD_COMMANDS = {"open", "ack", "rota", "staff"}
APPROVER_COMMANDS = {"approve", "refuse", "addstaff", "removestaff"}
_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@[A-Za-z0-9_]+)?(?:\s+(.*))?$", re.S)

GROUP_REFUSAL = (
    "I only work in a private one-to-one chat, so that nothing about a child is seen by "
    "anyone else here. Please message me directly. If a child is in danger right now, call 999."
)
NOT_TEXT = (
    "I can only read typed text messages. Please type it out. "
    "If a child is in danger right now, call 999."
)
FAILED = (
    "Sorry, something went wrong on my side and I could not deal with that. "
    "If a child is in danger right now, call 999. Then tell your Safeguarding Lead directly, "
    "in person or by phone, and try me again in a few minutes."
)
REFUSED_TO_WORKER = "That command is for Safeguarding Leads only."
NOT_APPROVER = "Only a Safeguarding Lead or an admin can change who has access."


def public_helpline() -> str:
    """The public NSPCC helpline from the generic pack (with its seed source), or ""."""
    try:

        for contact in load_pack("generic").contacts:
            if "nspcc_helpline" in contact.purposes and contact.number:
                hours = " (free, 24 hours)" if contact.available == "always" else ""
                email = f", or email {contact.email}" if contact.email else ""
                return f"the {contact.name}{hours}: {contact.number}{email}"
    except Exception as exc:  # noqa: BLE001 - the 999 line is given regardless
        logger.error("public helpline unavailable: %s", type(exc).__name__)
    return ""


def stranger_text(pending: bool = False, refused: bool = False) -> str:
    """All a non-member ever sees: nothing of the organisation's, only public numbers."""
    helpline = public_helpline()
    worried = f"If you are worried about a child, call {helpline}.\n" if helpline else ""
    if refused:
        head = "Your request to use this assistant was not approved."
        tail = "If you work with us, talk to your Safeguarding Lead."
    elif pending:
        head = "Your request to use this assistant is waiting for a Safeguarding Lead."
        tail = "You will get a message here when it has been decided."
    else:
        head = "Sorry, this assistant is only for approved staff and volunteers."
        tail = "If you work with us, send /start to ask a Safeguarding Lead for access."
    return f"{head}\nIf a child is in danger right now, call 999.\n{worried}{tail}"


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


@dataclass
class GatewaySettings:
    poll_timeout: int = 25
    backoff_initial: float = 1.0
    backoff_cap: float = 60.0
    notices_interval: float = 5.0
    # Danger now and Rasa has not answered within this many seconds: send the 999 line and
    # the lead's numbers at once, then Rasa's reply (or the fallback) when it comes.
    danger_grace: float = 3.0


class _CallbackAnswers:
    """Stands in for the pager's Telegram transport inside the gateway: the pager decides
    what an Acknowledge press is answered with, the gateway's own bot sends it."""

    name = "telegram"

    def __init__(self) -> None:
        self.answers: dict[str, str] = {}

    def send(self, message: Any, address: str) -> None:

        raise TransportError("telegram: the gateway does not send pages (the pager does)")

    def answer_callback(self, callback_query_id: str, text: str) -> None:
        self.answers[str(callback_query_id)] = text


class TelegramGateway:
    """One bot, one Rasa client, the staff directory and (optionally) the pager."""

    def __init__(
        self,
        bot: Any,
        rasa: RasaClient,
        directory: StaffDirectory,
        pager: Any = None,
        *,
        settings: GatewaySettings | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.bot = bot
        self.rasa = rasa
        self.directory = directory
        self.pager = pager
        self.settings = settings or GatewaySettings()
        self.sleep = sleep
        self.payloads = ButtonPayloads()
        self.ack_answers = _CallbackAnswers()
        if pager is not None:
            pager.transports["telegram"] = self.ack_answers
        self._chat_locks: dict[int, asyncio.Lock] = {}
        self._seen_updates: OrderedDict[int, None] = OrderedDict()
        self._skipped_notices: set[int] = set()
        self.outage_started = False

        # Per Telegram user: a flood from one account cannot starve the others of Rasa.
        self.limiter = RateLimiter()

    async def _over_limit(self, identity: Identity, chat_id: int, text: str) -> bool:
        """True (and the worker told, with 999 and the numbers) when this sender is over the
        rate limit. A message that reads as danger is never held back."""
        if self.limiter.allow(identity.sender_id):
            return False
        if await asyncio.to_thread(is_danger_now, text):
            return False

        logger.warning("telegram: a sender is over the rate limit; message not read")
        await self.send(chat_id, tap_to_call(too_fast()))
        return True

    # ------------------------------------------------------------------ sending

    async def send(self, chat_id: int, text: str, markup: Any = None) -> bool:
        """Send `text` (split to fit) to a chat; True if every part was delivered."""
        parts = split_text(text)
        ok = True
        for n, part in enumerate(parts):
            ok &= await self._send_one(chat_id, part, markup if n == len(parts) - 1 else None)
        return ok

    async def _send_one(self, chat_id: int, text: str, markup: Any = None) -> bool:
        from telegram import LinkPreviewOptions  # heavy: imported on first use, not at start-up
        from telegram.error import (  # heavy: imported on first use, not at start-up
            BadRequest,
            Forbidden,
            NetworkError,
            RetryAfter,
            TelegramError,
        )

        delay = self.settings.backoff_initial
        for attempt in range(1, SEND_TRIES + 1):
            try:
                await self.bot.send_message(
                    chat_id=chat_id,
                    text=text,
                    reply_markup=markup,
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                )
                return True
            except RetryAfter as exc:
                # Flood control: wait as long as Telegram asks, then send the same message.
                wait = min(_seconds(exc.retry_after), MAX_RETRY_AFTER)
                logger.warning("telegram: flood control, resending in %gs", wait)
                await self.sleep(wait)
            except (Forbidden, BadRequest) as exc:
                logger.error(
                    "telegram: message to chat %s refused: %s", chat_id, type(exc).__name__
                )
                return False
            except NetworkError as exc:
                if attempt == SEND_TRIES:
                    logger.error(
                        "telegram: message to chat %s not delivered: %s",
                        chat_id,
                        type(exc).__name__,
                    )
                    return False
                await self.sleep(delay)
                delay = min(delay * 2, self.settings.backoff_cap)
            except TelegramError as exc:
                logger.error("telegram: message to chat %s failed: %s", chat_id, type(exc).__name__)
                return False
        logger.error("telegram: message to chat %s not delivered (flood control)", chat_id)
        return False

    async def answer(self, query_id: str, text: str | None = None) -> None:
        from telegram.error import (  # heavy: imported on first use, not at start-up
            RetryAfter,
            TelegramError,
        )

        for _ in range(2):
            try:
                await self.bot.answer_callback_query(
                    callback_query_id=query_id, text=(text or None) and text[:200]
                )
                return
            except RetryAfter as exc:
                await self.sleep(min(_seconds(exc.retry_after), MAX_RETRY_AFTER))
            except TelegramError as exc:
                # An old query (>15 min) cannot be answered; the press itself was handled.
                logger.warning("telegram: could not answer a button press: %s", type(exc).__name__)
                return

    # ------------------------------------------------------------------ updates

    async def handle_update(self, update: Any) -> None:
        """Handle one Update (a telegram.Update or its JSON dict). Never raises."""
        from telegram import Update  # heavy: imported on first use, not at start-up

        try:
            if isinstance(update, dict):
                update = Update.de_json(update, self.bot)
            if update.update_id in self._seen_updates:
                return  # a webhook redelivery
            self._seen_updates[update.update_id] = None
            while len(self._seen_updates) > 1000:
                self._seen_updates.popitem(last=False)
            chat = update.effective_chat
            chat_id = chat.id if chat is not None else 0
            async with self._lock_for(chat_id):
                if update.callback_query is not None:
                    await self._on_press(update)
                elif update.message is not None:
                    await self._on_message(update.message)
        except Exception as exc:  # noqa: BLE001 - one bad update must not stop the gateway
            logger.error("telegram: an update failed: %s", type(exc).__name__)
            await self._say_failed(update)

    async def _say_failed(self, update: Any) -> None:
        """Nobody is left without an answer: a plain line with 999 (nothing of the
        organisation's, as the sender may not have been identified)."""
        try:
            chat = update.effective_chat
            if chat is None or chat.type != "private":
                return
            if update.callback_query is not None:
                await self.answer(update.callback_query.id, "Sorry, that did not work.")
            await self.send(chat.id, FAILED)
        except Exception as exc:  # noqa: BLE001
            logger.error("telegram: could not say that an update failed: %s", type(exc).__name__)

    def _lock_for(self, chat_id: int) -> asyncio.Lock:
        lock = self._chat_locks.get(chat_id)
        if lock is None:
            lock = self._chat_locks[chat_id] = asyncio.Lock()
        if len(self._chat_locks) > 2000:  # forget idle chats
            for key in [k for k, v in self._chat_locks.items() if not v.locked()][:1000]:
                if key != chat_id:
                    self._chat_locks.pop(key, None)
        return lock

    async def _identify(self, user_id: int) -> Identity | None:
        return await asyncio.to_thread(self.directory.identify, user_id)

    async def _on_message(self, message: Any) -> None:
        chat, user = message.chat, message.from_user
        if user is None or user.is_bot:
            return
        if chat.type != "private":
            await self.send(chat.id, GROUP_REFUSAL)
            return
        text = message.text
        identity = await self._identify(user.id)
        command = _COMMAND.match(text.strip()) if text else None
        if identity is None:
            await self._stranger(message, command)
            return
        if text is None:
            await self.send(chat.id, NOT_TEXT)
            return

        if too_long(text):
            await self.send(chat.id, too_long_reply(len(text)))
            return
        if await self._over_limit(identity, chat.id, text):
            return
        if command:
            await self._command(identity, chat.id, command[1].lower(), (command[2] or "").strip())
            return
        await self.relay(identity, chat.id, text)

    async def _on_press(self, update: Any) -> None:

        query = update.callback_query
        data = query.data or ""
        chat_id = query.message.chat.id if query.message is not None else query.from_user.id
        identity = await self._identify(query.from_user.id)
        if identity is None:
            await self.answer(query.id, "Only approved staff can use this assistant.")
            return
        if token_from_callback(data) is not None:
            await self._ack_press(update, identity)
            return
        if data.startswith(ACCESS_PREFIX):
            await self._access_press(query, identity, chat_id, data)
            return
        payload = self.payloads.payload_for(data)
        if payload is None:
            await self.answer(query.id, "That button has expired. Please type your answer.")
            return
        await self.answer(query.id)
        if await self._over_limit(identity, chat_id, payload):
            return
        await self.relay(identity, chat_id, payload)

    # ------------------------------------------------------------------ Rasa

    async def relay(self, identity: Identity, chat_id: int, text: str) -> None:
        """Send the worker's text (or a button payload) to Rasa and the replies back.

        A message that reads as danger now never waits on a slow Rasa for the 999 line:
        after `danger_grace` seconds it is sent on its own (Rasa's reply follows).
        """
        asking = asyncio.create_task(
            self.rasa.send(identity.sender_id, text, metadata={"channel": "telegram"})
        )
        early = False
        if await asyncio.to_thread(is_danger_now, text):
            done, _ = await asyncio.wait({asking}, timeout=self.settings.danger_grace)
            if not done:
                early = await self.send(chat_id, tap_to_call(emergency_lines()))
        try:
            replies = await asking
        except RasaUnavailable as exc:
            logger.error("telegram: Rasa unavailable, floor reply sent: %s", exc)
            reply = await floor_reply(identity.worker(), text)
            body = reply.text
            if early and body.startswith(DANGER_FIRST):  # 999 was said: say it once
                body = body[len(DANGER_FIRST) :].strip() or body
            await self.send(chat_id, tap_to_call(body))
            return
        if early:  # the 999 line was sent already: Rasa's own copy of it is not repeated
            replies = [r for r in replies if str(r.get("text") or "").strip() != DANGER_FIRST]
        messages = outgoing(replies, self.payloads)
        if not messages:
            await self.send(
                chat_id, f"I have no answer to that. {DANGER_FIRST} Otherwise, try rephrasing."
            )
            return
        for part, markup in messages:
            await self._send_one(chat_id, part, markup)

    # ------------------------------------------------------------------ strangers

    async def _stranger(self, message: Any, command: re.Match[str] | None) -> None:
        user, chat_id = message.from_user, message.chat.id
        if not (command and command[1].lower() == "start"):
            state = await asyncio.to_thread(self._request_state, user.id)
            await self.send(
                chat_id,
                tap_to_call(stranger_text(pending=state == "pending", refused=state == "refused")),
            )
            return
        name = " ".join(x for x in (user.first_name, user.last_name) if x)
        try:
            request, new = await asyncio.to_thread(
                self.directory.request_access, user.id, chat_id, name, user.username
            )
        except AccessError as exc:
            logger.error("telegram: access request not recorded: %s", exc)
            request, new = None, False
        if request is None:
            await self.send(chat_id, tap_to_call(stranger_text()))
            return
        await self.send(
            chat_id,
            tap_to_call(
                stranger_text(
                    pending=request.status == "pending", refused=request.status == "refused"
                )
            ),
        )
        if new:
            await self._tell_approvers(request)

    def _request_state(self, user_id: int) -> str | None:
        for request in self.directory.pending():
            if request.telegram_user_id == user_id:
                return "pending"
        return None

    async def _tell_approvers(self, request: Any) -> None:
        from telegram import (  # heavy: imported on first use, not at start-up
            InlineKeyboardButton,
            InlineKeyboardMarkup,
        )

        text = (
            f"Access request #{request.id}: {request.who} asks to use the safeguarding "
            "assistant. Only approve someone you know works with us.\n"
            f"Approve: /approve {request.id} (or /approve {request.id} lead)\n"
            f"Refuse: /refuse {request.id}"
        )
        markup = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        "Approve as worker", callback_data=f"{ACCESS_PREFIX}a:{request.id}"
                    ),
                    InlineKeyboardButton("Refuse", callback_data=f"{ACCESS_PREFIX}r:{request.id}"),
                ]
            ]
        )
        approvers = await asyncio.to_thread(self.directory.approvers)
        if not approvers:
            logger.error("telegram: access request #%s: no lead or admin to tell", request.id)
        for person in approvers:
            await self._send_one(person.telegram_user_id, text, markup)

    # ------------------------------------------------------------------ commands

    async def _command(self, identity: Identity, chat_id: int, name: str, args: str) -> None:
        if name in ("start", "hello"):
            await self.relay(identity, chat_id, "/greet")
            return
        if name == "help":
            await self.send(chat_id, self._help(identity))
            return
        if name in LEAD_COMMANDS and not identity.is_lead:
            await self._audit_refusal(identity, f"chat command /{name}")
            await self.send(chat_id, REFUSED_TO_WORKER)
            return
        if name in APPROVER_COMMANDS and not identity.can_approve:
            await self._audit_refusal(identity, f"chat command /{name}")
            await self.send(chat_id, NOT_APPROVER)
            return
        handler = getattr(self, f"_cmd_{name}", None)
        if handler is None or name not in LEAD_COMMANDS | APPROVER_COMMANDS:
            await self.send(chat_id, "I don't know that command. /help lists the ones I know.")
            return
        try:
            text = await handler(identity, chat_id, args)
        except AccessError as exc:
            text = str(exc)
        if text:
            await self.send(chat_id, text)

    def _help(self, identity: Identity) -> str:
        lines = [
            "Just type to me: tell me what the child said or what you saw, or ask a question "
            "about the safeguarding policy. If a child is in danger right now, call 999.",
            "/start - the main menu",
            "/help - this list",
        ]
        if identity.is_lead:
            lines += [
                "/open - open concerns",
                "/ack <page id> - acknowledge a page",
                "/rota - who is on call now",
                "/staff - who has access, and requests waiting",
            ]
        if identity.can_approve:
            lines += [
                "/approve <request> [worker|deputy|lead|admin] - give access",
                "/refuse <request> - refuse access",
                "/addstaff <telegram id> <role> <name> - add someone directly",
                "/removestaff <telegram id> - take access away",
            ]
        return "\n".join(lines)

    async def _cmd_open(self, identity: Identity, chat_id: int, args: str) -> str:
        await self.relay(identity, chat_id, "/list_open_concerns")
        return ""

    async def _cmd_ack(self, identity: Identity, chat_id: int, args: str) -> str:

        if not args.split():
            return "Which page? Use /ack <page id>, e.g. /ack 12 (the id is in the page)."
        if self.pager is None:
            return "Acknowledging is not available here: use safeguard pager ack <id>."
        try:
            result = await asyncio.to_thread(self.pager.acknowledge, args.split()[0], identity.name)
        except PagerError as exc:
            return str(exc)
        if result.already:
            return f"Page {result.page_id} was already acknowledged by {result.acknowledged_by}."
        return (
            f"Acknowledged page {result.page_id} (concern {result.concern_ref}). Call "
            f"{result.worker_name} back on {result.worker_contact}."
        )

    async def _cmd_rota(self, identity: Identity, chat_id: int, args: str) -> str:

        roster = await asyncio.to_thread(self.directory.roster)
        people = rota.on_call(roster, clock.now())
        if not people:
            return "NOBODY IS ON CALL in the rota right now. Fix the roster's shifts or overrides."
        lines = ["On call now:"]
        for person in people:
            phone = f": {person.phone}" if person.phone else ""
            lines.append(f"- {person.name} ({person.role}){phone}")
        return tap_to_call("\n".join(lines), [p.phone for p in people if p.phone])

    async def _cmd_staff(self, identity: Identity, chat_id: int, args: str) -> str:
        staff = await asyncio.to_thread(self.directory.staff)
        pending = await asyncio.to_thread(self.directory.pending)
        lines = [f"Staff with access ({len(staff)}):"]
        for person in staff:
            where = "roster" if person.source == "roster" else "approved in chat"
            lines.append(
                f"- {person.name} ({person.role}, {where}), Telegram id {person.telegram_user_id}"
            )
        if pending:
            lines.append(f"\nWaiting for a decision ({len(pending)}):")
            lines += [f"- #{r.id}: {r.who}" for r in pending]
        return "\n".join(lines)

    async def _cmd_approve(self, identity: Identity, chat_id: int, args: str) -> str:
        parts = args.split()
        if not parts or not parts[0].lstrip("#").isdigit():
            return "Which request? Use /approve <request number> [worker|deputy|lead|admin]."
        role = parts[1] if len(parts) > 1 else "worker"
        return await self._decide(identity, int(parts[0].lstrip("#")), approve=True, role=role)

    async def _cmd_refuse(self, identity: Identity, chat_id: int, args: str) -> str:
        parts = args.split()
        if not parts or not parts[0].lstrip("#").isdigit():
            return "Which request? Use /refuse <request number>."
        return await self._decide(identity, int(parts[0].lstrip("#")), approve=False)

    async def _decide(
        self, identity: Identity, request_id: int, *, approve: bool, role: str = "worker"
    ) -> str:
        if approve:
            request = await asyncio.to_thread(self.directory.approve, request_id, identity, role)
            await self.send(
                request.chat_id,
                f"You now have access to the safeguarding assistant ({request.role}). "
                "Say hello, or send /start, to begin.",
            )
            return f"Approved #{request.id}: {request.who} now has access as {request.role}."
        request = await asyncio.to_thread(self.directory.refuse, request_id, identity)
        await self.send(request.chat_id, tap_to_call(stranger_text(refused=True)))
        return f"Refused #{request.id}: {request.who}."

    async def _cmd_addstaff(self, identity: Identity, chat_id: int, args: str) -> str:
        parts = args.split(maxsplit=2)
        if len(parts) < 3 or not parts[0].isdigit():
            return (
                "Use /addstaff <telegram id> <role> <name>, e.g. /addstaff 123456789 worker "
                "Kim Lee. (They can find their id by sending me /start.)"
            )
        person = await asyncio.to_thread(
            self.directory.add_staff, int(parts[0]), parts[2], parts[1], identity
        )
        await self.send(
            person.telegram_user_id,
            f"You now have access to the safeguarding assistant ({person.role}). "
            "Say hello, or send /start, to begin.",
        )
        return f"Added {person.name} ({person.role}), Telegram id {person.telegram_user_id}."

    async def _cmd_removestaff(self, identity: Identity, chat_id: int, args: str) -> str:
        parts = args.split()
        if not parts or not parts[0].isdigit():
            return "Use /removestaff <telegram id> (see /staff)."
        person = await asyncio.to_thread(self.directory.remove_staff, int(parts[0]), identity)
        return f"Removed {person.name}: they no longer have access."

    # ------------------------------------------------------------------ presses

    async def _access_press(self, query: Any, identity: Identity, chat_id: int, data: str) -> None:
        match = re.fullmatch(rf"{ACCESS_PREFIX}([ar]):(\d+)", data)
        if match is None:
            await self.answer(query.id, "That button has expired.")
            return
        if not identity.can_approve:
            await self.answer(query.id, NOT_APPROVER)
            return
        try:
            text = await self._decide(identity, int(match[2]), approve=match[1] == "a")
        except AccessError as exc:
            text = str(exc)
        await self.answer(query.id, text)
        await self.send(chat_id, text)

    async def _audit_refusal(self, identity: Identity, what: str) -> None:
        """A refused lead's action in the audit trail, beside the reads (never fails the
        refusal itself: a trail that cannot be written is logged)."""

        def record() -> None:

            trail = AuditTrail(engine=self.directory.engine, migrate=False)
            trail.record(actor_for_chat(identity.worker()), "refused", detail=what, reason="chat")

        try:
            await asyncio.to_thread(record)
        except Exception as exc:  # noqa: BLE001
            logger.error("telegram: a refusal could not be audited: %s", type(exc).__name__)

    async def _ack_press(self, update: Any, identity: Identity) -> None:
        query = update.callback_query
        if not identity.is_lead:
            # A page's button reaches only the leads it was sent to; a forwarded one must
            # not let anyone else acknowledge it (and so stop its escalation).
            await self._audit_refusal(identity, "acknowledge a page")
            await self.answer(query.id, "Only a Safeguarding Lead can acknowledge a page.")
            return
        if self.pager is None:
            await self.answer(query.id, "Acknowledge with: safeguard pager ack <page id>")
            return
        result = await asyncio.to_thread(self.pager.handle_ack_callback, update.to_dict())
        text = self.ack_answers.answers.pop(str(query.id), None)
        if result is None and text is None:
            text = "This page is not known here."
        await self.answer(query.id, text)

    # ------------------------------------------------------------------ notices

    async def push_notices(self) -> int:
        """Send unseen worker notices to the Telegram chat of the worker who raised the
        concern; returns how many were sent. Notices for other channels are left alone."""
        if self.pager is None:
            return 0
        notices = await asyncio.to_thread(self.pager.notices)
        notices = [n for n in notices if n["id"] not in self._skipped_notices]
        if not notices:
            return 0
        refs = sorted({n["concern_ref"] for n in notices})
        owners = await asyncio.to_thread(self._concern_workers, refs)
        sent = 0
        for notice in notices:
            worker_id = owners.get(notice["concern_ref"], "")
            identity = await self._identify(int(worker_id)) if worker_id.isdigit() else None
            if identity is None:
                if len(self._skipped_notices) > 100_000:
                    self._skipped_notices.clear()
                self._skipped_notices.add(notice["id"])
                continue
            if await self.send(identity.telegram_user_id, tap_to_call(notice["text"])):
                await asyncio.to_thread(self.pager.mark_notices_shown, [notice["id"]])
                sent += 1
        return sent

    def _concern_workers(self, refs: list[str]) -> dict[str, str]:
        """concern reference -> worker_id (a plain column: nothing is decrypted)."""


        with self.directory.factory() as session:
            rows = session.execute(
                select(ConcernRecord.reference, ConcernRecord.worker_id).where(
                    ConcernRecord.reference.in_(refs)
                )
            )
            return {ref: str(worker) for ref, worker in rows}

    async def notices_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.push_notices()
            except Exception as exc:  # noqa: BLE001 - keep pushing after a bad pass
                logger.error("telegram: worker notices failed: %s", type(exc).__name__)
            await _wait(stop, self.settings.notices_interval)

    # ------------------------------------------------------------------ polling

    async def poll_once(self, offset: int | None) -> tuple[int | None, bool]:
        """One getUpdates call and the handling of what it brought.

        Returns (the next offset, whether Telegram answered). Updates are confirmed (by the
        next offset) only after they have been handled, so a crash loses none.
        """
        from telegram.error import (  # heavy: imported on first use, not at start-up
            RetryAfter,
            TelegramError,
        )

        try:
            updates = await self.bot.get_updates(
                offset=offset,
                timeout=self.settings.poll_timeout,
                allowed_updates=ALLOWED_UPDATES,
            )
        except RetryAfter as exc:
            await self.sleep(min(_seconds(exc.retry_after), MAX_RETRY_AFTER))
            return offset, True
        except TelegramError as exc:
            if not self.outage_started:
                self.outage_started = True
                logger.warning(
                    "telegram: cannot get updates (%s); retrying with back-off until it is back",
                    type(exc).__name__,
                )
            return offset, False
        if self.outage_started:
            self.outage_started = False
            logger.warning("telegram: getting updates again; the outage is over")
        if updates:
            by_chat: dict[int, list[Any]] = {}
            for update in updates:
                chat = update.effective_chat
                by_chat.setdefault(chat.id if chat else 0, []).append(update)

            async def in_order(items: list[Any]) -> None:
                for item in items:
                    await self.handle_update(item)

            await asyncio.gather(*(in_order(items) for items in by_chat.values()))
            offset = max(u.update_id for u in updates) + 1
        return offset, True

    async def poll_forever(self, stop: asyncio.Event) -> None:
        """Long-poll until `stop` is set; an outage backs off (doubling, capped)."""
        from telegram.error import TelegramError  # heavy: imported on first use, not at start-up

        try:
            await self.bot.delete_webhook(drop_pending_updates=False)
        except TelegramError as exc:
            logger.warning("telegram: could not clear a webhook: %s", type(exc).__name__)
        offset: int | None = None
        delay = self.settings.backoff_initial
        while not stop.is_set():
            offset, ok = await self.poll_once(offset)
            if ok:
                delay = self.settings.backoff_initial
                continue
            await _wait(stop, delay)
            delay = min(delay * 2, self.settings.backoff_cap)

    # ------------------------------------------------------------------ webhook

    def webhook_app(self, secret_token: str, path: str = "/telegram") -> Any:
        """An aiohttp app taking Telegram's POSTs at `path`; a wrong or missing secret is
        refused (403) and nothing in the request is read or handled."""
        from aiohttp import web  # heavy: imported on first use, not at start-up

        if not secret_token:
            raise ValueError("webhook mode needs a secret token")
        expected = secret_token.encode()

        async def receive(request: web.Request) -> web.Response:
            given = request.headers.get(SECRET_HEADER, "").encode()
            if not hmac.compare_digest(given, expected):
                logger.warning("telegram: webhook request with a wrong or missing secret refused")
                return web.Response(status=403, text="forbidden")
            try:
                data = json.loads(await request.read())
            except ValueError:
                return web.Response(status=400, text="not JSON")
            if not isinstance(data, dict) or "update_id" not in data:
                return web.Response(status=400, text="not an update")
            await self.handle_update(data)
            return web.Response(status=200, text="ok")

        # A Telegram update is a few KB: a larger body is not Telegram's.
        app = web.Application(client_max_size=256 * 1024)
        app.router.add_post(path, receive)
        return app


def new_webhook_secret() -> str:
    """A secret_token Telegram accepts (1-256 of A-Z a-z 0-9 _ -)."""
    return secrets.token_urlsafe(48)


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=max(seconds, 0.0))
    except asyncio.TimeoutError:
        pass
