"""Property: any interleaving of danger messages, answers, corrections and questions in one
conversation makes one concern with at most one page chain, and drops no answer (issue 14).

The conversation is played through the real actions (the form's validation, the alarm, the
correction and the save) with tracker fixtures, as the action server runs them, against a
fresh concern log per example. A simplified form walks the questions in the domain's order.
"""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import danger, disclosure_form
from bot.core import disclosure

ORDER = ("danger_now", "disclosure_timing", *disclosure.RECORD_SLOTS)
DANGER_TEXTS = (
    "he's outside the centre with a knife now",
    "she says he's coming to get her tonight and she's terrified",
    "he said he'll kill my brother when I get home",
)
PLAIN_TEXTS = (
    "Ellie (ref 4471)",
    "13",
    "she was quiet and kept her coat on",
    "at the youth club on Tuesday at 7pm",
    "her mum's partner",
    "I told the on-call manager",
    "I am worried about her going home",
    'she said "don\'t tell anyone" and cried',
)

answer = st.tuples(st.just("answer"), st.sampled_from(PLAIN_TEXTS + DANGER_TEXTS), st.booleans())
danger_message = st.tuples(st.just("danger"), st.sampled_from(DANGER_TEXTS), st.just(True))
correction = st.tuples(st.just("correct"), st.sampled_from(disclosure.RECORD_SLOTS), st.just(False))
question = st.tuples(
    st.just("question"),
    st.sampled_from(("who's the LADO?", "how long have I got?")),
    st.just(False),
)
operations = st.lists(
    st.one_of(answer, answer, answer, danger_message, correction, question), max_size=24
)


class Conversation:
    """One worker's conversation: the slots as Rasa would hold them, each message a new id."""

    def __init__(self) -> None:
        self.sender = f"worker-{uuid.uuid4().hex[:8]}"
        self.slots: dict[str, Any] = {"requested_slot": ORDER[0]}
        self.saved = False

    def tracker(self, text: str, intent: str, danger_now: bool) -> Tracker:
        return Tracker.from_dict(
            {
                "sender_id": self.sender,
                "slots": dict(self.slots),
                "latest_message": {
                    "text": text,
                    "intent": {"name": intent, "confidence": 0.9},
                    "entities": [],
                    "triage": {"urgency": "immediate" if danger_now else "routine"},
                },
                "events": [{"event": "user", "text": text, "message_id": uuid.uuid4().hex}],
                "paused": False,
                "followup_action": None,
                "active_loop": {} if self.saved else {"name": "disclosure_form"},
                "latest_action_name": "action_listen",
            }
        )

    def requested(self) -> str | None:
        for slot in ORDER:
            if self.slots.get(slot) is None:
                return slot
        return None

    def validate(self, slot: str, value: Any, text: str, intent: str, danger_now: bool) -> None:
        self.slots["requested_slot"] = slot  # the form asked for it
        form = disclosure_form.ValidateDisclosureForm()
        tracker = self.tracker(text, intent, danger_now)
        result = asyncio.run(
            getattr(form, f"validate_{slot}")(value, CollectingDispatcher(), tracker, {})
        )
        self.slots.update(result)

    def alarm(self, text: str) -> None:
        asyncio.run(
            danger.RaiseAlarm().run(
                CollectingDispatcher(), self.tracker(text, "report_danger", True), {}
            )
        )

    def save(self) -> None:
        self.slots.update({"categories": ["other"], "confirm_record": True})
        tracker = self.tracker("/affirm", "affirm", False)
        result = asyncio.run(disclosure_form.save_record(CollectingDispatcher(), tracker))
        assert result.get("concern_ref"), "the record was saved"
        self.slots.update(result)
        self.saved = True


def play(operations: list[tuple[str, str, bool]]) -> dict[str, str]:
    """Play the operations, fill what is left, save, then play them again after the save.
    Returns the last answer given to each record question."""
    talk = Conversation()
    given: dict[str, str] = {}

    def step(kind: str, text: str, is_danger: bool) -> None:
        slot = talk.requested()
        if kind == "danger" or talk.saved:
            if kind in ("danger", "answer") and (is_danger or kind == "danger"):
                talk.alarm(text)
            return
        if kind == "correct":
            if text in given:  # only an answer already given can be corrected
                talk.slots[text] = None
                given.pop(text)
            return
        if kind == "question":
            talk.validate(slot, text, text, "ask_contact", False)
            return
        value: Any = text
        if slot == "danger_now":
            value = True if is_danger else False
        talk.validate(slot, value, text, "nlu_fallback", is_danger)
        if slot in disclosure.RECORD_SLOTS and talk.slots.get(slot) is not None:
            given[slot] = talk.slots[slot]
        if slot in ("observations", "others_involved", "actions_taken", "worker_view"):
            if talk.slots.get("language_review") == slot:  # a finding: keep the wording
                talk.validate(slot, "/keep_wording", "/keep_wording", "keep_wording", False)
                given[slot] = talk.slots[slot]

    for operation in operations:
        step(*operation)
    while (slot := talk.requested()) is not None:
        step("answer", f"answer for {slot}", False)
    talk.save()
    for operation in operations:
        step(*operation)
    return given


@pytest.fixture
def own_db(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    """A fresh concern log per example (hypothesis runs many in one test function)."""

    def fresh() -> Path:
        folder = Path(tempfile.mkdtemp())
        monkeypatch.setenv("SAFEGUARD_VAR", str(folder))
        monkeypatch.setenv("SAFEGUARD_DB_URL", f"sqlite:///{folder / 'concerns.sqlite3'}")
        return folder

    monkeypatch.setenv("SAFEGUARD_NOW", "2026-12-04T21:40")
    monkeypatch.setenv("SAFEGUARD_ORG", "childrens-society")
    return fresh


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=operations)
def test_one_conversation_is_one_concern_one_chain_and_keeps_every_answer(
    own_db,  # noqa: ANN001
    operations: list[tuple[str, str, bool]],
) -> None:
    from sqlalchemy import select

    from bot.paging.models import Page
    from bot.records.concern_log import SEALED_FIELDS, ConcernLog
    from bot.records.db import make_engine, session_factory

    own_db()
    given_answers = play(operations)
    log = ConcernLog()
    [concern] = log.list()
    with session_factory(make_engine())() as session:
        assert len(session.scalars(select(Page)).all()) == 1
    kept = "\n".join(
        [str(getattr(concern, name)) for name in SEALED_FIELDS]
        + [event.text for event in log.chronology(concern.reference)]
    )
    for slot, value in given_answers.items():
        assert value in kept, f"{slot} answer lost: {value!r}"
