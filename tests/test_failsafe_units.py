"""bot.failsafe.safety without Rasa: every failure a channel can see, with fake turns.

`process` here stands in for Rasa: it appends replies to the turn, raises, returns nothing,
or blocks until released, exactly as a Rasa turn with a failed or slow action server does.
Alarms are real: the concern log and pages are written to a per-test SQLite database.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.core.limits import MAX_MESSAGE_CHARS
from bot.core.people import Worker
from bot.failsafe import safety
from bot.failsafe.safety import AlarmClaims, SafetyNet, Turn
from bot.paging.reporting import Outcome

DANGER = "hes outside the centre with a knife now"


@pytest.fixture(autouse=True)
def fresh_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test its own concern log, key, claims and pinned clock (a Tuesday afternoon)."""
    monkeypatch.setenv("SAFEGUARD_VAR", str(tmp_path))
    monkeypatch.setenv("SAFEGUARD_DB_URL", f"sqlite:///{tmp_path / 'concerns.sqlite3'}")
    monkeypatch.setenv("SAFEGUARD_NOW", "2026-11-24T14:30")
    monkeypatch.setenv("SAFEGUARD_ORG", "crasac")
    monkeypatch.delenv("SAFEGUARD_ROSTER", raising=False)
    return tmp_path


def concerns() -> list:
    from bot.records.concern_log import ConcernLog

    return ConcernLog().list()


def pages() -> list[dict]:
    from bot.paging import pager
    from bot.records.db import make_engine

    return pager.page_rows(make_engine())


def texts(replies: list[dict]) -> list[str]:
    return [r.get("text") or "" for r in replies]


def joined(replies: list[dict]) -> str:
    return "\n".join(texts(replies))


def respond(net: SafetyNet, text: str, process, classify=None, sender: str = "worker-1"):  # noqa: ANN001, ANN201
    return asyncio.run(net.respond(sender, text, process, classify))


def saying(*messages: str, intent: str | None = None):  # noqa: ANN201
    async def process(turn: Turn) -> None:
        turn.replies.extend({"recipient_id": turn.sender, "text": m} for m in messages)
        turn.intent = intent

    return process


async def silent(turn: Turn) -> None:  # the action server down: an action-only answer
    turn.intent = "ask_contact"


async def raising(turn: Turn) -> None:
    raise RuntimeError("tracker store exploded with the child's words: canaryword")


def numbers_line() -> str:
    return safety.numbers().split("\n")[0]


# -- ordinary messages ---------------------------------------------------------------------------


def test_a_normal_reply_passes_through_unchanged() -> None:
    replies = respond(SafetyNet(reply_within=5), "hiya", saying("Hello.", "Menu", intent="greet"))
    assert texts(replies) == ["Hello.", "Menu"]
    assert concerns() == []


def test_no_reply_at_all_gets_the_plain_fallback_with_999_and_the_numbers() -> None:
    replies = respond(SafetyNet(reply_within=5), "who do i call", silent)
    assert len(replies) == 1
    text = replies[0]["text"]
    assert text.startswith("I could not do that just now")
    assert "call 999" in text
    assert numbers_line() in text
    assert concerns() == []


def test_processing_that_raises_gets_the_fallback_and_no_traceback() -> None:
    replies = respond(SafetyNet(reply_within=5), "who do i call", raising)
    text = joined(replies)
    assert text.startswith("I could not do that just now")
    assert "Traceback" not in text and "canaryword" not in text and "RuntimeError" not in text


def test_partial_replies_are_kept_when_processing_then_fails() -> None:
    async def half(turn: Turn) -> None:
        turn.replies.append({"recipient_id": turn.sender, "text": "First part."})
        raise RuntimeError("boom")

    replies = respond(SafetyNet(reply_within=5), "tell me more", half)
    assert texts(replies)[0] == "First part."
    assert texts(replies)[1].startswith("I could not do that just now")


def test_buttons_alone_count_as_an_answer() -> None:
    async def buttons(turn: Turn) -> None:
        turn.replies.append({"recipient_id": turn.sender, "buttons": [{"title": "Yes"}]})

    replies = respond(SafetyNet(reply_within=5), "menu", buttons)
    assert len(replies) == 1 and replies[0]["buttons"]


def test_a_too_long_message_is_refused_before_processing_with_the_numbers() -> None:
    called = []

    async def process(turn: Turn) -> None:
        called.append(turn)

    replies = respond(SafetyNet(reply_within=5), "x" * (MAX_MESSAGE_CHARS + 1), process)
    assert called == []
    text = joined(replies)
    assert "too long" in text and "Nothing from it has been saved" in text
    assert "999" in text and numbers_line() in text
    assert concerns() == []


def test_a_too_long_danger_message_gets_999_first_and_a_page_keeping_no_words() -> None:
    from bot.records.concern_log import ConcernLog

    called = []

    async def process(turn: Turn) -> None:
        called.append(turn)

    text = "he has a knife at the door now canaryword " * 400
    replies = respond(SafetyNet(reply_within=5), text, process)
    assert called == []
    assert texts(replies)[0] == safety.CALL_999_FIRST
    assert any(t.startswith("I have paged") for t in texts(replies))
    assert any("too long" in t for t in texts(replies))
    (concern,) = concerns()
    assert "canaryword" not in ConcernLog().get(concern.reference).observations


def test_a_message_at_the_limit_is_processed() -> None:
    replies = respond(SafetyNet(reply_within=5), "x" * MAX_MESSAGE_CHARS, saying("ok"))
    assert texts(replies) == ["ok"]


def test_a_broken_pack_still_gives_999_and_the_lead(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFEGUARD_ORG", "no-such-org")
    replies = respond(SafetyNet(reply_within=5), "who do i call", silent)
    text = joined(replies)
    assert "call 999" in text and "tell your Safeguarding Lead" in text


# -- slow processing -----------------------------------------------------------------------------


def test_slow_processing_is_answered_at_the_bound_and_its_late_reply_comes_next() -> None:
    async def scenario() -> tuple[list[dict], list[dict]]:
        net = SafetyNet(reply_within=0.2)
        release = asyncio.Event()

        async def slow(turn: Turn) -> None:
            turn.replies.append({"recipient_id": turn.sender, "text": "Said before the wait."})
            await release.wait()  # an action server that does not answer
            turn.replies.append({"recipient_id": turn.sender, "text": "The late answer."})

        first = await net.respond("worker-1", "how long do i have", slow)
        release.set()
        await asyncio.sleep(0)  # let the slow turn finish, as it would in the server
        await asyncio.sleep(0)
        second = await net.respond("worker-1", "thanks", saying("You're welcome."))
        return first, second

    first, second = asyncio.run(scenario())
    assert texts(first)[0] == "Said before the wait."
    assert texts(first)[1].startswith("I could not do that just now: it is taking too long")
    assert "999" in texts(first)[1]
    assert texts(second) == [safety.LATE_HEADER, "The late answer.", "You're welcome."]


def test_late_replies_go_only_to_their_own_sender() -> None:
    async def scenario() -> list[dict]:
        net = SafetyNet(reply_within=0.1)
        release = asyncio.Event()

        async def slow(turn: Turn) -> None:
            await release.wait()
            turn.replies.append({"recipient_id": turn.sender, "text": "for worker-1"})

        await net.respond("worker-1", "hello", slow)
        release.set()
        await asyncio.sleep(0)
        return await net.respond("worker-2", "hello", saying("hi"))

    assert texts(asyncio.run(scenario())) == ["hi"]


def test_slow_danger_is_still_999_first_and_paged_using_the_intent_lookup() -> None:
    async def scenario() -> list[dict]:
        net = SafetyNet(reply_within=0.1)

        async def hung(turn: Turn) -> None:
            await asyncio.Event().wait()

        async def classify(turn: Turn) -> str:
            return "report_danger"

        return await net.respond("worker-1", "please help us", hung, classify)

    replies = asyncio.run(scenario())
    assert texts(replies)[0] == safety.CALL_999_FIRST
    assert "I have paged" in texts(replies)[1]
    assert len(concerns()) == 1 and concerns()[0].urgency == "immediate"


# -- danger --------------------------------------------------------------------------------------


def test_danger_with_the_action_server_down_is_999_first_numbers_and_one_page() -> None:
    # What Rasa sends then: only the domain response; action_raise_alarm failed.
    process = saying("🚨 If a child is in danger right now, call 999 now.", intent="report_danger")
    replies = respond(SafetyNet(reply_within=5), DANGER, process)
    assert "999" in texts(replies)[0]
    text = joined(replies)
    assert "I have paged" in text and "(reference SG-" in text
    assert numbers_line() in text
    (concern,) = concerns()
    assert concern.urgency == "immediate"
    rows = pages()
    assert rows and {r["concern_ref"] for r in rows} == {concern.reference}
    assert "knife" not in str(rows)


def test_the_page_is_told_after_the_999_reply_and_before_the_next_question() -> None:
    process = saying(
        "🚨 call 999 now.",
        "Then tell your Safeguarding Lead straight away.",
        "What did the child say, in their own words?",
        intent="report_danger",
    )
    replies = respond(SafetyNet(reply_within=5), DANGER, process)
    assert texts(replies)[:2] == [
        "🚨 call 999 now.",
        "Then tell your Safeguarding Lead straight away.",
    ]
    assert texts(replies)[2].startswith("I have paged")
    assert texts(replies)[3] == "What did the child say, in their own words?"


def test_danger_with_no_reply_at_all_gets_999_inserted_first() -> None:
    replies = respond(SafetyNet(reply_within=5), DANGER, raising)
    assert texts(replies)[0] == safety.CALL_999_FIRST
    assert "I have paged" in texts(replies)[1]
    assert len(concerns()) == 1


def test_danger_detected_on_the_text_even_when_rasa_thought_otherwise() -> None:
    replies = respond(SafetyNet(reply_within=5), DANGER, saying("Hello.", intent="greet"))
    assert texts(replies)[0] == safety.CALL_999_FIRST
    assert len(concerns()) == 1


def test_danger_from_the_intent_alone() -> None:
    replies = respond(SafetyNet(reply_within=5), "please come quick", silent_danger())
    assert texts(replies)[0] == safety.CALL_999_FIRST
    assert len(concerns()) == 1


def silent_danger():  # noqa: ANN201
    async def process(turn: Turn) -> None:
        turn.intent = "report_danger"

    return process


def test_the_emergency_button_pages_without_storing_the_payload_as_the_report() -> None:
    replies = respond(SafetyNet(reply_within=5), "/emergency", silent)
    assert texts(replies)[0] == safety.CALL_999_FIRST
    (concern,) = concerns()
    from bot.records.concern_log import ConcernLog

    assert "/emergency" not in ConcernLog().get(concern.reference).observations


def test_yes_to_the_forms_danger_question_pages_when_the_form_could_not() -> None:
    async def process(turn: Turn) -> None:
        turn.asked_danger = True
        turn.intent = "affirm"

    replies = respond(SafetyNet(reply_within=5), "yes", process)
    assert texts(replies)[0] == safety.CALL_999_FIRST
    (concern,) = concerns()
    from bot.records.concern_log import ConcernLog

    assert ConcernLog().get(concern.reference).observations == safety.ANSWERED_YES


def test_yes_with_no_danger_question_pending_is_not_danger() -> None:
    replies = respond(SafetyNet(reply_within=5), "yes", saying("Not sure.", intent="affirm"))
    assert texts(replies) == ["Not sure."]
    assert concerns() == []


def test_one_page_when_the_action_already_paged_and_said_so() -> None:
    """The action server worked: it claimed the message, paged, and told the worker."""

    async def rasa_with_action(turn: Turn) -> None:
        turn.intent = "report_danger"
        turn.replies.append({"recipient_id": turn.sender, "text": "Call 999 now."})
        alarm = safety.raise_alarm_once(turn.alarm_key, Worker("worker-1", "W"), DANGER)
        for part in safety.alarm_message(alarm.outcome).split("\n\n"):
            turn.replies.append({"recipient_id": turn.sender, "text": part})

    replies = respond(SafetyNet(reply_within=5), DANGER, rasa_with_action)
    assert len(concerns()) == 1
    assert joined(replies).count("I have paged") == 1
    assert joined(replies).count(numbers_line()) == 1


def test_one_page_when_the_action_paged_but_its_reply_was_lost() -> None:
    """Rasa gave up on the action (timeout) after it had paged: the worker is told anyway."""

    async def rasa_lost_reply(turn: Turn) -> None:
        turn.intent = "report_danger"
        turn.replies.append({"recipient_id": turn.sender, "text": "Call 999 now."})
        safety.raise_alarm_once(turn.alarm_key, Worker("worker-1", "W"), DANGER)

    replies = respond(SafetyNet(reply_within=5), DANGER, rasa_lost_reply)
    assert len(concerns()) == 1
    assert joined(replies).count("I have paged") == 1


def test_an_alarm_still_being_raised_elsewhere_is_not_raised_again() -> None:
    async def claimed_only(turn: Turn) -> None:
        turn.intent = "report_danger"
        assert AlarmClaims().claim(turn.alarm_key)  # this process stays alive: not orphaned

    replies = respond(SafetyNet(reply_within=5, alarm_wait=0.2), DANGER, claimed_only)
    assert concerns() == []
    text = joined(replies)
    assert texts(replies)[0] == safety.CALL_999_FIRST
    assert "cannot confirm yet" in text and "phone them now" in text
    assert numbers_line() in text


def test_a_second_danger_message_in_one_conversation_extends_its_concern() -> None:
    """One incident, one concern, one page chain (issue 14): the second danger message is a
    dated event on the first concern and the same page, and the worker is told so."""
    from bot.records.concern_log import ConcernLog

    net = SafetyNet(reply_within=5)
    respond(net, DANGER, silent_danger())
    second = respond(net, "he's come back in, he's shouting at her", silent_danger())
    [concern] = concerns()
    assert len(pages()) == 1
    assert texts(second)[0] == safety.CALL_999_FIRST
    assert concern.reference in joined(second)
    events = ConcernLog().chronology(concern.reference)
    assert any("he's come back in, he's shouting at her" in e.text for e in events)


def test_danger_from_two_conversations_is_two_concerns() -> None:
    net = SafetyNet(reply_within=5)
    respond(net, DANGER, silent_danger(), sender="worker-1")
    respond(net, DANGER, silent_danger(), sender="worker-2")
    assert len(concerns()) == 2
    assert len(pages()) == 2


def test_with_the_database_down_the_worker_is_told_to_phone(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SAFEGUARD_DB_URL", f"sqlite:///{tmp_path}/missing-dir/x.sqlite3")
    replies = respond(SafetyNet(reply_within=5), DANGER, silent_danger())
    text = joined(replies)
    assert texts(replies)[0] == safety.CALL_999_FIRST
    assert "could NOT page" in text or "NOBODY COULD BE PAGED" in text
    assert numbers_line() in text


# -- the claims ---------------------------------------------------------------------------------


def test_a_claim_is_taken_once(tmp_path: Path) -> None:
    claims = AlarmClaims(tmp_path / "c")
    assert claims.claim("k")
    assert not claims.claim("k")
    assert claims.outcome("k") is None
    claims.record("k", Outcome(reference="SG-1", saved=True, paged=["A"]))
    assert claims.outcome("k") == Outcome(reference="SG-1", saved=True, paged=["A"])
    assert not claims.claim("k")
    mode = os.stat(next((tmp_path / "c").glob("*.json"))).st_mode & 0o777
    assert mode == 0o600


def test_a_claim_whose_process_died_is_taken_over(tmp_path: Path) -> None:
    claims = AlarmClaims(tmp_path / "c")
    code = (
        "import sys; from bot.failsafe.safety import AlarmClaims; "
        "print(AlarmClaims(sys.argv[1]).claim('k'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "c")], capture_output=True, text=True
    )
    assert done.stdout.strip() == "True"
    assert claims.claim("k"), "the claiming process has exited without recording an outcome"


def test_claims_hold_no_child_words(tmp_path: Path) -> None:
    net = SafetyNet(reply_within=5, claims=AlarmClaims(tmp_path / "c"))
    respond(net, "he said canaryword and has a knife at the door now", silent_danger())
    for path in (tmp_path / "c").glob("*.json"):
        assert "canaryword" not in path.read_text()


def test_an_unwritable_claim_store_still_pages(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    alarm = safety.raise_alarm_once("k", Worker("w", "W"), "", claims=AlarmClaims(blocker / "c"))
    assert alarm.raised_here and alarm.outcome.saved
    assert len(concerns()) == 1


def test_no_message_id_means_raise_anyway() -> None:
    assert safety.alarm_key("w", None) is None
    alarm = safety.raise_alarm_once(None, Worker("w", "W"))
    assert alarm.raised_here and alarm.outcome.saved


# -- texts and settings --------------------------------------------------------------------------


def test_alarm_message_for_a_spooled_concern_says_kept_nobody_paged_phone_now() -> None:
    text = safety.alarm_message(Outcome(reference="SG-ABCD-EFGH", spooled=True))
    assert "kept safely" in text and "SG-ABCD-EFGH" in text
    assert "NOBODY COULD BE PAGED" in text and "Phone your Safeguarding Lead now" in text
    assert numbers_line() in text


def test_alarm_message_when_nobody_is_on_call() -> None:
    text = safety.alarm_message(Outcome(reference="SG-1", saved=True))
    assert "NOBODY IS ON CALL" in text and numbers_line() in text


def test_alarm_message_when_not_saved() -> None:
    text = safety.alarm_message(Outcome(problems=["database unreachable"]))
    assert "could NOT page" in text and "database unreachable" in text


def test_worker_for_uses_the_roster() -> None:
    assert safety.worker_for("telegram:910000102").name == "Priya Shah (example)"
    assert safety.worker_for("stranger") == Worker(
        id="stranger", name="worker stranger", contact="chat id stranger"
    )
    # A Telegram id nobody approved: known by the id (the staff directory is asked first).
    assert safety.worker_for("telegram:5550001").name == "worker 5550001"
    # A bare Telegram id or roster id is a name anyone could type: never a roster person.
    assert safety.worker_for("910000102").name == "worker 910000102"
    assert safety.worker_for("priya").role == "worker"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("", 15.0), ("7", 7.0), ("abc", 15.0), ("0", 15.0), ("100000", 15.0), ("2.5", 2.5)],
)
def test_reply_bound_setting(monkeypatch: pytest.MonkeyPatch, raw: str, expected: float) -> None:
    monkeypatch.setenv(safety.REPLY_WITHIN_ENV, raw)
    assert safety.reply_within_seconds() == expected


def test_action_timeout_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(safety.ACTION_TIMEOUT_ENV, raising=False)
    assert safety.action_timeout_seconds() == safety.DEFAULT_ACTION_TIMEOUT
    monkeypatch.setenv(safety.ACTION_TIMEOUT_ENV, "2")
    assert safety.action_timeout_seconds() == 2.0


@pytest.mark.parametrize(
    ("text", "danger"),
    [
        (DANGER, True),
        ("/emergency", True),
        ("/report_danger", True),
        (" 999 ", True),
        ("/emergencyx", False),
        ("/affirm", False),
        ("who do i call", False),
        ("14", False),
        ("", False),
    ],
)
def test_floor_danger(text: str, danger: bool) -> None:
    assert safety.floor_danger(text) is danger


def test_the_safety_net_itself_failing_still_answers_with_999(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(_text: str) -> bool:
        raise RuntimeError("bug")

    monkeypatch.setattr(safety, "floor_danger", broken)
    replies = respond(SafetyNet(reply_within=5), "hello", saying("hi"))
    assert texts(replies)[0] == safety.CALL_999_FIRST
    assert "I could not do that just now" in texts(replies)[1]


# -- once-only saves ----------------------------------------------------------------------------


def test_run_once_runs_once_and_reports_the_first_outcome(tmp_path: Path) -> None:
    claims = AlarmClaims(tmp_path / "c")
    runs: list[int] = []

    def save() -> Outcome:
        runs.append(1)
        return Outcome(reference=f"SG-{len(runs)}", saved=True)

    first = safety.run_once("k", save, claims=claims)
    again = safety.run_once("k", save, claims=claims, retry_unsaved=True)
    assert runs == [1]
    assert first.raised_here and not again.raised_here
    assert again.outcome == first.outcome


def test_run_once_retries_an_outcome_that_kept_nothing_only_when_asked(tmp_path: Path) -> None:
    claims = AlarmClaims(tmp_path / "c")
    results = iter([Outcome(problems=["database down"]), Outcome(reference="SG-2", saved=True)])
    runs: list[Outcome] = []

    def save() -> Outcome:
        runs.append(next(results))
        return runs[-1]

    assert not safety.run_once("k", save, claims=claims).outcome.saved
    assert not safety.run_once("k", save, claims=claims).outcome.saved  # reported, not rerun
    assert len(runs) == 1
    assert safety.run_once("k", save, claims=claims, retry_unsaved=True).outcome.saved
    assert len(runs) == 2


def test_a_spooled_outcome_is_not_run_again(tmp_path: Path) -> None:
    claims = AlarmClaims(tmp_path / "c")
    runs: list[int] = []

    def save() -> Outcome:
        runs.append(1)
        return Outcome(spooled=True)

    safety.run_once("k", save, claims=claims)
    assert safety.run_once("k", save, claims=claims, retry_unsaved=True).outcome.spooled
    assert runs == [1]


def test_submission_key_ignores_only_the_drafting_time() -> None:
    from datetime import timedelta

    from bot.core import clock
    from bot.paging.reporting import draft_from_answers

    worker = Worker("w1", "W")
    answers = {"child_identity": "Jade", "child_words": "he hurt me"}
    now = clock.now()
    one = draft_from_answers(answers, ["physical"], "urgent", worker, now=now)
    later = draft_from_answers(answers, ["physical"], "urgent", worker, now=now + timedelta(1))
    changed = {**answers, "child_words": "he hit me"}
    other = draft_from_answers(changed, ["physical"], "urgent", worker, now=now)
    assert safety.submission_key("w1", one) == safety.submission_key("w1", later)
    assert safety.submission_key("w1", one) != safety.submission_key("w1", other)
    assert safety.submission_key("w1", one) != safety.submission_key("w2", one)
    assert "he hurt me" not in safety.submission_key("w1", one)


def test_saving_the_same_record_again_after_a_lost_reply_saves_it_once() -> None:
    """Rasa gave up on the form's save after it had saved; 'Save' runs it again with the
    same answers: the first save is found and reported."""
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

    from actions import disclosure_form

    slots = {
        "danger_now": False,
        "child_identity": "Jade, ref 4471",
        "child_age": "14",
        "child_words": "he comes in my room at night",
        "observations": "she was shaking",
        "when_where": "at home",
        "others_involved": "mum's partner",
        "actions_taken": "listened",
        "worker_view": "scared of him",
        "categories": ["sexual"],
        "confirm_record": True,
    }
    tracker = Tracker.from_dict(
        {"sender_id": "worker-1", "slots": slots, "latest_message": {}, "events": []}
    )
    said = []
    for _ in range(2):
        dispatcher = CollectingDispatcher()
        asyncio.run(disclosure_form.save_record(dispatcher, tracker))
        said.append(joined(dispatcher.messages))
    (concern,) = concerns()
    assert all(f"Saved. Your reference is {concern.reference}" in text for text in said)
