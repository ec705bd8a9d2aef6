"""A situation is never answered as a question (issue #17, item 2), on the trained model.

A message that tells of something happening to a child (a disclosure, an injury, a child
left alone, an adult collecting a child, a threat, a planned contact) takes the concern
path, `start_disclosure` (or the danger path), even when it is phrased with question words
("what do I do, ..."). The question families added for item 4 must not take them, and the
questions themselves must still get their answers. Written apart from the training data
and the blind sets; the trained model (`make train`) is what is tested, the cue guard and
the danger detector included.
"""

from __future__ import annotations

import asyncio

import pytest

pytestmark = pytest.mark.rasa

CONCERN_PATH = {"start_disclosure", "report_danger", "emergency"}

SITUATIONS = [
    # a disclosure, asked with a question word first
    "what do i do, a girl just told me her stepdad hits her",
    "who do i ring? a boy in year 6 has told me his mum's boyfriend punches him",
    "how do i log this - a 14 year old said her uncle touches her when she stays over",
    "is this safeguarding? a lad told me his brother burns him with a lighter",
    "should i tell someone, a pupil disclosed that her dad locks her in her room",
    # an injury or something the worker saw
    "a toddler at our session has a bruise on his cheek, is that something to report?",
    "one of my 8 year olds came in with marks on her neck, what should i do",
    # a child left alone, an adult collecting a child
    "a 5 year old was left on his own at home overnight, what happens now",
    "a man none of us knows came to collect one of the year 3 girls, is that a concern",
    # an adult around children (an allegation, online contact)
    "a volunteer keeps messaging a 13 year old on snapchat late at night, is that allowed?",
    # a threat, a planned contact: the danger path
    "what do i do, she says her dad will kill her if she goes home tonight",
    "is this urgent? he's meeting a man he met online after club today",
]


@pytest.fixture(scope="module")
def agent(trained_agent):  # noqa: ANN001, ANN201
    return trained_agent


def intent_of(agent, text: str) -> str:  # noqa: ANN001
    return asyncio.run(agent.parse_message(text))["intent"]["name"]


@pytest.mark.parametrize("text", SITUATIONS)
def test_a_situation_takes_the_concern_path(agent, text: str) -> None:  # noqa: ANN001
    assert intent_of(agent, text) in CONCERN_PATH


QUESTIONS = {
    "how do i go about reporting a worry about one of the kids here": "ask_how_to_report",
    "what happens when someone who works here is accused of hurting a child": (
        "ask_allegation_staff"
    ),
    "why do so many abused children never say anything": "ask_why_children_dont_tell",
    "can i share what i know with other agencies without the family agreeing": (
        "ask_information_sharing"
    ),
    "for how long are safeguarding records held": "ask_records_retention",
    "how do i know whether something counts as an emergency": "ask_what_is_emergency",
    "does the fgm duty apply to youth workers too": "ask_fgm_duty",
    "what's channel and how does prevent work": "ask_prevent",
    "can i friend young people on social media": "ask_online_safety",
    "can i stay anonymous if i raise a concern": "ask_after_report",
}


@pytest.mark.parametrize(("text", "intent"), QUESTIONS.items())
def test_a_question_gets_its_answer(agent, text: str, intent: str) -> None:  # noqa: ANN001
    assert intent_of(agent, text) == intent


@pytest.mark.parametrize("text", ["got an emergency", "emergency here now"])
def test_an_emergency_is_never_explained(agent, text: str) -> None:  # noqa: ANN001
    assert intent_of(agent, text) in {"emergency", "report_danger", "nlu_fallback"}
