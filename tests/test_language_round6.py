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

# (rule, a source the rule names, a sentence that fires it, a look-alike that stays silent)
ROUND6_FORMS: list[tuple[str, str, str, str]] = [
    # consent and choice
    (
        "consented-or-willing",
        "TCS24",
        "The officer called it a mutual agreement between Esme (14) and the man.",
        "The officer and Esme's mum reached a mutual agreement about contact.",
    ),
    (
        "consented-or-willing",
        "TCS-4.6",
        "She agreed to go back to their flat once the party ended.",
        "She agreed to go back to her foster home once the film ended.",
    ),
    (
        "relationship-called-consensual",
        "NSPCC-OB",
        "The relationship seemed loving to staff, but he is 33 and Cara is 15.",
        "Cara (15) and Dan (15) say their relationship is loving and their parents agree.",
    ),
    (
        "chose-to",
        "CSW",
        "He chose to head back to the dealers after the meeting.",
        "He chose to head back to his nan's after the meeting.",
    ),
    (
        "happy-with-it",
        "TCS24",
        "Lucy seemed glad to go along with it while the man gave her money.",
        "Lucy seemed glad to go along to the youth club with her sister.",
    ),
    # criminal exploitation
    (
        "dealer-or-gang-member",
        "LM",
        "Intelligence names Ryan as a crack supplier in the town centre.",
        "Intelligence names the man who supplies Ryan with crack.",
    ),
    (
        "dealer-or-gang-member",
        "HO-CL",
        "Rio is basically a drug dealer now, his teacher said.",
        "Rio is being exploited by a drug dealer, his teacher said.",
    ),
    (
        "dealer-or-gang-member",
        "TCS24",
        "Kian is a member of a criminal network in the north of the city.",
        "Kian is a member of a boxing club in the north of the city.",
    ),
    (
        "child-as-offender",
        "LM",
        "The court papers call Mo a gang offender.",
        "The court papers say adults exploited Mo to carry knives.",
    ),
    (
        "recruit-run-work",
        "NSPCC-RW",
        "Zane has work for a few older lads on the estate.",
        "Zane has work experience at a garage on the estate.",
    ),
    (
        "recruit-run-work",
        "NSPCC-RW",
        "Eli volunteered to keep the cash for the olders.",
        "Eli volunteered to help at the food bank on Saturday.",
    ),
    (
        "recruit-run-work",
        "NSPCC-RW",
        "She keeps wraps in her room as a favour to the dealers.",
        "She keeps her bike at her nan's as a favour to her mum.",
    ),
    (
        "recruit-run-work",
        "HO-CL",
        "Police found Ty cuckooing a disabled woman's house with two others.",
        "Police found that adults had taken over a disabled woman's house.",
    ),
    (
        "recruit-run-work",
        "NSPCC-RW",
        "Sami was recruited by older males he met at the park.",
        "Sami was recruited by the cricket club as a junior umpire.",
    ),
    (
        "paid-or-profiting",
        "NSPCC-RW",
        "He is paid roughly eighty pounds a day to deliver wraps.",
        "He is paid roughly eighty pounds a day at the car wash.",
    ),
    (
        "paid-or-profiting",
        "HO-CL",
        "Amir let criminals use his bank card and kept his cut of the proceeds.",
        "Amir let his sister use his bank card and she paid him back.",
    ),
    (
        "dabbling-or-small-time",
        "TCS24",
        "Officers felt his involvement in the dealing was limited, as he was only a courier.",
        "Officers felt adults had used him as a courier and threatened him.",
    ),
    (
        "drugs-in-return-for-running",
        "TCS-4.7",
        "She sold for them until she had cleared off what she owed.",
        "She says the men invented a debt to control her.",
    ),
    # missing
    (
        "missing-as-choice",
        "CSW",
        "The night staff call Aiden a repeat misser.",
        "The night staff report Aiden missing each time he is out after curfew.",
    ),
    (
        "missing-as-choice",
        "TCS24",
        "Maya wouldn't say where she had been all weekend.",
        "Maya was frightened to say who she had been with all weekend.",
    ),
    (
        "always-comes-back",
        "CSW",
        "When he is missing he usually comes home by Sunday night, so staff wait.",
        "He usually phones home on Sunday night from his dad's.",
    ),
    (
        "missing-as-choice",
        "TCS24",
        "Her aunt thinks she just runs riot at weekends.",
        "Her aunt thinks someone is picking her up at weekends.",
    ),
    # capability and blame
    (
        "shared-responsibility",
        "TCS24",
        "Ellie needs to accept responsibility for her own safety around these men.",
        "The men need to be held responsible for their actions towards Ellie.",
    ),
    (
        "no-surprise-it-happened",
        "TCS24",
        "Lads like him always end up getting groomed, one officer said.",
        "Lads in his year group have been offered support, one officer said.",
    ),
    # online
    (
        "blamed-for-online-harm",
        "UKCIS",
        "The profile she set up attracted abusers, according to the school.",
        "The profile the man set up targeted girls, according to the school.",
    ),
    (
        "images-exchanged-with-adult",
        "NSPCC-SX",
        "Jess and an adult man were trading sexual pictures on the app.",
        "Jess (14) and Sol (14) were sharing nudes and the school followed its guidance.",
    ),
    (
        "child-pornography",
        "IWF",
        "The man kept her amateur porn pics on a hard drive.",
        "The man kept images of her sexual abuse on a hard drive.",
    ),
    (
        "child-pornography",
        "IWF",
        "A sex clip of the two girls was found on his phone.",
        "A recording of the two girls being abused was found on his phone.",
    ),
    (
        "online-friend",
        "NSPCC-OF",
        "Her older mate, a man of 37, picks her up from school.",
        "Her older sister picks her up from school.",
    ),
    # minimising and abusers' words
    (
        "nothing-to-worry-about",
        "TCS24",
        "The school says it only occurred once and no action is needed.",
        "The school says it occurred more than once and police are involved.",
    ),
    (
        "nothing-to-worry-about",
        "TCS24",
        "Mum felt the messages were largely innocuous, though he is 40.",
        "Mum felt frightened by the messages from a man of 40.",
    ),
    (
        "always-comes-back",
        "TCS24",
        "He was missing overnight, therefore it is not a safeguarding concern.",
        "He was home for breakfast and told staff he had been scared.",
    ),
    (
        "touched-up",
        "TCS24",
        "The man on the train touched up the 12-year-old.",
        "The man on the train sexually assaulted the 12-year-old.",
    ),
    (
        "abusers-as-customers",
        "TCS24",
        "Several buyers visited the flat where the girls were held.",
        "Several offenders visited the flat where the girls were held.",
    ),
    (
        "sex-with-a-child",
        "TCS-4.7",
        "The man had sex with Fern, who is 14, in his car.",
        "The man sexually abused Fern, who is 14, in his car.",
    ),
    (
        "exploitation-as-label",
        "NSCP",
        "Keisha is one of our CSE girls, the manager told me.",
        "Keisha is being sexually exploited, the manager told me.",
    ),
    (
        "child-prostitution",
        "TCS24",
        "Her pimp drives her to the hotel, the log says.",
        "The trafficker drives her to the hotel, the log says.",
    ),
]


@pytest.mark.parametrize(("rule", "source", "sentence", "look_alike"), ROUND6_FORMS)
def test_round6_forms_fire_and_their_look_alikes_do_not(
    rule: str, source: str, sentence: str, look_alike: str
) -> None:
    assert rule in rules_of(sentence), (sentence, rules_of(sentence))
    assert rules_of(look_alike) == [], (look_alike, rules_of(look_alike))
    compiled = default_rules().by_key[rule]
    sources = [part.strip().split(" ", 1)[0] for part in compiled.rule.source.split(";")]
    assert source in sources, (rule, sources)


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
