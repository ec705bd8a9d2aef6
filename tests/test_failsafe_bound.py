"""The reply bound for real: Rasa left to wait a long time for a slow action server (the
action timeout set far above the bound), and the worker still answered at the bound.

The slow turn is not cancelled: it finishes in the background, its late answer is shown
before the next reply, and the conversation is not corrupted (the next message is answered
normally). Danger on a slow action server is paged by the channel, once.
"""

from __future__ import annotations

import pytest

from bot.failsafe import safety
from tests.failsafe_stack import MODEL, FakeActionServer, Stack, joined, texts

# Serial: the reply must come before a 12-second fake action answers.
pytestmark = [pytest.mark.rasa, pytest.mark.serial]

BOUND = 5.0  # SAFEGUARD_REPLY_SECONDS for this stack
ACTION_WAIT = 120.0  # SAFEGUARD_ACTION_TIMEOUT_SECONDS: Rasa would wait this long
SLOW = 12.0  # the fake action server answers after this many seconds


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    assert MODEL.exists(), "no trained model: run `make train` (make test does this first)"
    stack = Stack(tmp_path_factory.mktemp("bound"), reply_within=BOUND, action_timeout=ACTION_WAIT)
    stack.telegram.http.start()
    try:
        stack.start_pager()
        stack.start_rasa()  # no action server: the fakes below take its port
        yield stack
    finally:
        stack.stop()
        stack.telegram.http.stop()


def test_slow_action_answered_at_the_bound_and_its_late_answer_comes_next(stack: Stack) -> None:
    with FakeActionServer(stack.actions_port, "slow", delay=SLOW) as fake:
        replies, took = stack.timed_post("bound-slow", "who do i call")
        assert fake.calls == ["action_answer_contact"]
        # Functional, not a benchmark: the answer came at the bound, not after the action.
        assert not fake.answered.is_set(), "the reply waited for the slow action"
        assert took < SLOW, took
        assert texts(replies)[-1].startswith("I could not do that just now: it is taking")
        assert "999" in joined(replies)
        assert fake.answered.wait(SLOW + 60)
        replies = stack.post("bound-slow", "thanks")
        assert texts(replies)[:2] == [safety.LATE_HEADER, "The late answer."], texts(replies)
        assert "welcome" in joined(replies[2:]).lower(), texts(replies)


def test_slow_action_and_danger_is_999_first_and_paged_once(stack: Stack) -> None:
    with FakeActionServer(stack.actions_port, "slow", delay=SLOW) as fake:
        before = {c.reference for c in stack.concerns()}
        replies, took = stack.timed_post("bound-danger", "hes outside the centre with a knife now")
        assert "action_raise_alarm" in fake.calls
        assert not fake.answered.is_set(), "the reply waited for the slow action"
        assert "999" in texts(replies)[0]
        assert "I have paged" in joined(replies)
        new = [c for c in stack.concerns() if c.reference not in before]
        assert len(new) == 1 and new[0].urgency == "immediate"
        assert fake.answered.wait(SLOW + 60)
