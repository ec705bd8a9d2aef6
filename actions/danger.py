"""After "call 999" has been said (a domain response, first): page the Safeguarding Lead."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.context import latest_text, pack, say, say_failure, worker_from


def paged_message(outcome, pack_obj) -> str:  # noqa: ANN001
    """What the worker is told after the alarm was raised (or could not be)."""
    from bot.policy_answers import emergency_text

    fallback = emergency_text(pack_obj)
    if not outcome.saved:
        return (
            "I could NOT page the Safeguarding Lead: the concern log is not reachable "
            f"({outcome.problems[0] if outcome.problems else 'unknown error'}).\n"
            f"Phone them yourself now.\n\n{fallback}"
        )
    if outcome.paged:
        who = ", ".join(outcome.paged)
        wait = (
            f" If nobody answers within {outcome.first_wait_minutes:g} minutes I will page "
            "the next person, and keep going until someone does."
            if outcome.first_wait_minutes
            else ""
        )
        head = f"I have paged {who} (reference {outcome.reference}).{wait}"
    else:
        head = (
            f"Reference {outcome.reference}. NOBODY IS ON CALL in the rota right now, "
            "so no Safeguarding Lead could be paged."
        )
    return f"{head}\n\nIf you cannot reach anyone:\n{fallback}"


class RaiseAlarm(Action):
    def name(self) -> str:
        return "action_raise_alarm"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        from bot.reporting import raise_alarm

        try:
            outcome = raise_alarm(worker_from(tracker), latest_text(tracker))
            say(dispatcher, paged_message(outcome, pack()))
        except Exception as exc:  # noqa: BLE001 - 999 was already said; still give numbers
            say_failure(dispatcher, "raise alarm", exc)
        return []
