"""Microsoft Teams: the worker chat through the Bot Framework, made safe for this service.

Rasa 3.6's own `botframework` channel (rasa/core/channels/botframework.py) works, but:

* it fetches Microsoft's signing keys with blocking `requests` in its constructor (Rasa will
  not start when login.botframework.com is unreachable) and posts every reply with blocking
  `requests` inside the event loop, so one slow Microsoft call stalls every conversation;
* it checks the token's signature and audience only: not the issuer, not the `serviceurl`
  claim against the Activity (so a token for one conversation service could be replayed
  with another serviceUrl), not the key's channel endorsements, and it accepts whatever
  algorithm the token's own header names;
* it answers the webhook only after Rasa has finished (Teams gives up after 15 seconds and
  sends the message again: a duplicate disclosure), and it logs raw service responses;
* it passes Rasa's buttons to Teams unchanged ({"title", "payload"}), which Teams does not
  show as buttons, and it always asks for the multi-tenant token endpoint.

`TeamsInput` (credentials key ``bot.rasa.channels.teams.TeamsInput``; webhook
``/webhooks/botframework/webhook``) keeps Rasa's Activity handling and fixes those:
tokens are verified in full (RS256 only, issuer, audience = app id, expiry with Microsoft's
5-minute leeway on `bot.core.clock`, serviceurl claim, endorsement of the channel), the webhook is
acknowledged at once and the message processed in the background, one at a time per
conversation, with Teams' redelivered Activities ignored; every message goes through
`bot.failsafe.safety.SafetyNet`, the fail-safe shared with the REST channel (danger gets
"call 999" first, the Safeguarding Lead's numbers and a page whatever fails; a message that
fails or takes too long still gets a plain answer with 999); over-long messages are refused
with `bot.core.replies.too_long` before Rasa sees them; buttons
become a hero card of messageBack actions; only a personal (1:1) chat is talked to (in a team
channel or group chat everyone would read the disclosure, so the worker is told to open a
private chat and nothing typed there reaches Rasa); text is sent as plain text (a child's
words are not reinterpreted as Markdown); a single-tenant bot asks its own tenant for tokens
and refuses Activities from other tenants. Nothing here ever logs a message's text.

Settings (credentials.yml, see deploy/credentials.teams.example.yml):

app_id          the Azure bot's Microsoft App ID (or env TEAMS_APP_ID)
app_password    its client secret; better left out and given as env TEAMS_APP_PASSWORD or
                TEAMS_APP_PASSWORD_FILE (a chmod 600 file), read through `bot.config.secrets`
tenant_id       the Microsoft Entra tenant (single-tenant bots; or env TEAMS_TENANT_ID):
                tokens come from that tenant and other tenants' Activities are refused
reply_within_seconds    seconds before a worker still waiting gets the plain fallback (999
                and the numbers) while Rasa finishes (bot.failsafe.safety's default)

For tests only, two environment variables point Microsoft's endpoints at loopback fakes;
they are refused unless they name 127.0.0.1/localhost:

SAFEGUARD_TEAMS_TEST_OPENID_URL  the OpenID configuration (whose jwks_uri lists the keys)
SAFEGUARD_TEAMS_TEST_TOKEN_URL   the OAuth2 token endpoint
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import jwt
from jwt.algorithms import RSAAlgorithm
from rasa.core.channels.botframework import BotFramework
from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.config import settings
from bot.config.secrets import secret
from bot.core import clock, limits, replies
from bot.failsafe import safety
from bot.rasa.channels.rest import limit_action_wait, rasa_classify, rasa_process
from bot.records.access import teams_sender

logger = logging.getLogger(__name__)

OPENID_URL = "https://login.botframework.com/v1/.well-known/openidconfiguration"
ISSUER = "https://api.botframework.com"
TOKEN_URL = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
MULTI_TENANT = "botframework.com"
SCOPE = "https://api.botframework.com/.default"
TEST_OPENID_ENV = "SAFEGUARD_TEAMS_TEST_OPENID_URL"
TEST_TOKEN_ENV = "SAFEGUARD_TEAMS_TEST_TOKEN_URL"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

CLOCK_SKEW_SECONDS = 300  # Microsoft's documented allowance for token times
KEY_REFRESH_SECONDS = 24 * 3600  # keys are re-read daily ...
UNKNOWN_KEY_REFRESH_SECONDS = 300  # ... and on an unknown key id, at most every 5 minutes
HTTP_TIMEOUT_SECONDS = 10.0
SEND_ATTEMPTS = 3
# Teams refuses an Activity over 40 KB counted as UTF-16; a paragraph longer than this many
# characters is sent in pieces (at line ends where possible).
MAX_ACTIVITY_CHARS = 15_000
SEEN_ACTIVITIES = 2_000
ALLOWED_CHANNELS = ("msteams",)

_AT_MENTION = re.compile(r"<at>[^<]{0,200}</at>\s*")
_BEARER = re.compile(r"Bearer\s+(\S+)\s*$")
_SURROGATE = re.compile("[\ud800-\udfff]")

PRIVATE_ONLY_REPLY = (
    "I only talk in a private chat, because what you tell me about a child must not be seen "
    "by everyone here. Open a 1:1 chat with me (select my name, then Chat) and tell me "
    "there. If a child is in danger right now, call 999."
)
WELCOME = (
    "Hello. I'm the safeguarding assistant. I can guide you through what a child has told "
    "you, help you write it down, and find who to tell. Type what happened, or 'help'.\n\n"
    "If a child is in danger right now, call 999 first."
)
UNREADABLE_REPLY = (
    "I can only read typed messages here. Please type what you need (pictures and files are "
    "not read or kept). If a child is in danger right now, call 999."
)


class TeamsConfigError(ValueError):
    """The Teams channel is configured wrongly (one plain line)."""


# --------------------------------------------------------------------------- settings


def _loopback_only(env_name: str) -> str | None:
    value = settings.current().text(env_name)
    if not value:
        return None
    host = urlsplit(value).hostname or ""
    if host not in LOOPBACK_HOSTS:
        raise TeamsConfigError(
            f"{env_name} is for tests and may only point at 127.0.0.1 or localhost, "
            f"not {host or value!r}"
        )
    return value


def openid_url() -> str:
    return _loopback_only(TEST_OPENID_ENV) or OPENID_URL


def token_url(tenant_id: str | None) -> str:
    return _loopback_only(TEST_TOKEN_ENV) or TOKEN_URL.format(tenant=tenant_id or MULTI_TENANT)


def _timeout() -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(total=HTTP_TIMEOUT_SECONDS)


# --------------------------------------------------------------------------- inbound auth


class Authenticator:
    """Checks the Bot Connector's bearer token on every incoming Activity."""

    def __init__(self, app_id: str, metadata_url: str | None = None) -> None:
        self.app_id = app_id
        self.metadata_url = metadata_url or openid_url()
        self._keys: dict[str, dict[str, Any]] = {}
        self._fetched_at: float | None = None  # time.monotonic() of the last good fetch
        self._last_try: float | None = None
        self._lock = asyncio.Lock()

    async def _fetch_keys(self) -> None:
        async with aiohttp.ClientSession(timeout=_timeout()) as session:
            async with session.get(self.metadata_url) as meta:
                meta.raise_for_status()
                jwks_uri = (await meta.json(content_type=None))["jwks_uri"]
            async with session.get(jwks_uri) as keys:
                keys.raise_for_status()
                listed = (await keys.json(content_type=None))["keys"]
        self._keys = {key["kid"]: key for key in listed if isinstance(key, dict) and "kid" in key}
        self._fetched_at = time.monotonic()

    async def _key(self, kid: str) -> dict[str, Any] | None:
        async with self._lock:
            now = time.monotonic()
            stale = self._fetched_at is None or now - self._fetched_at > KEY_REFRESH_SECONDS
            unknown = kid not in self._keys and (
                self._last_try is None or now - self._last_try > UNKNOWN_KEY_REFRESH_SECONDS
            )
            if stale or unknown:
                self._last_try = now
                try:
                    await self._fetch_keys()
                except (
                    aiohttp.ClientError,
                    asyncio.TimeoutError,
                    KeyError,
                    TypeError,
                    ValueError,
                ) as exc:
                    # Keep the keys we had: Microsoft's metadata being down for a moment must
                    # not lock every worker out.
                    logger.warning(
                        "Teams: cannot read Microsoft's signing keys (%s)", type(exc).__name__
                    )
            return self._keys.get(kid)

    async def problem(self, auth_header: str | None, activity: dict[str, Any]) -> str | None:
        """None when the request really comes from the Bot Connector for this bot; else why not."""
        if not auth_header:
            return "no Authorization header"
        match = _BEARER.match(auth_header.strip())
        if not match:
            return "no Bearer token"
        token = match.group(1)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return "malformed token"
        if header.get("alg") != "RS256":
            return "token not signed with RS256"
        kid = str(header.get("kid") or "")
        jwk = await self._key(kid)
        if jwk is None:
            return "token signed with an unknown key"
        endorsements = jwk.get("endorsements")
        channel_id = str(activity.get("channelId") or "")
        if isinstance(endorsements, list) and channel_id not in endorsements:
            return f"signing key not endorsed for channel {channel_id[:40]!r}"
        try:
            public_key = RSAAlgorithm.from_jwk(json.dumps(jwk))
            claims = jwt.decode(
                token,
                key=public_key,
                algorithms=["RS256"],
                audience=self.app_id,
                issuer=ISSUER,
                options={
                    "verify_exp": False,  # checked below on bot.core.clock, with the leeway
                    "verify_nbf": False,
                    "verify_iat": False,
                    "require": ["exp", "aud", "iss"],
                },
            )
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            return f"token rejected ({type(exc).__name__})"
        now = clock.now().timestamp()
        try:
            if float(claims["exp"]) + CLOCK_SKEW_SECONDS < now:
                return "token expired"
            if "nbf" in claims and float(claims["nbf"]) - CLOCK_SKEW_SECONDS > now:
                return "token not yet valid"
        except (TypeError, ValueError):
            return "token times unreadable"
        claimed = str(claims.get("serviceurl") or claims.get("serviceUrl") or "")
        given = str(activity.get("serviceUrl") or "")
        if not claimed or claimed.rstrip("/").lower() != given.rstrip("/").lower():
            return "serviceUrl does not match the token"
        return None


# --------------------------------------------------------------------------- outbound


class TokenSource:
    """OAuth2 client-credentials tokens for posting replies, cached until shortly before expiry."""

    _cache: dict[tuple[str, str], tuple[str, float]] = {}

    def __init__(self, app_id: str, app_password: str, url: str) -> None:
        self.app_id = app_id
        self.app_password = app_password
        self.url = url

    async def token(self, force: bool = False) -> str | None:
        key = (self.url, self.app_id)
        cached = self._cache.get(key)
        if cached and not force and cached[1] > time.monotonic():
            return cached[0]
        form = {
            "grant_type": "client_credentials",
            "client_id": self.app_id,
            "client_secret": self.app_password,
            "scope": SCOPE,
        }
        try:
            async with aiohttp.ClientSession(timeout=_timeout()) as session:
                async with session.post(self.url, data=form) as answer:
                    if answer.status != 200:
                        logger.error("Teams: token endpoint answered HTTP %s", answer.status)
                        return None
                    body = await answer.json(content_type=None)
            access, expires = str(body["access_token"]), float(body.get("expires_in", 3600))
        except (aiohttp.ClientError, asyncio.TimeoutError, KeyError, TypeError, ValueError) as exc:
            logger.error("Teams: cannot get a token (%s)", type(exc).__name__)
            return None
        self._cache[key] = (access, time.monotonic() + max(60.0, expires - 300))
        return access


def card_buttons(buttons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rasa buttons as Teams messageBack actions: the title is shown in the chat as the worker's
    message and the payload ("/intent{...}") is what comes back to Rasa."""
    out = []
    for button in buttons:
        title = str(button.get("title") or button.get("payload") or "")
        payload = str(button.get("payload") or title)
        if button.get("url"):
            out.append({"type": "openUrl", "title": title, "value": str(button["url"])})
            continue
        out.append(
            {
                "type": "messageBack",
                "title": title,
                "text": payload,
                "displayText": title,
                "value": {"payload": payload},
            }
        )
    return out


def pieces(text: str, limit: int = MAX_ACTIVITY_CHARS) -> list[str]:
    """Rasa's paragraphs, each cut at line ends (or hard, as a last resort) below `limit`."""
    out: list[str] = []
    for paragraph in text.strip().split("\n\n"):
        while len(paragraph) > limit:
            cut = paragraph.rfind("\n", 0, limit)
            cut = cut if cut > 0 else limit
            out.append(paragraph[:cut])
            paragraph = paragraph[cut:].lstrip("\n")
        if paragraph.strip():
            out.append(paragraph)
    return out


class TeamsOutput(BotFramework):
    """Replies to one Teams conversation, posted without blocking the event loop."""

    @classmethod
    def name(cls) -> str:
        return "botframework"

    def __init__(
        self,
        tokens: TokenSource,
        conversation: dict[str, Any],
        bot: dict[str, Any],
        service_url: str,
        reply_to_id: str | None = None,
    ) -> None:
        super().__init__(tokens.app_id, "", conversation, bot, service_url)
        self.tokens = tokens
        self.reply_to_id = reply_to_id
        self.sent = 0
        self.failed = 0

    def prepare_message(self, recipient_id: str, message_data: dict[str, Any]) -> dict[str, Any]:
        data = super().prepare_message(recipient_id, message_data)
        data["conversation"] = {"id": self.conversation.get("id")}
        if self.reply_to_id:
            data["replyToId"] = self.reply_to_id
        return data

    async def send(self, message_data: dict[str, Any]) -> None:
        url = f"{self.global_uri}conversations/{self.conversation['id']}/activities"
        body = json.dumps(message_data)
        for attempt in range(1, SEND_ATTEMPTS + 1):
            token = await self.tokens.token(force=attempt > 1)
            if token is None:
                break
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            try:
                async with aiohttp.ClientSession(timeout=_timeout()) as session:
                    async with session.post(url, data=body, headers=headers) as answer:
                        status = answer.status
                        retry_after = answer.headers.get("Retry-After")
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                logger.warning("Teams: reply not delivered (%s)", type(exc).__name__)
                status, retry_after = 0, None
            if 200 <= status < 300:
                self.sent += 1
                return
            if status and status not in (401, 403, 429) and status < 500:
                logger.error("Teams: reply refused with HTTP %s", status)
                break
            await asyncio.sleep(_wait(retry_after, attempt))
        self.failed += 1
        logger.error("Teams: a reply could not be delivered to the conversation")

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        for part in pieces(text):
            await self.send(
                self.prepare_message(recipient_id, {"text": part, "textFormat": "plain"})
            )

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        *before, last = pieces(text) or [""]
        for part in before:
            await self.send(
                self.prepare_message(recipient_id, {"text": part, "textFormat": "plain"})
            )
        card = {
            "contentType": "application/vnd.microsoft.card.hero",
            "content": {"text": last, "buttons": card_buttons(buttons)},
        }
        await self.send(self.prepare_message(recipient_id, {"attachments": [card]}))


def _wait(retry_after: str | None, attempt: int) -> float:
    try:
        return min(10.0, max(0.0, float(retry_after))) if retry_after else 0.5 * attempt
    except ValueError:
        return 0.5 * attempt


# --------------------------------------------------------------------------- the channel


def _installed_in_a_private_chat(activity: dict[str, Any]) -> bool:
    """Teams tells the bot it was added to someone's personal chat (the app was installed)."""
    if activity.get("type") != "conversationUpdate":
        return False
    if (activity.get("conversation") or {}).get("conversationType") != "personal":
        return False
    bot_id = (activity.get("recipient") or {}).get("id")
    added = activity.get("membersAdded") or []
    return bool(bot_id) and any(isinstance(m, dict) and m.get("id") == bot_id for m in added)


def message_text(activity: dict[str, Any]) -> str:
    """What the worker typed (or the payload of the button they pressed), verbatim, without
    the bot's own @mention that Teams puts in front of messages in a channel."""
    text = activity.get("text")
    if not isinstance(text, str) or not text.strip():
        value = activity.get("value")
        text = value.get("payload") if isinstance(value, dict) else None
    if not isinstance(text, str):
        return ""
    if "<at>" in text:
        text = _AT_MENTION.sub("", text)
    return storable(text).strip()


def storable(text: str) -> str:
    """`text` with any lone surrogate (JSON can carry one; UTF-8 cannot, so neither can the
    concern log) replaced by U+FFFD, and otherwise unchanged."""
    return _SURROGATE.sub("\ufffd", text)


@dataclass
class Handled:
    status: int
    body: str


class TeamsInput(InputChannel):
    """Rasa input channel for Microsoft Teams (see the module doc)."""

    @classmethod
    def name(cls) -> str:
        return "botframework"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> TeamsInput:
        credentials = dict(credentials or {})
        config = settings.current()
        app_id = str(credentials.get("app_id") or config.teams_app_id or "").strip()
        if not app_id:
            raise TeamsConfigError(
                "Teams: app_id is not set (credentials.yml or TEAMS_APP_ID): the Azure bot's "
                "Microsoft App ID"
            )
        password = str(credentials.get("app_password") or "").strip() or secret(
            "TEAMS_APP_PASSWORD", required=True
        )
        tenant = str(credentials.get("tenant_id") or config.teams_tenant_id or "").strip()
        within = credentials.get("reply_within_seconds")
        if within is not None:
            try:
                within = float(within)
            except (TypeError, ValueError):
                raise TeamsConfigError(
                    "Teams: reply_within_seconds must be a number of seconds"
                ) from None
        return cls(app_id, password, tenant_id=tenant or None, reply_within=within)

    def __init__(
        self,
        app_id: str,
        app_password: str,
        tenant_id: str | None = None,
        reply_within: float | None = None,
    ) -> None:
        self.app_id = app_id
        self.app_password = app_password
        self.tenant_id = tenant_id
        if settings.current().reply_seconds is not None or reply_within is None:
            reply_within = safety.reply_within_seconds()
        # The fail-safe shared with the REST channel: size limit, 999 first and the lead paged
        # on danger whatever fails, and never a message left unanswered.
        self.safety = safety.SafetyNet(reply_within=float(reply_within))
        limit_action_wait(safety.action_timeout_seconds())
        self.auth = Authenticator(app_id)
        self.tokens = TokenSource(app_id, app_password, token_url(tenant_id))
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._tasks: set[asyncio.Task] = set()

    # -- the HTTP side ----------------------------------------------------------------------

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        hook = Blueprint("safeguard_teams_webhook", __name__)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            done = await self.receive(
                request.headers.get("Authorization"),
                request.body,
                on_new_message,
                agent=getattr(request.app.ctx, "agent", None),
            )
            return response.text(done.body, status=done.status)

        return hook

    async def receive(
        self,
        auth_header: str | None,
        body: bytes | str,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        agent: Any = None,
    ) -> Handled:
        """Check one POSTed Activity and start processing it; answers at once.

        `agent` is Rasa's (to read the conversation and, when processing fails, the intent)."""
        try:
            activity = json.loads(body)
        except (ValueError, TypeError):
            return Handled(400, "Bad request: the body is not JSON.")
        if not isinstance(activity, dict):
            return Handled(400, "Bad request: the body is not an Activity.")
        problem = await self.auth.problem(auth_header, activity)
        if problem:
            logger.warning("Teams: request refused: %s", problem)
            return Handled(401, "Unauthorized.")
        if activity.get("channelId") not in ALLOWED_CHANNELS:
            logger.warning("Teams: Activity from an unsupported channel refused")
            return Handled(403, "Only Microsoft Teams is supported.")
        tenant = ((activity.get("channelData") or {}).get("tenant") or {}).get("id")
        if self.tenant_id and tenant != self.tenant_id:
            logger.warning("Teams: Activity from another tenant refused")
            return Handled(403, "This bot serves one organisation only.")
        if _installed_in_a_private_chat(activity):
            self._start(self._welcome(activity))
            return Handled(200, "welcomed")
        if activity.get("type") != "message":
            return Handled(200, "ignored")
        try:
            recipient = storable(str(activity["from"]["id"]))
            # Who this is, as Microsoft's verified token vouches: the Entra object id
            # (bot.records.access.worker_for matches it to a roster person's teams_aad_id).
            aad = activity["from"].get("aadObjectId")
            sender = storable(
                teams_sender(aad) if isinstance(aad, str) and aad.strip() else f"teams:{recipient}"
            )
            conversation = dict(activity["conversation"])
            conversation_id = str(conversation["id"])
            service_url = str(activity["serviceUrl"])
        except (KeyError, TypeError, ValueError):
            return Handled(400, "Bad request: from, conversation or serviceUrl missing.")
        activity_id = str(activity.get("id") or "")
        if activity_id and self._already_seen(f"{conversation_id}|{activity_id}"):
            return Handled(200, "duplicate")
        out = TeamsOutput(
            self.tokens,
            {"id": conversation_id},
            activity.get("recipient") or {},
            service_url,
            reply_to_id=activity_id or None,
        )
        self._start(
            self._process(activity, sender, recipient, conversation_id, out, on_new_message, agent)
        )
        return Handled(200, "accepted")

    def _start(self, work: Awaitable[Any]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _welcome(self, activity: dict[str, Any]) -> None:
        """The first thing a worker sees when they add the app: what it is for, and 999."""
        try:
            conversation_id = str(activity["conversation"]["id"])
            out = TeamsOutput(
                self.tokens,
                {"id": conversation_id},
                activity.get("recipient") or {},
                str(activity["serviceUrl"]),
            )
            worker = storable(str((activity.get("from") or {}).get("id") or ""))
            await out.send_text_message(worker, WELCOME)
        except Exception as exc:  # noqa: BLE001 - a missed welcome must not break anything
            logger.error("Teams: welcome not sent (%s)", type(exc).__name__)

    def _already_seen(self, key: str) -> bool:
        if key in self._seen:
            return True
        self._seen[key] = None
        while len(self._seen) > SEEN_ACTIVITIES:
            self._seen.popitem(last=False)
        return False

    async def drain(self) -> None:
        """Wait for every message being processed (tests; a graceful stop)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- the conversation side --------------------------------------------------------------

    def _lock_for(self, conversation_id: str) -> asyncio.Lock:
        lock = self._locks.get(conversation_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[conversation_id] = lock
        return lock

    async def _process(
        self,
        activity: dict[str, Any],
        sender: str,
        recipient: str,
        conversation_id: str,
        out: TeamsOutput,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        agent: Any,
    ) -> None:
        lock = self._lock_for(conversation_id)  # held by this frame while it waits
        async with lock:
            try:
                replies = await self._replies(activity, sender, on_new_message, agent)
            except Exception as exc:  # noqa: BLE001 - the worker must still get an answer
                logger.error("Teams: message handling failed (%s)", type(exc).__name__)
                replies = [
                    safety.reply(sender, safety.CALL_999_FIRST),
                    safety.reply(sender, safety.failure_reply(said_999=True)),
                ]
            await _send_all(out, recipient, replies)

    async def _replies(
        self,
        activity: dict[str, Any],
        sender: str,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        agent: Any,
    ) -> list[dict[str, Any]]:
        if (activity.get("conversation") or {}).get("conversationType") != "personal":
            # A team channel or a group chat: everyone in it would see the disclosure and the
            # record's summary. Nothing typed there goes to Rasa.
            return [safety.reply(sender, PRIVATE_ONLY_REPLY)]
        text = message_text(activity)
        if not text:
            return [safety.reply(sender, UNREADABLE_REPLY)]
        if limits.too_long(text):  # refused before Rasa or anything else sees it
            return [safety.reply(sender, replies.too_long(len(text)))]
        source = activity.get("from") or {}
        metadata = {
            "teams": {
                "name": source.get("name"),
                "aad_object_id": source.get("aadObjectId"),
                "tenant_id": ((activity.get("channelData") or {}).get("tenant") or {}).get("id"),
            }
        }
        return await self.safety.respond(
            sender,
            text,
            rasa_process(on_new_message, agent, self.name(), metadata),
            rasa_classify(agent),
        )


async def _send_all(out: TeamsOutput, sender: str, replies: list[dict[str, Any]]) -> None:
    for reply in replies:
        message = dict(reply)
        message.pop("recipient_id", None)
        try:
            await out.send_response(sender, message)
        except Exception as exc:  # noqa: BLE001 - one bad reply must not stop the next
            logger.error("Teams: a reply could not be sent (%s)", type(exc).__name__)
