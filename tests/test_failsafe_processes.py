"""The fail-safe for real: Rasa, the action server and the pager as separate processes, each
killed (SIGKILL, as in a crash) and restarted mid-conversation.

What is shown, in order (one stack for the module; each test its own worker):
* everything up: danger gets 999 first and the lead paged ONCE (the action did it);
* action server killed: every message is still answered; danger still gets 999 first, the
  lead's number and a page (a concern row, a page row, a Telegram message to the lead);
* action server hanging (a fake on its port): answered within the bound, not Rasa's 300 s;
* action server answering 500: answered, and danger paged;
* action server killed and restarted mid-disclosure-form: the form carries on, nothing is
  lost, the concern is saved once with the worker's words verbatim;
* pager killed before it sends, and again mid-escalation: after each restart the page goes
  out (to the lead, then the next step), nothing lost;
* the Rasa server killed: the terminal client still answers and pages for danger; after a
  restart every saved concern is still there and the assistant answers again.

Needs the trained model (`make test` trains it before pytest).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from tests import signed
from tests.failsafe_stack import (
    ACTION_TIMEOUT,
    MODEL,
    REPLY_WITHIN,
    FakeActionServer,
    Stack,
    joined,
    port_closed,
    texts,
)

# Serial: Rasa must give up on a hanging action after the 3-second action time-out.
pytestmark = [pytest.mark.rasa, pytest.mark.serial]

DANGER = "hes outside the centre with a knife now"
CHILD_WORDS = "he comes in my room at night when mum is at work canaryword"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    assert MODEL.exists(), "no trained model: run `make train` (make test does this first)"
    root = tmp_path_factory.mktemp("failsafe")
    stack = Stack(root)
    stack.telegram.http.start()
    try:
        stack.start_actions()
        stack.start_pager()
        stack.start_rasa()
        yield stack
    finally:
        stack.stop()
        stack.telegram.http.stop()


def numbers_line(stack: Stack) -> str:
    from bot.core.pack import load_pack
    from bot.failsafe import safety

    with stack.reading():
        return safety.numbers(load_pack("crasac")).split("\n")[0]


def new_concerns(stack: Stack, before: set[str]) -> list:
    return [c for c in stack.concerns() if c.reference not in before]


def refs(stack: Stack) -> set[str]:
    return {c.reference for c in stack.concerns()}


def assert_danger_reply(stack: Stack, replies: list[dict]) -> None:
    assert replies, "no reply at all"
    assert "999" in texts(replies)[0], f"999 is not first: {texts(replies)[:2]}"
    text = joined(replies)
    assert "I have paged" in text, text
    assert numbers_line(stack) in text, text
    assert "Traceback" not in text


def test_danger_with_everything_up_pages_once(stack: Stack) -> None:
    before = refs(stack)
    replies = stack.post("fs-up", DANGER)
    assert_danger_reply(stack, replies)
    (concern,) = new_concerns(stack, before)
    assert concern.urgency == "immediate"
    assert joined(replies).count("I have paged") == 1
    assert stack.telegram.wait_until(
        lambda _tg: any(concern.reference in str(m) for m in stack.telegram.sent_messages()),
        timeout=60,
    ), "the pager did not send the page to Telegram"


def test_action_server_killed_every_message_is_still_answered(stack: Stack) -> None:
    stack.kill("actions")
    assert port_closed(stack.actions_port)
    # Domain responses need no action server; they are answered as usual.
    for message in ("hiya", "thanks"):
        replies = stack.post("fs-down", message)
        assert joined(replies).strip(), f"no reply to {message!r}"
        assert "I could not do that" not in joined(replies)
    # Answers that come from actions get the plain fallback with 999 and the numbers.
    for message in ("who do i call", "what are the signs of grooming", "how long do i have"):
        replies = stack.post("fs-down", message)
        text = joined(replies)
        assert texts(replies)[-1].startswith("I could not do that just now"), (message, text)
        assert "999" in text and numbers_line(stack) in text, (message, text)
        assert "Traceback" not in text


def test_action_server_killed_danger_gets_999_numbers_and_a_page(stack: Stack) -> None:
    before = refs(stack)
    sent_before = len(stack.telegram.sent_messages())
    replies = stack.post("fs-down-danger", DANGER)
    assert_danger_reply(stack, replies)
    (concern,) = new_concerns(stack, before)
    assert concern.urgency == "immediate"
    rows = [r for r in stack.page_rows() if r["concern_ref"] == concern.reference]
    assert rows, "no page row for the concern"
    assert "knife" not in str(rows)
    assert stack.telegram.wait_until(
        lambda _tg: len(stack.telegram.sent_messages()) > sent_before, timeout=60
    ), "the lead was not paged on Telegram"
    assert not any("knife" in str(m) for m in stack.telegram.sent_messages())


def test_emergency_button_with_the_action_server_down(stack: Stack) -> None:
    before = refs(stack)
    replies = stack.post("fs-down-button", "/emergency")
    assert_danger_reply(stack, replies)
    assert len(new_concerns(stack, before)) == 1


def test_hanging_action_server_is_answered_within_the_bound(stack: Stack) -> None:
    with FakeActionServer(stack.actions_port, "hang") as fake:
        replies, took = stack.timed_post("fs-hang", "who do i call")
        assert fake.calls, "Rasa did not call the (hanging) action server"
        # Rasa's own wait is 300 s per action; the worker's is the channel's bound.
        assert took < REPLY_WITHIN + 60, took
        # Rasa itself gave up on the action after ACTION_TIMEOUT seconds (the channel cut its
        # 300 s wait), so this is the "not responding" reply, not the channel's bound.
        assert texts(replies)[-1].startswith("I could not do that just now: part of"), texts(
            replies
        )
        assert replies and "999" in joined(replies)
        assert numbers_line(stack) in joined(replies)
        before = refs(stack)
        replies, took = stack.timed_post("fs-hang-danger", DANGER)
        assert took < REPLY_WITHIN + 60, took
        assert_danger_reply(stack, replies)
        assert len(new_concerns(stack, before)) == 1


def test_action_server_answering_500_is_answered(stack: Stack) -> None:
    with FakeActionServer(stack.actions_port, "error") as fake:
        replies = stack.post("fs-500", "who do i call")
        assert "action_answer_contact" in fake.calls
        assert texts(replies)[-1].startswith("I could not do that just now")
        assert numbers_line(stack) in joined(replies)
        before = refs(stack)
        replies = stack.post("fs-500-danger", DANGER)
        assert_danger_reply(stack, replies)
        assert len(new_concerns(stack, before)) == 1


def test_restarted_action_server_pages_once_again(stack: Stack) -> None:
    stack.start_actions()
    before = refs(stack)
    replies = stack.post("fs-back", DANGER)
    assert_danger_reply(stack, replies)
    assert len(new_concerns(stack, before)) == 1
    assert joined(replies).count("I have paged") == 1


FORM = [
    ("/deny", "still with you"),  # is anyone in danger right now? -> no
    ("The session has ended", "Who is the child"),
    ("Jade, ref 4471", "How old"),
    ("14", "What did the child say"),
]
REST_OF_FORM = [
    ("she was shaking", "When and where"),
    ("at home; told me at 4pm today", "Who else"),
    ("mum's partner", "What have you done"),
    ("listened and told her I would tell the lead", "own view"),
    ("she seemed scared of him", None),
]


def answer(stack: Stack, sender: str, message: str, expect: str | None) -> list[dict]:
    replies = stack.post(sender, message)
    if expect is not None:
        assert expect.lower() in joined(replies).lower(), (message, texts(replies))
    return replies


def test_form_survives_the_action_server_dying_and_saves_once(stack: Stack) -> None:
    sender = "fs-form"
    replies = stack.post(sender, "a girl in my group just told me something and i need to log it")
    assert "danger right now" in joined(replies)
    for message, expect in FORM:
        answer(stack, sender, message, expect)
    before = refs(stack)

    stack.kill("actions")
    replies = stack.post(sender, CHILD_WORDS)
    text = joined(replies)
    assert text.strip(), "no reply with the action server down"
    assert "999" in text and "send your message again" in text

    stack.start_actions()
    replies = answer(stack, sender, CHILD_WORDS, "What did you see")
    for message, expect in REST_OF_FORM:
        answer(stack, sender, message, expect)
    replies = stack.post(sender, "sexual abuse")  # the category
    payloads = [b.get("payload") for r in replies for b in r.get("buttons") or []]
    assert "/affirm" in payloads, texts(replies)  # "Save and tell the lead"
    assert CHILD_WORDS in joined(replies), "the summary shows the child's words verbatim"
    text = joined(stack.post(sender, "/affirm"))
    assert "Saved. Your reference is" in text, text
    (concern,) = new_concerns(stack, before)
    full = stack.concern(concern.reference)
    assert full.child_words == CHILD_WORDS
    assert full.child == "Jade, ref 4471"
    assert full.observations == "she was shaking"
    assert full.worker_view == "she seemed scared of him"
    # Nothing more is saved by saying it again: the form has finished and was cleared.
    stack.post(sender, "/affirm")
    assert len(new_concerns(stack, before)) == 1


def test_yes_to_the_danger_question_pages_once_with_the_action_server_up(stack: Stack) -> None:
    sender = "fs-yes-up"
    assert "danger right now" in joined(stack.post(sender, "i need to log a disclosure"))
    before = refs(stack)
    replies = stack.post(sender, "/affirm")
    assert_danger_reply(stack, replies)
    assert len(new_concerns(stack, before)) == 1, "the form and the channel both paged"
    assert joined(replies).count("I have paged") == 1


def test_yes_to_the_danger_question_pages_with_the_action_server_down(stack: Stack) -> None:
    sender = "fs-yes-down"
    assert "danger right now" in joined(stack.post(sender, "i need to log a disclosure"))
    stack.kill("actions")
    try:
        before = refs(stack)
        replies = stack.post(sender, "/affirm")
        assert_danger_reply(stack, replies)
        (concern,) = new_concerns(stack, before)
        assert concern.urgency == "immediate"
    finally:
        stack.start_actions()


def test_pager_killed_then_restarted_still_delivers_and_escalates(stack: Stack) -> None:
    stack.kill("pager")
    sent_before = len(stack.telegram.sent_messages())
    before = refs(stack)
    replies = stack.post("fs-pager", DANGER)
    assert_danger_reply(stack, replies)
    (concern,) = new_concerns(stack, before)
    rows = [r for r in stack.page_rows() if r["concern_ref"] == concern.reference]
    assert rows and all(r.get("status") != "sent" for r in rows), rows
    assert len(stack.telegram.sent_messages()) == sent_before, "sent with no pager running"

    stack.start_pager()
    assert stack.telegram.wait_until(
        lambda _tg: any(concern.reference in str(m) for m in stack.telegram.sent_messages()),
        timeout=90,
    ), "the page was not delivered after the pager restarted:\n" + stack.log_tail("pager")
    first_step = {
        r["recipient"] for r in stack.page_rows() if r["concern_ref"] == concern.reference
    }

    # Mid-escalation: nobody acknowledges; the pager dies; it comes back after the first
    # step's two minutes (the clock moved on) and pages the next step.
    stack.kill("pager")
    stack.start_pager(now="2026-11-24T14:45")
    assert stack.telegram.wait_until(
        lambda _tg: (
            {r["recipient"] for r in stack.page_rows() if r["concern_ref"] == concern.reference}
            > first_step
        ),
        timeout=90,
    ), "no escalation after the pager restarted:\n" + stack.log_tail("pager")
    assert not any("knife" in str(m) for m in stack.telegram.sent_messages())


def test_rasa_killed_and_restarted_nothing_saved_is_lost(stack: Stack) -> None:
    """The Rasa server dies: the terminal client still answers (and pages for danger) on
    its own; after a restart the assistant answers again and every concern is still there."""
    from bot.clients.terminal import TerminalChat

    saved = refs(stack)
    assert saved, "earlier tests saved concerns"
    stack.kill("rasa")
    chat = TerminalChat(
        f"http://127.0.0.1:{stack.port}",
        sender="fs-rasa-down",
        timeout=10,
        secret=stack.channel_secret,
    )
    with stack.reading():
        replies = chat.send("who do i call")
        assert texts(replies)[-1].startswith("I could not do that just now")
        replies = chat.send(DANGER)
    assert_danger_reply(stack, replies)
    assert len(new_concerns(stack, saved)) == 1

    stack.start_rasa()
    assert saved <= refs(stack)
    replies = stack.post("fs-rasa-back", "hiya")
    assert "I'm the safeguarding assistant" in joined(replies)
    before = refs(stack)
    assert_danger_reply(stack, stack.post("fs-rasa-back", DANGER))
    assert len(new_concerns(stack, before)) == 1


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"not json", "the request body is not valid JSON"),
        (b'["a list"]', "send a JSON object"),
        (b'{"sender": "x", "message": 5}', "'message' must be a string"),
        (b'{"sender": ["x"], "message": "hi"}', "'sender' must be a string"),
        (b'{"sender": "x", "message": "hi", "metadata": 3}', "'metadata' must be a JSON object"),
    ],
)
def test_bad_requests_get_one_plain_line(stack: Stack, body: bytes, error: str) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{stack.port}/webhooks/rest/webhook",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=60)  # noqa: S310 (loopback)
    assert raised.value.code == 400
    reply = json.loads(raised.value.read())
    assert list(reply) == ["error"] and reply["error"].startswith(error)
    assert "\n" not in reply["error"] and "Traceback" not in reply["error"]


def test_a_too_long_message_is_refused_with_the_numbers(stack: Stack) -> None:
    from bot.core.limits import MAX_MESSAGE_CHARS

    before = refs(stack)
    replies = stack.post("fs-long", "we went to the park today " * (MAX_MESSAGE_CHARS // 20))
    (only,) = replies
    assert "too long" in only["text"] and "999" in only["text"]
    assert numbers_line(stack) in only["text"]
    assert refs(stack) == before


def test_a_too_long_danger_message_still_gets_999_first_and_a_page(stack: Stack) -> None:
    from bot.core.limits import MAX_MESSAGE_CHARS

    before = refs(stack)
    replies = stack.post("fs-long-danger", "he has a knife at the door now " * MAX_MESSAGE_CHARS)
    assert "999" in texts(replies)[0].split("\n")[0]
    assert_danger_reply(stack, replies)
    assert any("too long" in t for t in texts(replies))
    (concern,) = new_concerns(stack, before)
    assert "knife" not in stack.concern(concern.reference).observations


def test_stream_mode_sends_one_json_message_per_line(stack: Stack) -> None:
    """What Rasa's own console client (`rasa shell`) asks for."""
    request = signed.request(stack.port, "fs-stream", "hiya", stack.channel_secret)
    request.full_url += "?stream=true"
    with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310 (loopback)
        lines = response.read().decode().splitlines()
    messages = [json.loads(line) for line in lines if line.strip()]
    assert messages and "I'm the safeguarding assistant" in joined(messages)


@pytest.mark.parametrize(
    "settings",
    [
        {"reply_within_seconds": "soon"},
        {"action_timeout_seconds": 0},
        {"reply_within_seconds": 100000},
        {"action_timeout_seconds": True},
        {"reply_in": 5},
    ],
)
def test_bad_channel_settings_are_one_plain_line(settings: dict) -> None:
    from bot.rasa.channels.rest import SafeRestInput

    with pytest.raises(ValueError) as raised:
        SafeRestInput.from_credentials(settings)
    message = str(raised.value)
    assert message.startswith("credentials.yml, bot.rasa.channels.rest.SafeRestInput: ")
    assert "\n" not in message


def test_limit_action_wait_only_ever_shortens() -> None:
    import rasa.core.actions.action as rasa_action

    from bot.rasa.channels.rest import limit_action_wait

    original = rasa_action.DEFAULT_REQUEST_TIMEOUT
    try:
        assert limit_action_wait(ACTION_TIMEOUT) == ACTION_TIMEOUT
        assert limit_action_wait(999) == ACTION_TIMEOUT, "never lengthened"
    finally:
        rasa_action.DEFAULT_REQUEST_TIMEOUT = original
