"""The published guides' vocabulary beyond the seed and reference tables (issue #19).

Every rule added for a guide has a row here: the guide it comes from (a key of `sources:`
in knowledge/language_rules.yml), a case-note sentence that must fire it, and a near-miss
that must stay silent. tests/test_language.py counts these rows as row tests.
"""

from __future__ import annotations

import pytest

from bot.core.language import check, default_rules

# rule -> (source key, a sentence that fires it, a near-miss that must stay silent)
VOCABULARY_ROWS: dict[str, tuple[str, str, str]] = {
    "chose-to": (
        "CSW",
        "He chooses to carry the wraps for the olders.",
        "He chooses to walk to school with his brother.",
    ),
    "enjoys-the-lifestyle": (
        "TCS24",
        "Staff think he enjoys the money and the status.",
        "He enjoys the football sessions on Tuesdays.",
    ),
    "recruited": (
        "NSPCC-RW",
        "Tom was recruited in the summer to move drugs.",
        "The club recruited Tom as a junior coach.",
    ),
    "dealer-or-gang-member": (
        "LM",
        "Police record that Kai is a known gang member.",
        "Police record that Kai was threatened by gang members.",
    ),
    "child-as-offender": (
        "LM",
        "Kai is a prolific young offender according to the file.",
        "Kai is a victim of child criminal exploitation.",
    ),
    "money-mule": (
        "TCS22",
        "He has been used as a money mule by men he met online.",
        "Criminals have been using his bank account to move money.",
    ),
    "plugging": (
        "TCS22",
        "He was plugging when officers stopped the train.",
        "He was plugging his phone into the charger.",
    ),
    "missing-as-choice": (
        "CSW",
        "Lacey keeps going missing from the home.",
        "Lacey has been reported missing twice this week.",
    ),
    "going-back-to-exploiters": (
        "CSW",
        "After the raid she went back to the men at the flat.",
        "After half term she went back to school.",
    ),
    "staying-out": (
        "EVB",
        "He stays out until all hours with adults in the park.",
        "He stays out until 21:00 on Fridays, as agreed with his carer.",
    ),
    "streetwise": (
        "TCS24",
        "Professionals describe him as streetwise.",
        "Professionals describe him as a child who is being exploited.",
    ),
    "can-look-after-themselves": (
        "TCS24",
        "Police felt she can look after herself.",
        "Police felt she cannot be kept safe at home.",
    ),
    "knew-what-would-happen": (
        "DSCP",
        "She must have known what would happen at the party.",
        "She did not know who would be at the party.",
    ),
    "hard-to-reach": (
        "LM",
        "Staff describe Ellie as a hard to reach young person.",
        "We have not yet offered Ellie a time that works for her.",
    ),
    "brought-it-on-themselves": (
        "DSCP",
        "Staff feel he brought this on himself.",
        "Staff feel he needs support from a specialist worker.",
    ),
    "troublemaker": (
        "DSCP",
        "School describe her as a troublemaker.",
        "School describe her as quiet in lessons.",
    ),
    "the-way-dressed": (
        "EVB",
        "Police noted the way she was dressed that night.",
        "Police noted the time she left the flat that night.",
    ),
    "flirts": (
        "EVB",
        "She flirts with the men at the takeaway.",
        "The men at the takeaway give her free food.",
    ),
    "taking-risks": (
        "LM",
        "He is taking risks by meeting adults from the app.",
        "Adults from the app have been contacting him.",
    ),
    "credibility": (
        "CPS",
        "Her late disclosure makes her account less credible.",
        "Her disclosure was made three weeks after the assault.",
    ),
    "doubting-the-child": (
        "CPS",
        "Staff think she made it up to get attention.",
        "She was lying on the sofa when we arrived.",
    ),
    "didnt-resist": (
        "CPS",
        "She did not fight back, so the report was closed.",
        "She did not fight back because she was frozen with fear.",
    ),
    "should-have": (
        "DSCP",
        "She should have said no when they asked.",
        "She was too frightened to say anything when they asked.",
    ),
    "vulnerabilities-led": (
        "DSCP",
        "His vulnerabilities led to him being exploited.",
        "Adults exploited him, taking advantage of his vulnerabilities.",
    ),
    "sexting": (
        "NSPCC-SX",
        "She has been sexting a 30-year-old man.",
        "The school held a session on sharing nudes.",
    ),
    "online-friend": (
        "NSPCC-OF",
        "Her online friend is a man in his forties.",
        "Her online friend is a girl in her class.",
    ),
    "just-a-phase": (
        "TCS24",
        "Dad says it is a teenage phase.",
        "Dad says she has been sleeping badly.",
    ),
    "nothing-to-worry-about": (
        "TCS24",
        "The man seems harmless.",
        "The man has a conviction for grooming.",
    ),
    "misunderstanding": (
        "CPS",
        "The assault at the flat was a misunderstanding.",
        "There was a misunderstanding about the appointment time.",
    ),
    "overreacting": (
        "TCS24",
        "Mum is overreacting about the man in the car.",
        "Mum is worried about the man in the car.",
    ),
    "compliant": (
        "CPS",
        "Tia was compliant with what the men at the flat wanted.",
        "Tia is compliant with her asthma medication.",
    ),
    "owes-a-debt": (
        "HO-CL",
        "Marcus owes the olders money after the police seized the wraps.",
        "The olders are using a staged robbery to trap Marcus in a manufactured debt.",
    ),
    "self-generated-images": (
        "IM-SG",
        "The police found self-generated images of Poppy on the man's laptop.",
        "The sports club has a self-generated income from hiring out the hall.",
    ),
    "naive-or-easily-led": (
        "SAS",
        "Teachers see Noah as naive and easily led by the older lads.",
        "Teachers say the older lads have been grooming Noah since the spring.",
    ),
}

# Forms added to existing rules for issue #19 (widening the vocabulary): rule, the guide,
# a sentence that must fire the rule, and a sentence in the same area that must not fire
# anything (negated, about an adult, quoted, or the innocent sense of the word).
NEW_FORMS: list[tuple[str, str, str, str]] = [
    (
        "chose-to",
        "TCS24",
        "He agreed to go to the party with the 25-year-old.",
        "He agreed to go to the party with his cousin.",
    ),
    (
        "chose-to",
        "CSW",
        "Maisie chose to meet up with a man she met on Snapchat.",
        "Maisie chose to meet up with her aunt in town.",
    ),
    (
        "chose-to",
        "TCS24",
        "She agreed to meet the man at the hotel again.",
        "She agreed to meet her youth worker at the library.",
    ),
    (
        "sex-in-exchange",
        "TCS-4.7",
        "Staff think the 40-year-old is her sugar mummy.",
        "She has been sexually exploited by a 40-year-old woman.",
    ),
    (
        "sex-in-exchange",
        "LM",
        "She has been selling nudes on an app.",
        "She has been selling cakes at the school fair.",
    ),
    (
        "promiscuous",
        "TCS24",
        "The file notes she has had multiple sexual partners this year.",
        "The file notes several adults have sexually abused her this year.",
    ),
    (
        "promiscuous",
        "TCS24",
        "She has a reputation with the older boys at the park.",
        "She has a good reputation with her teachers.",
    ),
    (
        "promiscuous",
        "TCS24",
        "Staff describe her as hyper-sexual around adults.",
        "Staff describe her as frightened around adults.",
    ),
    (
        "drug-running",
        "HO-CL",
        "He goes OT most weekends.",
        "He goes to OT most weekends for his hand.",
    ),
    (
        "recruit-run-work",
        "NSPCC-RW",
        "He is earning good money on the line.",
        "He is earning money on his Saturday job at the garage.",
    ),
    (
        "recruit-run-work",
        "NSPCC-RW",
        "Jayden has been holding for the olders since summer.",
        "Jayden holds the door for the other pupils.",
    ),
    (
        "recruit-run-work",
        "NSPCC-RW",
        "She introduced younger girls to the men at the flat.",
        "She introduced her friends to her new foster carers.",
    ),
    (
        "involved-in-exploitation",
        "CSW",
        "He is deeply entrenched in county lines.",
        "He is entrenched in his view that school is pointless.",
    ),
    (
        "missing-as-choice",
        "CSW",
        "She is a frequent misper from the unit.",
        "She was reported missing from the unit on Friday.",
    ),
    (
        "missing-as-choice",
        "CSW",
        "Police call him a frequent flyer.",
        "He is a frequent visitor to the library.",
    ),
    (
        "missing-as-choice",
        "TCS24",
        "Ellie regularly goes missing from her placement.",
        "Ellie has gone missing twice from her placement this month.",
    ),
    (
        "missing-as-choice",
        "TCS24",
        "Ellie ran away with the men to Leeds.",
        "Ellie ran away from the men and called the police.",
    ),
    (
        "lifestyle-choice",
        "DSCP",
        "She is a victim of her own choices.",
        "She is a victim of child sexual exploitation.",
    ),
    (
        "hard-to-reach",
        "LM",
        "She is not engaging with services.",
        "Her key worker is engaging well with the family.",
    ),
    (
        "troublemaker",
        "DSCP",
        "School describe him as a problem child.",
        "School describe the problem as a lack of places at the unit.",
    ),
    (
        "troublemaker",
        "DSCP",
        "His challenging behaviour is the main worry for school.",
        "Staff find the situation challenging to manage.",
    ),
    (
        "flirts",
        "EVB",
        "The officer wrote that she is a bit of a tease.",
        "The officer wrote that she is a bright pupil.",
    ),
    (
        "boyfriend-older-or-perpetrator",
        "NSPCC-OB",
        "Her fella is 30 and collects her from school.",
        "Her mum's fella is 45 and works nights.",
    ),
    (
        "nothing-to-worry-about",
        "TCS24",
        "The man at the flat said it was horseplay and staff agreed it was horseplay.",
        "The man at the flat has been charged with sexual assault.",
    ),
]


def rules_of(text: str) -> list[str]:
    return [f.rule for f in check(text)]


@pytest.mark.parametrize("rule", sorted(VOCABULARY_ROWS))
def test_every_vocabulary_row_fires_and_its_near_miss_does_not(rule: str) -> None:
    source, sentence, near_miss = VOCABULARY_ROWS[rule]
    assert rule in rules_of(sentence)
    assert rules_of(near_miss) == []
    compiled = default_rules().by_key[rule]
    assert source in [part.strip().split(" ", 1)[0] for part in compiled.rule.source.split(";")]


def test_every_rule_names_a_source_a_reader_can_find() -> None:
    rules = default_rules()
    from bot.core.datafile import load_model
    from bot.core.language import RuleFile  # the schema, for the sources table

    data = load_model(rules.path, RuleFile)
    for compiled in rules.rules:
        for part in compiled.rule.source.split(";"):
            source = data.sources[part.strip().split(" ", 1)[0]]
            assert source.seed or source.title
            assert source.label()
    published = [s for s in data.sources.values() if not s.seed and s.url]
    assert len(published) >= 12
    assert all(s.publisher and s.title for s in published)


@pytest.mark.parametrize(("rule", "source", "sentence", "near_miss"), NEW_FORMS)
def test_every_new_form_fires_and_its_near_miss_does_not(
    rule: str, source: str, sentence: str, near_miss: str
) -> None:
    assert rule in rules_of(sentence)
    assert rules_of(near_miss) == []
    compiled = default_rules().by_key[rule]
    sources = [part.strip().split(" ", 1)[0] for part in compiled.rule.source.split(";")]
    assert source in sources


# Context holds for the new rules: the note corrects the term, the words are about an adult,
# the words are quoted, or the word is used in its ordinary sense.
NEW_RULE_CONTEXT = [
    # (must stay silent, must fire)
    (
        "Tia was not compliant with the men; she was frightened of them.",
        "Tia was compliant with the men; she was frightened of them.",
    ),
    ("The man (30) said she was compliant.", "Tia was compliant with the man (30)."),
    ('Tia told us she "went along" with the men.', "Tia was compliant with the men."),
    (
        "The dealers say he owes them money; they staged a robbery to control him.",
        "He owes the dealers money from the seized package.",
    ),
    ('He told me "I owe the olders money".', "He owes the olders money."),
    (
        "We no longer use the term self-generated images.",
        "The police describe them as self-generated images.",
    ),
    ("Staff were naive about the risks at the flat.", "Ava is naive about the risks at the flat."),
    ('Mum says she is "too trusting".', "Mum says she is too trusting."),
    ("Rather than naive, Ava is a child who has been groomed.", "Ava is naive."),
]


@pytest.mark.parametrize(("silent", "fires"), NEW_RULE_CONTEXT)
def test_new_rules_keep_context(silent: str, fires: str) -> None:
    assert rules_of(silent) == []
    assert rules_of(fires) != []
