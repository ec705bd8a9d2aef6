"""Commands for Safeguarding Leads in chat. Workers are refused."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.context import say, say_failure

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
            from bot.concern_log import ConcernLog

            concerns = ConcernLog().list(open_only=True)
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
