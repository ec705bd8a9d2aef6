"""The Children's Society pack (packs/childrens-society.yml) says what seed 002 says.

The published policy redacts its emergency out of hours number and gives no local numbers,
so most answers must say "not set for this deployment" and where staff find the number,
never a guess. Out of hours is 17:00-09:00 on weekdays, plus weekends and statutory
holidays. Every time below is pinned (Europe/London wall clock).
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache

import pytest

from bot.core.clock import parse_local
from bot.core.contacts import route
from bot.core.hours import is_working_time
from bot.core.pack import PACKS_DIR, PURPOSES, Pack, digits, load_pack_file
from tests.conftest import SEEDS_DIR

SEED = "002_d3f9acad92c1597f.txt"
PACK_FILE = PACKS_DIR / "childrens-society.yml"


@pytest.fixture(scope="module")
def pack() -> Pack:
    return load_pack_file(PACK_FILE)


@cache
def seed_text() -> str:
    return (SEEDS_DIR / SEED).read_text(encoding="utf-8")


def squash(text: str) -> str:
    """Lower case, curly quotes straightened, whitespace collapsed: for quote checks."""
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    return " ".join(text.lower().split())


def at(iso: str) -> datetime:
    return parse_local(iso)


# -- the pack as a whole -----------------------------------------------------------------


def test_pack_loads_and_names_the_organisation(pack: Pack) -> None:
    assert pack.org == "childrens-society"
    assert pack.name == "The Children's Society"
    assert pack.seeds == [SEED]


def _all_sources(pack: Pack) -> list[tuple[str, object]]:
    found: list[tuple[str, object]] = [("child_definition", pack.child_definition.source)]
    found += [(f"roles.{r.id}", r.source) for r in pack.roles]
    found += [(f"contacts.{c.id}", c.source) for c in pack.contacts]
    found += [(f"timescales.{t.id}", t.source) for t in pack.timescales]
    found += [(f"routes.{r.id}", r.source) for r in pack.routes]
    found += [("recording", pack.recording.source)]
    found += [("office_hours", pack.office_hours.source)]
    found += [(f"training[{i}]", t.source) for i, t in enumerate(pack.training.requirements)]
    found += [(f"after_report[{i}]", s.source) for i, s in enumerate(pack.after_report)]
    found += [
        (f"staff_questions.{topic}[{i}]", point.source)
        for topic, answer in pack.staff_questions.items()
        for i, point in enumerate(answer.points)
    ]
    return found


def test_every_fact_cites_seed_002(pack: Pack) -> None:
    for where, source in _all_sources(pack):
        assert source is not None, f"{where} has no source"
        assert source.seed == SEED, f"{where} cites {source.seed}"


def test_every_cited_section_number_exists_in_the_seed(pack: Pack) -> None:
    # "3.45 Raising an online ..." must cite a paragraph that is really in the policy.
    headings = set(re.findall(r"^(\d+\.\d+)\s", seed_text(), flags=re.MULTILINE))
    assert {"3.6", "3.45", "4.7"} <= headings
    checked = 0
    for where, source in _all_sources(pack):
        for number in re.findall(r"(?<![\d.])(\d+\.\d+)(?![\d.])", source.section):
            checked += 1
            assert number in headings, f"{where} cites section {number}, not in {SEED}"
    assert checked > 30


def test_child_definition_is_the_seed_wording(pack: Pack) -> None:
    definition = pack.child_definition
    assert definition.up_to_age == 17
    assert definition.looked_after_up_to_age is None
    assert squash(definition.text) in squash(seed_text())
    assert "18th birthday" in definition.text


# -- never invent a number -----------------------------------------------------------------


def test_the_only_number_in_the_pack_is_999_and_the_seed_prints_it(pack: Pack) -> None:
    numbers = {digits(c.number) for c in pack.contacts if c.number}
    assert numbers == {"999"}
    assert "a 999 call to the police must be made" in seed_text()


def test_out_of_hours_number_is_redacted_in_the_seed_and_not_set_in_the_pack(pack: Pack) -> None:
    # The published policy blacks the number out; the pack must not fill it in.
    assert "emergency out of hours contact number (██████████)" in seed_text()
    line = pack.contact("out-of-hours-line")
    assert line.number is None and line.email is None
    assert "redacted" in line.not_set.lower()
    assert "intranet" in line.not_set.lower()
    assert line.serves == "out_of_hours"


# -- office hours: 09:00-17:00 weekdays, not at weekends or on statutory holidays ----------


@pytest.mark.parametrize(
    ("iso", "open_"),
    [
        ("2026-11-23T10:00", True),  # Monday, GMT
        ("2026-11-23T08:59", False),  # before 9am
        ("2026-11-23T09:00", True),
        ("2026-11-23T16:59", True),
        ("2026-11-23T17:00", False),  # 5pm starts out of hours
        ("2026-11-23T18:00", False),
        ("2026-11-28T11:00", False),  # Saturday
        ("2026-11-29T11:00", False),  # Sunday
        ("2026-12-25T11:00", False),  # Christmas Day (Friday)
        ("2026-12-28T11:00", False),  # substitute bank holiday for Boxing Day
        ("2026-12-29T11:00", True),
        ("2026-07-01T16:59", True),  # BST: same wall-clock rule
        ("2026-07-01T17:00", False),
    ],
)
def test_office_hours(pack: Pack, iso: str, open_: bool) -> None:
    assert is_working_time(pack, at(iso)) is open_


# -- routing with a pinned clock -------------------------------------------------------------


OUT_OF_HOURS = [
    "2026-11-23T18:00",  # weekday evening
    "2026-11-24T07:30",  # weekday early morning
    "2026-11-28T11:00",  # Saturday
    "2026-12-28T11:00",  # Monday bank holiday
    "2026-08-31T12:00",  # Summer bank holiday (BST)
]


@pytest.mark.parametrize("iso", OUT_OF_HOURS)
def test_out_of_hours_answer_says_the_number_is_not_set_and_where_to_find_it(
    pack: Pack, iso: str
) -> None:
    routes = route(pack, "out_of_hours_social_care", when=at(iso))
    first = routes[0]
    assert first.contact is not None and first.contact.id == "out-of-hours-line"
    assert first.open_now is True
    assert first.number is None
    assert "not set for this deployment" in first.reason.lower()
    assert "intranet" in first.reason
    assert "3.11" in first.source
    # The local authority out of hours service is offered too, also without a guessed number.
    assert "la-out-of-hours" in [r.contact.id for r in routes if r.contact]
    assert all(r.number is None for r in routes)


@pytest.mark.parametrize("iso", OUT_OF_HOURS)
def test_who_to_tell_out_of_hours_is_the_senior_manager_line(pack: Pack, iso: str) -> None:
    first = route(pack, "safeguarding_lead", when=at(iso))[0]
    assert first.contact is not None and first.contact.id == "out-of-hours-line"
    manager = [
        r for r in route(pack, "line_manager", when=at(iso)) if r.contact.id == "line-manager"
    ]
    assert manager and manager[0].open_now is False


@pytest.mark.parametrize("iso", ["2026-11-24T10:00", "2026-07-01T16:30"])
def test_who_to_tell_in_office_hours_is_the_line_manager(pack: Pack, iso: str) -> None:
    routes = route(pack, "safeguarding_lead", when=at(iso))
    assert routes[0].contact.id == "line-manager"
    assert routes[0].open_now is True
    assert "not set for this deployment" in routes[0].reason.lower()
    out_of_hours = [r for r in routes if r.contact.id == "out-of-hours-line"]
    assert out_of_hours and out_of_hours[0].open_now is False


@pytest.mark.parametrize("iso", ["2026-11-24T10:00", *OUT_OF_HOURS])
def test_emergency_is_999_at_any_time(pack: Pack, iso: str) -> None:
    first = route(pack, "emergency", when=at(iso))[0]
    assert first.number == "999"
    assert first.open_now is True


@pytest.mark.parametrize("purpose", PURPOSES)
@pytest.mark.parametrize("iso", ["2026-11-24T10:00", "2026-11-28T11:00"])
def test_every_purpose_answers_without_inventing(pack: Pack, purpose: str, iso: str) -> None:
    routes = route(pack, purpose, when=at(iso))
    assert routes
    for item in routes:
        if item.number is not None:
            assert item.number == "999"
        elif item.contact is None:
            assert "not set for this deployment" in item.reason.lower(), (purpose, item.reason)
        else:
            # A contact without a number always carries the policy's reason and where to look.
            assert item.contact.not_set, (purpose, item.contact.id)
            assert item.as_dict()["not_set"] == item.contact.not_set


def test_lado_is_not_set_and_points_to_the_allegations_policy(pack: Pack) -> None:
    (only,) = route(pack, "lado", when=at("2026-11-24T10:00"))
    assert only.contact is None
    assert "Designated Officer" in only.reason
    assert "Managing Safeguarding Allegations" in only.reason


# -- timescales: what the seed says, in its own section ---------------------------------------


@pytest.mark.parametrize(
    ("timescale_id", "within", "seed_words"),
    [
        ("consult-line-manager", "2 hours", "consult with a line manager **within two hours**"),
        (
            "manager-consults-safeguarding-team",
            "3 hours",
            "consulting with the safeguarding team **within three hours**",
        ),
        (
            "referral-childrens-services",
            "1 working day",
            "**within one working day** of identification",
        ),
        ("online-colleague-report", "1 hour", "information systems director **within one hour**"),
        (
            "online-material-inform-isd",
            "1 hour",
            "inform the information systems director **within one hour**",
        ),
        (
            "domestic-abuse-line-manager",
            "same working day",
            "**same working day** with their line manager",
        ),
        (
            "prevent-line-manager",
            "1 working day",
            "line manager **within one working day** of the concern",
        ),
        ("existing-plan-social-worker-response", "2 working days", "**within two working days**"),
        (
            "organised-abuse-referral",
            "3 hours",
            "make a referral **within three hours** to the police",
        ),
        (
            "child-protection-conference",
            "15 working days",
            "within 15 working days of the strategy",
        ),
    ],
)
def test_timescales_match_the_seed(
    pack: Pack, timescale_id: str, within: str, seed_words: str
) -> None:
    timescale = pack.timescale(timescale_id)
    assert timescale.within == within
    assert seed_words in seed_text()


def test_deadlines_after_a_concern_on_a_weekday_evening(pack: Pack) -> None:
    saved = at("2026-11-23T19:30")
    line_manager = pack.timescale("consult-line-manager").duration().deadline(saved, pack)
    referral = pack.timescale("referral-childrens-services").duration().deadline(saved, pack)
    assert line_manager == at("2026-11-23T21:30")
    assert referral == at("2026-11-24T17:00")


def test_referral_deadline_skips_christmas_and_the_substitute_bank_holiday(pack: Pack) -> None:
    saved = at("2026-12-24T15:00")  # Thursday afternoon, office open
    referral = pack.timescale("referral-childrens-services").duration().deadline(saved, pack)
    assert referral == at("2026-12-29T15:00")


def test_only_general_timescales_run_from_every_concern(pack: Pack) -> None:
    # Route-specific deadlines (Prevent, online concern about a colleague, conferences) must
    # not appear in the deadline list for every concern.
    general = {t.id for t in pack.timescales if t.after_concern}
    assert general == {
        "consult-line-manager",
        "manager-consults-safeguarding-team",
        "referral-childrens-services",
    }


# -- special routes ------------------------------------------------------------------------------


def test_online_concern_about_a_colleague_is_one_hour_and_never_tips_them_off(pack: Pack) -> None:
    special = pack.route("online_concern_colleague")
    assert special is not None
    assert "online-colleague-report" in special.timescales
    steps = " ".join(special.steps)
    assert "within one hour" in steps
    assert "Do not tell the employee or volunteer" in steps
    assert "information systems director" in steps


def test_immediate_harm_and_prevent_put_999_first(pack: Pack) -> None:
    for route_id in ("immediate_harm", "prevent"):
        special = pack.route(route_id)
        assert special is not None
        assert special.contacts[0] == "emergency"
        assert "999" in special.steps[0]


def test_routes_with_no_seed_contact_say_so(pack: Pack) -> None:
    whistle = pack.route("whistleblowing")
    assert whistle is not None and not whistle.contacts and whistle.not_set
    assert pack.route("fgm") is None  # the seed has no FGM procedure: no invented route
    assert pack.unset("fgm") is not None


def test_cse_route_cites_the_language_table(pack: Pack) -> None:
    special = pack.route("cse_risk_assessment")
    assert special is not None and "4.7" in special.source.section
    assert "'Involved in CSE'" in seed_text()
    assert "'Putting themselves at risk'" in seed_text()


# -- recording, retention, training, after a report ------------------------------------------


def test_recording_is_mosaic_with_the_decision_not_to_refer_case_note(pack: Pack) -> None:
    assert pack.recording.system.startswith("Mosaic")
    names = [event.name for event in pack.recording.event_types]
    assert "Case note: Decision not to make a referral to social care" in names


def test_retention_is_explicitly_not_set(pack: Pack) -> None:
    assert pack.retention.rules == []
    assert "no retention period" in pack.retention.not_set


def test_training_timescales(pack: Pack) -> None:
    by_when = [(t.who, t.when) for t in pack.training.requirements]
    assert ("All employees", "Within the first two weeks of starting employment") in by_when
    assert any("every three years" in when for _, when in by_when)
    assert any("within one month" in when.lower() for _, when in by_when)  # CYPD volunteers


def test_after_report_mentions_the_local_authority_decision(pack: Pack) -> None:
    text = " ".join(step.text for step in pack.after_report)
    assert "within one working day" in text
    assert "three working days" in text


# -- what a worker reads in chat (bot.core.policy_answers) ----------------------------------------


@pytest.mark.parametrize("iso", ["2026-11-23T18:00", "2026-11-28T11:00", "2026-12-28T11:00"])
@pytest.mark.parametrize("question", ["it's late, who do I call?", "hello"])
def test_out_of_hours_answer_in_chat(pack: Pack, iso: str, question: str) -> None:
    from bot.core.policy_answers import contacts_answer

    answer = contacts_answer(pack, question, when=at(iso))
    assert "emergency out of hours contact number" in answer
    assert "Number not set for this deployment" in answer
    assert "intranet" in answer
    assert "999" in answer
    assert answer.splitlines()[-1].startswith("Source: The Children's Society policy, s.3.11")
    assert SEED not in answer
    # No number but 999 in the answer: the redacted number is never filled in.
    assert set(re.findall(r"\d{3,}", answer.replace(SEED, ""))) <= {"999"}


@pytest.mark.parametrize("iso", ["2026-11-23T18:00", "2026-11-28T11:00", "2026-12-28T11:00"])
def test_emergency_text_out_of_hours_points_to_the_intranet(pack: Pack, iso: str) -> None:
    from bot.core.policy_answers import emergency_text

    text = emergency_text(pack, when=at(iso))
    assert text.startswith(
        "Safeguarding Lead: The Children's Society emergency out of hours contact number "
        "(senior manager) — number not set in this deployment. Redacted"
    )
    assert "intranet" in text


def test_emergency_text_in_office_hours_is_the_line_manager(pack: Pack) -> None:
    from bot.core.policy_answers import emergency_text

    text = emergency_text(pack, when=at("2026-11-24T10:00"))
    assert text.startswith("Safeguarding Lead: Your line manager — number not set")
    assert "Out of hours" not in text


def test_how_long_to_tell_my_manager(pack: Pack) -> None:
    from bot.core.policy_answers import timescales_answer

    answer = timescales_answer(pack, "how long do I have to tell my manager?")
    assert "Consult your line manager about the concern: within 2 hours" in answer
    assert "1 hour" not in answer.replace("within 1 hour", "")


def test_online_concern_about_a_colleague_answer(pack: Pack) -> None:
    from bot.core.policy_answers import timescales_answer

    answer = timescales_answer(pack, "colleague doing something online")
    assert "within 1 hour" in answer
    assert "information systems director" in answer
    assert "3.45" in answer


def test_deadlines_after_an_evening_concern(pack: Pack) -> None:
    from bot.core.policy_answers import deadlines_after_concern

    deadlines = deadlines_after_concern(pack, at("2026-11-23T19:30"))
    assert [when for _, when in deadlines] == [
        at("2026-11-23T21:30"),
        at("2026-11-23T22:30"),
        at("2026-11-24T17:00"),
    ]
    assert deadlines[0][0].startswith("Consult your line manager")
    assert deadlines[2][0].startswith("Referral to the local authority children's services")


def test_fgm_route_answer_is_not_set_with_999(pack: Pack) -> None:
    from bot.core.policy_answers import route_answer

    answer = route_answer(pack, "fgm")
    assert "no fgm procedure is set for this deployment" in answer.lower()
    assert "Ask your line manager" in answer
    assert "call 999" in answer


def test_every_numberless_line_in_chat_says_why(pack: Pack) -> None:
    from bot.core.policy_answers import contacts_answer

    answer = contacts_answer(pack, "number for children's services", when=at("2026-11-28T11:00"))
    bullets = [line for line in answer.splitlines() if line.startswith("•")]
    assert bullets
    for line in bullets:
        assert re.search(r"\d{3}", line) or "not set for this deployment" in line.lower(), line
