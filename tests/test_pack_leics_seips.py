"""The Leicestershire SEIPS pack (packs/leics-seips.yml) says what seed 003 says.

The template gives the LADO's office hours (Mon-Thu 08:30-17:00, Fri 08:30-16:30) and
First Response for outside them; it leaves the provider's DSL blank, so the DSL is "not set"
and the bot must say so. Every time below is pinned (Europe/London wall clock).
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache

import pytest

from bot.core.clock import parse_local
from bot.core.contacts import route
from bot.core.pack import PACKS_DIR, PURPOSES, Pack, digits, load_pack_file
from tests.conftest import SEEDS_DIR

SEED = "003_9575e7561e5f41db.txt"
PACK_FILE = PACKS_DIR / "leics-seips.yml"


FIRST_RESPONSE = "0116 305 0005"
ALLEGATIONS_LINE = "0116 305 4141"


@pytest.fixture(scope="module")
def pack() -> Pack:
    return load_pack_file(PACK_FILE)


@cache
def seed_text() -> str:
    return (SEEDS_DIR / SEED).read_text(encoding="utf-8")


def seed_digits() -> str:
    return re.sub(r"(?<=\d)[ \t\-](?=\d)", "", seed_text())


def at(iso: str) -> datetime:
    return parse_local(iso)


# -- the pack as a whole -----------------------------------------------------------------


def test_pack_loads_and_cites_only_seed_003(pack: Pack) -> None:
    assert pack.org == "leics-seips"
    assert pack.seeds == [SEED]
    sources = [pack.child_definition.source, pack.recording.source]
    sources += [item.source for item in pack.roles + pack.contacts]
    sources += [item.source for item in pack.timescales + pack.routes]
    sources += [rule.source for rule in pack.retention.rules]
    sources += [item.source for item in pack.training.requirements + pack.after_report]
    assert all(source.seed == SEED for source in sources)


def test_child_definition_is_all_under_18(pack: Pack) -> None:
    assert pack.child_definition.up_to_age == 17
    assert "(all under 18)" in pack.child_definition.text
    assert "promoting the welfare of children (all under 18)" in seed_text()


def test_numbers_are_exactly_the_seed_service_numbers_plus_999(pack: Pack) -> None:
    numbers = {digits(c.number) for c in pack.contacts if c.number}
    assert numbers == {"999", "101", "01163050005", "01163054141", "08000280285"}
    for number in numbers - {"999"}:
        assert re.search(rf"(?<!\d){number}(?!\d)", seed_digits()), number


def test_named_officers_direct_line_is_roster_data_not_pack_data(pack: Pack) -> None:
    # The template prints a named LA officer's direct line and email; the pack keeps the role.
    assert "01163056314" in seed_digits()
    text = PACK_FILE.read_text(encoding="utf-8")
    assert "6314" not in digits(text)
    assert "Charlotte" not in text
    assert pack.roles[-1].id == "la-safeguarding-education-officer"


def test_lado_contact_is_as_printed(pack: Pack) -> None:
    lado = pack.contact("lado")
    assert lado.email == "CFS-LADO@leics.gov.uk" and lado.email in seed_text()
    assert lado.number == ALLEGATIONS_LINE
    assert lado.available == "mon-thu 08:30-17:00; fri 08:30-16:30; closed bank holidays"
    assert (
        "available office hours only: Monday-Thursday, 8.30am - 5.00 pm and Friday, "
        "8.30am - 4.30pm" in seed_text()
    )
    assert lado.when_closed == "first-response"


# -- LADO office hours, with First Response when it is closed ----------------------------------


@pytest.mark.parametrize(
    ("iso", "lado_open"),
    [
        ("2026-11-27T16:29", True),  # Friday, before 16:30
        ("2026-11-27T16:30", False),  # Friday closes at 16:30
        ("2026-11-27T16:31", False),
        ("2026-11-26T16:45", True),  # Thursday is open until 17:00
        ("2026-11-26T17:00", False),
        ("2026-11-23T08:29", False),  # Monday, before 08:30
        ("2026-11-23T08:30", True),
        ("2026-11-28T11:00", False),  # Saturday
        ("2026-11-29T11:00", False),  # Sunday
        ("2026-07-03T16:29", True),  # Friday in BST: same wall-clock rule
        ("2026-07-03T16:31", False),
        # "available office hours only": a bank holiday Monday is not office hours.
        ("2026-12-28T10:00", False),  # substitute Boxing Day
        ("2026-08-31T10:00", False),  # summer bank holiday
        ("2026-12-29T10:00", True),  # the Tuesday after is an ordinary office day
    ],
)
def test_lado_route_follows_the_office_hours(pack: Pack, iso: str, lado_open: bool) -> None:
    routes = route(pack, "lado", when=at(iso))
    first = routes[0]
    if lado_open:
        assert first.contact.id == "lado"
        assert first.open_now is True
        assert first.number == ALLEGATIONS_LINE
        assert "first-response" not in [r.contact.id for r in routes]
    else:
        assert first.contact.id == "first-response"
        assert first.fallback_for == "lado"
        assert first.number == FIRST_RESPONSE
        assert "First Response" in first.reason
        lado = [r for r in routes if r.contact.id == "lado"]
        assert lado and lado[0].open_now is False


def test_friday_after_half_past_four_says_why(pack: Pack) -> None:
    first = route(pack, "lado", when=at("2026-11-27T16:31"))[0]
    assert "closed on Friday after 16:30" in first.reason
    assert "so call Leicestershire First Response" in first.reason


def test_monday_before_half_past_eight_says_when_it_opens(pack: Pack) -> None:
    routes = route(pack, "lado", when=at("2026-11-23T08:29"))
    assert "does not open until 08:30" in routes[0].reason
    lado = [r for r in routes if r.contact.id == "lado"][0]
    assert "opens today at 08:30" in lado.reason


def test_allegations_line_routes_the_same_way(pack: Pack) -> None:
    assert route(pack, "allegations_line", when=at("2026-11-26T16:45"))[0].number == (
        ALLEGATIONS_LINE
    )
    assert route(pack, "allegations_line", when=at("2026-11-27T16:31"))[0].number == (
        FIRST_RESPONSE
    )


# -- the DSL is blank in the template: "not set" ------------------------------------------------


@pytest.mark.parametrize("iso", ["2026-11-24T10:00", "2026-11-28T11:00", "2026-12-28T10:00"])
def test_dsl_is_not_set(pack: Pack, iso: str) -> None:
    routes = route(pack, "safeguarding_lead", when=at(iso))
    assert routes[0].contact.id == "dsl"
    assert [r.contact.id for r in routes] == ["dsl", "deputy-dsl", "school-dsl"]
    for item in routes:
        assert item.number is None
        assert "not set for this deployment" in item.reason.lower()
    assert "blank" in routes[0].reason
    assert "SLT" in routes[0].reason


def test_dsl_role_has_no_holder(pack: Pack) -> None:
    for role_id in ("dsl", "deputy-dsl", "director-coordinator"):
        role = next(r for r in pack.roles if r.id == role_id)
        assert role.held_by is None
        assert "blank" in role.duties


# -- emergency, police and the other purposes ----------------------------------------------------


@pytest.mark.parametrize("iso", ["2026-11-24T10:00", "2026-11-27T23:00", "2026-12-28T10:00"])
def test_emergency_is_999_never_101(pack: Pack, iso: str) -> None:
    first = route(pack, "emergency", when=at(iso))[0]
    assert first.number == "999"
    assert first.open_now is True


def test_the_templates_dial_101_line_is_corrected_not_copied(pack: Pack) -> None:
    # The flow chart says "If the child is at immediate risk dial 101"; safeguard's floor is
    # 999, and the pack says why rather than repeating the template's advice.
    assert "If the child is at immediate risk dial 101" in seed_text()
    special = pack.route("immediate_harm")
    assert special is not None
    assert special.steps[0].startswith("Call 999")
    assert special.contacts[0] == "emergency"
    assert "101" in pack.contact("emergency").notes
    assert route(pack, "police_non_emergency", when=at("2026-11-24T10:00"))[0].number == "101"


@pytest.mark.parametrize("iso", ["2026-11-24T10:00", "2026-11-29T02:00"])
def test_referral_is_first_response(pack: Pack, iso: str) -> None:
    for purpose in ("child_social_care_referral", "out_of_hours_social_care"):
        numbers = [r.number for r in route(pack, purpose, when=at(iso))]
        assert numbers[0] == FIRST_RESPONSE, (purpose, numbers)


def test_whistleblowing_is_the_nspcc_line(pack: Pack) -> None:
    first = route(pack, "whistleblowing", when=at("2026-11-24T10:00"))[0]
    assert first.number == "0800 028 0285"


@pytest.mark.parametrize("purpose", PURPOSES)
def test_every_purpose_answers_without_inventing(pack: Pack, purpose: str) -> None:
    known = {"999", "101", FIRST_RESPONSE, ALLEGATIONS_LINE, "0800 028 0285"}
    for item in route(pack, purpose, when=at("2026-11-28T11:00")):
        if item.number is not None:
            assert item.number in known
        elif item.contact is None:
            assert "not set for this deployment" in item.reason.lower(), (purpose, item.reason)
        else:
            assert item.contact.not_set, (purpose, item.contact.id)


def test_fgm_is_not_given_a_made_up_line(pack: Pack) -> None:
    (only,) = route(pack, "fgm", when=at("2026-11-24T10:00"))
    assert only.contact is None
    assert "legal duty to report" in only.reason
    special = pack.route("fgm")
    assert special is not None and special.steps[0].startswith("Teachers have a legal duty")


# -- timescales, recording, retention -------------------------------------------------------------


def test_timescales_are_only_what_the_template_says(pack: Pack) -> None:
    # The template sets no hours or days: only "immediately"/"without delay", and "swiftly".
    assert {t.id: t.within for t in pack.timescales} == {
        "inform-dsl": "immediately",
        "share-with-social-care": "immediately",
        "alert-school-dsl": "not stated",
    }
    saved = at("2026-11-27T16:31")
    assert pack.timescale("inform-dsl").duration().deadline(saved, pack) == saved
    assert pack.timescale("alert-school-dsl").duration().deadline(saved, pack) is None


def test_office_hours_are_not_invented(pack: Pack) -> None:
    assert pack.office_hours.rule is None
    assert "does not state" in pack.office_hours.not_set
    assert pack.is_office_open(at("2026-11-24T10:00")) is None


def test_recording_follows_the_logging_a_concern_form(pack: Pack) -> None:
    recording = pack.recording
    assert "Logging a concern" in recording.where
    assert "Logging a concern about a child\u2019s safety and welfare" in seed_text()
    assert any("use their words" in item for item in recording.what_to_record)
    assert "use their words" in seed_text()
    names = [event.name for event in recording.event_types]
    assert "Logging a concern: Part 1" in names
    assert "Case Record/Chronology entry" in names


def test_retention_is_eight_years(pack: Pack) -> None:
    (rule,) = pack.retention.rules
    assert rule.period == "eight years"
    assert "records contained in this file for eight years" in seed_text()
    assert rule.source.section.startswith("44.")


def test_allegation_route_offers_lado_then_first_response(pack: Pack) -> None:
    special = pack.route("allegation_staff")
    assert special is not None
    assert special.contacts[:2] == ["lado", "first-response"]
    assert any("LEBC" in step for step in special.steps)


# -- what a worker reads in chat (bot.core.policy_answers) ----------------------------------------


@pytest.mark.parametrize(
    ("iso", "first_number"),
    [
        ("2026-11-27T16:29", ALLEGATIONS_LINE),
        ("2026-11-27T16:31", FIRST_RESPONSE),
        ("2026-11-26T16:45", ALLEGATIONS_LINE),
        ("2026-11-23T08:29", FIRST_RESPONSE),
    ],
)
def test_who_is_the_lado_in_chat(pack: Pack, iso: str, first_number: str) -> None:
    from bot.core.policy_answers import contacts_answer

    answer = contacts_answer(pack, "who's the LADO?", when=at(iso))
    first_line = answer.splitlines()[0]
    assert first_number in first_line
    assert "call 999" in answer
    assert answer.splitlines()[-1].startswith("Source: Leicestershire SEIPS policy template, ")
    assert SEED not in answer


def test_who_is_the_dsl_in_chat(pack: Pack) -> None:
    from bot.core.policy_answers import contacts_answer, emergency_text

    answer = contacts_answer(pack, "who is the DSL?", when=at("2026-11-24T10:00"))
    assert answer.splitlines()[0].startswith("• Designated Safeguarding Lead (DSL)")
    assert "Number not set for this deployment" in answer
    assert "blank" in answer
    text = emergency_text(pack, when=at("2026-11-24T10:00"))
    assert text.startswith(
        "Safeguarding Lead: Designated Safeguarding Lead (DSL) — number not set in this deployment."
    )


def test_timescales_answer_says_immediately_and_invents_no_hours(pack: Pack) -> None:
    from bot.core.policy_answers import deadlines_after_concern, timescales_answer

    answer = timescales_answer(pack)
    assert "immediately" in answer
    assert "not stated" in answer
    assert "hour" not in answer and "working day" not in answer
    saved = at("2026-11-27T16:31")
    assert [when for _, when in deadlines_after_concern(pack, saved)] == [saved, saved]


def test_retention_answer_is_eight_years(pack: Pack) -> None:
    from bot.core.policy_answers import retention_answer

    answer = retention_answer(pack)
    assert "eight years" in answer
    assert "Source: Leicestershire SEIPS policy template, s.44" in answer
