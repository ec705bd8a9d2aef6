"""Plain answers to the disclosure form's questions must not be read as commands.

In the form, a message classified as `correct_answer`, `cancel` or `pause` interrupts it
("Which answer do you want to change?", or the answers are set aside), and the answer the
worker typed is not taken. These are realistic answers to each question, written apart from
the training data; the trained model (which `make test` builds before pytest) must read
none of them as one of those commands.
"""

from __future__ import annotations

import asyncio

import pytest

pytestmark = pytest.mark.rasa

INTERRUPTING = {"correct_answer", "cancel", "pause"}

ANSWERS = [
    # child_identity / child_age
    "Jade, year 9, ref 4471",
    "a boy from the Tuesday group, I don't know his surname",
    "she is 14",
    "about 12 I think",
    # child_words
    "he comes in my room at night when mum is at work",
    "she said 'I don't want to go home tonight, he'll be there'",
    "my uncle made me keep a secret and said I'd be in trouble",
    "they give me vapes and lifts and then I have to hold stuff for them",
    # observations
    "scratches on the backs of both hands",
    "she was shaking and wouldn't look at me",
    "bruise on his left cheek, fading, yellowish",
    "she had a new phone and lots of cash",
    # when_where
    "at her home on Sunday; she told me at 4pm today",
    "in the art room after the session, about 3.15",
    "last weekend at the park near the shops",
    "it happened over the summer holidays at her dad's flat",
    # others_involved
    "mum's partner",
    "older lads from the estate, names not known",
    "her friend was there when she told me",
    # actions_taken
    "listened, didn't ask questions, told her I'd have to tell the lead",
    "I wrote down what she said straight away",
    "nothing yet, she is still in the building with another member of staff",
    # worker_view
    "she seemed scared of him",
    "I am worried this has been going on a while",
    "I think she was telling the truth but I'm not sure",
]


@pytest.fixture(scope="module")
def agent(trained_agent):  # noqa: ANN001, ANN201
    return trained_agent


@pytest.mark.parametrize("answer", ANSWERS)
def test_a_plain_answer_is_not_a_command(agent, answer: str) -> None:  # noqa: ANN001
    parsed = asyncio.run(agent.parse_message(answer))
    assert parsed["intent"]["name"] not in INTERRUPTING, parsed["intent"]
