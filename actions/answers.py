"""Organisation-specific answers, read from the policy pack by `bot.core.policy_answers`."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.context import latest_text, pack, say, say_failure
from bot.core import categories
from bot.core.policy_answers import (
    after_report_answer,
    child_definition_answer,
    contacts_answer,
    emergency_text,
    retention_answer,
    route_question_answer,
    staff_answer,
    timescales_answer,
    training_answer,
)


class PackAnswer(Action):
    """Answer from the pack; any failure becomes a plain message with the emergency line."""

    action: str = ""

    def name(self) -> str:
        return self.action

    @abstractmethod
    def answer(self, tracker: Tracker) -> str:
        """The reply, from the policy pack."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        try:
            say(dispatcher, self.answer(tracker))
        except Exception as exc:  # noqa: BLE001
            say_failure(dispatcher, self.action, exc)
        return []


class AnswerContact(PackAnswer):
    action = "action_answer_contact"

    def answer(self, tracker: Tracker) -> str:

        return contacts_answer(pack(), latest_text(tracker))


class AnswerTimescale(PackAnswer):
    action = "action_answer_timescale"

    def answer(self, tracker: Tracker) -> str:

        return timescales_answer(pack(), latest_text(tracker))


class AnswerChildDefinition(PackAnswer):
    action = "action_answer_child_definition"

    def answer(self, tracker: Tracker) -> str:

        return child_definition_answer(pack())


class AnswerTraining(PackAnswer):
    action = "action_answer_training"

    def answer(self, tracker: Tracker) -> str:

        return training_answer(pack())


class AnswerAfterReport(PackAnswer):
    """What happens after a report; asked "will they know it was me?" or "what if I'm
    wrong?", the policy's answer to that (bot.core.policy_answers.after_report_answer)."""

    action = "action_answer_after_report"

    def answer(self, tracker: Tracker) -> str:

        return after_report_answer(pack(), latest_text(tracker))


# -- the questions staff ask (issue #17): answers only, from the pack; none raises an alarm,
# pages anyone or opens the disclosure form.


class AnswerHowToReport(PackAnswer):
    action = "action_answer_how_to_report"

    def answer(self, tracker: Tracker) -> str:
        return staff_answer(pack(), "how_to_report")


class AnswerWhyChildrenDontTell(PackAnswer):
    action = "action_answer_why_children_dont_tell"

    def answer(self, tracker: Tracker) -> str:
        return staff_answer(pack(), "why_children_dont_tell")


class AnswerInformationSharing(PackAnswer):
    action = "action_answer_information_sharing"

    def answer(self, tracker: Tracker) -> str:
        return staff_answer(pack(), "information_sharing")


class AnswerWhatIsEmergency(PackAnswer):
    """An explanation of what an emergency is: it may name 999 as the number to call, but it
    is not the danger reply and raises no alarm (a real emergency is caught by the danger
    detector, whatever intent the words were given)."""

    action = "action_answer_what_is_emergency"

    def answer(self, tracker: Tracker) -> str:
        return staff_answer(pack(), "what_is_emergency")


class AnswerOnlineSafety(PackAnswer):
    action = "action_answer_online_safety"

    def answer(self, tracker: Tracker) -> str:
        return staff_answer(pack(), "online_safety")


class AnswerAllegation(PackAnswer):
    action = "action_answer_allegation"

    def answer(self, tracker: Tracker) -> str:
        return route_question_answer(pack(), "allegation_staff")


class AnswerFgmDuty(PackAnswer):
    action = "action_answer_fgm_duty"

    def answer(self, tracker: Tracker) -> str:
        return route_question_answer(pack(), "fgm")


class AnswerPrevent(PackAnswer):
    action = "action_answer_prevent"

    def answer(self, tracker: Tracker) -> str:
        return route_question_answer(pack(), "prevent")


class AnswerRetention(PackAnswer):
    action = "action_answer_retention"

    def answer(self, tracker: Tracker) -> str:
        return retention_answer(pack())


class FallbackContacts(PackAnswer):
    """After the general fallback response: who to call, from this organisation's pack."""

    action = "action_fallback_contacts"

    def answer(self, tracker: Tracker) -> str:

        return emergency_text(pack())


class ExplainCategory(Action):
    """Signs of a category of abuse; with no category named, the category buttons."""

    def name(self) -> str:
        return "action_explain_category"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        try:

            category = categories.find_category(latest_text(tracker))
            if category is None:
                dispatcher.utter_message(response="utter_ask_abuse_category")
            else:
                # Only this deployment's own policy is cited (the generic pack cites all).
                say(dispatcher, categories.explain(category, pack=pack()))
        except Exception as exc:  # noqa: BLE001
            say_failure(dispatcher, self.name(), exc)
        return []
