"""Answers to the questions staff really ask (issue #17, item 4), from each policy pack.

Every answer comes from the organisation's own pack, point by point with the seed section it
is from, cites that policy by its human label (never a file name), and says plainly what the
policy leaves out ("Not set in your policy ... Ask ..."). None of them is an alarm: no
answer is the 999 danger reply, and none pages anyone (the actions are pure text: see
tests/test_actions.py).
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml

from bot.core import replies
from bot.core.pack import PACKS_DIR, STAFF_TOPICS, PackError, load_pack, load_pack_file
from bot.core.policy_answers import (
    ROUTE_QUESTIONS,
    not_set_line,
    retention_answer,
    route_question_answer,
    staff_answer,
)
from tests.conftest import SEEDS_DIR

ORGS = ["crasac", "childrens-society", "leics-seips", "chelmsford-chsg"]
LABELS = {
    "crasac": "CRASAC policy",
    "childrens-society": "The Children's Society policy",
    "leics-seips": "Leicestershire SEIPS policy template",
    "chelmsford-chsg": "Chelmsford County High School for Girls policy",
}


def every_answer(org: str) -> list[str]:
    pack = load_pack(org)
    answers = [staff_answer(pack, topic) for topic in STAFF_TOPICS]
    answers += [route_question_answer(pack, route_id) for route_id in ROUTE_QUESTIONS]
    answers.append(retention_answer(pack))
    return answers


@pytest.mark.parametrize("org", [*ORGS, "generic"])
def test_every_answer_is_plain_cites_its_policy_and_is_never_an_alarm(org: str) -> None:
    for answer in every_answer(org):
        last = answer.splitlines()[-1]
        assert last.startswith("Source: "), answer
        assert ".txt" not in answer and "None" not in answer and "Traceback" not in answer
        # An explanation may name 999 as the number to call; it is never the danger reply.
        assert replies.call_999() not in answer
        assert "🚨" not in answer and "I have paged" not in answer
    if org != "generic":
        for answer in every_answer(org):
            assert answer.splitlines()[-1].startswith(f"Source: {LABELS[org]}")


@pytest.mark.parametrize("org", [*ORGS, "generic"])
def test_every_pack_answers_every_topic_or_says_it_is_not_set(org: str) -> None:
    pack = load_pack(org)
    for topic in STAFF_TOPICS:
        answer = pack.staff_question(topic)
        assert answer is not None, f"{org}: {topic} is missing (write points or not_set)"
        assert answer.points or answer.not_set


def _section_parts(section: str) -> list[str]:
    parts = []
    for part in section.split(";"):
        bare = re.sub(r"\s*\([^()]*\)", "", part).strip().rstrip(".")
        if bare:
            parts.append(bare)
    return parts


@pytest.mark.parametrize("org", ORGS)
def test_every_point_cites_a_section_that_is_in_its_seed(org: str) -> None:
    assert SEEDS_DIR.is_dir(), f"seed policies not found in {SEEDS_DIR}"
    pack = load_pack(org)
    for topic, answer in pack.staff_questions.items():
        for point in answer.points:
            text = (SEEDS_DIR / point.source.seed).read_text(encoding="utf-8", errors="replace")
            flat = " ".join(text.split()).lower()
            for part in _section_parts(point.source.section):
                number = re.match(r"^(\d+(?:\.\d+)?)", part)
                head = number.group(1) if number else part.split(":")[0]
                assert head.lower() in flat, f"{org} {topic}: {head!r} is not in {point.source}"


# -- each family, each organisation ---------------------------------------------------------

HOW_TO_REPORT = {
    "crasac": ["immediately to a Safeguarding Lead", "LUNA"],
    "childrens-society": ["line manager within two hours", "Mosaic", "confirmed in writing"],
    "leics-seips": ["DO NOT DELAY", "Logging a concern", "on-roll school DSL", "0116 305 0005"],
    "chelmsford-chsg": ["immediately to the DSL", "anyone may refer", "Headteacher"],
}


@pytest.mark.parametrize("org", ORGS)
def test_how_to_report_says_who_and_how_from_the_pack(org: str) -> None:
    answer = staff_answer(load_pack(org), "how_to_report")
    assert answer.startswith("How to report a concern:")
    for words in HOW_TO_REPORT[org]:
        assert words in answer, (org, words)


EMERGENCY = {
    "crasac": ["concern of immediate harm", "999", "safe and well check"],
    "childrens-society": ["immediate risk of harm", "999", "within two hours"],
    "leics-seips": ["immediate risk of harm", "999", "101 is the non-emergency number"],
    "chelmsford-chsg": ["risk of immediate harm", "Children and Families Hub", "portal"],
}


@pytest.mark.parametrize("org", ORGS)
def test_what_is_an_emergency_is_an_explanation(org: str) -> None:
    answer = staff_answer(load_pack(org), "what_is_emergency")
    assert answer.startswith("What counts as an emergency:")
    for words in EMERGENCY[org]:
        assert words in answer, (org, words)
    assert replies.call_999() not in answer


@pytest.mark.parametrize("org", ORGS)
def test_who_is_told_you_reported_is_partly_not_set_everywhere(org: str) -> None:
    """No seed says whether a concern can be raised anonymously: said plainly, never made up."""
    answer = staff_answer(load_pack(org), "reporter_identity")
    assert "Not set in your policy:" in answer and "anonymously" in answer
    assert f"Ask {load_pack(org).ask_first}." in answer


def test_parents_are_told_where_the_policy_says_so() -> None:
    assert "agreement sought before a referral" in staff_answer(
        load_pack("childrens-society"), "reporter_identity"
    )
    assert "0800 028 0285" in staff_answer(load_pack("chelmsford-chsg"), "reporter_identity")


@pytest.mark.parametrize(
    ("org", "words"),
    [
        ("crasac", "establish the salient facts"),
        ("childrens-society", "suspect"),
        ("leics-seips", "only Social Care, the Police or the NSPCC investigate"),
        ("chelmsford-chsg", "A suspicion is enough"),
    ],
)
def test_not_sure_or_wrong(org: str, words: str) -> None:
    assert words in staff_answer(load_pack(org), "not_sure")


@pytest.mark.parametrize(
    ("org", "words"),
    [
        ("crasac", "'secrets'"),
        ("childrens-society", "first or only time"),
        ("leics-seips", "not always be forthcoming"),
        ("chelmsford-chsg", "communication difficulties"),
    ],
)
def test_why_children_dont_tell(org: str, words: str) -> None:
    assert words in staff_answer(load_pack(org), "why_children_dont_tell")


@pytest.mark.parametrize(
    ("org", "words"),
    [
        ("crasac", "Confidentiality Policy"),
        ("childrens-society", "overrides all other considerations"),
        ("leics-seips", "do not prevent sharing"),
        ("chelmsford-chsg", "not a barrier"),
    ],
)
def test_information_sharing(org: str, words: str) -> None:
    assert words in staff_answer(load_pack(org), "information_sharing")


@pytest.mark.parametrize(
    ("org", "words"),
    [
        ("crasac", "sharing images of children in this way is illegal"),
        ("childrens-society", "within one hour"),
        ("leics-seips", "filtered and monitored"),
        ("chelmsford-chsg", "peer-on-peer abuse"),
    ],
)
def test_online_safety(org: str, words: str) -> None:
    answer = staff_answer(load_pack(org), "online_safety")
    assert words in answer
    assert "Not set in your policy:" in answer  # no seed sets rules on staff's own phones


ALLEGATION = {
    "crasac": ["Disciplinary Policy", "suspended immediately", "no LADO contact"],
    "childrens-society": ["safeguarding team must be consulted", "LADO"],
    "leics-seips": ["0116 305 4141", "CFS-LADO@leics.gov.uk", "0116 305 0005"],
    "chelmsford-chsg": ["Headteacher", "Chair of Governors", "0333 013 9797", "1 working day"],
}


@pytest.mark.parametrize("org", ORGS)
def test_allegation_about_staff_comes_from_the_route(org: str) -> None:
    answer = route_question_answer(load_pack(org), "allegation_staff")
    for words in ALLEGATION[org]:
        assert words in answer, (org, words)


@pytest.mark.parametrize("org", ["crasac", "leics-seips", "chelmsford-chsg"])
def test_fgm_duty_from_the_route(org: str) -> None:
    answer = route_question_answer(load_pack(org), "fgm")
    assert "duty" in answer and "FGM" in answer


def test_fgm_duty_is_not_set_where_the_policy_has_no_procedure() -> None:
    answer = route_question_answer(load_pack("childrens-society"), "fgm")
    assert answer.startswith("The FGM reporting duty: not set in your policy.")
    assert "only within the definition of domestic violence" in answer
    assert "Ask your line manager or the safeguarding team." in answer
    assert answer.splitlines()[-1] == "Source: The Children's Society policy"


@pytest.mark.parametrize("org", ORGS)
def test_prevent_from_the_route(org: str) -> None:
    answer = route_question_answer(load_pack(org), "prevent")
    assert "Prevent" in answer or "PREVENT" in answer


def test_generic_routes_are_not_set_and_say_who_to_ask() -> None:
    generic = load_pack("generic")
    for route_id in ROUTE_QUESTIONS:
        answer = route_question_answer(generic, route_id)
        assert ": not set in your policy." in answer.splitlines()[0]
        assert "Ask your Safeguarding Lead / DSL" in answer
        assert "999" not in answer  # "in an emergency call 999" is not an answer


def test_retention_not_set_says_who_to_ask_and_where_the_policy_points() -> None:
    answer = retention_answer(load_pack("childrens-society"))
    assert answer.startswith("Retention period not set for this deployment")
    assert "Ask the records, archives and data protection manager" in answer
    assert answer.splitlines()[-1] == "Source: The Children's Society policy, s.2, s.3.20"
    assert "25 years" in retention_answer(load_pack("chelmsford-chsg"))
    assert "eight years" in retention_answer(load_pack("leics-seips"))


# -- the "not set" path and the schema --------------------------------------------------------


def test_a_topic_the_pack_leaves_out_is_not_set_with_who_to_ask(tmp_path: Path) -> None:
    data = yaml.safe_load((PACKS_DIR / "crasac.yml").read_text(encoding="utf-8"))
    del data["staff_questions"]["how_to_report"]
    path = tmp_path / "crasac.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    answer = staff_answer(load_pack_file(path), "how_to_report")
    assert answer.splitlines() == [
        "How to report a concern:",
        "Not set in your policy. Ask a Safeguarding Lead.",
        "Source: CRASAC policy",
    ]


def test_generic_has_no_anonymity_rule_and_says_so() -> None:
    answer = staff_answer(load_pack("generic"), "reporter_identity")
    assert "•" not in answer
    assert answer.splitlines()[1].startswith("Not set in your policy: The four policies do not say")


def test_the_same_words_from_two_policies_are_said_once() -> None:
    answer = staff_answer(load_pack("generic"), "how_to_report")
    assert answer.count("Tell your Safeguarding Lead / DSL straight away") == 1
    assert "CRASAC policy" in answer and "Chelmsford County High School for Girls" in answer


def test_not_set_line() -> None:
    pack = load_pack("leics-seips")
    assert not_set_line(pack).startswith("Not set in your policy. Ask your Designated")
    assert not_set_line(pack, "no rule", "your DSL; in an emergency call 999") == (
        "Not set in your policy: no rule. Ask your DSL."
    )


def test_unknown_topic_is_an_error() -> None:
    with pytest.raises(KeyError):
        staff_answer(load_pack("crasac"), "teatime")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda d: d["staff_questions"].update(teatime={"not_set": "x"}),
            "'teatime' is not a topic",
        ),
        (
            lambda d: d["staff_questions"].update(how_to_report={"points": []}),
            "give points, or not_set",
        ),
        (
            lambda d: d["staff_questions"]["not_sure"]["points"][0]["source"].update(
                seed="004_ef475b4fe766258f.txt"
            ),
            "staff_questions.not_sure.points[0].source.seed: '004_ef475b4fe766258f.txt' is not",
        ),
    ],
)
def test_schema_breakages_are_one_line(tmp_path: Path, change, expected: str) -> None:  # noqa: ANN001
    data = copy.deepcopy(yaml.safe_load((PACKS_DIR / "crasac.yml").read_text(encoding="utf-8")))
    change(data)
    path = tmp_path / "crasac.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(PackError) as caught:
        load_pack_file(path)
    assert expected in str(caught.value)
    assert "\n" not in str(caught.value)
