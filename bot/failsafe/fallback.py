"""The reply a worker still gets when the Rasa server is down, slow or failing.

999 is a floor (principle 1): the first line is always "call 999 if a child is in danger
now" (once), then the organisation's Safeguarding Lead and (out of hours) out-of-hours
numbers from its policy pack; the words are bot.core.replies' (knowledge/replies.yml).
If the message itself reads as danger now (`bot.core.triage.assess` says immediate), the
gateway raises the alarm itself (`bot.paging.reporting.raise_alarm`: the concern is written,
then the lead is paged) and says who was paged, or plainly that it could not.
Nothing here needs Rasa or the action server.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from bot.core import replies
from bot.core.triage import assess
from bot.paging.reporting import raise_alarm

logger = logging.getLogger(__name__)

# The 999 line: the same words as utter_call_999 (knowledge/replies.yml, bot.core.replies).
DANGER_FIRST = replies.call_999()


@dataclass
class FloorReply:
    text: str
    alarm_raised: bool = False
    reference: str | None = None


def emergency_lines(pack=None) -> str:  # noqa: ANN001
    """999 first, then the lead's and out-of-hours numbers (or a plain pointer to the lead)."""
    return f"{replies.call_999()}\n{replies.numbers(pack)}"


def is_danger_now(text: str) -> bool:
    try:

        return assess(text or "").urgency == "immediate"
    except Exception as exc:  # noqa: BLE001 - the 999 line is given regardless
        logger.error("triage failed in the fallback: %s", type(exc).__name__)
        return False


def alarm_lines(outcome) -> str:  # noqa: ANN001
    """What the worker is told after the gateway raised the alarm itself (no 999, no
    numbers: `floor_reply` puts 999 first and the numbers after)."""
    return replies.paged_head(outcome)


async def floor_reply(worker, text: str, *, alarm: bool = True) -> FloorReply:  # noqa: ANN001
    """The full fallback reply for `text` from `worker` (a bot.core.people.Worker): 999 first;
    for danger now, who was paged and the numbers; otherwise the numbers and 'try again'."""
    reply = FloorReply(text=replies.unavailable())
    if not (alarm and is_danger_now(text)):
        return reply
    try:

        outcome = await asyncio.to_thread(raise_alarm, worker, text)
    except Exception as exc:  # noqa: BLE001 - the worker still has 999 and the numbers
        logger.error("fallback alarm failed: %s", type(exc).__name__)
        reply.text = replies.unavailable(danger=True, alarm_failed=True)
        return reply
    reply.alarm_raised = bool(outcome.saved)
    reply.reference = outcome.reference
    reply.text = replies.danger_reply(outcome)
    return reply
