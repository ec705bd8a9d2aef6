"""Triage as risk factors: each factor and each combination row, both ways.

knowledge/danger_rules.yml reads every sign with its factors (bot.core.triage.Factor: what,
when, who, what lowers it) and decides from the `combine` table, first fitting row wins.
These tests name the row a message must go through, and a near message that must not.
The sentences are our own; none comes from a blind set.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.datafile import DataFileError
from bot.core.triage import (
    FACTORS,
    OUTCOMES,
    Assessment,
    Detector,
    detector,
    load_rules,
)
from tests.test_triage import write_rules


def assess(text: str) -> Assessment:
    return detector().assess(text)


def rows(text: str) -> set[str]:
    return {sign.combination for sign in assess(text).signs}


def factors_of(text: str, rule_id: str) -> set[str]:
    signs = [sign for sign in assess(text).signs if sign.rule_id == rule_id]
    assert signs, f"{rule_id} not found in {text!r}: {[s.rule_id for s in assess(text).signs]}"
    return set(signs[0].factors)


# ------------------------------------------------------------------ each factor, both ways

FACTOR_CASES = [
    # (factor, rule, a message with it, a message without it)
    ("acute", "weapon", "he has a machete in his rucksack", None),
    ("harm", "physical_abuse", "her stepmum slaps her", None),
    ("now", "physical_abuse", "her stepmum slapped her this morning", "her stepmum slaps her"),
    (
        "escalated",
        "fgm",
        "her aunt says she will be circumcised on the family trip next week",
        "her aunt says she will be circumcised",
    ),
    (
        "contact",
        "sexual_abuse",
        "the lodger touched her and he still lives with them",
        "the lodger touched her",
    ),
    (
        "contact",
        "physical_abuse",
        "her stepdad beat her with a slipper and he is collecting her from club",
        "her stepdad beat her with a slipper",
    ),
    (
        "contact",
        "sexual_abuse",
        "her cousin abused her, she is staying at his again this weekend",
        "her cousin abused her, she never sees him",
    ),
    (
        "contact",
        "sexual_abuse",
        "her stepbrother touches her and mum is on nights this week",
        "her stepbrother touches her and mum is on a course next month",
    ),
    (
        "past",
        "physical_abuse",
        "her stepmum slapped her when she was in year 2",
        "her stepmum slapped her",
    ),
    (
        "safe",
        "physical_abuse",
        "her stepdad punched her and the police arrested him",
        "her stepdad punched her and the police were called",
    ),
    (
        "safe",
        "sexual_abuse",
        "the man who groomed him online is blocked and reported",
        "the man who groomed him online keeps messaging",
    ),
    (
        "safe",
        "domestic_abuse",
        "years of domestic abuse from her ex, she and the kids now live in a refuge",
        "years of domestic abuse from her ex, she and the kids now live with him",
    ),
    (
        "not_a_case",
        "self_harm",
        "a boy self-harmed years ago - can we archive the old file?",
        "a boy self-harmed years ago",
    ),
    (
        "question",
        "physical_abuse",
        "what if a pupil says her stepmum slaps her?",
        "a pupil says her stepmum slaps her",
    ),
    ("untimed", "sexual_abuse", "the lodger touched her", None),
]


@pytest.mark.parametrize(
    "factor, rule_id, present, absent", FACTOR_CASES, ids=[f"{c[0]}-{c[1]}" for c in FACTOR_CASES]
)
def test_each_factor_is_read_both_ways(
    factor: str, rule_id: str, present: str, absent: str | None
) -> None:
    assert factor in factors_of(present, rule_id)
    if absent is not None:
        assert factor not in factors_of(absent, rule_id)


def test_every_factor_has_a_case() -> None:
    assert {case[0] for case in FACTOR_CASES} == set(FACTORS)


def test_not_a_case_does_not_lower_danger_now() -> None:
    # A question about a record does not lower a sign that is neither past nor over.
    assert assess("he has a blade in his bag, can we close the file?").outcome == "immediate"


def test_uncertainty_about_who_the_child_lives_with_is_no_contact() -> None:
    text = "her stepdad batters her, I'm not sure if he still lives with them"
    assert "contact" not in factors_of(text, "physical_abuse")
    assert assess(text).outcome == "ask"


def test_quote_marks_around_words_are_read_as_words() -> None:
    assert assess("his uncle said he'd 'finish him off' tonight").outcome == "immediate"
    assert assess('she says her uncle plays "tickle games" under her pants').outcome == "ask"


# ------------------------------------------------------------------ each row, both ways

ROW_CASES = [
    # (row, outcome, a message that goes through the row, a near one that must not)
    (
        "question_not_a_case",
        "routine",
        "in a training scenario a child says her dad has a gun",
        "a child says her dad has a gun",
    ),
    (
        "person_still_has_access",
        "immediate",
        "her mum's partner hit her last year and he is picking her up tonight",
        "her mum's partner hit her last year",
    ),
    (
        "record_or_own_past",
        "routine",
        "the boy who took an overdose in 2019 - should we keep his record?",
        "the boy who took an overdose in 2019",
    ),
    (
        "closed_and_safe",
        "routine",
        "her dad punched her but he is in prison now - can we close the case?",
        "her dad punched her but he is in prison now",
    ),
    (
        "over_and_safe",
        "urgent",
        "the man who stabbed him has been arrested",
        "the man who stabbed him is still around",
    ),
    (
        "non_recent",
        "urgent",
        "she was raped when she was twelve",
        "she was raped when she was twelve and it happened again last night",
    ),
    ("acute", "immediate", "he is bleeding badly from his arm", "he grazed his arm in PE"),
    (
        "harm_now_or_soon",
        "immediate",
        "her brother is hurting her right now",
        "her brother hurts her",
    ),
    (
        "harm_timing_unknown",
        "ask",
        "a girl in year 7 says her stepmum burns her with a lighter",
        "a girl in year 7 says her stepmum burnt her with a lighter when she was in year 2",
    ),
    (
        "harm",
        "urgent",
        "a boy in my group keeps coming in hungry and dirty",
        "a boy in my group keeps coming in with new trainers",
    ),
]


@pytest.mark.parametrize(
    "row, outcome, through, not_through", ROW_CASES, ids=[c[0] for c in ROW_CASES]
)
def test_each_combination_row_both_ways(
    row: str, outcome: str, through: str, not_through: str
) -> None:
    result = assess(through)
    assert row in rows(through), f"{through!r} went through {rows(through)}"
    assert result.outcome == outcome
    assert row not in rows(not_through), f"{not_through!r} went through {rows(not_through)}"


def test_every_row_has_a_case() -> None:
    assert {case[0] for case in ROW_CASES} == {row.id for row in load_rules().combine}


# ------------------------------------------------------------------ outcomes and urgency


@pytest.mark.parametrize(
    "text, outcome, urgency",
    [
        ("she says her step dad smacks her hard", "ask", "urgent"),
        ("he has a gun", "immediate", "immediate"),
        ("which signs point to neglect?", "routine", "routine"),
        ("she was hit by her dad when she was four and he died in 2015", "urgent", "urgent"),
    ],
)
def test_ask_is_an_urgent_record(text: str, outcome: str, urgency: str) -> None:
    result = assess(text)
    assert (result.outcome, result.urgency) == (outcome, urgency)


def test_the_message_outcome_is_its_highest_sign() -> None:
    result = assess("her uncle touches her. Also her brother has a knife.")
    assert {s.outcome for s in result.signs} >= {"ask", "immediate"}
    assert result.outcome == "immediate"
    assert OUTCOMES.index("immediate") > OUTCOMES.index("ask") > OUTCOMES.index("urgent")


# ------------------------------------------------------------------ the table is data


def test_the_first_fitting_row_decides(tmp_path: Path) -> None:
    def ask_before_contact(data: dict) -> None:
        table = data["combine"]
        ask = next(row for row in table if row["id"] == "harm_timing_unknown")
        table.remove(ask)
        table.insert(0, ask)

    text = "her stepdad hits her and she goes home to him tonight"
    assert assess(text).outcome == "immediate"
    reordered = Detector(load_rules(write_rules(tmp_path, ask_before_contact)))
    assert reordered.assess(text).outcome == "ask"


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d["combine"].pop(), "no catch-all row for harm signs"),
        (lambda d: d["combine"].append(dict(d["combine"][0])), "is used twice"),
        (
            lambda d: d["combine"][0].__setitem__("when", ["tonight"]),
            r"combine\[0\]\.when\[0\]: unexpected value",
        ),
        (lambda d: d["combine"][0].__setitem__("outcome", "panic"), r"combine\[0\]\.outcome"),
        (lambda d: d["combine"][0].__setitem__("when", []), "give at least one factor"),
    ],
    ids=["no-catch-all", "duplicate-id", "unknown-factor", "unknown-outcome", "empty-when"],
)
def test_a_broken_table_is_refused_with_one_line(tmp_path: Path, change, message: str) -> None:  # noqa: ANN001
    with pytest.raises(DataFileError, match=message) as caught:
        load_rules(write_rules(tmp_path, change))
    assert "\n" not in str(caught.value)


# ------------------------------------------------------------------ round 7: general causes
# Each pair is (a message the new factor or cue must decide, its outcome, a near message it
# must not change, that one's outcome). Our own sentences, written from the cause alone.

CAUSE_CASES = [
    # Contact said apart from the harm: the one who harms has the child today.
    (
        "her stepdad punches her in the ribs. her stepdad's collecting today",
        "immediate",
        "her stepdad punches her in the ribs",
        "ask",
    ),
    (
        "the lodger touches her at night. the lodger usually does the school run",
        "immediate",
        "the lodger touches her at night",
        "ask",
    ),
    (
        "the coach has been touching her and they've just gone off together",
        "immediate",
        "the coach has been touching her",
        "ask",
    ),
    (
        "the nursery saw bruises on his legs and he tells us his dad did that at breakfast",
        "immediate",
        "the nursery saw bruises on his legs and he tells us his dad did that last year",
        "urgent",
    ),
    (
        "operation encompass notice: police called to the flat last night, he's been let out and "
        "he's back home tonight",
        "immediate",
        "operation encompass notice: police called to the flat last night, he's in custody",
        "urgent",
    ),
    # A protective parent collecting and keeping the child in is no contact.
    (
        "her 20 year old boyfriend buys her vapes and he is collecting her tonight",
        "immediate",
        "her 20 year old boyfriend buys her vapes; mum is collecting her and keeping her in "
        "tonight",
        "urgent",
    ),
    # Imminent travel for FGM or forced marriage, in other words; far off is not tonight.
    (
        "on sunday she flies to Pakistan; she's got to go and marry someone there",
        "immediate",
        "a year 11 lad says he's got to marry a girl his parents picked",
        "ask",
    ),
    (
        "gran is flying the twins out to Yemen on Saturday and they keep talking about the "
        "women's operation",
        "immediate",
        "they plan for her to get married next summer",
        "urgent",
    ),
    (
        "her nan has planned a ceremony to make her a young lady during half term, and the "
        "women of the family will give her a tiny cut",
        "immediate",
        "her aunts will give her a tiny cut one day when she's older",
        "ask",
    ),
    (
        "her aunt says she will have the cut done on the family trip next week",
        "immediate",
        "a year 4 girl told the nurse she had FGM and was cut over half term",
        "urgent",
    ),
    # Suicide: a goodbye note, a high place and the act, "won't be needing it".
    (
        "he posted a video saying farewell to his family and he has a rope",
        "immediate",
        "he left a message on the group chat saying well done to everyone",
        "routine",
    ),
    (
        "she messaged that she's heading to the bridge to end it all",
        "immediate",
        "she'll finish it at home tonight, it's only two pages",
        "routine",
    ),
    (
        "she told friends she won't be using any of it again, and there's a rope in her wardrobe",
        "immediate",
        "he won't be needing it tomorrow, he's off on the trip",
        "routine",
    ),
    (
        "a man is stood on the window ledge of the flats across the road",
        "immediate",
        "a man is often stood at his window opposite the school",
        "routine",
    ),
    (
        "he says he'll kill himself tonight, he has the pills",
        "immediate",
        "she joked she'd kill herself if she fails her driving theory test",
        "urgent",
    ),
    # A young child alone in danger, a child taken or lost at night.
    (
        "a 4 year old is running into the traffic by the roundabout, nobody with him",
        "immediate",
        "a 4 year old was running in the playground",
        "routine",
    ),
    (
        "through the wall we could hear a baby wailing for hours",
        "immediate",
        "the little boy next door was crying at the school gate this morning",
        "routine",
    ),
    (
        "a looked after lad of 13 is awol from his placement since teatime",
        "immediate",
        "a looked after lad of 13 went to the cinema after tea",
        "routine",
    ),
    (
        "a girl of 10 on her own at the ferry port late tonight refuses to say where she lives",
        "immediate",
        "in circle time a girl of 10 refuses to say where she lives",
        "urgent",
    ),
    (
        "her partner texted that he'll end things for all of them tonight",
        "immediate",
        "her partner texted that he'll end things with her tonight",
        "routine",
    ),
    (
        "the mother wants to discharge him against medical advice tonight",
        "immediate",
        "the baby's dad took him home from the clinic yesterday as planned",
        "routine",
    ),
    (
        "a pupil has just climbed into a stranger's van outside the library",
        "immediate",
        "she's just got into her mum's car and gone home",
        "routine",
    ),
    (
        "someone in year 10 is sharpening a spoon in DT to use on a lad tonight",
        "immediate",
        "he filed down the edges of his woodwork project",
        "routine",
    ),
    (
        "an unknown account ordered an uber to a house across town for a year 8 girl; the "
        "driver is en route",
        "immediate",
        "school booked a taxi for a 13 year old to get to her placement",
        "routine",
    ),
    # Taken abroad: when they leave decides, not the taking itself.
    (
        "they're taking her to Bangladesh on Friday to find her a husband",
        "immediate",
        "they're taking her to Bangladesh for a few months next year to find her a husband",
        "urgent",
    ),
    (
        "her parents are taking him to india next week to get him married",
        "immediate",
        "her parents are taking him to india for the whole summer holidays",
        "ask",
    ),
    (
        "an older man is picking her up at the gate today",
        "immediate",
        "an older man picked her up at the gate most days last term",
        "urgent",
    ),
    # Numbers and past times read as now.
    (
        "there's no food in the house tonight and mum's gone out",
        "immediate",
        "she's been wearing one jumper for 4 weeks and says there's no food in the house",
        "urgent",
    ),
    (
        "she was abused by a lodger this morning",
        "immediate",
        "she was abused by a lodger at 10, and he is in prison",
        "urgent",
    ),
    (
        "the 2 year old turned up filthy and hungry and mum is drunk at home tonight",
        "immediate",
        "the 2 year old turned up in last night's clothes again, filthy and hungry",
        "urgent",
    ),
    (
        "a dad at drop-off said the man who hit his son years ago is round there now",
        "immediate",
        "a dad at drop-off said the man who hit his son years ago is now coaching the juniors",
        "urgent",
    ),
    (
        "it's the Christmas holidays now and the bloke in his fifties who gave her a phone is "
        "collecting her tonight",
        "immediate",
        "it's the Christmas holidays now and the bloke in his fifties who gave her a phone "
        "last term hasn't been seen",
        "urgent",
    ),
    # Questions, training and fiction.
    ("her boyfriend is grooming her", "ask", "Is grooming the same as exploitation?", "routine"),
    (
        "a boy says his stepdad will batter him tonight",
        "immediate",
        "slide 4 of the CPD slides has a boy who says his stepdad will batter him tonight - "
        "should the answer be 999?",
        "routine",
    ),
    (
        "a lad's brother threatens him with a blade",
        "immediate",
        "role play we've put together: a lad's brother threatens him with a blade",
        "routine",
    ),
    (
        "at assembly a year 6 boy showed a knife to his mates",
        "immediate",
        "at assembly the police officer showed a fake knife to year 6",
        "routine",
    ),
    (
        "a reception boy brought a gun in his book bag",
        "immediate",
        "the reception kids play gun games in the sandpit, should I stop them?",
        "routine",
    ),
    (
        "year 9 keep talking about a shooting on the estate tonight",
        "immediate",
        "after a crime series they streamed on iPlayer, year 9 keep joking about a shooting",
        "routine",
    ),
    (
        "a patient's teenager says she isn't safe at home",
        "immediate",
        "what do we do if a patient's teenager says she isn't safe at home?",
        "routine",
    ),
    (
        "her mum says they are doing FGM on her next week",
        "immediate",
        "FGM training day next week - who is running it?",
        "routine",
    ),
    (
        "one of our 15 year olds is being attacked at a party right now",
        "immediate",
        "one of our coaches, she's 25, was attacked after a gig; an adult matter, no young "
        "people involved",
        "routine",
    ),
    # The harm is over and the child is safe.
    (
        "older lads gave him a burner phone and he is going country tonight",
        "immediate",
        "older lads gave him a burner phone and he talks about going country; dad has taken "
        "both phones off him and he's grounded",
        "urgent",
    ),
    (
        "her uncle hits her and she's going to his tonight",
        "immediate",
        "she's medically stable on the children's ward until friday and has told the nurse "
        "her uncle hits her",
        "urgent",
    ),
]


@pytest.mark.parametrize(
    "raised, outcome, near, near_outcome",
    CAUSE_CASES,
    ids=[f"cause-{n}" for n in range(len(CAUSE_CASES))],
)
def test_round_seven_causes_both_ways(
    raised: str, outcome: str, near: str, near_outcome: str
) -> None:
    assert assess(raised).outcome == outcome, assess(raised).reasons
    assert assess(near).outcome == near_outcome, assess(near).reasons


def test_a_heading_that_holds_the_sign_asks_about_it() -> None:
    # "is cuckooing ...?" opens the sentence with the sign inside the heading.
    assert assess("is cuckooing a kind of exploitation?").outcome == "routine"
    assert assess("they are cuckooing her flat").outcome == "immediate"


@pytest.mark.parametrize(
    "told, near",
    [
        (
            "a 7 year old said her cousin does the touching when he sleeps over",
            "she told me she did the tickling at the party games",
        ),
        (
            "the swim coach messages him at midnight and calls it their little secret",
            "the surprise party is our little secret from the head",
        ),
        ("older lads told him to stash a parcel in his loft", "mum told him to post a parcel"),
        (
            "there's a burn on his wrist, he says his uncle did it",
            "the cat did it, she says, about the scratches on the sofa",
        ),
        (
            "his mates gave him a kicking in the park over a debt",
            "his mates gave him a lift to the park",
        ),
    ],
)
def test_harm_told_in_other_words_is_asked_about(told: str, near: str) -> None:
    # Harm disclosed with no time: the reply asks, with the 999 line; the near one is chat.
    assert assess(told).outcome == "ask", assess(told).reasons
    assert assess(near).outcome == "routine", assess(near).reasons


def test_an_overdose_already_admitted_is_for_the_lead_not_999() -> None:
    admitted = "he is on the ward following an overdose at the weekend"
    assert assess(admitted).outcome == "urgent", assess(admitted).reasons
    assert {s.rule_id for s in assess(admitted).signs} == {"overdose_in_care"}
    # Out of hospital, "fine now" does not lower an overdose (rule overdose_or_poisoning).
    assert assess("he has overdosed and his mum says he's fine now").outcome == "immediate"
    assert assess("she took an overdose and is in A&E refusing treatment").outcome == "immediate"
