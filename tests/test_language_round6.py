"""Language round 6: misspelt terms, more ways a note corrects a term, peers without ages.

Each cause has sentences that must fire and look-alikes that must stay silent, written for
these tests (none copies a blind item: tests/test_blind_apart.py).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
import yaml

from bot.core.language import RULES_PATH, check, default_rules, misspellings, spelling_map


def rules_of(text: str) -> list[str]:
    return [f.rule for f in check(text)]


# --------------------------------------------------------------------------- spelling


def test_misspellings_are_one_slip_and_keep_the_first_letter() -> None:
    slips = misspellings("naively")
    assert {"naivly", "niavely", "naiively", "naivey"} <= slips
    assert "naively" not in slips
    assert all(slip[0] == "n" for slip in slips)
    assert "streetwize" in misspellings("streetwise")
    assert "seductivly" in misspellings("seductively")


def test_a_slip_shared_by_two_words_or_used_by_the_rules_is_left_alone() -> None:
    found = spelling_map(["abcdefg", "abcdefh"], known={"abdcefg"})
    assert "abcdef" not in found  # both words lose their last letter to it
    assert "abdcefg" not in found  # a word the rules use
    assert found["acbdefg"] == "abcdefg"


def _english_words() -> dict[str, float]:
    import spacy_lookups_data

    data = Path(spacy_lookups_data.__file__).parent / "data" / "en_lexeme_prob.json.gz"
    with gzip.open(data) as handle:
        return json.load(handle)


def test_no_slip_of_a_listed_word_is_a_common_english_word() -> None:
    """The words in `spelling` are chosen so that their slips are typing errors: none is an
    English word with a log probability of -16 or more in spaCy's lookups (those carry the
    web's common misspellings too, so a slip that common is left out with its word)."""
    words = yaml.safe_load(RULES_PATH.read_text(encoding="utf-8"))["spelling"]["words"]
    english = _english_words()
    common = {
        (word, slip)
        for word in words
        for slip in misspellings(word)
        if english.get(slip, -99.0) >= -16
    }
    assert common == set()
    assert len(words) == len(set(words))


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("School staff described Keira as promsicuous in the referral.", "promiscuous"),
        ("The log says she went with the driver wilingly.", "consented-or-willing"),
        ("The file calls him street wise and says he can cope.", "streetwise"),
        ("He was recuited into the line last spring.", "recruit-run-work"),
        ("Police logged Dani as an absconder again.", "missing-as-choice"),
        ("Police logged Dani as an abscodner again.", "missing-as-choice"),
        ("Both were sexully active with the men at the flat.", "sexually-active"),
    ],
)
def test_misspelt_terms_fire_like_the_term(text: str, rule: str) -> None:
    assert rule in rules_of(text), (text, rules_of(text))


def test_a_misspelt_term_is_reported_as_written() -> None:
    text = "Ava was seen as promsicuous by the old team."
    (finding,) = check(text)
    assert finding.text == "promsicuous"
    assert text[finding.start : finding.end] == "promsicuous"


@pytest.mark.parametrize(
    "text",
    [
        "The drugs were dealt by the men who groomed her.",  # real words stay themselves
        "She is a promising swimmer and a willing helper at the club.",
        "The recruiter for the apprenticeship scheme rang Mum.",
    ],
)
def test_real_words_near_a_term_stay_silent(text: str) -> None:
    assert rules_of(text) == []


def test_the_shipped_rules_read_slips() -> None:
    spelling = default_rules().spelling
    assert spelling["promsicuous"] == "promiscuous"
    assert "dealt" not in spelling and "willing" not in spelling


# --------------------------------------------------------------------------- correction


@pytest.mark.parametrize(
    ("silent", "fires"),
    [
        (
            "None of it was harmless fun: an adult groomed a child online.",
            "It was harmless fun, the worker said about the chats with the adult.",
        ),
        (
            "Nobody in the team should describe the men as her clients.",
            "The team know the men as her clients.",
        ),
        (
            "We avoid writing that he chose to carry the wraps; he was coerced.",
            "We noted that he chose to carry the wraps for the older boys.",
        ),
        (
            "The panel challenged the label of him as streetwise and named the exploitation.",
            "The panel heard that he is streetwise and can cope.",
        ),
        (
            "The dealer ran the boys as though they were his staff, with shifts and fines.",
            "The boys were working for the dealer on shifts.",
        ),
        (
            "The entry saying he is a runaway has been replaced with 'missing and at risk'.",
            "The entry says he is a runaway and has been missing twice.",
        ),
        (
            "Runaway is an outdated term for a child who is being trafficked.",
            "Mia is a runaway who is known to the night team.",
        ),
    ],
)
def test_more_ways_a_note_refuses_a_term(silent: str, fires: str) -> None:
    assert rules_of(silent) == [], (silent, rules_of(silent))
    assert rules_of(fires), fires


# --------------------------------------------------------------------------- peers, adults


@pytest.mark.parametrize(
    ("silent", "fires"),
    [
        (
            "Ruby's boyfriend is a year older and they are in the same college.",
            "Ruby's boyfriend is much older and picks her up from college.",
        ),
        (
            "Her girlfriend is also 16 and the families have met.",
            "Her girlfriend is 23 and the families have not met.",
        ),
        (
            "Kit, 17, and his boyfriend, 18, live on the same road.",
            "Kit, 15, and his boyfriend, 18, live on the same road.",
        ),
        (
            "Leo and his girlfriend, both 17, say the relationship is mutual.",
            "Leo (14) sees the woman (26) most nights and the contact seems mutual.",
        ),
        (
            "The lodger, 39, is in a relationship with her mum.",
            "The lodger, 39, is in a relationship with Tia, 15.",
        ),
        (
            "The adult exploiting her is feeding her need for attention.",
            "Staff think she does it for attention.",
        ),
        (
            "Dad willingly gave up the car keys when officers asked.",
            "She went willingly with the man to the car park.",
        ),
    ],
)
def test_peers_and_adults_stay_silent(silent: str, fires: str) -> None:
    assert rules_of(silent) == [], (silent, rules_of(silent))
    assert rules_of(fires), fires


@pytest.mark.parametrize(
    "text",
    [
        "Her boyfriend is 25 and her sister is also 15.",
        "Her boyfriend is much older but they met at the same college.",
        "His girlfriend is 30; his brother is a year older than him.",
    ],
)
def test_a_peer_cue_about_someone_else_does_not_silence(text: str) -> None:
    assert rules_of(text), text


def test_child_sex_offender_names_an_adult() -> None:
    assert rules_of("The men at the flat are convicted child sex offenders.") == []
    assert "child-as-offender" in rules_of("Kai (14) is described as a young sex offender.")


# --------------------------------------------------------------------------- new terms and forms
# The forms themselves run through tests/test_language_vocab.py (ROUND6_FORMS), with every
# other family-form table; here, look-alikes of the new terms.


@pytest.mark.parametrize(
    "text",
    [
        # peers and ordinary senses stay silent
        "Two Year 10 pupils exchanged nude pictures with each other and both were supported.",
        "The café's regulars at the counter chat to Mum every morning.",
        "Dad had sex with his wife's sister, according to the divorce papers.",
        "Kyle (15) and his girlfriend (15) say they have slept with each other.",
        "The cleaner touched up the paint in the hallway.",
        "The CSE team meeting moved to Thursday.",
        "Her older friend from the sixth form, who is 17, walks her home.",
        "He refused to say where he would like to go for his birthday.",
        "She was only holding the door open for her brother.",
        "This is a CCE case for the panel on Monday.",
        "The mechanic touched up the scratches on Dad's van.",
        "A mutual arrangement between the college and the council pays for her bus.",
        "The 13-year-old slept with the lamp on for weeks after the attack.",
        "Buyers of the house next door have complained to the council.",
        "Customers at the hotel reception were asked for statements.",
        "At the restorative meeting he took responsibility for his actions.",
        # the exploiter is the one named
        "The customer service desk called Mum back about the refund.",
    ],
)
def test_round6_look_alikes_stay_silent(text: str) -> None:
    assert rules_of(text) == [], (text, rules_of(text))
