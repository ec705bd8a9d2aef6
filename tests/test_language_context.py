"""Context that holds (issue #19): each context rule of knowledge/language_rules.yml shown
firing (the term is left alone) and not firing (the term is still flagged).

Contexts are data (`contexts:` in the rules file); bot/core/language.py only runs them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.core.datafile import DataFileError
from bot.core.language import age_mentions, ages_in, check, default_rules, load_rules


def rules_of(text: str) -> list[str]:
    return [f.rule for f in check(text)]


def flagged(text: str) -> list[str]:
    return [f.text for f in check(text)]


def test_the_shipped_contexts() -> None:
    contexts = default_rules().contexts
    assert {"correction", "mention", "self-label", "exploiter-says"} <= {
        name for name, c in contexts.items() if c.every_rule
    }
    assert {"adult-actor", "their-view", "consenting-adult", "ordinary-agreement"} <= set(contexts)
    for context in contexts.values():
        assert context.text.strip()


# --------------------------------------------------------------------------- correction

# (silenced: the note refuses or corrects the term, still flagged: the same term used)
CORRECTION = [
    ("Kian is not a drug runner; he is being exploited.", "Kian is a drug runner for the line."),
    ("Ollie is not a dealer or a runner.", "Ollie is a dealer and a runner for the line."),
    ("This is not a lifestyle choice.", "This is a lifestyle choice."),
    ("She is no longer described as a runaway.", "She is described as a runaway."),
    ("Rather than streetwise, Ade is a child who is groomed.", "Ade is streetwise."),
    ("He is exploited, instead of recruited.", "He was recruited by the line."),
    ("Previously recorded as having absconded, Jo is missing.", "Jo absconded from the unit."),
    ("Please do not call her a runaway in the minutes.", "Staff call her a runaway."),
    ("There is no evidence that it was consensual.", "It was consensual."),
    ("Staff should not describe him as streetwise.", "Staff describe him as streetwise."),
    # the note denies the term exists, or says it is wrong to use it (issue: corrections read
    # as use)
    (
        "There is no such thing as a child prostitute; Abi (14) is being sexually exploited.",
        "The old log calls Abi (14) a child prostitute.",
    ),
    (
        "There's no such thing as kiddie porn, only images of children being abused.",
        "The officer found kiddie porn on the laptop.",
    ),
    ("It is not accurate to say Rhys is a drug runner.", "It is accurate: Rhys is a drug runner."),
    ("It would be wrong to call Maisie promiscuous.", "Staff describe Maisie as promiscuous."),
    ("It isn't fair to say that Tyler is streetwise.", "It is fair to say Tyler is streetwise."),
    ("It is inaccurate to call Dani a runaway.", "It is usual to call Dani a runaway."),
    (
        "It would not be right to describe Cody as a drug runner.",
        "It would be right to describe Cody as a drug runner.",
    ),
]


@pytest.mark.parametrize(("corrected", "used"), CORRECTION)
def test_correction_silences_and_plain_use_is_flagged(corrected: str, used: str) -> None:
    assert check(corrected) == []
    assert check(used) != []


@pytest.mark.parametrize(
    "text",
    [
        "She is not in school and keeps going missing.",  # the negation is in another clause
        "He is not safe, he is drug running again.",
        "She is not only streetwise but also hard to reach.",  # "not only" is no correction
        "Staff are unsure because she didn't scream or fight back.",  # negation inside the term
        # "wrong to" that is not about the words: no correction
        "She knew it was wrong to go, she keeps going missing.",
        "It is not right to say much more, as she is sexually active with a man of 30.",
    ],
)
def test_a_negation_elsewhere_is_no_correction(text: str) -> None:
    assert check(text) != []


def test_a_correction_after_the_term() -> None:
    assert check("The police log says Ola is a gang member; I have challenged this.") == []
    assert check("The referral calls him a money mule; this is inaccurate.") == []
    assert rules_of("The police log says Ola is a gang member; I have told her mum.") == [
        "dealer-or-gang-member"
    ]


# --------------------------------------------------------------------------- mention, self-label


def test_talking_about_the_words_is_not_using_them() -> None:
    assert check("We no longer use the term money mule.") == []
    assert check("Language such as streetwise hides the risk.") == []
    assert rules_of("He is a money mule.") == ["money-mule"]


def test_someone_describing_themselves() -> None:
    assert check("The 27-year-old calls himself her boyfriend on TikTok.") == []
    assert check("Ben describes himself as streetwise.") == []
    assert rules_of("Her boyfriend, who is 27, collects her.") == ["boyfriend-older-or-perpetrator"]


# --------------------------------------------------------------------------- who it describes

ADULT_ACTOR = [
    ("The men running the county line live in Liverpool.", "Kai is running the county line."),
    ("The adult dealer who recruited Jordan is known.", "Jordan was recruited by the line."),
    ("The two men at the house are known drug dealers.", "Reece is a known drug dealer."),
    ("The man, aged 29, is a gang member.", "The boy, aged 14, is a gang member."),
    (
        "The older men have been recruiting pupils to carry drugs.",
        "He is recruiting pupils to carry drugs.",
    ),
    ("Her stepfather (44) has been taking risks with his licence.", "Imani has been taking risks."),
    ("Mum is disengaged from services.", "Leah is disengaged from services."),
]


@pytest.mark.parametrize(("adult", "child"), ADULT_ACTOR)
def test_words_about_an_adult_are_not_about_the_child(adult: str, child: str) -> None:
    assert check(adult) == []
    assert check(child) != []


@pytest.mark.parametrize(
    "text",
    [
        "Officers said it was her own fault for getting in the car.",  # the speaker is no subject
        "She met the men and keeps going missing.",  # "and" ends the clause with the men
        "Police believe Deon is a gang member.",  # the name is nearer than the police
        "Concerns about his risky behaviour with adults.",  # "his": the child's
        "Her uncle insists the allegation is malicious.",  # "insists": the uncle is the speaker
        "Dad maintains she is streetwise.",
    ],
)
def test_the_nearest_person_before_the_words_decides(text: str) -> None:
    assert check(text) != []


def test_an_exploiters_own_claim_is_reported_not_adopted() -> None:
    assert check("Dean (31) claims the sex was consensual.") == []
    assert check("The man told police she went willingly.") == []
    # a parent's or a professional's unquoted words are still the note's: flagged
    assert rules_of("Mum says it was consensual.") == ["consented-or-willing"]
    assert rules_of("The officer said she went willingly.") == ["consented-or-willing"]


# Consent words about a parent, carer or professional, or about agreeing to an ordinary
# arrangement, are not about the child's abuse; the same words about the child still fire.
CONSENTING_ADULT = [
    # (silent, still flagged)
    (
        "Grandma said she would willingly take Ivy to the clinic on Monday.",
        "Grandma said Ivy went willingly to the man's flat.",
    ),
    (
        "Her stepdad voluntarily came to the core group.",
        "Ivy voluntarily went back to the man's flat.",
    ),
    (
        "Ivy willingly agreed to a return home interview.",
        "Ivy willingly agreed to go to the party with the men.",
    ),
    (
        "The foster carer said he would willingly meet us after school.",
        "The foster carer said he went willingly with the older boys.",
    ),
    (
        "Both parents agreed willingly to the strategy meeting.",
        "Both parents say Ivy got into the van with the men willingly.",
    ),
]


@pytest.mark.parametrize(("silent", "flagged"), CONSENTING_ADULT)
def test_consent_words_about_an_adult_or_an_appointment(silent: str, flagged: str) -> None:
    assert check(silent) == []
    assert "consented-or-willing" in rules_of(flagged)


# --------------------------------------------------------------------------- the child's view


def test_how_someone_sees_it_is_not_the_workers_minimising() -> None:
    assert check("Riley sees the trips as a bit of a laugh.") == []
    assert rules_of("The trips were a bit of a laugh.") == ["nothing-to-worry-about"]
    assert check("The lads view the sexual comments as banter.") == []
    assert rules_of("The sexual comments were banter.") == ["banter"]


def test_quoted_words_with_only_little_words_outside_are_kept() -> None:
    assert check('His mum said he is "out of control".') == []
    assert rules_of("He is out of control.") == ["missing-as-choice"]
    assert rules_of('He is associating with "elders".') == ["spending-time-with-elders"]


# --------------------------------------------------------------------------- ages and peers

PEERS = [
    (
        "Jade (15) and her boyfriend (15) stayed at his house.",
        "Jade (15) and her boyfriend (19) stayed at his house.",
    ),
    (
        "Poppy (16) is sexually active with her boyfriend (16).",
        "Poppy (15) is sexually active with a man of 23.",
    ),
    (
        "Noah (14) is sexually active with his girlfriend, who is also 14; no concerns noted.",
        "Noah (14) is sexually active with a woman of 26; no concerns noted.",
    ),
    (
        "Esme, 15, is sexually active with a 14-year-old boy from her form.",
        "Esme, 15, is sexually active with a 19-year-old from the gym.",
    ),
    (
        "Two pupils, both 15, were sexting each other.",
        "Kiera (14) was sexting a man in his thirties.",
    ),
    (
        "Ruby's online friend is in her form group, aged 14 like her (14).",
        "Ruby's online friend, who says he is 24, sends her money.",
    ),
]


@pytest.mark.parametrize(("peers", "adult"), PEERS)
def test_a_peer_of_similar_age_is_not_an_older_partner(peers: str, adult: str) -> None:
    assert check(peers) == []
    assert check(adult) != []


def test_two_adults_are_not_a_child_and_an_adult(tmp_path: Path) -> None:
    """all_ages_at_least: two or more ages, every one an adult's."""
    rule = {
        "id": "t",
        "phrases": ["going steady"],
        "alternatives": ["x"],
        "why": "it harms",
        "source": "T",
        "severity": "low",
        "condition": {"text": "x", "none_of": [{"all_ages_at_least": 18}]},
    }
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump({"sources": {"T": "t"}, "rules": [rule]}), encoding="utf-8")
    rules = load_rules(path)
    assert check("Mr Amis (61) is going steady with Ms Lowe (59).", rules) == []
    assert check("Mr Amis (61) is going steady with Bea (17).", rules) != []
    assert check("Mr Amis (61) is going steady.", rules) != []  # one age is not two adults
    assert check("Mr Amis is going steady with Ms Lowe.", rules) != []  # no ages


def test_ages_named_in_more_ways() -> None:
    assert ages_in("a man of 23") == [23]
    assert ages_in("both 15") == [15, 15]
    assert ages_in("her boyfriend, also 17.") == [17]
    assert [age for _, age in age_mentions("Tom (19) and Amy (14)")] == [19, 14]


# --------------------------------------------------------------------------- one finding per idea


def test_one_finding_for_one_piece_of_wording() -> None:
    findings = check("Mum thinks it is a teenage phase that she will grow out of.")
    assert [(f.rule, f.text) for f in findings] == [
        ("just-a-phase", "teenage phase that she will grow out of")
    ]
    # where two rules share words, the one that starts first stays
    assert rules_of("He chose to go missing again.") == ["lifestyle-choice"]
    assert rules_of("He is drug running for a group from London.") == ["drug-running"]


# --------------------------------------------------------------------------- the data


def _rules(tmp_path: Path, contexts: dict, silent_when: list[str] | None = None) -> Path:
    rule = {
        "id": "t",
        "phrases": ["bad word"],
        "alternatives": ["good word"],
        "why": "it harms",
        "source": "T",
        "severity": "low",
    }
    if silent_when is not None:
        rule["silent_when"] = silent_when
    data = {"sources": {"T": "test"}, "word_sets": {"w": ["x"]}, "contexts": contexts}
    data["rules"] = [rule]
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("contexts", "silent_when", "message"),
    [
        ({}, ["nope"], "rules[0].silent_when: no context 'nope'"),
        ({"c": {"text": "x", "every_rule": True, "cues": ["not"]}}, ["c"], "applies to every rule"),
        ({"C": {"text": "x", "cues": ["not"]}}, None, "'C' is not kebab-case"),
        ({"c": {"text": "x"}}, None, "give either cues"),
        ({"c": {"text": "x", "cues": ["a"], "adult": ["b"]}}, None, "give either cues"),
        ({"c": {"text": "x", "cues": ["a"], "stop_at": "nope"}}, None, "no word set 'nope'"),
        ({"c": {"text": "x", "cues": ["(a"]}}, None, "contexts.c.cues[0]: unbalanced"),
        ({"c": {"text": "x", "cues_after": ["a"]}}, None, "cues_after and after_window"),
    ],
)
def test_bad_contexts_give_one_line_errors(
    tmp_path: Path, contexts: dict, silent_when: list[str] | None, message: str
) -> None:
    with pytest.raises(DataFileError) as err:
        load_rules(_rules(tmp_path, contexts, silent_when))
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_a_context_from_data_alone(tmp_path: Path) -> None:
    path = _rules(tmp_path, {"c": {"text": "x", "cues": ["fine"], "window": 1}}, ["c"])
    rules = load_rules(path)
    assert [f.text for f in check("That bad word.", rules)] == ["bad word"]
    assert check("That fine bad word.", rules) == []
    assert [f.text for f in check("That fine old bad word.", rules)] == []  # window 1
    assert [f.text for f in check("Fine, the old and bad word.", rules)] == ["bad word"]
