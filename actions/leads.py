"""Commands for Safeguarding Leads in chat. Workers are refused."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.context import latest_text, say, say_failure, worker_from

LEAD_ROLES = {"lead", "deputy", "admin"}


def role_of(sender_id: str) -> str | None:
    from bot import rota

    roster = rota.load_roster()
    for person in roster.people:
        if str(person.telegram_chat_id or "") == str(sender_id) or person.id == str(sender_id):
            return person.role
    return None


class ListOpenConcerns(Action):
    """Open concerns by reference, urgency and category: no child data in a chat app."""

    def name(self) -> str:
        return "action_list_open_concerns"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        try:
            if role_of(tracker.sender_id) not in LEAD_ROLES:
                say(dispatcher, "Only Safeguarding Leads can list concerns. Ask your lead.")
                return []
            from bot.reporting import concern_log

            concerns = concern_log().list(open_only=True)
            if not concerns:
                say(dispatcher, "There are no open concerns.")
                return []
            lines = [f"{len(concerns)} open concern(s):"]
            for c in concerns[:20]:
                when = c.created_at.strftime("%a %d %b %H:%M")
                cats = ", ".join(c.categories) or "no category"
                lines.append(
                    f"• {c.reference}: {c.urgency}, {cats}, raised {when} by {c.worker_name}"
                )
            if len(concerns) > 20:
                lines.append(f"... and {len(concerns) - 20} more: run 'safeguard concerns --open'.")
            lines.append("Details stay in the concern log: 'safeguard concern show REF'.")
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
        from bot.concern_log import ConcernLogError
        from bot.reporting import concern_log, lead_update_type

        try:
            if role_of(tracker.sender_id) not in LEAD_ROLES:
                say(dispatcher, "Only Safeguarding Leads can add updates to a concern.")
                return []
            parsed = parse_update(latest_text(tracker))
            if parsed is None:
                say(
                    dispatcher,
                    "Send the reference and the update together, e.g. "
                    "'update SG-7KQ2-M4XP: spoke to MASH, referral made'.",
                )
                return []
            ref, text = parsed
            log = concern_log()
            kind = lead_update_type(log)
            event = log.add_event(ref, kind, text, by=worker_from(tracker).name)
            when = event.happened_at.strftime("%a %d %b %H:%M")
            say(dispatcher, f"Added to {ref.upper()}: {kind}, {when}.")
        except ConcernLogError as exc:
            say(dispatcher, f"Not recorded: {exc}")
        except Exception as exc:  # noqa: BLE001
            say_failure(dispatcher, "record lead update", exc)
        return []
