"""The reply a worker still gets when the Rasa server is down, slow or failing.

999 is a floor (principle 1): the first line is always "call 999 if a child is in danger
now", then the organisation's Safeguarding Lead and (out of hours) out-of-hours numbers from
its policy pack (`bot.policy_answers.emergency_text`). If the message itself reads as danger
now (`bot.triage.assess` says immediate), the gateway raises the alarm itself
(`bot.reporting.raise_alarm`: the concern is written, then the lead is paged) and says who
was paged, or plainly that it could not. Nothing here needs Rasa or the action server.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

logger = logging.getLogger(__name__)

DANGER_FIRST = "If a child is in danger right now, call 999 now."
UNAVAILABLE = (
    "The safeguarding assistant is not reachable right now, so I can't guide you through "
    "this here. Please don't wait for it: tell your Safeguarding Lead directly, and try me "
    "again in a few minutes."
)
NO_PACK = "Then tell your Safeguarding Lead directly, in person or by phone."


@dataclass
class FloorReply:
    text: str
    alarm_raised: bool = False
    reference: str | None = None


def emergency_lines(pack=None) -> str:  # noqa: ANN001
    """999 first, then the lead's and out-of-hours numbers (or a plain pointer to the lead)."""
    try:
        from bot.pack import load_pack
        from bot.policy_answers import emergency_text

        numbers = emergency_text(pack or load_pack())
    except Exception as exc:  # noqa: BLE001 - a broken pack must not stop the 999 line
        logger.error("emergency numbers unavailable: %s", type(exc).__name__)
        numbers = NO_PACK
    return f"{DANGER_FIRST}\n{numbers}"


def is_danger_now(text: str) -> bool:
    try:
        from bot.triage import assess

        return assess(text or "").urgency == "immediate"
    except Exception as exc:  # noqa: BLE001 - the 999 line is given regardless
        logger.error("triage failed in the fallback: %s", type(exc).__name__)
        return False


def alarm_lines(outcome) -> str:  # noqa: ANN001
    """What the worker is told after the gateway raised the alarm itself."""
    if getattr(outcome, "spooled", False):
        return (
            "I have kept what you told me safely, but the concern log is not reachable, so "
            "NOBODY HAS BEEN PAGED yet. Phone your Safeguarding Lead yourself now."
        )
    if not outcome.saved:
        problem = outcome.problems[0] if outcome.problems else "unknown error"
        return (
            f"I could NOT log this or page the Safeguarding Lead ({problem}). "
            "Phone them yourself now."
        )
    if outcome.paged:
        wait = (
            f" If nobody answers within {outcome.first_wait_minutes:g} minutes the next "
            "person is paged, until someone does."
            if outcome.first_wait_minutes
            else ""
        )
        return (
            f"I have logged this as danger now (reference {outcome.reference}) and paged "
            f"{', '.join(outcome.paged)}.{wait}"
        )
    return (
        f"I have logged this as danger now (reference {outcome.reference}), but NOBODY IS ON "
        "CALL in the rota right now, so no Safeguarding Lead could be paged. Phone one "
        "yourself."
    )


async def floor_reply(worker, text: str, *, alarm: bool = True) -> FloorReply:  # noqa: ANN001
    """The full fallback reply for `text` from `worker` (a bot.reporting.Worker)."""
    lines = emergency_lines()
    reply = FloorReply(text=f"{lines}\n\n{UNAVAILABLE}")
    if not (alarm and is_danger_now(text)):
        return reply
    try:
        from bot.reporting import raise_alarm

        outcome = await asyncio.to_thread(raise_alarm, worker, text)
    except Exception as exc:  # noqa: BLE001 - the worker still has 999 and the numbers
        logger.error("fallback alarm failed: %s", type(exc).__name__)
        reply.text = (
            f"{lines}\n\nI could NOT page the Safeguarding Lead (an error on my side). "
            "Phone them yourself now."
        )
        return reply
    reply.alarm_raised = bool(outcome.saved)
    reply.reference = outcome.reference
    reply.text = f"{lines}\n\n{alarm_lines(outcome)}"
    return reply
