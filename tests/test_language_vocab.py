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
}


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
