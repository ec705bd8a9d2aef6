"""Whole disclosures through the real REST channel: one incident, one concern (issue 14).

Each conversation in `tests/data/conversations/whole_disclosures.yml` (written from the
seeds' own examples and published case material; all four organisations, office hours,
evenings, weekends and bank holidays) is played turn by turn against a real Rasa server and
action server (one stack per organisation, its clock moved per conversation through
SAFEGUARD_NOW_FILE). For every conversation:

* exactly one concern is written, with at most one page chain;
* every answer (the last one given for each question) is in the saved record, verbatim;
* a question the worker has just answered is not asked again;
* a message labelled danger gets 999 in the first line of its first reply, and no reply
  tells the worker to call 999 more than once;
* a worker-written answer holding victim-blaming words is offered the language finding.
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.core import disclosure
from tests.conftest import ROOT
from tests.failsafe_stack import MODEL, Stack

CONVERSATIONS = ROOT / "tests" / "data" / "conversations" / "whole_disclosures.yml"
ORGS = ("crasac", "childrens-society", "leics-seips", "chelmsford-chsg")
PAYLOAD = re.compile(r"/\w+(?:\{.*\})?", re.DOTALL)
# The instruction, not the number: a contact list may name the police line "999" too.
CALL_999 = re.compile(r"call 999", re.IGNORECASE)


def load() -> list[dict[str, Any]]:
    return yaml.safe_load(CONVERSATIONS.read_text(encoding="utf-8"))["conversations"]


def ask_texts() -> dict[str, str]:
    """The form's question for each slot, as the domain words it."""
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    asks = {}
    for slot in ("danger_now", "disclosure_timing", *disclosure.RECORD_SLOTS):
        variations = domain["responses"].get(f"utter_ask_{slot}") or []
        if variations:
            asks[slot] = variations[0]["text"].strip()
    return asks


class OrgStack(Stack):
    """The fail-safe test stack for one organisation, its clock in a file."""

    def __init__(self, root: Path, org: str) -> None:
        # These conversations test the dialogue, not the action time-out (test_failsafe
        # does): on a loaded 2-core CI machine an action once took over the 3-second test
        # default and the worker got the "not responding" reply mid-disclosure.
        super().__init__(root, action_timeout=20)
        self.org = org
        self.now_file = root / "now"
        self.now_file.write_text("2026-12-07T10:00\n")

    def env(self, **extra: str) -> dict[str, str]:
        return super().env(SAFEGUARD_ORG=self.org, SAFEGUARD_NOW_FILE=str(self.now_file), **extra)

    @contextmanager
    def reading(self):  # noqa: ANN201
        with super().reading():
            saved = os.environ.get("SAFEGUARD_ORG")
            os.environ["SAFEGUARD_ORG"] = self.org
            try:
                yield
            finally:
                os.environ["SAFEGUARD_ORG"] = saved or "crasac"

    def record_of(self, reference: str) -> str:
        """Everything kept about a concern, decrypted: its fields and its chronology."""
        from bot.records.concern_log import SEALED_FIELDS, ConcernLog

        with self.reading():
            log = ConcernLog(self.db_url)
            view = log.get(reference)
            fields = [str(getattr(view, name)) for name in SEALED_FIELDS]
            events = [event.text for event in log.chronology(reference)]
        return "\n".join(fields + events)


@pytest.fixture(scope="module", params=ORGS)
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    assert MODEL.exists(), "no trained model: run `make train` (make test does this first)"
    stack = OrgStack(tmp_path_factory.mktemp(f"whole-{request.param}"), request.param)
    stack.telegram.http.start()
    try:
        stack.start_actions()
        stack.start_rasa()
        yield stack
    finally:
        stack.stop()
        stack.telegram.http.stop()


def text_of(replies: list[dict]) -> str:
    return "\n".join(r.get("text") or "" for r in replies)


def play(stack: OrgStack, conversation: dict[str, Any]) -> list[str]:
    """Play one conversation; return what went wrong (empty when all holds)."""
    problems: list[str] = []
    asks = ask_texts()
    sender = f"conv-{conversation['id']}"
    stack.now_file.write_text(conversation["now"] + "\n")
    before = {c.reference for c in stack.concerns()}
    expected: dict[str, str] = {}
    transcript: list[str] = []
    for number, turn in enumerate(conversation["turns"], start=1):
        said = turn["say"]
        replies = stack.post(sender, said)
        reply = text_of(replies)
        transcript.append(f">>> {said}\n{reply}")
        where = f"turn {number} ({said[:50]!r})"
        if turn.get("danger") is True:
            first = (replies[0].get("text") or "") if replies else ""
            if "999" not in first.split("\n")[0]:
                problems.append(f"{where}: danger without 999 in the first line: {first[:80]!r}")
        calls = len(CALL_999.findall(reply))
        if calls > 1:
            problems.append(f"{where}: 'call 999' said {calls} times in one reply")
        if turn.get("language") and "Language check" not in reply:
            problems.append(f"{where}: no language finding offered")
        slot = turn.get("answers")
        if slot in disclosure.RECORD_SLOTS or (
            slot in ("danger_now", "disclosure_timing") and not PAYLOAD.fullmatch(said.strip())
        ):
            key = {"danger_now": "danger_answer", "disclosure_timing": "timing_answer"}.get(
                slot, slot
            )
            expected[key] = said
            ask = asks.get(slot)
            if ask and ask in reply and not turn.get("language"):
                problems.append(f"{where}: {slot} answered, then asked again")
    new = sorted({c.reference for c in stack.concerns()} - before)
    if len(new) != 1:
        problems.append(f"{len(new)} concerns written, not exactly one: {new}")
    if new:
        chains = {row["id"] for row in stack.page_rows() if row["concern_ref"] in new}
        if len(chains) > 1:
            problems.append(f"{len(chains)} page chains for one incident")
        kept = "\n".join(stack.record_of(ref) for ref in new)
        for key, answer in expected.items():
            if disclosure.clean_answer(answer) not in kept:
                problems.append(f"the {key} answer is not in the saved record: {answer[:60]!r}")
    if problems:
        problems.append("transcript:\n" + "\n".join(transcript))
    return problems


def test_the_conversations_cover_what_the_issue_asks() -> None:
    conversations = load()
    assert len(conversations) >= 24
    assert {c["org"] for c in conversations} == set(ORGS)
    turns = [t for c in conversations for t in c["turns"]]
    assert sum(1 for t in turns if t.get("language")) >= 6
    assert sum(1 for t in turns if t.get("danger") is True) >= 6
    assert len({c["id"] for c in conversations}) == len(conversations)


def test_every_conversation_is_one_incident_with_every_answer_kept(stack: OrgStack) -> None:
    failures = {}
    for conversation in load():
        if conversation["org"] != stack.org:
            continue
        problems = play(stack, conversation)
        if problems:
            failures[conversation["id"]] = problems
    assert not failures, "\n\n".join(
        f"== {name}\n" + "\n".join(problems) for name, problems in failures.items()
    )
