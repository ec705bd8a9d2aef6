"""Concerns in chat: a worker sees the concerns they raised; leads see all and add updates.

Who is talking comes from the authenticated channel identity, checked on every call
(`actions.context.worker_from`, then `bot.records.concern_access.actor_for_chat`): leads, deputies
and admins see every open concern of the organisation, a worker (anyone the roster does not
know is one) only their own. Only leads, deputies and admins may add an update. Every list,
update and refusal is written to the audit trail with the chat action's purpose. No child
data is sent to the chat app: references, urgency and categories only.
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.context import concern_log, latest_text, say, say_failure, worker_from
from bot.paging.reporting import lead_update_type
from bot.records.access import worker_for
from bot.records.concern_access import ConcernAccess, actor_for_chat, sees_all
from bot.records.concern_log import ConcernLogError, normalise_reference

LEAD_ROLES = {"lead", "deputy", "admin"}
SHOWN = 20

LIST_PURPOSE = "chat: show open concerns"
UPDATE_PURPOSE = "chat: lead update"


def role_of(sender_id: str) -> str | None:
    """The roster (or chat-approved) role of a chat sender by its authenticated identity
    (`bot.records.access.worker_for`): "worker" for anyone they do not know."""

    return worker_for(str(sender_id)).role or None


def _access(tracker: Tracker):  # noqa: ANN202

    return ConcernAccess(concern_log(), actor_for_chat(worker_from(tracker)))


class ListOpenConcerns(Action):
    """Open concerns by reference, urgency and category: no child data in a chat app."""

    def name(self) -> str:
        return "action_list_open_concerns"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:

        try:
            access = _access(tracker)
            concerns = access.list(open_only=True, reason=LIST_PURPOSE)
            everyone = sees_all(access.actor)
            if not concerns:
                say(
                    dispatcher,
                    "There are no open concerns."
                    if everyone
                    else "You have no open concerns. (Only Safeguarding Leads see every "
                    "concern; you see the ones you raised.)",
                )
                return []
            if everyone:
                lines = [f"{len(concerns)} open concern(s):"]
            else:
                lines = [
                    f"You raised {len(concerns)} open concern(s). (Only Safeguarding Leads "
                    "see every concern.)"
                ]
            for c in concerns[:SHOWN]:
                when = c.created_at.strftime("%a %d %b %H:%M")
                cats = ", ".join(c.categories) or "no category"
                by = f" by {c.worker_name}" if everyone else ""
                lines.append(f"• {c.reference}: {c.urgency}, {cats}, raised {when}{by}")
            if len(concerns) > SHOWN:
                lines.append(
                    f"... and {len(concerns) - SHOWN} more: run 'safeguard concerns --open'."
                )
            if everyone:
                lines.append(
                    "Details stay in the concern log: 'safeguard concern show REF --reason WHY'."
                )
            else:
                lines.append("Your Safeguarding Lead has the details and what happens next.")
            say(dispatcher, "\n".join(lines))
        except Exception as exc:  # noqa: BLE001
            say_failure(dispatcher, "list open concerns", exc)
        return []


# "update SG-7KQ2-M4XP: called MASH, referral made"
_UPDATE = re.compile(r"\b(SG[\s-]?[0-9A-Z]{4}[\s-]?[0-9A-Z]{4})\b\s*[:\-,]?\s*(.*)", re.I | re.S)


def parse_update(text: str) -> tuple[str, str] | None:
    """(reference, update text) from a lead's message, or None."""
    match = _UPDATE.search(text or "")
    if not match or not match.group(2).strip():
        return None
    return match.group(1), match.group(2).strip()


class RecordLeadUpdate(Action):
    """A lead adds an update to a concern's chronology from chat."""

    def name(self) -> str:
        return "action_record_lead_update"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:

        try:
            access = _access(tracker)
            parsed = parse_update(latest_text(tracker))
            if not sees_all(access.actor):
                ref = None
                if parsed is not None:
                    try:
                        ref = normalise_reference(parsed[0])
                    except ConcernLogError:
                        ref = None
                access.trail.record(
                    access.actor,
                    "refused",
                    concern_ref=ref,
                    detail="add-event",
                    reason=UPDATE_PURPOSE,
                    org=access.org,
                )
                say(
                    dispatcher,
                    "Only Safeguarding Leads can add updates to a concern. Tell your lead "
                    "what has happened and they will add it.",
                )
                return []
            if parsed is None:
                say(
                    dispatcher,
                    "Send the reference and the update together, e.g. "
                    "'update SG-7KQ2-M4XP: spoke to MASH, referral made'.",
                )
                return []
            ref, text = parsed
            kind = lead_update_type(access.log)
            event = access.add_event(ref, kind, text, reason=UPDATE_PURPOSE)
            when = event.happened_at.strftime("%a %d %b %H:%M")
            say(dispatcher, f"Added to {normalise_reference(ref)}: {kind}, {when}.")
        except ConcernLogError as exc:
            say(dispatcher, f"Not recorded: {exc}")
        except Exception as exc:  # noqa: BLE001
            say_failure(dispatcher, "record lead update", exc)
        return []
