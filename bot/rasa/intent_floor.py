"""The intent floor: one Rasa NLU component that applies two fixed rules to every message.

Thin on purpose: the rules' data and logic live in `bot/core/intent_cues.py`
(`knowledge/intent_cues.yml`) and `bot/core/triage.py` (`knowledge/danger_rules.yml`),
testable without Rasa. This module only translates them onto Rasa's parse result, in an
order that is fixed here, not left to config.yml:

1. The cue guard (`apply_cues`): an intent the classifier may not decide alone (a gated
   intent such as `correct_answer`, `cancel` or `pause`) without its cue word becomes
   `nlu_fallback`, and the demoted name is kept in the parse as `demoted_intent`. A child's
   words typed into the form are taken as the answer, not as a command.
2. The danger floor (`apply_floor`), always last: wordless answers (an age, a date) and
   low-confidence guesses at the `emergency` command are not trusted as danger; then the
   deterministic detector runs, its assessment is attached as `triage`, and when it says
   `immediate` the intent becomes `report_danger` with confidence 1.0, whatever the
   classifier (or the cue guard) left. It never lowers what the classifier found.

The component sits after DIETClassifier and the FallbackClassifier, at the end of the
pipeline (config.yml): each of those overwrites the intent, so a rule placed before them
would be erased. The floor runs after the cue guard so that nothing, including a demotion,
can lower an urgency it found.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.core import disclosure, intent_cues, triage

logger = logging.getLogger(__name__)

DANGER_INTENT = "report_danger"
# Intents that already mean "danger now": the detector leaves them as they are.
DANGER_INTENTS = {DANGER_INTENT, "emergency"}
TRIAGE_KEY = "triage"
DEMOTED_KEY = "demoted_intent"
# The emergency numbers themselves are the one wordless message that means danger.
EMERGENCY_NUMBERS = {"999", "112"}
_WORD = re.compile(r"[^\W\d_]{2,}")


# The `emergency` intent is the worker's command ("emergency", "999", "sos"): short and
# unmistakable, so the classifier is confident on it. Below this confidence, with the
# detector finding nothing, it is the classifier guessing on an answer it has no intent
# for: a child's name and reference ("Ellie (ref TCS-4471)") scored 0.46 and paged a lead
# in the middle of a disclosure. report_danger is untouched: the classifier may raise it.
EMERGENCY_MIN_CONFIDENCE = 0.6

# A situation is never answered as a question: when the detector finds harm told about a
# child with the timing unknown (outcome `ask`), a question or fallback intent becomes the
# concern path, whose first reply keeps the 999 line and asks one question.
SITUATION_INTENT = "start_disclosure"
NOT_FOR_SITUATIONS = {"nlu_fallback", "out_of_scope", "new_worker_what_to_do"}


def answers_as_question(intent_name: str | None) -> bool:
    """Intents whose reply is a general answer (an FAQ block or a definition)."""
    return bool(intent_name) and (
        intent_name in NOT_FOR_SITUATIONS or str(intent_name).startswith("ask_")
    )


# --------------------------------------------------------------------------- 1. cue guard


def set_intent(parse: dict[str, Any], name: str, confidence: float) -> None:
    """Make `name` the parse's intent, first in its ranking (in place)."""
    parse[INTENT] = {"name": name, "confidence": confidence}
    ranking = [r for r in parse.get(INTENT_RANKING_KEY) or [] if r.get("name") != name]
    parse[INTENT_RANKING_KEY] = [{"name": name, "confidence": confidence}, *ranking]


def apply_cues(parse: dict[str, Any], text: str) -> str | None:
    """Demote a gated intent without its cue in `parse` (in place); the demoted name."""
    intent = parse.get(INTENT) or {}
    name = intent.get("name")
    kept = intent_cues.gate(name, text)
    if kept == name:
        return None
    set_intent(parse, kept, intent.get("confidence", 0.0))
    return name


# --------------------------------------------------------------------------- 2. danger floor


def wordless(text: str) -> bool:
    """True for a message with no word in it: an age, a date, a reference number."""
    return _WORD.search(text or "") is None and (text or "").strip() not in EMERGENCY_NUMBERS


def classify_urgency(intent_name: str | None) -> str:
    """The urgency the classifier's intent implies on its own."""
    if intent_name in DANGER_INTENTS:
        return "immediate"
    if intent_name == "start_disclosure":
        return "urgent"
    return "routine"


def apply_floor(parse: dict[str, Any], text: str) -> dict[str, Any]:
    """Return the triage result for one message and update `parse` (intent, ranking) in place."""
    intent = parse.get(INTENT) or {}
    if intent.get("name") in DANGER_INTENTS and wordless(text):
        # The classifier matches digits to the "999" examples: "13" or "2011-04-02" typed
        # as a child's age in the form would page a lead. A message with no words cannot
        # describe danger, so it is not trusted as one (the detector still runs below).
        parse[INTENT] = {"name": "nlu_fallback", "confidence": intent.get("confidence", 0.0)}
        intent = parse[INTENT]
    elif (
        intent.get("name") == "emergency"
        and float(intent.get("confidence") or 0.0) < EMERGENCY_MIN_CONFIDENCE
        and (text or "").strip() not in EMERGENCY_NUMBERS
    ):
        # A low-confidence guess at the command intent is not a command (see above); the
        # detector below still raises real danger in the same words.
        parse[INTENT] = {"name": "nlu_fallback", "confidence": intent.get("confidence", 0.0)}
        intent = parse[INTENT]
    classified = classify_urgency(intent.get("name"))
    try:
        assessment = triage.assess(text or "")
        detected, outcome = assessment.urgency, assessment.outcome
        signs = [sign.label for sign in assessment.signs]
    except Exception:  # never let the floor itself take the bot down
        logger.exception("danger detector failed; keeping the classifier's intent")
        detected, outcome, signs = "routine", "routine", []
    urgency = triage.raise_floor(detected, classified)
    if urgency == "immediate":
        outcome = "immediate"
    elif outcome != "ask":
        outcome = urgency
    result = {
        "urgency": urgency,
        "outcome": outcome,
        "detected": detected,
        "classified": classified,
        "signs": signs,
    }
    if (
        outcome == "ask"
        and answers_as_question(intent.get("name"))
        and (not disclosure.is_question(text or "") or intent_cues.is_situation(text or ""))
    ):
        # Told as a situation (a statement, or a question whose clause tells one); a general
        # question that only names a harm ("why do abused children not tell?") keeps its
        # answer.
        result["overrode_intent"] = intent.get("name")
        set_intent(parse, SITUATION_INTENT, 1.0)
    if detected == "immediate" and intent.get("name") not in DANGER_INTENTS:
        result["overrode_intent"] = intent.get("name")
        set_intent(parse, DANGER_INTENT, 1.0)
    return result


# --------------------------------------------------------------------------- both, in order


def apply(parse: dict[str, Any], text: str) -> dict[str, Any]:
    """Both rules on one message, cue guard then danger floor; `parse` is updated in place.

    The keys to add to the parse result: always `triage`, and `demoted_intent` when the
    cue guard demoted an intent. Separate from the component so it is testable without a
    graph.
    """
    added: dict[str, Any] = {}
    demoted = apply_cues(parse, text)
    if demoted:
        added[DEMOTED_KEY] = demoted
    # Last, so that it sees (and can only raise) whatever the cue guard left.
    added[TRIAGE_KEY] = apply_floor(parse, text)
    return added


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class IntentFloor(GraphComponent):
    """The cue guard then the deterministic immediate-harm floor, over the trained classifier."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> IntentFloor:
        # Load and validate both rule files now: a broken one stops start-up with a
        # one-line message instead of failing on the first worried message.
        intent_cues.load()
        triage.assess("warm-up")
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            parse = {
                INTENT: message.get(INTENT),
                INTENT_RANKING_KEY: message.get(INTENT_RANKING_KEY),
            }
            added = apply(parse, message.get(TEXT) or "")
            # Rewritten only when a rule changed them: otherwise Rasa's own values stand.
            if (
                DEMOTED_KEY in added
                or "overrode_intent" in added[TRIAGE_KEY]
                or parse[INTENT] != message.get(INTENT)
            ):
                message.set(INTENT, parse[INTENT], add_to_output=True)
                message.set(INTENT_RANKING_KEY, parse[INTENT_RANKING_KEY], add_to_output=True)
            for key, value in added.items():
                message.set(key, value, add_to_output=True)
        return messages
