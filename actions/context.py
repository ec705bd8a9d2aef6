"""What every action needs to know: the deployment (its settings, policy pack, roster,
clock and concern log: `bot.paging.deployment`), the worker, the urgency of a message."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.core import replies
from bot.core.people import Worker
from bot.paging import deployment as _deployment
from bot.paging.deployment import Deployment
from bot.records.access import worker_for

logger = logging.getLogger(__name__)

def worker_from(tracker: Tracker) -> Worker:
    """The worker behind this conversation, with their roster (or chat-approved) role:
    `bot.records.access.worker_for`, the one place every channel and action asks."""

    return worker_for(str(tracker.sender_id or "unknown"))


def conversation_of(tracker: Tracker) -> str:
    """The conversation's identity for one incident, one concern (bot.records.incidents): the
    sender id, the same the channel's fail-safe uses."""
    return str(tracker.sender_id or "unknown")


def latest_text(tracker: Tracker) -> str:
    return str((tracker.latest_message or {}).get("text") or "")


def latest_urgency(tracker: Tracker) -> str:
    triage = (tracker.latest_message or {}).get("triage") or {}
    return str(triage.get("urgency") or "routine")


def deployment() -> Deployment:
    """The deployment this action server serves (built once from its settings)."""
    return _deployment.current()


def pack():  # noqa: ANN201
    """The organisation's policy pack."""
    return deployment().pack


def now():  # noqa: ANN201
    """The time by the deployment's clock (Europe/London)."""
    return deployment().now()


def concern_log():  # noqa: ANN201
    """The concern log, opened on first use."""
    return deployment().concern_log()


def say(dispatcher: CollectingDispatcher, text: str, **kwargs: Any) -> None:
    dispatcher.utter_message(text=text, **kwargs)


def say_failure(
    dispatcher: CollectingDispatcher, what: str, exc: BaseException, after_999: bool = False
) -> None:
    """Tell the worker plainly; log what failed (never the conversation's text).

    `after_999`: in a danger turn, where 999 was said first (utter_call_999): the reply says
    the alarm could not be raised and gives the numbers, without saying 999 again."""

    logger.error("%s failed: %s", what, type(exc).__name__)
    try:
        pack_obj = pack()
    except Exception:  # noqa: BLE001 - the reply still has 999 and "tell your lead"
        pack_obj = None
    say(dispatcher, replies.alarm_error(pack_obj) if after_999 else replies.plain_error(pack_obj))
