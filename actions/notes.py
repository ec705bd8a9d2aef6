"""`check my note: ...` at any time: the case-note language checker in chat."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.context import latest_text, say, say_failure
from bot.core import language

# "check my note: ...", "can you check this wording - ...", "is this ok to write: ..."
_PREFIX = re.compile(
    r"^\s*(?:please\s+|pls\s+|can you\s+|could you\s+)*"
    r"(?:check|is this ok|is this okay|is it ok|review)[^:\-\n]{0,40}[:\-]\s*",
    re.IGNORECASE,
)


def note_from(text: str) -> str:
    """The note itself, without the request around it ('' when only a request was sent)."""
    if text.startswith("/"):
        return ""
    match = _PREFIX.match(text)
    return text[match.end() :].strip() if match else ""


class CheckNote(Action):
    def name(self) -> str:
        return "action_check_note"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        note = note_from(latest_text(tracker))
        if not note:
            dispatcher.utter_message(response="utter_ask_note_text")
            return []
        try:

            findings = language.check(note)
            if findings:
                say(dispatcher, language.format_for_chat(findings))
            else:
                say(
                    dispatcher,
                    "I found nothing to change in that wording. Remember: the child's own "
                    "words go in quotation marks, exactly as they said them.",
                )
        except Exception as exc:  # noqa: BLE001
            say_failure(dispatcher, "check note", exc)
        return []
