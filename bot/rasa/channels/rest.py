"""`SafeRestInput`: Rasa's REST channel ("rest", POST /webhooks/rest/webhook) with the fail-safe.

Registered in credentials.yml in place of `rest:`; same URL, same request and reply JSON, so
`safeguard serve`, the terminal chat, the Telegram gateway and the tests need no change.
Every message goes through `bot.failsafe.safety.SafetyNet`: too long is refused, danger gets
999 first and the numbers and a page whatever fails, and no message goes unanswered.

Closed by default (README, "Security"): a request is taken only when it is signed with the
deployment's channel secret (bot/core/channel_auth.py: the Telegram gateway and the terminal chat
sign), and its sender must name its channel ("telegram:<user id>", "terminal:<account>"),
so nobody is anybody because of a name they typed. The unsigned form is there only for local
development, when SAFEGUARD_DEV_REST=1, from loopback, and its senders become "dev:<name>",
which no roster person ever is. Bodies over `limits.MAX_BODY_BYTES` are refused, and each
sender is rate limited (`limits.RateLimiter`), never a danger message.

It also cuts Rasa's wait for one custom action from 300 seconds (hard-coded in Rasa 3.6,
not settable in endpoints.yml) to `action_timeout_seconds` (4 s by default).

`rasa_process` and `rasa_classify` are the Rasa side of a turn, for other channels (Teams)
that want the same safety: `await SafetyNet().respond(sender, text, rasa_process(...),
rasa_classify(agent))`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.config import settings
from bot.config.secrets import CHANNEL_SECRET, shared_secret
from bot.core import channel_auth, limits, replies
from bot.failsafe import safety
from bot.rasa import patches

logger = logging.getLogger(__name__)

DEV_REST_ENV = "SAFEGUARD_DEV_REST"
DEV_PREFIX = "dev:"
LOOPBACK_IPS = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})
# Every refusal says what to do if it matters now: whoever hit it may be a worker.
REFUSED_999 = " If a child is in danger right now, call 999."

FORM = "disclosure_form"
DANGER_QUESTION_SLOT = "danger_now"


def limit_action_wait(seconds: float) -> float:
    """Make Rasa give up on a custom action after `seconds` (never lengthen it).

    Rasa 3.6's `RemoteAction.run` reads the module global `DEFAULT_REQUEST_TIMEOUT` of
    rasa.core.actions.action for every request (aiohttp's per-request timeout), so this
    changes exactly the action-server calls (actions and form validation), nothing else.
    A patch of Rasa's (bot/rasa/patches.py, ACTION_WAIT): refused, in one line, on a Rasa it
    was not written for or without that global.
    """
    patches.ACTION_WAIT.require()
    owner, name = patches.ACTION_WAIT.owner()
    if seconds < float(getattr(owner, name)):
        patches.replace(patches.ACTION_WAIT, seconds)
    return float(getattr(owner, name))


class ListCollector(CollectingOutputChannel):
    """Collects the bot's messages into a list the caller owns (the turn's replies)."""

    def __init__(self, messages: list[dict[str, Any]]) -> None:
        super().__init__()
        self.messages = messages


async def _tracker(agent: Any, sender: str) -> Any:
    store = getattr(agent, "tracker_store", None)
    if store is None:
        return None
    return await store.retrieve(sender)


def rasa_process(
    on_new_message: Callable[[UserMessage], Awaitable[Any]],
    agent: Any,
    input_channel: str,
    metadata: dict[str, Any] | None = None,
) -> safety.Process:
    """How one turn runs in Rasa: note the form's pending question, handle, read the intent."""

    async def process(turn: safety.Turn) -> None:
        try:
            before = await _tracker(agent, turn.sender)
            turn.asked_danger = bool(
                before is not None
                and before.active_loop_name == FORM
                and before.get_slot("requested_slot") == DANGER_QUESTION_SLOT
            )
        except Exception as exc:  # noqa: BLE001 - the message is still handled
            logger.error("could not read the conversation before a message: %s", type(exc).__name__)
        await on_new_message(
            UserMessage(
                turn.text,
                ListCollector(turn.replies),
                turn.sender,
                input_channel=input_channel,
                message_id=turn.message_id,
                metadata=metadata,
            )
        )
        try:
            after = await _tracker(agent, turn.sender)
        except Exception as exc:  # noqa: BLE001 - the replies stand; the intent is looked up
            logger.error("could not read the conversation after a message: %s", type(exc).__name__)
            return
        turn.intent = intent_of(after, turn.message_id)

    return process


def intent_of(tracker: Any, message_id: str) -> str | None:
    """The intent Rasa recorded for the user message `message_id`, from its event.

    Not `tracker.latest_message`: once a form has run, a tracker read back from the store
    can still hold an earlier message there (seen on Rasa 3.6.21 with the in-memory store),
    and a miss made the fail-safe parse every form answer a second time (16% of the Rasa
    server's CPU with 20 conversations at once, found with py-spy by `make bench`).
    """
    for event in reversed(getattr(tracker, "events", None) or []):
        if getattr(event, "type_name", None) == "user" and event.message_id == message_id:
            return (event.intent or {}).get("name")
    return None


def rasa_classify(agent: Any) -> safety.Classify:
    """The language model's intent for a turn's text (with the danger detector applied)."""

    async def classify(turn: safety.Turn) -> str | None:
        if agent is None or not agent.is_ready():
            return None
        parsed = await agent.parse_message(turn.text)
        return ((parsed or {}).get("intent") or {}).get("name")

    return classify


def _numbers() -> str:
    """The organisation's emergency numbers on one line (never fails)."""
    try:
        return " ".join(safety.numbers().split())
    except Exception:  # noqa: BLE001 - a broken pack must not stop the refusal
        return ""


def _error(message: str, status: int = 400) -> HTTPResponse:
    return response.json({"error": message}, status=status)


class SafeRestInput(RestInput):
    """The REST channel, every message through the fail-safe."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> SafeRestInput:
        settings = dict(credentials or {})
        unknown = set(settings) - {"reply_within_seconds", "action_timeout_seconds"}
        if unknown:
            raise ValueError(
                f"credentials.yml, {cls.__module__}.{cls.__name__}: unknown setting(s) "
                f"{', '.join(sorted(unknown))}; allowed: reply_within_seconds, "
                "action_timeout_seconds"
            )
        values: dict[str, float | None] = {}
        for name in ("reply_within_seconds", "action_timeout_seconds"):
            raw = settings.get(name)
            if raw is None:
                values[name] = None
                continue
            low, high = safety.SECONDS_RANGE
            if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not low <= raw <= high:
                raise ValueError(
                    f"credentials.yml, {cls.__module__}.{cls.__name__}: {name} must be a "
                    f"number of seconds from {low:g} to {high:g}, not {raw!r}"
                )
            values[name] = float(raw)
        return cls(
            reply_within=values["reply_within_seconds"],
            action_timeout=values["action_timeout_seconds"],
        )

    def __init__(self, reply_within: float | None = None, action_timeout: float | None = None):
        # The environment wins over credentials.yml, so tests and operators can tighten it.

        config = settings.current()
        if config.reply_seconds is not None or reply_within is None:
            reply_within = safety.reply_within_seconds()
        if config.action_timeout_seconds is not None or action_timeout is None:
            action_timeout = safety.action_timeout_seconds()
        self.action_timeout = limit_action_wait(float(action_timeout))
        self.safety = safety.SafetyNet(reply_within=float(reply_within))

        # Made here (0600, under the var directory) when the deployment has none yet, so a
        # server never starts open for want of a secret.
        self.verifier = channel_auth.Verifier(shared_secret(CHANNEL_SECRET))
        self.dev_open = config.dev_rest  # SAFEGUARD_DEV_REST
        self.limiter = limits.RateLimiter()

    def _sender(self, request: Request, claimed: str) -> str | HTTPResponse:
        """The sender this request proves, or the refusal. Signed: the channel-qualified
        sender it signed. Unsigned: "dev:<claimed>" in development mode from loopback."""
        raw = request.body or b""
        problem = self.verifier.problem(request.headers, raw)
        if problem is None:
            if channel_auth.channel_of(claimed) not in channel_auth.SIGNED_CHANNELS:
                logger.warning(
                    "REST channel: refused a signed request whose sender names no channel"
                )
                return _error("'sender' must name its channel, e.g. telegram:<id>." + REFUSED_999)
            return claimed
        if problem == "unsigned" and self.dev_open and request.ip in LOOPBACK_IPS:
            return DEV_PREFIX + claimed
        # Why, and from where; never the body (it may hold a child's words).
        logger.warning("REST channel: refused a request (%s) from %s", problem, request.ip)
        return _error("not authorised: this channel takes signed requests only." + REFUSED_999, 401)

    async def handle(
        self,
        request: Request,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> list[dict[str, Any]] | HTTPResponse:
        """The replies for one POSTed message, or a plain 400 for a malformed request."""
        if len(request.body or b"") > limits.MAX_BODY_BYTES:
            logger.warning("REST channel: refused a %d-byte request", len(request.body))
            return _error(
                f"the request is too large (over {limits.MAX_BODY_BYTES:,} bytes); nothing "
                f"from it was read." + REFUSED_999 + " " + _numbers(),
                413,
            )
        try:
            body = request.json
        except Exception:  # noqa: BLE001 - sanic raises its own error for bad JSON
            return _error("the request body is not valid JSON")
        if not isinstance(body, dict):
            return _error('send a JSON object: {"sender": "...", "message": "..."}')
        sender = body.get("sender")
        text = body.get("message")
        if sender is None:
            sender = "default"
        if not isinstance(sender, (str, int)) or isinstance(sender, bool):
            return _error("'sender' must be a string")
        if text is None:
            text = ""
        if not isinstance(text, str):
            return _error("'message' must be a string")
        metadata = body.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            return _error("'metadata' must be a JSON object")
        input_channel = body.get("input_channel") or self.name()
        if not isinstance(input_channel, str):
            return _error("'input_channel' must be a string")
        proven = self._sender(request, str(sender))
        if isinstance(proven, HTTPResponse):
            return proven
        if proven.startswith(DEV_PREFIX):
            input_channel = self.name()  # an unsigned request names no other channel
        if not self.limiter.allow(proven) and not safety.floor_danger(text):
            # Danger is never held back: it goes on to the fail-safe (999 first, the page).
            logger.warning("REST channel: a sender is over the rate limit; message not read")
            return [safety.reply(proven, replies.too_fast())]
        agent = getattr(request.app.ctx, "agent", None)
        return await self.safety.respond(
            proven,
            text,
            rasa_process(on_new_message, agent, input_channel, metadata),
            rasa_classify(agent),
        )

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:  # noqa: ARG001
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            result = await self.handle(request, on_new_message)
            if isinstance(result, HTTPResponse):
                return result
            if request.args.get("stream", "").lower() == "true":
                # Rasa's own console client asks for one JSON message per line.
                body = "".join(json.dumps(message) + "\n" for message in result)
                return response.text(body, content_type="text/event-stream")
            return response.json(result)

        return webhook
