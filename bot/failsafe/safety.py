"""The fail-safe around every chat message, shared by every channel (REST, terminal, Teams).

Why it exists. What Rasa 3.6.21 does when the action server fails (read in
rasa/core/actions/action.py `RemoteAction.run` and rasa/core/processor.py `_run_action`):

* down (connection refused): `RemoteAction.run` raises `RasaException`; `_run_action`
  catches every exception, logs it and carries on with the action's events and messages
  lost. The worker receives only the domain responses uttered before it (for danger:
  "call 999", but not the lead's number, and nobody is paged) or, for an action-only
  answer, NOTHING: the REST channel returns `[]`.
* slow: every custom action request waits `rasa.core.constants.DEFAULT_REQUEST_TIMEOUT`,
  300 seconds, hard-coded (`RemoteAction.run` passes it per request; endpoints.yml cannot
  change it). A form turn can call two actions: ten minutes for one reply.
* an action raising (rasa_sdk answers 500) or any other 5xx: as for down.
* a 400 rejection: the policies try another action (not a failure to guard).

So this module puts back what a failure takes away, for every message:

* a message over `bot.core.limits.MAX_MESSAGE_CHARS` is refused before the language model sees it
  (nothing of it stored), with 999 and the lead's number; if the danger detector finds
  danger in it, 999 comes first and the lead is paged all the same;
* a danger message (the danger detector on the text, the `/emergency` button, or Rasa's
  intent report_danger/emergency, or "yes" to the form's "is anyone in danger right now?")
  always gets "call 999" FIRST and the Safeguarding Lead's and out-of-hours numbers, and the
  lead is paged: by `action_raise_alarm` when it works, otherwise here, in-process. One page
  per message whoever raises it: both sides claim the message in `AlarmClaims` first;
* a message that got no reply, raised, or took longer than `reply_within` seconds gets a
  plain "I could not do that just now" with 999 and the numbers. Slow processing is not
  cancelled (that could save a concern and lose the conversation's record of it): it
  finishes in the background and its late replies are shown before the next reply.

Rasa-light: nothing here imports Rasa; the channel passes in how to run one message.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bot.config import settings
from bot.core import replies, triage
from bot.core.limits import MAX_MESSAGE_CHARS, too_long
from bot.core.people import Worker
from bot.paging.alarm import (  # the alarm core, re-exported for the channels' callers
    ALARM_WAIT,
    ANSWERED_YES,
    Alarm,
    AlarmClaims,
    alarm_key,
    raise_alarm_once,
    report_text,
    run_once,
    submission_key,
)
from bot.paging.reporting import Outcome
from bot.records.access import worker_for as find

logger = logging.getLogger(__name__)

__all__ = [
    "ACTION_TIMEOUT_ENV",
    "CALL_999_FIRST",
    "DANGER_INTENTS",
    "MAX_MESSAGE_CHARS",
    "REPLY_WITHIN_ENV",
    "Alarm",
    "AlarmClaims",
    "SafetyNet",
    "Turn",
    "action_timeout_seconds",
    "alarm_key",
    "alarm_message",
    "failure_reply",
    "floor_danger",
    "numbers",
    "raise_alarm_once",
    "reply_within_seconds",
    "run_once",
    "submission_key",
    "worker_for",
]

# -- settings ------------------------------------------------------------------------------

REPLY_WITHIN_ENV = "SAFEGUARD_REPLY_SECONDS"
ACTION_TIMEOUT_ENV = "SAFEGUARD_ACTION_TIMEOUT_SECONDS"
# A worker waits at most this long for a reply. Rasa runs up to three custom actions for one
# danger message in the form (alarm, validation, next question), each cut off at the action
# timeout below, so 3 x 4 s fits inside it with room for the language model.
DEFAULT_REPLY_WITHIN = settings.DEFAULT_REPLY_SECONDS
# Rasa's own is 300 s per action; four seconds is ten times what the slowest action (saving
# a concern and its pages) takes on a loaded server.
DEFAULT_ACTION_TIMEOUT = settings.DEFAULT_ACTION_TIMEOUT_SECONDS
# How long an intent lookup may take for a message whose processing ran out of time.
CLASSIFY_WITHIN = 3.0
# A Rasa server runs every conversation on one event loop (one core). Let in all at once,
# turns interleave and each waits behind the others' work at every step it takes (NLU, each
# policy prediction, each action-server call): with 20 conversations at once the turn p95
# was 113-160 ms. With at most TURNS_AT_ONCE turns running together, one turn's
# action-server call still overlaps another's processing, but no turn is stretched by all
# the rest: p95 82-85 ms (`make bench`, README "Performance"). Waiting turns keep their
# order while places are being handed on; once none has been for TURN_WAIT_SECONDS, the
# turns holding them are stuck (a hung action server holds each for the action timeout),
# and the waiting turns go ahead anyway, so that costs each of them at most that wait. A
# message the danger floor flags never waits.
TURNS_AT_ONCE = 2
TURN_WAIT_SECONDS = 0.25
SECONDS_RANGE = settings.SECONDS_RANGE


def reply_within_seconds() -> float:
    """How long a worker waits before the plain fallback reply (env SAFEGUARD_REPLY_SECONDS;
    a value that cannot be used is the default, with a warning: bot.config.settings)."""
    value = settings.current().reply_seconds
    return DEFAULT_REPLY_WITHIN if value is None else value


def action_timeout_seconds() -> float:
    """How long Rasa waits for one custom action (env SAFEGUARD_ACTION_TIMEOUT_SECONDS)."""
    value = settings.current().action_timeout_seconds
    return DEFAULT_ACTION_TIMEOUT if value is None else value


# -- what the worker is told -----------------------------------------------------------------

# What the worker is told is written once, in knowledge/replies.yml, and rendered by
# bot.core.replies; these names are kept for the code and tests that import them.
CALL_999_FIRST = replies.call_999()  # the same words as the domain response utter_call_999
LATE_HEADER = replies.late_header()


def numbers(pack=None) -> str:  # noqa: ANN001
    """How to reach the Safeguarding Lead (and out-of-hours social care) now, from the pack.

    Never raises: a broken pack still leaves the worker told to go to their lead.
    """
    return replies.numbers(pack)


def too_long_reply(length: int, danger: bool = False) -> str:
    """The refusal of a message over the limit (with `danger`, the refusal alone: the
    danger reply around it says 999, first, and the numbers, once)."""
    return replies.too_long(length, danger=danger)


def failure_reply(slow: bool = False, pack=None, said_999: bool = False) -> str:  # noqa: ANN001
    """The plain reply when a message could not be handled: what happened, 999 (unless an
    earlier message of the reply said it: `said_999`), the numbers."""
    return replies.failure(slow=slow, pack=pack, said_999=said_999)


def alarm_message(outcome: Outcome | None, pack=None) -> str:  # noqa: ANN001
    """What the worker is told after the alarm was raised, or could not be, with the numbers
    (never 999: it comes first, in its own line). `outcome` None means another process is
    still raising it."""
    return replies.alarm_body(outcome, pack)


def reply(sender: str, text: str) -> dict[str, Any]:
    """One bot message in the shape Rasa's REST channel returns."""
    return {"recipient_id": sender, "text": text}


def _text(message: dict[str, Any]) -> str:
    value = message.get("text")
    return value if isinstance(value, str) else ""


def _before_next_question(replies: list[dict[str, Any]]) -> int:
    """Where to tell the worker about the page: after the 999 reply, before the next
    question (a message with buttons or ending in "?"), else at the end."""
    for index, message in enumerate(replies[1:], start=1):
        if message.get("buttons") or _text(message).rstrip().endswith("?"):
            return index
    return len(replies)


def _answers(replies: list[dict[str, Any]]) -> bool:
    """True when something was said: text, buttons, an image, an attachment or custom data."""
    keys = ("text", "buttons", "image", "attachment", "custom", "elements")
    return any(any(message.get(k) for k in keys) for message in replies)


# -- danger --------------------------------------------------------------------------------

_999 = re.compile(r"(?<!\d)999(?!\d)")


def _once(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Messages after the 999 line, without lines that only repeat it (a menu's or a
    fallback's "If a child is in danger right now, call 999."); emptied ones dropped."""
    kept = []
    for message in messages:
        text = _text(message)
        if text and _999.search(text):
            message = {**message, "text": replies.without_repeated_999(text)}
            if not message["text"] and not any(
                message.get(k) for k in ("buttons", "image", "attachment", "custom")
            ):
                continue
        kept.append(message)
    return kept

DANGER_INTENTS = frozenset({"report_danger", "emergency"})
YES_INTENT = "affirm"
# What the worker typed or tapped that is danger whatever the language model thinks.
_DANGER_PAYLOAD = re.compile(r"^\s*/(?:report_danger|emergency)(?![A-Za-z0-9_])")
_YES_PAYLOAD = re.compile(r"^\s*/affirm(?![A-Za-z0-9_])")
_EMERGENCY_NUMBERS = frozenset({"999", "112"})


def floor_danger(text: str) -> bool:
    """The 999 floor on the text alone: the danger detector, the emergency button, "999"."""
    if _DANGER_PAYLOAD.match(text) or text.strip() in _EMERGENCY_NUMBERS:
        return True
    try:

        return triage.assess(text).urgency == "immediate"
    except Exception as exc:  # noqa: BLE001 - the intent check below still runs
        logger.error("danger detector failed: %s", type(exc).__name__)
        return False


def _ends(text: str) -> str:
    """The text, or for one too long to take its first and last MAX_MESSAGE_CHARS."""
    if len(text) <= 2 * MAX_MESSAGE_CHARS:
        return text
    return f"{text[:MAX_MESSAGE_CHARS]}\n\n{text[-MAX_MESSAGE_CHARS:]}"


def worker_for(sender: str) -> Worker:
    """The worker behind a chat id (the roster, then staff approved in chat): bot.records.access."""

    return find(sender)


# -- one message, whatever fails ----------------------------------------------------------------


@dataclass
class Turn:
    """One message on its way through the assistant, filled in by the channel's `process`.

    `replies` is the list the channel's output collector appends to, so what was said before
    a failure or a timeout is kept. `asked_danger`: the form's question "is anyone in danger
    right now?" was waiting for this answer. `intent`: what Rasa recorded for this message.
    """

    sender: str
    text: str
    message_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    asked_danger: bool = False
    intent: str | None = None
    replies: list[dict[str, Any]] = field(default_factory=list)

    @property
    def alarm_key(self) -> str | None:
        return alarm_key(self.sender, self.message_id)


Process = Callable[[Turn], Awaitable[Any]]
Classify = Callable[[Turn], Awaitable[str | None]]


class TurnGate:
    """At most `places` turns running at once, first come first served. A waiting turn goes
    ahead without a place once no place has been handed on for `wait` seconds: the turns
    holding them are stuck (a hung action server), not merely busy (see TURNS_AT_ONCE).
    While places keep being handed on, turns keep their order, however long the queue.

    For one event loop. `await enter()` is True with a place (give it back with `leave()`),
    False when it went ahead without one.
    """

    def __init__(self, places: int = TURNS_AT_ONCE, wait: float = TURN_WAIT_SECONDS) -> None:
        self.places = places
        self.wait = wait
        self.busy = 0
        self._waiting: collections.deque[asyncio.Future] = collections.deque()
        self._moved = 0.0  # loop time a place was last handed on or freed

    async def enter(self) -> bool:
        if self.busy < self.places and not self._waiting:
            self.busy += 1
            return True
        loop = asyncio.get_running_loop()
        place = loop.create_future()
        self._waiting.append(place)
        timer: list[asyncio.TimerHandle] = []

        def check() -> None:
            if place.done():
                return
            stalled_for = loop.time() - self._moved
            if stalled_for >= self.wait:
                place.set_result(False)  # go ahead: nothing has moved for `wait` seconds
            else:
                timer[:] = [loop.call_later(self.wait - stalled_for, check)]

        timer.append(loop.call_later(self.wait, check))
        try:
            return await place
        except asyncio.CancelledError:
            # Handed a place just as the caller was cancelled: pass it on, never lose it.
            if place.done() and not place.cancelled() and place.result():
                self.leave()
            else:
                place.cancel()
            raise
        finally:
            timer[0].cancel()

    def leave(self) -> None:
        """Give a place back: to the longest waiting turn still waiting, else free it."""
        self._moved = asyncio.get_running_loop().time()
        while self._waiting:
            place = self._waiting.popleft()
            if not place.done():
                place.set_result(True)  # the place passes on; `busy` is unchanged
                return
        self.busy -= 1


_MAX_LATE_MESSAGES = 20
_MAX_LATE_SENDERS = 1000


class SafetyNet:
    """Runs one message through a channel's `process` and makes the reply safe.

    `respond(sender, text, process, classify)` returns the messages to send back, never raises.
    `process(turn)` hands the message to Rasa with `turn.message_id` and an output collector
    appending to `turn.replies`, setting `turn.asked_danger` before and `turn.intent` after.
    `classify(turn)` (optional) returns the intent for a message whose processing ran out of
    time. Keep one SafetyNet per channel instance: it holds late replies per sender.
    """

    def __init__(
        self,
        reply_within: float | None = None,
        alarm_wait: float = ALARM_WAIT,
        claims: AlarmClaims | None = None,
    ) -> None:
        self.reply_within = reply_within if reply_within is not None else reply_within_seconds()
        self.alarm_wait = alarm_wait
        self._claims = claims
        self._late: dict[str, list[dict[str, Any]]] = {}
        self._gates: dict[asyncio.AbstractEventLoop, TurnGate] = {}

    @property
    def claims(self) -> AlarmClaims:
        if self._claims is None:
            self._claims = AlarmClaims()
        return self._claims

    async def respond(
        self,
        sender: str,
        text: str,
        process: Process,
        classify: Classify | None = None,
    ) -> list[dict[str, Any]]:
        sender = str(sender or "default")
        text = "" if text is None else str(text)
        try:
            return await self._respond(sender, text, process, classify)
        except Exception as exc:  # noqa: BLE001 - a bug here must still answer, with 999
            logger.error("safety net failed: %s", type(exc).__name__)
            return [reply(sender, CALL_999_FIRST), reply(sender, failure_reply(said_999=True))]

    async def _respond(
        self, sender: str, text: str, process: Process, classify: Classify | None
    ) -> list[dict[str, Any]]:
        # In the event loop's thread, like the detector inside Rasa's NLU (its spaCy tokenizer
        # is not shared across threads). A message too long to take is checked at its start
        # and end only, so a hostile paste cannot hold the loop for seconds.
        floor = floor_danger(_ends(text))
        if too_long(text):
            if not floor:
                return [reply(sender, too_long_reply(len(text)))]
            # The refusal alone: 999 (first) and the numbers follow once, in the danger reply.
            refusal = [reply(sender, too_long_reply(len(text), danger=True))]
            # Danger in a message too long to take: 999 first and the lead paged, keeping
            # none of its words (the concern says only that danger was reported).
            return await self._danger(Turn(sender=sender, text=""), refusal, "")
        turn = Turn(sender=sender, text=text)
        status = await self._run(turn, process, urgent=floor)
        # Taken after this message ran: Rasa handles one sender's messages in order, so an
        # earlier slow message has finished (and left its late replies) by now.
        late = self._late.pop(sender, [])
        replies = list(turn.replies)
        if turn.intent is None and classify is not None:
            turn.intent = await self._classify(turn, classify)
        answered_yes = turn.asked_danger and (
            turn.intent == YES_INTENT or bool(_YES_PAYLOAD.match(text))
        )
        if floor or turn.intent in DANGER_INTENTS or answered_yes:
            report = report_text(text)
            if answered_yes and not floor and turn.intent not in DANGER_INTENTS:
                report = ANSWERED_YES
            replies = await self._danger(turn, replies, report)
        elif status != "ok" or not _answers(replies):
            said = any(_999.search(_text(m)) for m in replies)
            replies.append(reply(sender, failure_reply(slow=status == "slow", said_999=said)))
        if late:
            replies = [reply(sender, LATE_HEADER), *late, *replies]
        return replies

    def _gate(self) -> TurnGate:
        loop = asyncio.get_running_loop()
        gate = self._gates.get(loop)
        if gate is None:
            # One per event loop (tests run several); ended loops' gates are dropped.
            self._gates = {known: g for known, g in self._gates.items() if not known.is_closed()}
            gate = self._gates[loop] = TurnGate()
        return gate

    async def _run(self, turn: Turn, process: Process, urgent: bool = False) -> str:
        """'ok', 'failed' (raised) or 'slow' (still running after `reply_within` seconds).

        The wait for a place among the running turns (TurnGate) counts towards
        `reply_within`; an `urgent` turn (the danger floor) does not wait for one."""
        started = time.monotonic()
        gate = None if urgent else self._gate()
        entered = gate is not None and await gate.enter()
        try:
            return await self._process(turn, process, started)
        finally:
            if entered:
                gate.leave()

    async def _process(self, turn: Turn, process: Process, started: float) -> str:
        task = asyncio.ensure_future(process(turn))
        try:
            left = max(0.0, self.reply_within - (time.monotonic() - started))
            await asyncio.wait_for(asyncio.shield(task), left)
            return "ok"
        except asyncio.TimeoutError:
            self._keep_late(turn, task)
            logger.error("message processing took over %ss; answered without it", self.reply_within)
            return "slow"
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001
            logger.error("message processing failed: %s", type(exc).__name__)
            return "failed"

    def _keep_late(self, turn: Turn, task: asyncio.Future) -> None:
        """When the slow processing finishes, hold what it said for the next reply."""
        already = len(turn.replies)

        def finished(done: asyncio.Future) -> None:
            if done.cancelled():
                return
            if done.exception() is not None:
                logger.error("late processing failed: %s", type(done.exception()).__name__)
            extra = turn.replies[already:]
            if not extra:
                return
            if turn.sender not in self._late and len(self._late) >= _MAX_LATE_SENDERS:
                self._late.pop(next(iter(self._late)))
            held = self._late.setdefault(turn.sender, [])
            held.extend(extra[: max(0, _MAX_LATE_MESSAGES - len(held))])

        task.add_done_callback(finished)

    @staticmethod
    async def _classify(turn: Turn, classify: Classify) -> str | None:
        try:
            return await asyncio.wait_for(classify(turn), CLASSIFY_WITHIN)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - includes the timeout
            logger.error("intent lookup failed: %s", type(exc).__name__)
            return None

    async def _danger(
        self, turn: Turn, replies: list[dict[str, Any]], report: str
    ) -> list[dict[str, Any]]:
        """999 first, the lead paged exactly once, the worker told, the numbers shown."""
        sender = turn.sender
        out = list(replies)
        if not out or "999" not in _text(out[0]).split("\n")[0]:
            out.insert(0, reply(sender, CALL_999_FIRST))
        out = [out[0], *_once(out[1:])]
        alarm = await asyncio.to_thread(
            raise_alarm_once,
            turn.alarm_key,
            worker_for(sender),
            report,
            claims=self.claims,
            wait=self.alarm_wait,
            conversation=sender,
        )
        message = alarm_message(alarm.outcome)
        head = message.split("\n\n")[0]
        if alarm.raised_here or not any(head in _text(m) for m in out):
            out.insert(_before_next_question(out), reply(sender, message))
        lead_line = numbers().split("\n")[0]
        if not any(lead_line in _text(m) for m in out):
            out.append(reply(sender, numbers()))
        return out
