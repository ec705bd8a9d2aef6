"""The danger floor as Rasa applies it: the detector raises, never lowers; wordless
answers (ages, dates) are not taken as danger by the classifier alone."""

from __future__ import annotations

import pytest

from bot.rasa.rasa_danger import apply_floor, wordless


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
