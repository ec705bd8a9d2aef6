"""The guided disclosure record: validation, the category and confirm questions, save, cancel.

The record is saved when the worker confirms it, inside the form (`save_record`).

The questions and their order are in domain.yml (`disclosure_form`); the fields and the
summary in `bot/disclosure.py`; saving and paging in `bot/reporting.py`.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.context import pack, say, say_failure, worker_from
from bot import disclosure, replies
from bot.disclosure import FIELDS, FIELDS_BY_SLOT, SKIPPED

ACCEPT = "__accept__"
KEEP_PAYLOAD = "/keep_wording"
KEEP_INTENT = "keep_wording"
# "keep it" is short; a longer message that happens to say "keep" is a new wording.
KEEP_MAX_WORDS = 6


def wants_to_keep(text: str, tracker: Tracker) -> bool:
    """The worker pressed "Keep my wording" or said so in a few words."""
    if text == KEEP_PAYLOAD:
        return True
    intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
    return intent == KEEP_INTENT and len(text.split()) <= KEEP_MAX_WORDS


# Every slot the form fills or keeps: cleared after saving or cancelling, so the
# conversation does not go on holding a copy of the child's story.
FORM_STATE_SLOTS = (
    *disclosure.FORM_SLOTS,
    "suggested_categories",
    "language_review",
    "language_pending",
    "language_choices",
    "correct_field",
)


def too_long_message(field_label: str) -> str:
    return (
        f"That answer is too long to record here ({disclosure.MAX_FIELD_CHARS} characters at "
        f"most for '{field_label}'). Send the key part, and tell your Safeguarding Lead the rest."
    )


def timing_of(text: str) -> str | None:
    lowered = text.lower()
    if any(w in lowered for w in ("with me", "still here", "now", "during", "in the session")):
        return "during"
    if any(w in lowered for w in ("ended", "after", "gone", "left", "finished", "over")):
        return "after"
    return None


class ValidateDisclosureForm(FormValidationAction):
    def name(self) -> str:
        return "validate_disclosure_form"

    # -- danger and timing -------------------------------------------------------------
    async def validate_danger_now(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is True:
            # 999 first, before anything else is asked; then the alarm.
            dispatcher.utter_message(response="utter_call_999")
            # Claimed per message, like action_raise_alarm: if this validation fails, the
            # REST channel's fail-safe pages instead (bot/channels/safety.py), never as well.
            from actions.danger import alarm_key, paged_message
            from bot.channels.safety import ANSWERED_YES, raise_alarm_once

            try:
                alarm = raise_alarm_once(alarm_key(tracker), worker_from(tracker), ANSWERED_YES)
                say(dispatcher, paged_message(alarm.outcome, pack()))
            except Exception as exc:  # noqa: BLE001
                say_failure(dispatcher, "raise alarm", exc, after_999=True)
        return {"danger_now": bool(value)}

    async def validate_disclosure_timing(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        timing = timing_of(str(value or ""))
        if timing is None:
            say(dispatcher, "Sorry, I didn't catch that. Is the child still with you?")
            return {"disclosure_timing": None}
        dispatcher.utter_message(
            response="utter_guidance_during" if timing == "during" else "utter_guidance_after"
        )
        return {"disclosure_timing": timing}

    # -- the record fields ---------------------------------------------------------------
    def _plain(self, slot: str, value: Any, dispatcher: CollectingDispatcher) -> dict[str, Any]:
        text = disclosure.clean_answer(value)
        if not text or text == KEEP_PAYLOAD:
            return {slot: None}
        if disclosure.too_long(text):
            say(dispatcher, too_long_message(FIELDS_BY_SLOT[slot].label))
            return {slot: None}
        return {slot: text}

    def _checked(
        self, slot: str, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        """Worker-written text: check the language, let them rephrase or keep it."""
        review = tracker.get_slot("language_review")
        pending = tracker.get_slot("language_pending") or {}
        choices = list(tracker.get_slot("language_choices") or [])
        done = {"language_review": None, "language_pending": None}
        text = disclosure.clean_answer(value)
        if review == slot and pending.get("text") and wants_to_keep(text, tracker):
            choices.append({"field": slot, "choice": "kept", "rules": pending.get("rules", [])})
            return {slot: pending["text"], **done, "language_choices": choices}
        plain = self._plain(slot, value, dispatcher)
        text = plain[slot]
        if text is None or text == SKIPPED:
            return {**plain, **done}
        from bot import language

        findings = language.check(text)
        if findings:
            say(dispatcher, language.format_for_chat(findings))
            return {
                slot: None,
                "language_review": slot,
                "language_pending": {"text": text, "rules": sorted({f.rule for f in findings})},
            }
        if review == slot:
            choices.append(
                {"field": slot, "choice": "rephrased", "rules": pending.get("rules", [])}
            )
        return {slot: text, **done, "language_choices": choices}

    async def validate_child_identity(self, value, dispatcher, tracker, domain):  # noqa: ANN001, ANN201
        return self._plain("child_identity", value, dispatcher)

    async def validate_child_age(self, value, dispatcher, tracker, domain):  # noqa: ANN001, ANN201
        return self._plain("child_age", value, dispatcher)

    async def validate_child_words(self, value, dispatcher, tracker, domain):  # noqa: ANN001, ANN201
        # Verbatim: never language-checked, never changed.
        result = self._plain("child_words", value, dispatcher)
        if result["child_words"] and result["child_words"] != SKIPPED:
            result["suggested_categories"] = disclosure.categories_in(result["child_words"])
        return result

    async def validate_observations(self, value, dispatcher, tracker, domain):  # noqa: ANN001, ANN201
        return self._checked("observations", value, dispatcher, tracker)

    async def validate_when_where(self, value, dispatcher, tracker, domain):  # noqa: ANN001, ANN201
        return self._plain("when_where", value, dispatcher)

    async def validate_others_involved(self, value, dispatcher, tracker, domain):  # noqa: ANN001, ANN201
        return self._checked("others_involved", value, dispatcher, tracker)

    async def validate_actions_taken(self, value, dispatcher, tracker, domain):  # noqa: ANN001, ANN201
        return self._checked("actions_taken", value, dispatcher, tracker)

    async def validate_worker_view(self, value, dispatcher, tracker, domain):  # noqa: ANN001, ANN201
        return self._checked("worker_view", value, dispatcher, tracker)

    # -- categories and confirmation -----------------------------------------------------
    async def validate_categories(self, value, dispatcher, tracker, domain):  # noqa: ANN001, ANN201

        values = value if isinstance(value, list) else [value]
        if values == [ACCEPT]:
            chosen = list(tracker.get_slot("suggested_categories") or []) or ["other"]
        else:
            text = " ".join(str(v) for v in values)
            chosen = disclosure.categories_in(text) or [disclosure.clean_answer(text)[:80]]
        return {"categories": chosen}

    async def validate_confirm_record(self, value, dispatcher, tracker, domain):  # noqa: ANN001, ANN201
        if value is True:
            return await save_record(dispatcher, tracker)
        buttons = [
            {"title": field.label, "payload": f'/correct_answer{{"correct_field":"{field.slot}"}}'}
            for field in FIELDS
        ]
        buttons.append(
            {"title": "Categories", "payload": '/correct_answer{"correct_field":"categories"}'}
        )
        say(dispatcher, "What would you like to change?", buttons=buttons)
        return {"confirm_record": None}


class AskCategories(Action):
    def name(self) -> str:
        return "action_ask_categories"

    async def run(self, dispatcher, tracker, domain):  # noqa: ANN001, ANN201
        from bot import categories

        suggested = list(tracker.get_slot("suggested_categories") or [])
        names = [disclosure.category_name(c) for c in suggested]
        choices = [
            {"title": c.name, "payload": c.name} for c in categories.load_categories().categories
        ]
        if names:
            say(
                dispatcher,
                f"From what you've told me, this may be: {', '.join(names)}. Is that right? "
                "Tap Yes, or choose or type the right category.",
                buttons=[{"title": "Yes", "payload": "/affirm"}, *choices],
            )
        else:
            say(dispatcher, "Which kind of concern is this? Choose or type one.", buttons=choices)
        return []


class AskConfirmRecord(Action):
    def name(self) -> str:
        return "action_ask_confirm_record"

    async def run(self, dispatcher, tracker, domain):  # noqa: ANN001, ANN201

        answers = {f.slot: tracker.get_slot(f.slot) for f in FIELDS}
        cats = [disclosure.category_name(c) for c in tracker.get_slot("categories") or []]
        say(
            dispatcher,
            disclosure.summary(answers, cats),
            buttons=[
                {"title": "Save and tell the lead", "payload": "/affirm"},
                {"title": "Change something", "payload": "/deny"},
            ],
        )
        return []


class StartCorrection(Action):
    """Clear the answer the worker wants to change, so the form asks for it again."""

    def name(self) -> str:
        return "action_start_correction"

    async def run(self, dispatcher, tracker, domain):  # noqa: ANN001, ANN201
        slot = tracker.get_slot("correct_field")
        changeable = {f.slot for f in FIELDS} | {"categories"}
        # A typed payload can put any JSON in the slot ('/correct_answer{"correct_field": {}}').
        if not isinstance(slot, str) or slot not in changeable:
            buttons = [
                {"title": f.label, "payload": f'/correct_answer{{"correct_field":"{f.slot}"}}'}
                for f in FIELDS
            ]
            say(dispatcher, "Which answer do you want to change?", buttons=buttons)
            return [SlotSet("correct_field", None)]
        return [
            SlotSet(slot, None),
            SlotSet("correct_field", None),
            SlotSet("confirm_record", None),
        ]


# Saves run one at a time on their own thread, so the action server goes on answering
# other workers' form questions during a save's transaction (fsync'd), as it did before
# saves were moved here; one at a time, as before.
_SAVES = ThreadPoolExecutor(max_workers=1, thread_name_prefix="save-record")


async def save_record(dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any]:
    """Save the record (and its pages, in one transaction), say what happens next, and
    return the slots to set.

    Called by `validate_confirm_record` when the worker confirms, inside the form's own
    action call: saving there, rather than in an action after the form, spares the save
    turn a second action-server call and a third policy prediction (the slowest turn of a
    disclosure, `make bench`). Saved, or kept in the spool: the answers are cleared, the form
    ends (`requested_slot` None) and `concern_closed` marks the record finished (the
    tracker store redacts the conversation then). Not saved: the answers stay and the form
    asks to confirm again, so "Save" tries once more.
    """
    from bot import clock
    from bot.reporting import draft_from_answers, raise_concern

    worker = worker_from(tracker)
    answers = {f.slot: tracker.get_slot(f.slot) for f in FIELDS}
    chosen = list(tracker.get_slot("categories") or [])
    urgency = "immediate" if tracker.get_slot("danger_now") else "urgent"
    now = clock.now()
    ask_again: dict[str, Any] = {"confirm_record": None}
    try:
        draft = draft_from_answers(
            answers, chosen, urgency, worker, tracker.get_slot("language_choices"), now
        )
        # Once per record: if Rasa gave up waiting for this save after it had saved (its
        # reply lost), saving again finds the first save (bot/channels/safety.py).
        from bot.channels.safety import run_once, submission_key

        key = submission_key(worker.id, draft)

        def save_once():  # noqa: ANN202
            return run_once(key, lambda: raise_concern(draft, now, worker), retry_unsaved=True)

        loop = asyncio.get_running_loop()
        outcome = (await loop.run_in_executor(_SAVES, save_once)).outcome
    except Exception as exc:  # noqa: BLE001
        say_failure(dispatcher, "save disclosure", exc)
        return ask_again
    if outcome is None:  # the same record is being saved right now, elsewhere
        say(dispatcher, replies.record_still_saving())
        return ask_again
    if outcome.spooled:
        say(dispatcher, spooled_message(urgency, now))
        # The record is safe in the spool: clear the answers as after a save.
        return {**closed_record(), "concern_ref": None}
    if not outcome.saved:
        problem = outcome.problems[0] if outcome.problems else "unknown error"
        say(dispatcher, replies.record_not_saved(problem, pack()))
        return ask_again
    say(dispatcher, saved_message(outcome, chosen, now))
    return {**closed_record(), "concern_ref": outcome.reference}


def closed_record() -> dict[str, Any]:
    """The slots after a record is finished (saved, spooled or cancelled): the form ended,
    the answers cleared, marked closed (the tracker store redacts the conversation then)."""
    return {
        "requested_slot": None,
        **{slot: None for slot in FORM_STATE_SLOTS},
        disclosure.CLOSED_SLOT: True,
    }


def spooled_message(urgency: str, now) -> str:  # noqa: ANN001
    """The database is down: the record is kept on this server; nobody was paged."""
    from bot.reporting import who_is_paged

    on_call, _wait = who_is_paged(urgency, now)
    return replies.record_spooled(urgency, on_call, pack())


def saved_message(outcome, chosen: list[str], now) -> str:  # noqa: ANN001
    """Reference (or the concern it was added to), who was paged, the deadlines from the
    pack, and category routes (bot.replies)."""
    return replies.saved(outcome, chosen, now, pack())


class CancelDisclosure(Action):
    def name(self) -> str:
        return "action_cancel_disclosure"

    async def run(self, dispatcher, tracker, domain):  # noqa: ANN001, ANN201
        say(
            dispatcher,
            "Cancelled: nothing was saved, and I have cleared your answers. If you still have "
            "a worry about a child, tell your Safeguarding Lead directly. If a child is in "
            "danger right now, call 999.",
        )
        return [ActiveLoop(None), *(SlotSet(slot, v) for slot, v in closed_record().items())]
