"""Org-specific chat answers: short, plain, numbers dialable, always ending with a source."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from bot.core.clock import parse_local
from bot.core.pack import ROUTE_IDS, available_orgs, load_pack, load_pack_file
from bot.core.policy_answers import (
    after_report_answer,
    child_definition_answer,
    contacts_answer,
    deadlines_after_concern,
    deadlines_answer,
    emergency_text,
    format_deadline,
    recording_answer,
    retention_answer,
    route_answer,
    timescales_answer,
    training_answer,
)
from tests.conftest import SEEDS_DIR
from tests.test_contacts import LEICS_LIKE, TIMES

ORGS = available_orgs()
PHONE_LIKE = re.compile(r"(?<![\d.])(?:0\d(?:[ ]?\d){7,10}|999|101)(?!\d)")


def at(text: str) -> datetime:
    return parse_local(text)


def all_answers(org: str, moment: str) -> list[str]:
    pack = load_pack(org)
    when = at(moment)
    answers = [
        contacts_answer(pack, "", when),
        contacts_answer(pack, "it's late, who do I call?", when),
        contacts_answer(pack, "who's the LADO?", when),
        contacts_answer(pack, "is there a whistleblowing line?", when),
        contacts_answer(pack, "number for children's services", when),
        emergency_text(pack, when),
        timescales_answer(pack),
        timescales_answer(pack, "how long do I have to tell my manager?"),
        child_definition_answer(pack),
        recording_answer(pack),
        training_answer(pack),
        retention_answer(pack),
        after_report_answer(pack),
        deadlines_answer(pack, when),
    ]
    answers.extend(route_answer(pack, route_id) for route_id in ROUTE_IDS)
    return answers


@pytest.mark.parametrize("org", ORGS)
@pytest.mark.parametrize("moment", TIMES.values(), ids=list(TIMES))
def test_every_answer_is_plain_and_ends_with_its_source(org: str, moment: str) -> None:
    for answer in all_answers(org, moment):
        assert answer.strip()
        assert answer.splitlines()[-1].startswith("Source: ")
        assert "Traceback" not in answer and "None" not in answer


@pytest.mark.parametrize("org", ORGS)
def test_no_answer_mentions_a_number_that_is_not_in_a_seed(org: str) -> None:
    assert SEEDS_DIR.is_dir(), f"seed policies not found in {SEEDS_DIR} (set SAFEGUARD_SEEDS)"
    seeds = "".join(
        re.sub(r"(?<=\d)[ \t\u00a0\-](?=\d)", "", p.read_text(encoding="utf-8", errors="replace"))
        for p in SEEDS_DIR.glob("*.txt")
    )
    for answer in all_answers(org, TIMES["bank-holiday-evening"]):
        for number in PHONE_LIKE.findall(answer):
            assert number.replace(" ", "") in seeds, f"{number!r} in an answer is not in a seed"


def test_contacts_answer_without_a_purpose_gives_lead_emergency_and_out_of_hours() -> None:
    text = contacts_answer(load_pack("crasac"), "help", at("2026-11-28T14:00"))
    assert "Safeguarding Leads" in text and "999" in text and "024 7683 2222" in text
    assert "it is Saturday" in text


def test_contacts_answer_for_a_missing_purpose_says_not_set_and_who_to_ask() -> None:
    text = contacts_answer(load_pack("crasac"), "who's the LADO?", at("2026-11-23T10:00"))
    assert "Not set for this deployment" in text and "Ask a Safeguarding Lead" in text
    assert "Safeguarding Leads" in text  # the lead is offered as well
    assert "If a child is in danger now, call 999." in text


def test_contacts_answer_writes_numbers_for_tap_to_call() -> None:
    text = contacts_answer(load_pack("chelmsford-chsg"), "who's the LADO?", at("2026-11-23T10:00"))
    assert "0333 013 9797" in text
    # The policy's name people know, never the seed file name.
    assert text.splitlines()[-1] == "Source: Chelmsford County High School for Girls policy, s.10"
    assert ".txt" not in text


def test_emergency_text_when_numbers_are_not_set() -> None:
    text = emergency_text(load_pack("chelmsford-chsg"), at("2026-12-28T19:30"))
    lines = text.splitlines()
    # One label/value line per contact: nothing unset stitched into a sentence.
    assert lines[0].startswith(
        "Safeguarding Lead: Designated Safeguarding Lead (or deputy DSL) — number not set in "
        "this deployment."
    )
    assert lines[1].startswith("Out of hours (it is a bank holiday (Boxing Day (observed))): not")
    assert "Ask the DSL" in lines[1]
    assert "999" not in text  # said once, first, by the danger reply around these lines


def test_emergency_text_in_and_out_of_hours(tmp_path: Path) -> None:
    data = dict(LEICS_LIKE)
    path = tmp_path / "leics-like.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    pack = load_pack_file(path)
    office = emergency_text(pack, at("2026-11-23T10:00"))
    assert "Out of hours" not in office
    night = emergency_text(pack, at("2026-11-23T21:30"))
    assert "Out of hours (it is outside office hours): First Response" in night
    assert "0116 305 0005" in night


def test_crasac_emergency_text_uses_the_out_of_hours_mash_at_the_weekend() -> None:
    text = emergency_text(load_pack("crasac"), at("2026-11-29T23:45"))
    assert "024 7683 2222" in text and "it is Sunday" in text


def test_timescales_answer_filters_by_question() -> None:
    pack = load_pack("chelmsford-chsg")
    text = timescales_answer(pack, "how long do I have to tell the LADO?")
    assert "within 1 working day" in text and "Report a disclosure" not in text
    everything = timescales_answer(pack, "what are the timescales?")
    assert "Report a disclosure" in everything and "within 1 working day" in everything


def test_child_definition_crasac_includes_looked_after_to_21() -> None:
    text = child_definition_answer(load_pack("crasac"))
    assert "21 and under if they have been a looked after child" in text
    assert text.endswith("Source: CRASAC policy, Safeguarding Children Policy")


def test_recording_answer_lists_luna_sub_types() -> None:
    text = recording_answer(load_pack("crasac"))
    assert text.startswith("Record it on: LUNA database")
    for name in ("Concern Raised", "Consultation with SGL", "Manager Sign off (concern closed)"):
        assert name in text
    assert "child's words exactly" in text


def test_recording_answer_when_no_system_is_named() -> None:
    text = recording_answer(load_pack("chelmsford-chsg"))
    assert text.startswith("Recording system not set for this deployment")
    assert "child protection file" in text


def test_training_retention_after_report() -> None:
    crasac = load_pack("crasac")
    assert "Every three years" in training_answer(crasac)
    assert retention_answer(crasac).startswith("Retention period not set for this deployment")
    chelmsford = load_pack("chelmsford-chsg")
    assert "25 years after the pupil's date of birth" in retention_answer(chelmsford)
    assert "At least every two years" in training_answer(chelmsford)
    assert after_report_answer(crasac).startswith("After you report:")
    generic = load_pack("generic")
    assert training_answer(generic).startswith("Training requirements not set")


def test_route_answers() -> None:
    pack = load_pack("chelmsford-chsg")
    text = route_answer(pack, "allegation_staff")
    assert "1. Report it to the Headteacher" in text
    assert "0333 013 9797" in text and "within 1 working day" in text
    missing = route_answer(pack, "online_concern_colleague")
    assert "no online concern colleague procedure is set for this deployment" in missing
    assert "call 999" in missing
    unknown = route_answer(pack, "teatime")
    assert unknown.startswith("There is no route called 'teatime'")


def test_deadlines_after_concern_with_office_hours(tmp_path: Path) -> None:
    data = dict(LEICS_LIKE)
    data["timescales"] = LEICS_LIKE["timescales"] + [
        {
            "id": "referral",
            "what": "Referral to children's social care",
            "within": "1 working day",
            "source": {"seed": "003_9575e7561e5f41db.txt", "section": "test only"},
        },
        {
            "id": "weekly",
            "what": "Not a concern deadline",
            "within": "1 week",
            "after_concern": False,
            "source": {"seed": "003_9575e7561e5f41db.txt", "section": "test only"},
        },
    ]
    path = tmp_path / "leics-like.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    pack = load_pack_file(path)
    saved = at("2026-11-23T19:30")
    assert deadlines_after_concern(pack, saved) == [
        ("Consult your line manager (within 2 hours)", at("2026-11-23T21:30")),
        ("Referral to children's social care (within 1 working day)", at("2026-11-24T17:00")),
    ]
    text = deadlines_answer(pack, saved)
    assert "Consult your line manager (within 2 hours): by 21:30 today" in text
    assert "by 17:00 Tue 24 Nov" in text
    # Christmas Eve evening: the next working day is Tue 29 Dec (28 Dec is a bank holiday).
    christmas = deadlines_after_concern(pack, at("2026-12-24T19:30"))
    assert christmas[1][1] == at("2026-12-29T17:00")


def test_deadlines_crasac_immediately() -> None:
    saved = at("2026-11-23T19:30")
    deadlines = deadlines_after_concern(load_pack("crasac"), saved)
    assert deadlines and all(when == saved for _, when in deadlines)
    assert [what for what, _ in deadlines][0].startswith("Report the safeguarding concern")
    assert format_deadline(saved, saved) == "now"


def test_safeguard_now_is_used_when_no_time_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFEGUARD_NOW", "2026-11-28T14:00")
    pack = load_pack("crasac")
    assert contacts_answer(pack, "hello") == contacts_answer(pack, "hello", at("2026-11-28T14:00"))
    assert emergency_text(pack) == emergency_text(pack, at("2026-11-28T14:00"))
