"""After "call 999" has been said (a domain response, first): page the Safeguarding Lead.

The page is raised once per danger message: this action and the REST channel's fail-safe
(bot/failsafe/safety.py) both claim the message before paging, so when the action server is
down or slow the channel pages instead, never as well.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.context import conversation_of, latest_text, pack, say, say_failure, worker_from
from bot.core import replies
from bot.paging.alarm import alarm_key as key_for
from bot.paging.alarm import raise_alarm_once, report_text


def paged_message(outcome, pack_obj) -> str:  # noqa: ANN001
    """What the worker is told after the alarm was raised (or could not be, or the concern
    was kept in the local spool because the database is down): who was paged, then the
    numbers; never 999, which utter_call_999 said first (bot.core.replies)."""

    return replies.alarm_body(outcome, pack_obj)


def message_id(tracker: Tracker) -> str | None:
    """The id Rasa gave the worker's latest message (the channel's alarm key uses it)."""
    for event in reversed(tracker.events or []):
        if event.get("event") == "user":
            return event.get("message_id")
    return None


def alarm_key(tracker: Tracker) -> str | None:

    return key_for(str(tracker.sender_id or "unknown"), message_id(tracker))


class RaiseAlarm(Action):
    def name(self) -> str:
        return "action_raise_alarm"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:

        try:
            alarm = raise_alarm_once(
                alarm_key(tracker),
                worker_from(tracker),
                report_text(latest_text(tracker)),
                conversation=conversation_of(tracker),
            )
            say(dispatcher, paged_message(alarm.outcome, pack()))
        except Exception as exc:  # noqa: BLE001 - 999 was already said; still give numbers
            say_failure(dispatcher, "raise alarm", exc, after_999=True)
        return []
