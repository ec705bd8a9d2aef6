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
    "associating-with-group": (
        "LM",
        "Reece hangs around with the lot from the garages most nights.",
        "Reece hangs around with his friends from the boxing club most nights.",
    ),
    "dabbling-or-small-time": (
        "NSPCC-RW",
        "Officers said Callum has been dabbling in selling weed.",
        "Officers said adults have been making Callum sell weed.",
    ),
    "own-line-or-patch": (
        "HO-CL",
        "Staff believe the trap house is his own.",
        "Staff believe his line manager at the garage is supportive.",
    ),
    "blamed-for-online-harm": (
        "UKCIS",
        "It was foolish of her to trust the account that messaged her.",
        "The account that messaged her was run by a man who is now on bail.",
    ),
    "silly-or-dramatic": (
        "TCS24",
        "The duty officer called her a silly little girl.",
        "The duty officer took her statement in a quiet room.",
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


# Issue #19, second widening: whole families of phrasing the checker missed. Each row is a
# rule, the guide it comes from, a sentence that must fire the rule and a look-alike that
# must fire nothing (the ordinary sense of the words, or the same facts said without blame).
FAMILY_FORMS: list[tuple[str, str, str, str]] = [
    # -- 1. missing episodes as the child's choice or pleasure
    (
        "missing-as-choice",
        "CSW",
        "Kacey decided to go missing straight after contact with her dad.",
        "Kacey was missing straight after contact with her dad.",
    ),
    (
        "missing-as-choice",
        "CSW",
        "He wants to stay missing until the weekend, according to the carer.",
        "He wants to stay with his nan until the weekend, according to the carer.",
    ),
    (
        "missing-as-choice",
        "TCS24",
        "Staff say she makes herself missing when the men text her.",
        "Staff say she makes herself toast when she gets in from school.",
    ),
    (
        "missing-as-choice",
        "TCS24",
        "The home says he goes missing whenever he fancies.",
        "The home says he goes to the gym whenever he fancies.",
    ),
    (
        "missing-as-choice",
        "TCS24",
        "The carer feels Jodie enjoys the thrill of going missing.",
        "The carer feels Jodie enjoys climbing at the youth centre.",
    ),
    (
        "missing-as-choice",
        "TCS24",
        "Night staff think he likes being missing.",
        "Night staff think he likes being read to.",
    ),
    (
        "missing-as-choice",
        "DSCP",
        "She turns up at the unit when it suits her.",
        "We will arrange the review for a day when it suits her carer.",
    ),
    (
        "missing-as-choice",
        "DSCP",
        "The social worker wrote that he swanned back in at 4am.",
        "The social worker wrote that he came back at 4am in a taxi paid for by a man.",
    ),
    (
        "missing-as-choice",
        "DSCP",
        "She treats the unit like a doss house.",
        "She stayed in a guest house with her mum over half term.",
    ),
    (
        "missing-as-choice",
        "DSCP",
        "He only comes home to sleep and get changed.",
        "He comes home after school and goes to sleep early.",
    ),
    (
        "missing-as-choice",
        "CSW",
        "Police think she is out gallivanting with friends.",
        "Police found her at a flat with two adult men.",
    ),
    (
        "missing-as-choice",
        "CSW",
        "The log says he stays out as late as he likes.",
        "The log says he stays out until 21:00, as agreed.",
    ),
    (
        "staying-out",
        "SAS",
        "Mum says he is out at all hours with lads from the estate.",
        "Mum says the buses run at all hours now.",
    ),
    (
        "staying-out",
        "SAS",
        "She comes in at all hours of the night.",
        "She comes in at 22:00 and says a car dropped her off.",
    ),
    # -- 2. criminal exploitation as the child's own trade or hobby
    (
        "dabbling-or-small-time",
        "NSPCC-RW",
        "Intelligence suggests Kyle dabbles with crack.",
        "Intelligence suggests adults are supplying Kyle with crack.",
    ),
    (
        "dabbling-or-small-time",
        "HO-CL",
        "The youth worker called it petty dealing.",
        "The youth worker called it child criminal exploitation.",
    ),
    (
        "dabbling-or-small-time",
        "NSPCC-RW",
        "He was doing a bit of selling at the skate park.",
        "He was doing a bit of skating at the skate park.",
    ),
    (
        "dabbling-or-small-time",
        "TCS24",
        "She has been dealing on the side for some time.",
        "She has been living with her aunt for some time.",
    ),
    (
        "dabbling-or-small-time",
        "TCS24",
        "He sells weed to his mates at college.",
        "He sells programmes to the fans at the match.",
    ),
    (
        "dabbling-or-small-time",
        "CSW",
        "Dad thinks he got into dealing over the summer.",
        "Dad thinks he got into boxing over the summer.",
    ),
    (
        "plugging",
        "TCS22",
        "Police believe he was banking drugs on the train.",
        "Police believe he was banking his wages on the train.",
    ),
    (
        "recruit-run-work",
        "NSPCC-RW",
        "He was minding a package for some older lads.",
        "He was minding his little brother for his mum.",
    ),
    (
        "recruit-run-work",
        "NSPCC-RW",
        "He has been getting paid for the olders since Easter.",
        "He has been getting paid for his paper round since Easter.",
    ),
    (
        "recruit-run-work",
        "NSPCC-RW",
        "He makes his money from running to the coast.",
        "He makes his money from a paper round.",
    ),
    (
        "recruit-run-work",
        "NSPCC-RW",
        "Police say he now runs his own line.",
        "Police say he now runs his own football team.",
    ),
    (
        "own-line-or-patch",
        "HO-CL",
        "Officers say the line is his now.",
        "Officers say the decision is his now.",
    ),
    (
        "own-line-or-patch",
        "NSPCC-CL",
        "He guards his patch near the station where he sells drugs.",
        "She forgot to change her patch last week.",
    ),
    (
        "associating-with-group",
        "LM",
        "He associates with negative peers at the park.",
        "He associates the park with feeling frightened.",
    ),
    (
        "associating-with-group",
        "LM",
        "She is mixing with the wrong people again.",
        "She is mixing with the other girls in her form again.",
    ),
    (
        "associating-with-group",
        "GLOW",
        "Mum says he spends time with individuals of concern.",
        "Mum says he spends time with his grandad on Sundays.",
    ),
    (
        "lifestyle-choice",
        "DSCP",
        "He fell in with older lads from the next town.",
        "He was targeted by older lads from the next town.",
    ),
    (
        "lifestyle-choice",
        "DSCP",
        "School felt she had got in with a rough crowd.",
        "School felt she had got in with the netball team.",
    ),
    (
        "chose-to",
        "CSW",
        "He chooses to socialise with people who are known to police.",
        "He chooses to play football with people from his estate.",
    ),
    (
        "chose-to",
        "CSW",
        "She insists on hanging around with the men at the takeaway.",
        "The men at the takeaway keep hanging around her school.",
    ),
    # -- 3. minimising and trivialising
    (
        "just-a-phase",
        "TCS24",
        "Her file says she is experimenting sexually with older boys.",
        "Her file says she is experimenting with oil paints in art.",
    ),
    (
        "just-a-phase",
        "TCS24",
        "Grandad thinks it is just a phase.",
        "Grandad thinks the next phase of the building work starts soon.",
    ),
    (
        "just-a-phase",
        "NSPCC",
        "The school put it down to him pushing the boundaries.",
        "The school put it down to adults grooming him.",
    ),
    (
        "just-a-phase",
        "NSPCC",
        "The teacher put the change down to teenage hormones.",
        "The nurse talked to her about hormonal contraception.",
    ),
    (
        "silly-or-dramatic",
        "TCS24",
        "Her aunt says she is a drama queen.",
        "Her aunt says she is in the drama club.",
    ),
    (
        "silly-or-dramatic",
        "DSCP",
        "Officers thought he was being melodramatic about the threats.",
        "Officers thought the threats against him were serious.",
    ),
    (
        "silly-or-dramatic",
        "TCS24",
        "The report says she was only being silly with the older men.",
        "The report says she was only being seen by the school nurse.",
    ),
    (
        "overreacting",
        "TCS24",
        "Staff felt she was kicking up a fuss about nothing.",
        "Staff felt she was kicking a football about the yard.",
    ),
    (
        "overreacting",
        "TCS24",
        "Police think she exaggerated what happened at the flat.",
        "Police think a man assaulted her at the flat.",
    ),
    (
        "overreacting",
        "NSPCC",
        "The officer said Mum was blowing things out of all proportion.",
        "The officer said the men at the flat have been arrested.",
    ),
    # -- 4. blame for online harm
    (
        "blamed-for-online-harm",
        "UKCIS",
        "It was stupid of him to send the pictures.",
        "It was a man who made him send the pictures.",
    ),
    (
        "blamed-for-online-harm",
        "UKCIS",
        "She was naive for trusting someone she had never met.",
        "Someone she had never met was grooming her.",
    ),
    (
        "blamed-for-online-harm",
        "UKCIS",
        "He could have just blocked the account.",
        "The platform has now blocked the account.",
    ),
    (
        "blamed-for-online-harm",
        "SAS-ON",
        "She should not have accepted the request.",
        "She did accept the request from an account that looked like a girl her age.",
    ),
    (
        "blamed-for-online-harm",
        "SAS-ON",
        "Why didn't she block him when he asked for photos?",
        "When he asked for photos she told her mum.",
    ),
    (
        "blamed-for-online-harm",
        "SAS",
        "Staff feel she fell for his lies online.",
        "Staff feel a man deceived her online to groom her.",
    ),
    (
        "sending-explicit-images",
        "NSPCC-SX",
        "Records show she has been trading nudes with a man on Snapchat.",
        "Records show a man on Snapchat has been asking her for nudes.",
    ),
    (
        "sending-explicit-images",
        "LM",
        "He was swapping naked pictures with an adult on Discord.",
        "He was sent naked pictures by an adult on Discord.",
    ),
    (
        "sending-explicit-images",
        "LM",
        "She kept sending him explicit photos.",
        "He kept sending her explicit photos.",
    ),
    (
        "online-friend",
        "NSPCC-OF",
        "Her Roblox friend turned out to be a man of 40.",
        "Her Roblox avatar is a cat.",
    ),
    (
        "online-friend",
        "NSPCC-OF",
        "She has been talking to a mate from a gaming site who says he is 22.",
        "She has been talking to a mate from her class about the trip.",
    ),
    (
        "online-friend",
        "NSPCC-OF",
        "He calls the 35-year-old his gaming buddy.",
        "He calls his cousin (13) his gaming partner at weekends.",
    ),
]


@pytest.mark.parametrize(("rule", "source", "sentence", "look_alike"), FAMILY_FORMS)
def test_every_family_form_fires_and_its_look_alike_does_not(
    rule: str, source: str, sentence: str, look_alike: str
) -> None:
    assert rule in rules_of(sentence), sentence
    assert rules_of(look_alike) == [], look_alike
    compiled = default_rules().by_key[rule]
    sources = [part.strip().split(" ", 1)[0] for part in compiled.rule.source.split(";")]
    assert source in sources


# Context that must hold, both ways, for the widened families: who the words are about, a
# correct framing, the child's own words in quotation marks, and a note that corrects a term.
FAMILY_CONTEXT = [
    # (must stay silent, must fire)
    (
        "The 29-year-old must have known that she was only 13.",
        "She must have known what she was getting into.",
    ),
    (
        "The man (40) should have known better than to message a child.",
        "She should have known better than to message him.",
    ),
    (
        "Adults forced him into sending explicit pictures of himself.",
        "He was sending him explicit pictures of himself.",
    ),
    (
        "A 30-year-old pressured her into swapping nudes; this is child sexual abuse.",
        "She has been swapping nudes with a 30-year-old.",
    ),
    (
        "The olders are dabbling in recruiting children from the school.",
        "He is dabbling in dealing at the school.",
    ),
    ('She told us "I go missing when I feel like it".', "She goes missing when she feels like it."),
    ('He says he is just "doing a bit of selling".', "He is just doing a bit of selling."),
    (
        "She does not make herself missing; adults collect her from the home.",
        "She makes herself missing and adults collect her from the home.",
    ),
    (
        "Rather than a drama queen, she is a child who has been sexually abused.",
        "She is a drama queen who has been sexually abused.",
    ),
    (
        "Previously recorded as swanning back in, she was in fact brought back by a man.",
        "She swanned back in after being brought back by a man.",
    ),
]


@pytest.mark.parametrize(("silent", "fires"), FAMILY_CONTEXT)
def test_widened_families_keep_context(silent: str, fires: str) -> None:
    assert rules_of(silent) == [], silent
    assert rules_of(fires) != [], fires
