"""The danger detector as a Rasa NLU component: the 999 floor on every message.

Thin on purpose: the rules and their logic live in `bot/core/triage.py` and
`knowledge/danger_rules.yml`, testable without Rasa. This component only translates:
it runs after the trained classifier (see config.yml for why it must be last), attaches
the assessment to the parse result as `triage`, and when the detector says `immediate`
it sets the intent to `report_danger` with confidence 1.0, whatever the classifier
thought. It never lowers what the classifier found.
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

from bot.core import triage

logger = logging.getLogger(__name__)

DANGER_INTENT = "report_danger"
# Intents that already mean "danger now": the detector leaves them as they are.
DANGER_INTENTS = {DANGER_INTENT, "emergency"}
TRIAGE_KEY = "triage"
# The emergency numbers themselves are the one wordless message that means danger.
EMERGENCY_NUMBERS = {"999", "112"}
_WORD = re.compile(r"[^\W\d_]{2,}")


# The `emergency` intent is the worker's command ("emergency", "999", "sos"): short and
# unmistakable, so the classifier is confident on it. Below this confidence, with the
# detector finding nothing, it is the classifier guessing on an answer it has no intent
# for: a child's name and reference ("Ellie (ref TCS-4471)") scored 0.46 and paged a lead
# in the middle of a disclosure. report_danger is untouched: the classifier may raise it.
EMERGENCY_MIN_CONFIDENCE = 0.6


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
    """Return the triage result for one message and update `parse` (intent, ranking) in place.

    Separate from the component class so it can be tested without building a graph.
    """
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
        detected = assessment.urgency
        signs = [sign.label for sign in assessment.signs]
    except Exception:  # never let the floor itself take the bot down
        logger.exception("danger detector failed; keeping the classifier's intent")
        detected, signs = "routine", []
    urgency = triage.raise_floor(detected, classified)
    result = {"urgency": urgency, "detected": detected, "classified": classified, "signs": signs}
    if detected == "immediate" and intent.get("name") not in DANGER_INTENTS:
        result["overrode_intent"] = intent.get("name")
        parse[INTENT] = {"name": DANGER_INTENT, "confidence": 1.0}
        ranking = [r for r in parse.get(INTENT_RANKING_KEY) or [] if r.get("name") != DANGER_INTENT]
        parse[INTENT_RANKING_KEY] = [{"name": DANGER_INTENT, "confidence": 1.0}, *ranking]
    return result


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class DangerDetector(GraphComponent):
    """Deterministic immediate-harm floor over the trained intent classifier."""

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
    ) -> DangerDetector:
        # Load and validate the rules now: a broken rules file stops start-up with a
        # one-line message instead of failing on the first worried message.
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
            result = apply_floor(parse, message.get(TEXT) or "")
            if "overrode_intent" in result or parse[INTENT] != message.get(INTENT):
                message.set(INTENT, parse[INTENT], add_to_output=True)
                message.set(INTENT_RANKING_KEY, parse[INTENT_RANKING_KEY], add_to_output=True)
            message.set(TRIAGE_KEY, result, add_to_output=True)
        return messages
