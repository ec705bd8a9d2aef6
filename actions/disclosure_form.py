"""The guided disclosure record: validation, the category and confirm questions, save, cancel.

The record is saved when the worker confirms it, inside the form (`save_record`).

The questions and their order are in domain.yml (`disclosure_form`); the fields and the
summary in `bot/core/disclosure.py`; saving and paging in `bot/paging/reporting.py`.
"""

from __future__ import annotations

import asyncio
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.context import conversation_of, now, pack, say, say_failure, worker_from
from actions.danger import alarm_key, paged_message
from bot.core import categories, disclosure, language, policy_answers, replies
from bot.core.disclosure import FIELDS, FIELDS_BY_SLOT, SKIPPED
from bot.paging.alarm import ANSWERED_YES, raise_alarm_once, report_text, run_once, submission_key
from bot.paging.reporting import (
    draft_from_answers,
    end_incident,
    open_concern_for,
    raise_concern,
    who_is_paged,
)

logger = logging.getLogger(__name__)

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
    "danger_answer",
    "timing_answer",
)


def too_long_message(field_label: str) -> str:
    return (
        f"That answer is too long to record here ({disclosure.MAX_FIELD_CHARS} characters at "
        f"most for '{field_label}'). Send the key part, and tell your Safeguarding Lead the rest."
    )


DANGER_INTENTS = frozenset({"report_danger", "emergency"})
# Questions a worker may ask in the middle of the record (answered, then the record's
# question is asked again). The questions staff ask (issue #17) are answered from the pack
# too: "who do I report FGM to?" typed at "when and where?" is a question, not the answer.
QUESTION_INTENTS = frozenset({"ask_contact", "ask_timescale", "help"})
PACK_QUESTIONS = {
    "ask_how_to_report": lambda pack, text: policy_answers.staff_answer(pack, "how_to_report"),
    "ask_after_report": policy_answers.after_report_answer,
    "ask_allegation_staff": lambda pack, text: policy_answers.route_question_answer(
        pack, "allegation_staff"
    ),
    "ask_why_children_dont_tell": lambda pack, text: policy_answers.staff_answer(
        pack, "why_children_dont_tell"
    ),
    "ask_information_sharing": lambda pack, text: policy_answers.staff_answer(
        pack, "information_sharing"
    ),
    "ask_records_retention": lambda pack, text: policy_answers.retention_answer(pack),
    "ask_what_is_emergency": lambda pack, text: policy_answers.staff_answer(
        pack, "what_is_emergency"
    ),
    "ask_fgm_duty": lambda pack, text: policy_answers.route_question_answer(pack, "fgm"),
    "ask_prevent": lambda pack, text: policy_answers.route_question_answer(pack, "prevent"),
    "ask_online_safety": lambda pack, text: policy_answers.staff_answer(pack, "online_safety"),
}
# The worker's typed answers to the first two questions, kept with the record.
TYPED_ANSWERS = ("danger_answer", "timing_answer")


def just_asked(tracker: Tracker, slot: str) -> bool:
    """The worker's message answers `slot` (the form asked for it). Rasa also re-validates
    every answer already given when a paused form is resumed ("carry on"): those must not
    raise the alarm again, re-flag a kept wording, or be taken for questions."""
    return tracker.get_slot("requested_slot") == slot


def danger_in_latest(tracker: Tracker) -> bool:
    """The worker's latest message shows danger now: the 999 floor (the detector and the
    classifier, as the NLU pipeline's triage recorded it) or the emergency button."""
    latest = tracker.latest_message or {}
    intent = (latest.get("intent") or {}).get("name")
    urgency = (latest.get("triage") or {}).get("urgency")
    return intent in DANGER_INTENTS or urgency == "immediate"


_PAYLOAD = re.compile(r"/\w+(?:\{.*\})?", re.DOTALL)
NOT_AN_ANSWER = "That was a button from another question. Please type your answer."


def is_payload(text: str) -> bool:
    """A button's payload ("/affirm", '/correct_answer{...}'): a command, never an answer."""
    return _PAYLOAD.fullmatch(text.strip()) is not None


class ValidateDisclosureForm(FormValidationAction):
    def name(self) -> str:
        return "validate_disclosure_form"

    # -- danger and timing -------------------------------------------------------------
    async def validate_danger_now(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Yes or no from the buttons, or a typed answer read as yes (danger shows: the
        floor is never lowered), no (denied) or unclear (asked once more, with 999)."""

        if not just_asked(tracker, "danger_now"):
            return {"danger_now": value}  # re-checked on resume: nothing happens twice
        if isinstance(value, bool):
            if value:
                alarm_here(dispatcher, tracker, ANSWERED_YES)
            # Read as yes or no, but typed as a sentence ("no, she's at her nan's and he
            # doesn't know the address"): what was typed is kept with the record too.
            typed = disclosure.clean_answer(str((tracker.latest_message or {}).get("text") or ""))
            if typed and not is_payload(typed) and len(typed.split()) > 3:
                return {"danger_now": value, "danger_answer": typed}
            return {"danger_now": value}
        text = disclosure.clean_answer(value)
        if not text or is_payload(text):
            return {"danger_now": None}
        reading = disclosure.read_danger_answer(text, danger_in_latest(tracker))
        if reading == disclosure.DANGER_UNCLEAR and tracker.get_slot("danger_answer"):
            # Asked once more already: this answer is kept, and read as no danger now
            # (the 999 line was in that question; danger said later is still caught).
            say(dispatcher, "Thank you. I have kept your answer as you wrote it.")
            first = tracker.get_slot("danger_answer")
            return {"danger_now": False, "danger_answer": f"{first}\n{text}"}
        if reading == disclosure.DANGER_YES:
            alarm_here(dispatcher, tracker, text)
            return {"danger_now": True, "danger_answer": text}
        if reading == disclosure.DANGER_NO:
            return {"danger_now": False, "danger_answer": text}
        # Unclear: the answer is kept and the form asks its question once more, as the
        # follow-up with the 999 line (AskDangerNow); saying it here as well put two danger
        # questions in one reply, and every later answer landed one question late.
        return {"danger_now": None, "danger_answer": text}

    async def validate_disclosure_timing(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The answer is kept as typed; the guidance follows what it says. When it does not
        say whether the child is still there, both short guidances are given rather than
        asking again (a question is never asked twice)."""
        if not just_asked(tracker, "disclosure_timing"):
            return {"disclosure_timing": value}
        text = disclosure.clean_answer(value)
        if not text or is_payload(text):
            return {"disclosure_timing": None}
        danger = danger_first(dispatcher, tracker, text)
        timing = disclosure.timing_of(text)
        if timing in (None, "during"):
            dispatcher.utter_message(response="utter_guidance_during")
        if timing in (None, "after"):
            dispatcher.utter_message(response="utter_guidance_after")
        return {"disclosure_timing": timing or "unclear", "timing_answer": text, **danger}

    # -- the record fields ---------------------------------------------------------------
    def _plain(
        self,
        slot: str,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker | None = None,
    ) -> dict[str, Any]:
        """The answer exactly as typed. Danger in it (the 999 floor) says 999 first and
        raises or extends the alarm, and the answer is still kept: an answer is never lost."""
        if tracker is not None and not just_asked(tracker, slot):
            return {slot: value}  # re-checked on resume: nothing happens twice
        text = disclosure.clean_answer(value)
        if not text or is_payload(text):
            if text and text != KEEP_PAYLOAD:
                danger = danger_first(dispatcher, tracker, text) if tracker is not None else {}
                if not danger:  # the emergency button mid-form was answered by 999
                    say(dispatcher, NOT_AN_ANSWER)
            return {slot: None}
        if tracker is not None and self._answered_question(text, dispatcher, tracker):
            return {slot: None}  # asked again after the answer (a question is not an answer)
        danger = danger_first(dispatcher, tracker, text) if tracker is not None else {}
        if disclosure.is_skip(text):
            return {slot: SKIPPED, **danger}
        if disclosure.too_long(text):
            say(dispatcher, too_long_message(FIELDS_BY_SLOT[slot].label))
            return {slot: None, **danger}
        return {slot: text, **danger}

    @staticmethod
    def _answered_question(text: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
        """A question asked at a record question ("what's the LADO number?"): answered from
        the pack, and True (the record's question is asked again). Only when the classifier
        heard a question AND it is asked as one; otherwise the text is the answer."""
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        if intent not in QUESTION_INTENTS and intent not in PACK_QUESTIONS:
            return False
        if not disclosure.is_question(text):
            return False
        if danger_in_latest(tracker):
            return False  # danger in it: it is taken as the answer, with 999 first

        try:
            if intent == "ask_contact":
                say(dispatcher, policy_answers.contacts_answer(pack(), text))
            elif intent == "ask_timescale":
                say(dispatcher, policy_answers.timescales_answer(pack(), text))
            elif intent in PACK_QUESTIONS:
                say(dispatcher, PACK_QUESTIONS[intent](pack(), text))
            else:
                dispatcher.utter_message(response="utter_help_menu")
        except Exception as exc:  # noqa: BLE001
            say_failure(dispatcher, "answer the question", exc)
        return True

    def _checked(
        self, slot: str, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        """Worker-written text: check the language, let them rephrase or keep it."""
        if not just_asked(tracker, slot):
            return {slot: value}  # re-checked on resume: a kept wording is not re-flagged
        review = tracker.get_slot("language_review")
        pending = tracker.get_slot("language_pending") or {}
        choices = list(tracker.get_slot("language_choices") or [])
        done = {"language_review": None, "language_pending": None}
        text = disclosure.clean_answer(value)
        if review == slot and pending.get("text") and wants_to_keep(text, tracker):
            choices.append({"field": slot, "choice": "kept", "rules": pending.get("rules", [])})
            return {slot: pending["text"], **done, "language_choices": choices}
        plain = self._plain(slot, value, dispatcher, tracker)
        text = plain[slot]
        if text is None or text == SKIPPED:
            return {**plain, **done}

        findings = language.check(text)
        if findings:
            say(dispatcher, language.format_for_chat(findings))
            return {
                **plain,
                slot: None,
                "language_review": slot,
                "language_pending": {"text": text, "rules": sorted({f.rule for f in findings})},
            }
        if review == slot:
            choices.append(
                {"field": slot, "choice": "rephrased", "rules": pending.get("rules", [])}
            )
        return {**plain, slot: text, **done, "language_choices": choices}

    async def validate_child_identity(self, value, dispatcher, tracker, domain):  # noqa: ANN001, ANN201
        return self._plain("child_identity", value, dispatcher, tracker)

    async def validate_child_age(self, value, dispatcher, tracker, domain):  # noqa: ANN001, ANN201
        return self._plain("child_age", value, dispatcher, tracker)

    async def validate_child_words(self, value, dispatcher, tracker, domain):  # noqa: ANN001, ANN201
        # Verbatim: never language-checked, never changed.
        result = self._plain("child_words", value, dispatcher, tracker)
        if result["child_words"] and result["child_words"] != SKIPPED:
            result["suggested_categories"] = disclosure.categories_in(result["child_words"])
        return result

    async def validate_observations(self, value, dispatcher, tracker, domain):  # noqa: ANN001, ANN201
        return self._checked("observations", value, dispatcher, tracker)

    async def validate_when_where(self, value, dispatcher, tracker, domain):  # noqa: ANN001, ANN201
        return self._plain("when_where", value, dispatcher, tracker)

    async def validate_others_involved(self, value, dispatcher, tracker, domain):  # noqa: ANN001, ANN201
        return self._checked("others_involved", value, dispatcher, tracker)

    async def validate_actions_taken(self, value, dispatcher, tracker, domain):  # noqa: ANN001, ANN201
        return self._checked("actions_taken", value, dispatcher, tracker)

    async def validate_worker_view(self, value, dispatcher, tracker, domain):  # noqa: ANN001, ANN201
        return self._checked("worker_view", value, dispatcher, tracker)

    # -- categories and confirmation -----------------------------------------------------
    async def validate_categories(self, value, dispatcher, tracker, domain):  # noqa: ANN001, ANN201

        values = list(_flatten(value))
        if ACCEPT in values:
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


def alarm_here(dispatcher: CollectingDispatcher, tracker: Tracker, report: str) -> None:
    """999 first, then raise the alarm (or extend the conversation's concern) and say who
    was paged. Claimed per message, like action_raise_alarm: if this validation fails, the
    channel's fail-safe pages instead (bot/failsafe/safety.py), never as well."""
    dispatcher.utter_message(response="utter_call_999")

    try:
        alarm = raise_alarm_once(
            alarm_key(tracker),
            worker_from(tracker),
            report,
            conversation=conversation_of(tracker),
        )
        say(dispatcher, paged_message(alarm.outcome, pack()))
    except Exception as exc:  # noqa: BLE001 - 999 was said; the numbers still follow
        say_failure(dispatcher, "raise alarm", exc, after_999=True)


def danger_first(dispatcher: CollectingDispatcher, tracker: Tracker, text: str) -> dict[str, Any]:
    """Triage runs on every answer: danger in it gets 999 first and the alarm, and the form
    records that danger was reported (the saved record is then immediate)."""
    if not danger_in_latest(tracker):
        return {}

    alarm_here(dispatcher, tracker, report_text(text))
    return {"danger_now": True}


def _flatten(value: Any):  # noqa: ANN202
    """A list slot's value as plain items: Rasa can hand a button's list value over nested
    (["__accept__"] arrived as [["__accept__"]] and was recorded as its repr)."""
    if isinstance(value, list | tuple):
        for item in value:
            yield from _flatten(item)
    elif value is not None:
        yield value


class AskCategories(Action):
    def name(self) -> str:
        return "action_ask_categories"

    async def run(self, dispatcher, tracker, domain):  # noqa: ANN001, ANN201

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

    worker = worker_from(tracker)
    answers = {slot: tracker.get_slot(slot) for slot in (*disclosure.RECORD_SLOTS, *TYPED_ANSWERS)}
    chosen = list(tracker.get_slot("categories") or [])
    urgency = "immediate" if tracker.get_slot("danger_now") is True else "urgent"
    moment = now()
    ask_again: dict[str, Any] = {"confirm_record": None}
    try:
        draft = draft_from_answers(
            answers, chosen, urgency, worker, tracker.get_slot("language_choices"), moment
        )
        # Once per record: if Rasa gave up waiting for this save after it had saved (its
        # reply lost), saving again finds the first save (bot/failsafe/safety.py).

        key = submission_key(worker.id, draft)

        conversation = conversation_of(tracker)

        def save_once():  # noqa: ANN202
            return run_once(
                key,
                lambda: raise_concern(draft, moment, worker, conversation),
                retry_unsaved=True,
            )

        loop = asyncio.get_running_loop()
        outcome = (await loop.run_in_executor(_SAVES, save_once)).outcome
    except Exception as exc:  # noqa: BLE001
        say_failure(dispatcher, "save disclosure", exc)
        return ask_again
    if outcome is None:  # the same record is being saved right now, elsewhere
        say(dispatcher, replies.record_still_saving())
        return ask_again
    if outcome.spooled:
        say(dispatcher, spooled_message(urgency, moment))
        # The record is safe in the spool: clear the answers as after a save.
        return {**closed_record(), "concern_ref": None}
    if not outcome.saved:
        problem = outcome.problems[0] if outcome.problems else "unknown error"
        say(dispatcher, replies.record_not_saved(problem, pack()))
        return ask_again
    say(dispatcher, saved_message(outcome, chosen, moment))
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

    on_call, _wait = who_is_paged(urgency, now)
    return replies.record_spooled(urgency, on_call, pack())


def saved_message(outcome, chosen: list[str], now) -> str:  # noqa: ANN001
    """Reference (or the concern it was added to), who was paged, the deadlines from the
    pack, and category routes (bot.core.replies)."""
    return policy_answers.saved(outcome, chosen, now, pack())


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


def unclear_answer_kept(tracker: Tracker) -> bool:
    """The first answer to the danger question was kept but did not say yes or no: the
    question is asked once more, as the follow-up (a second unclear answer is kept as no)."""
    return tracker.get_slot("danger_now") is None and bool(tracker.get_slot("danger_answer"))


class AskDangerNow(Action):
    """The form's first question. Before it: the answer to what the opening message asked
    and the special route its words name (answer first, then record), and, when this
    conversation already raised a concern, that what follows is added to it."""

    def name(self) -> str:
        return "action_ask_danger_now"

    async def run(self, dispatcher, tracker, domain):  # noqa: ANN001, ANN201

        latest = tracker.latest_message or {}
        opening = (latest.get("intent") or {}).get("name") == "start_disclosure"
        answer = None
        if opening:
            try:
                answer = policy_answers.opening_answer(pack(), latest.get("text") or "")
            except Exception as exc:  # noqa: BLE001 - the question must still be asked
                logger.error("opening answer failed: %s", type(exc).__name__)
                answer = None
            if answer:
                say(dispatcher, answer + "\n\nLet's write it down now, while it is fresh.")
            earlier = open_concern_for(conversation_of(tracker), now())
            if earlier is not None:
                say(
                    dispatcher,
                    f"This conversation already has concern {earlier.concern_ref} (raised at "
                    f"{earlier.opened_at:%H:%M}). What you record now is added to it. If this "
                    'is about a different child, say "new concern".',
                )
        # Harm told with the timing unknown: ask, don't guess. This reply keeps the 999 line
        # and asks whether the child will be with that person today or tonight; yes takes
        # the immediate path (validate_danger_now).
        # 999 once per reply: when the opening answer above already said it, the question
        # is asked without repeating the line.
        outcome = (latest.get("triage") or {}).get("outcome")
        if unclear_answer_kept(tracker):
            response = "utter_danger_unclear"
        elif outcome != "ask":
            response = "utter_ask_danger_now"
        elif answer and "999" in answer:
            response = "utter_ask_timing"
        else:
            response = "utter_ask_danger_now_timing"
        dispatcher.utter_message(response=response)
        return []


class NewConcern(Action):
    """The worker says the next thing is about a different child: the conversation's
    incident ends, so the next alarm or record is a new concern with its own page chain."""

    def name(self) -> str:
        return "action_new_concern"

    async def run(self, dispatcher, tracker, domain):  # noqa: ANN001, ANN201

        try:
            ended = end_incident(conversation_of(tracker))
        except Exception as exc:  # noqa: BLE001
            say_failure(dispatcher, "start a new concern", exc)
            return []
        if ended:
            say(
                dispatcher,
                f"Understood: {ended} stays as it is, and what you tell me next is a new "
                "concern about a different child.",
            )
        else:
            say(dispatcher, "Understood: what you tell me next is a new concern.")
        return []
