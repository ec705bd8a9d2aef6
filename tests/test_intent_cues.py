"""Gated intents: a real request keeps its intent, a plain form answer is not a correction."""

from __future__ import annotations

import pytest
import yaml

from bot.core import intent_cues
from bot.rasa.intent_floor import apply_cues
from tests.conftest import ROOT


def _examples(path: str, intent: str) -> list[str]:
    data = yaml.safe_load((ROOT / path).read_text(encoding="utf-8"))
    found: list[str] = []
    for block in data["nlu"]:
        if block.get("intent") == intent:
            found += [line[2:] for line in block["examples"].splitlines() if line.startswith("- ")]
    return found


GATED = sorted(intent_cues.load().gated)


@pytest.mark.parametrize("intent", GATED)
@pytest.mark.parametrize("path", ["data/nlu.yml", "tests/data/nlu_holdout.yml"])
def test_every_example_of_a_gated_intent_holds_a_cue(intent: str, path: str) -> None:
    examples = _examples(path, intent)
    assert examples, f"no examples of {intent} in {path}"
    missing = [text for text in examples if not intent_cues.has_cue(intent, text)]
    assert missing == []


@pytest.mark.parametrize(
    "answer",
    [
        "at her home on Sunday; she told me at 4pm today",
        "scratches on the backs of both hands",
        "she does not want to go home",
        "he was not there when it happened",
        "I said I would have to tell the safeguarding lead",
        "Tuesday 3pm in the art room",
    ],
)
def test_plain_form_answers_are_not_corrections(answer: str) -> None:
    parse = {"intent": {"name": "correct_answer", "confidence": 0.7}, "intent_ranking": []}
    assert apply_cues(parse, answer) == "correct_answer"
    assert parse["intent"] == {"name": "nlu_fallback", "confidence": 0.7}
    assert parse["intent_ranking"][0]["name"] == "nlu_fallback"


@pytest.mark.parametrize(
    "request_text",
    [
        "actually she is 15",
        "it was at school not at home",
        "not 10am, 10pm",
        "i got the date wrong",
        "can I change my answer",
        "i said monday but it was sunday",
    ],
)
def test_real_corrections_are_kept(request_text: str) -> None:
    parse = {"intent": {"name": "correct_answer", "confidence": 0.9}, "intent_ranking": []}
    assert apply_cues(parse, request_text) is None
    assert parse["intent"]["name"] == "correct_answer"


@pytest.mark.parametrize(
    ("intent", "answer"),
    [
        ("pause", "they give me vapes and lifts and then I have to hold stuff for them"),
        ("cancel", "he told me to stop"),
        ("cancel", "she said stop it"),
        ("pause", "wait until mum is asleep"),
        ("cancel", "i just want it all to stop and go away and nobody to find out ever"),
        # A name and reference at the identity question once scored 0.63 as `emergency`.
        ("emergency", "Maisie, ref 4471"),
        ("emergency", "her nan's flat above the chip shop"),
    ],
)
def test_a_childs_words_are_not_commands(intent: str, answer: str) -> None:
    parse = {"intent": {"name": intent, "confidence": 0.99}, "intent_ranking": []}
    assert apply_cues(parse, answer) == intent
    assert parse["intent"]["name"] == "nlu_fallback"


@pytest.mark.parametrize(
    ("intent", "command"),
    [
        ("cancel", "cancel"),
        ("cancel", "stop, i've changed my mind"),
        ("pause", "hold on"),
        ("emergency", "999"),
        ("emergency", "need the police here"),
        ("emergency", "someone is in danger"),
    ],
)
def test_short_commands_are_kept(intent: str, command: str) -> None:
    parse = {"intent": {"name": intent, "confidence": 0.9}, "intent_ranking": []}
    assert apply_cues(parse, command) is None


def test_other_intents_are_never_touched() -> None:
    parse = {"intent": {"name": "report_danger", "confidence": 0.5}, "intent_ranking": []}
    assert apply_cues(parse, "scratches on both hands") is None
    assert intent_cues.gate(None, "anything") is None


def test_a_broken_cues_file_is_one_line(tmp_path) -> None:  # noqa: ANN001
    from bot.core.datafile import DataFileError

    bad = tmp_path / "cues.yml"
    bad.write_text("source: x\ngated:\n  correct_answer:\n    words: ['']\n", encoding="utf-8")
    with pytest.raises(DataFileError) as caught:
        intent_cues.load(bad)
    assert "\n" not in str(caught.value)


# -- a situation is never answered as a question ------------------------------------------

SITUATION = intent_cues.load().situation


@pytest.mark.parametrize("intent", sorted(SITUATION.overrides))
@pytest.mark.parametrize("path", ["data/nlu.yml", "tests/data/nlu_holdout.yml"])
def test_no_example_of_an_overridden_intent_is_a_situation(intent: str, path: str) -> None:
    """Else the model would be taught a question that the guard then turns into a concern."""
    situations = [t for t in _examples(path, intent) if intent_cues.is_situation(t)]
    assert situations == []


@pytest.mark.parametrize(
    ("intent", "text"),
    [
        ("ask_child_definition", "an eleven year old told me her uncle hurts her, does it count"),
        ("ask_abuse_signs", "a boy in year 9 said his dad burns him, is that physical abuse?"),
        ("new_worker_what_to_do", "first week here and a girl just told me she's scared at home"),
        ("ask_contact", "a pupil has disclosed abuse by a teacher, who do I ring"),
        ("nlu_fallback", "the lad says he is holding a package for some older men"),
    ],
)
def test_a_situation_takes_the_concern_path(intent: str, text: str) -> None:
    assert intent_cues.gate(intent, text) == SITUATION.becomes


@pytest.mark.parametrize(
    ("intent", "text"),
    [
        ("ask_child_definition", "up to what age is someone a child?"),
        ("ask_abuse_signs", "what are the signs that a child is being groomed"),
        ("ask_contact", "who's the LADO for our area"),
        ("new_worker_what_to_do", "I'm new, what do I do if a child tells me something?"),
        ("ask_promise_secret", "can I promise to keep it secret?"),
        ("greet", "hi, she told me to say hello"),
    ],
)
def test_a_question_stays_a_question(intent: str, text: str) -> None:
    assert intent_cues.gate(intent, text) == intent


# -- item 2 of issue #17: the question families never take a situation ------------------------


@pytest.mark.parametrize(
    ("intent", "text"),
    [
        # told, asked with question words first (the situation is in a later clause)
        ("ask_how_to_report", "what do i do, a girl just told me her stepdad hits her"),
        ("ask_contact", "who do i ring? a 9 year old has told me his uncle hurts him"),
        ("ask_after_report", "what happens now - a boy said his dad punches him"),
        ("ask_fgm_duty", "do i have to report it? a pupil told me she was cut on holiday"),
        # what the worker saw, found or knows is happening to a particular child
        ("ask_abuse_signs", "a 4 month old in the creche has a bruise on her cheek, is that bad?"),
        ("ask_what_is_emergency", "a 6 year old has been left alone at home, is that an emergency"),
        ("ask_online_safety", "a volunteer keeps messaging a 12 year old girl at night, ok?"),
        ("ask_allegation_staff", "a man came to collect a year 2 boy and he's not on the list"),
        ("out_of_scope", "one of the girls has marks on her arms, where do i park"),
    ],
)
def test_a_new_question_family_never_takes_a_situation(intent: str, text: str) -> None:
    assert intent_cues.gate(intent, text) == SITUATION.becomes


@pytest.mark.parametrize(
    ("intent", "text"),
    [
        ("ask_how_to_report", "what's the correct way to raise a concern about a child"),
        ("ask_abuse_signs", "is a bruise on a baby who isn't crawling a worry?"),
        ("ask_what_is_emergency", "is leaving a child home alone an emergency?"),
        ("ask_online_safety", "what do i do if a pupil sends me a nude image"),
        ("ask_allegation_staff", "what if an adult i don't know comes to collect a child"),
        ("ask_contact", "what would you do if, say, a girl told me her dad hits her"),
        ("ask_tell_parent", "should I tell the carers what she told me?"),
    ],
)
def test_a_question_about_a_situation_in_general_stays_a_question(intent: str, text: str) -> None:
    assert intent_cues.gate(intent, text) == intent


@pytest.mark.parametrize("text", ["got an emergency", "emergency situation", "urgent help"])
def test_an_emergency_without_a_question_word_is_never_explained(text: str) -> None:
    assert intent_cues.gate("ask_what_is_emergency", text) == "emergency"


def test_a_long_message_without_a_question_word_goes_to_the_menu() -> None:
    text = "emergency contact numbers for all the parents on the trip"
    assert intent_cues.gate("ask_what_is_emergency", text) == "nlu_fallback"
    assert intent_cues.gate("ask_what_is_emergency", "what counts as an emergency") == (
        "ask_what_is_emergency"
    )
