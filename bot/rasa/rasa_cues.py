"""Rasa NLU component: intents the classifier may not decide alone (bot/core/intent_cues.py).

Runs after the FallbackClassifier and before the danger detector (config.yml): a gated
intent without its cue becomes `nlu_fallback`, and the danger floor still runs after it.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.core import intent_cues


def apply_cues(parse: dict[str, Any], text: str) -> str | None:
    """Demote a gated intent without its cue in `parse` (in place); the demoted name."""
    intent = parse.get(INTENT) or {}
    name = intent.get("name")
    kept = intent_cues.gate(name, text)
    if kept == name:
        return None
    confidence = intent.get("confidence", 0.0)
    parse[INTENT] = {"name": kept, "confidence": confidence}
    ranking = [r for r in parse.get(INTENT_RANKING_KEY) or [] if r.get("name") != kept]
    parse[INTENT_RANKING_KEY] = [{"name": kept, "confidence": confidence}, *ranking]
    return name


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class CueGuard(GraphComponent):
    """Keeps `correct_answer` (and any intent gated in knowledge/intent_cues.yml) honest."""

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
    ) -> CueGuard:
        intent_cues.load()  # a broken cues file stops start-up with one line
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            parse = {
                INTENT: message.get(INTENT),
                INTENT_RANKING_KEY: message.get(INTENT_RANKING_KEY),
            }
            demoted = apply_cues(parse, message.get(TEXT) or "")
            if demoted:
                message.set(INTENT, parse[INTENT], add_to_output=True)
                message.set(INTENT_RANKING_KEY, parse[INTENT_RANKING_KEY], add_to_output=True)
                message.set("demoted_intent", demoted, add_to_output=True)
        return messages
