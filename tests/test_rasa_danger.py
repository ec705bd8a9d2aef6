"""The danger floor as Rasa applies it: the detector raises, never lowers; wordless
answers (ages, dates) are not taken as danger by the classifier alone. And the one NLU
component (bot/rasa/intent_floor.py) applies the cue guard first, then the floor, last in
the pipeline."""

from __future__ import annotations

import pytest

from bot.rasa.intent_floor import IntentFloor, apply_floor, wordless


def parse(intent: str, confidence: float = 0.9) -> dict:
    return {
        "intent": {"name": intent, "confidence": confidence},
        "intent_ranking": [{"name": intent, "confidence": confidence}],
    }


def test_detector_overrides_a_routine_intent_to_danger() -> None:
    data = parse("ask_contact")
    result = apply_floor(data, "he's outside with a knife right now")
    assert data["intent"] == {"name": "report_danger", "confidence": 1.0}
    assert data["intent_ranking"][0]["name"] == "report_danger"
    assert result["urgency"] == "immediate" and result["overrode_intent"] == "ask_contact"
    assert result["signs"]


def test_classifier_may_raise_urgency() -> None:
    data = parse("emergency")
    result = apply_floor(data, "help need someone now")
    assert data["intent"]["name"] == "emergency"
    assert result["urgency"] == "immediate"


def test_nothing_lowers_a_detected_danger() -> None:
    for intent in ("greet", "nlu_fallback", "start_disclosure", "cancel"):
        data = parse(intent, 0.99)
        assert apply_floor(data, "she's taken an overdose")["urgency"] == "immediate"
        assert data["intent"]["name"] == "report_danger"


@pytest.mark.parametrize("text", ["13", "2011-04-02", "  07/05/2012 ", "4471", "-"])
def test_wordless_answers_are_not_danger_by_the_classifier_alone(text: str) -> None:
    data = parse("emergency", 0.96)
    result = apply_floor(data, text)
    assert data["intent"]["name"] == "nlu_fallback"
    assert result["urgency"] == "routine"


@pytest.mark.parametrize("text", ["999", " 112 "])
def test_the_emergency_numbers_still_mean_emergency(text: str) -> None:
    data = parse("emergency", 0.9)
    assert apply_floor(data, text)["urgency"] == "immediate"
    assert data["intent"]["name"] == "emergency"


def test_wordless() -> None:
    assert wordless("13") and wordless("") and not wordless("she is 13") and not wordless("999")


def test_a_low_confidence_guess_at_the_emergency_command_is_not_danger() -> None:
    """A child's name and reference typed into the form scored 'emergency' at 0.46."""
    data = parse("emergency", 0.46)
    result = apply_floor(data, "Ellie (ref TCS-4471)")
    assert result["urgency"] == "routine"
    assert data["intent"]["name"] == "nlu_fallback"


def test_a_confident_emergency_command_and_the_detector_still_raise() -> None:
    assert apply_floor(parse("emergency", 0.9), "emergency")["urgency"] == "immediate"
    assert apply_floor(parse("emergency", 0.3), "999")["urgency"] == "immediate"
    # The detector raises real danger whatever the classifier guessed.
    low = parse("emergency", 0.3)
    assert apply_floor(low, "hes outside the centre with a knife now")["urgency"] == "immediate"


# -- the one component: cue guard, then the danger floor, after the classifier -------------


def message(intent: str, confidence: float, text: str):  # noqa: ANN201
    from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
    from rasa.shared.nlu.training_data.message import Message

    return Message(
        data={
            TEXT: text,
            INTENT: {"name": intent, "confidence": confidence},
            INTENT_RANKING_KEY: [{"name": intent, "confidence": confidence}],
        }
    )


def test_the_cue_guard_runs_first_and_the_floor_still_raises_after_it() -> None:
    """A gated command in a child's words is demoted, and danger in the same words is
    still raised: the floor sees what the guard left and can only raise it."""
    words = "i just want it all to stop, she's taken an overdose"
    [out] = IntentFloor().process([message("cancel", 0.99, words)])
    assert out.get("demoted_intent") == "cancel"
    assert out.get("intent") == {"name": "report_danger", "confidence": 1.0}
    assert out.get("intent_ranking")[0]["name"] == "report_danger"
    triage = out.get("triage")
    assert triage["urgency"] == "immediate" and triage["overrode_intent"] == "nlu_fallback"
    assert {"intent", "intent_ranking", "demoted_intent", "triage"} <= out.output_properties


def test_a_demoted_answer_stays_demoted_when_there_is_no_danger() -> None:
    [out] = IntentFloor().process([message("correct_answer", 0.7, "scratches on both hands")])
    assert out.get("intent") == {"name": "nlu_fallback", "confidence": 0.7}
    assert out.get("intent_ranking")[0] == {"name": "nlu_fallback", "confidence": 0.7}
    assert out.get("demoted_intent") == "correct_answer"
    assert out.get("triage")["urgency"] == "routine"


def test_an_untouched_intent_is_left_as_the_classifier_set_it() -> None:
    [out] = IntentFloor().process([message("greet", 0.9, "hello there")])
    assert out.get("intent") == {"name": "greet", "confidence": 0.9}
    assert out.get("demoted_intent") is None
    assert out.get("triage")["urgency"] == "routine"


def test_config_runs_the_intent_floor_last_after_the_classifiers() -> None:
    """DIET and the FallbackClassifier overwrite the intent: the floor must come after."""
    import yaml

    from tests.conftest import ROOT

    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    names = [step["name"] for step in config["pipeline"]]
    assert names[-1] == "bot.rasa.intent_floor.IntentFloor"
    assert names.index("DIETClassifier") < names.index("FallbackClassifier") < len(names) - 1
    assert names.count("bot.rasa.intent_floor.IntentFloor") == 1


# -- ask, don't guess: harm told with the timing unknown ----------------------------------


@pytest.mark.parametrize("intent", ["ask_abuse_signs", "ask_child_definition", "nlu_fallback"])
def test_a_situation_with_unknown_timing_is_never_answered_as_a_question(intent: str) -> None:
    data = parse(intent, 0.8)
    result = apply_floor(data, "a boy in my group says his stepdad burns him with a lighter")
    assert result["outcome"] == "ask" and result["urgency"] == "urgent"
    assert data["intent"] == {"name": "start_disclosure", "confidence": 1.0}
    assert result["overrode_intent"] == intent


@pytest.mark.parametrize("intent", ["start_disclosure", "check_note", "correct_answer"])
def test_ask_leaves_the_concern_path_and_commands_alone(intent: str) -> None:
    data = parse(intent, 0.8)
    result = apply_floor(data, "a boy in my group says his stepdad burns him with a lighter")
    assert result["outcome"] == "ask"
    assert data["intent"]["name"] == intent and "overrode_intent" not in result


def test_a_question_about_signs_stays_a_question() -> None:
    data = parse("ask_abuse_signs", 0.8)
    result = apply_floor(data, "what are the signs that a child is being burnt?")
    assert result["outcome"] == "routine"
    assert data["intent"]["name"] == "ask_abuse_signs"


def test_the_classifier_raising_to_immediate_makes_the_outcome_immediate() -> None:
    data = parse("report_danger", 0.9)
    assert apply_floor(data, "his stepdad burns him")["outcome"] == "immediate"


@pytest.mark.parametrize(
    "text",
    [
        "why won't some abused kids speak up?",
        "how long do I have to report fgm, is there a deadline?",
    ],
)
def test_a_general_question_naming_a_harm_keeps_its_answer(text: str) -> None:
    data = parse("ask_why_children_dont_tell", 0.8)
    apply_floor(data, text)
    assert data["intent"]["name"] == "ask_why_children_dont_tell"


def test_a_question_that_tells_a_situation_takes_the_concern_path() -> None:
    data = parse("ask_abuse_signs", 0.8)
    result = apply_floor(data, "a year 6 boy says his stepdad burns him, what do I do?")
    assert result["outcome"] == "ask"
    assert data["intent"]["name"] == "start_disclosure"
