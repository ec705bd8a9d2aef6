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

# Issue #19, fourth widening: whole-sentence framings (shared responsibility and consent,
# exploitation as trade, missing episodes, labels), one row per new rule.
VOCABULARY_ROWS.update(
    {
        "shared-responsibility": (
            "TCS24",
            "The strategy meeting felt the blame was shared between Nia and the men at the flat.",
            "Parental responsibility is shared between mum and dad.",
        ),
        "capacity-to-consent": (
            "TCS24",
            "Officers noted that Amber is over the age of consent, so no further action.",
            "Amber is 16 and has started a college course in September.",
        ),
        "happy-with-it": (
            "DSCP",
            "Tia appears content with the arrangement at the man's flat.",
            "The school is content with the arrangement for her taxi.",
        ),
        "small-age-gap": (
            "NSPCC-OB",
            "There is only a small age gap, as the man is 19.",
            "The family has moved to a smaller house nearer the school.",
        ),
        "no-surprise-it-happened": (
            "CPS",
            "It came as no surprise that she was assaulted after the party.",
            "It came as no surprise that she was upset after the review.",
        ),
        "making-choices": (
            "CSW",
            "Kian is making his own decisions about where he sleeps.",
            "The panel is making decisions about the plan next week.",
        ),
        "benefits-from-it": (
            "TCS19",
            "Staff feel she gets something out of it from the men.",
            "She is benefiting from the sessions with her youth worker.",
        ),
        "paid-or-profiting": (
            "NSPCC-RW",
            "Reece is profiting from the line at the station.",
            "Reece earns £40 a week from his paper round.",
        ),
        "clients-or-customers": (
            "TCS19",
            "Police believe she has regular clients in the town.",
            "The bakery has regular customers from the estate.",
        ),
        "goods-in-exchange": (
            "LM",
            "Jas receives cigarettes and vapes in return for going to the address.",
            "Jas received a certificate for her attendance.",
        ),
        "not-a-victim": (
            "HO-CL",
            "Police say Dylan is not really a victim in all this.",
            "Dylan is a victim of criminal exploitation.",
        ),
        "self-producing-content": (
            "IM-SG",
            "Lily is self-producing explicit content for a paid page.",
            "Lily makes baking videos for the school newsletter.",
        ),
        "probably-with-friends": (
            "HO-CL",
            "Carer thinks Zoe is probably staying at a mate's again, so not reported.",
            "Zoe stayed at her friend's on Saturday, arranged with her carer.",
        ),
        "absent-not-missing": (
            "NSPCC-CL",
            "The episode was logged as absent rather than missing.",
            "He was absent from school with a cold.",
        ),
        "aggressive-or-difficult": (
            "DSPP",
            "Tyrese is very aggressive towards staff at the unit.",
            "It was difficult to arrange the meeting with Tyrese.",
        ),
        "resilient": (
            "TCS24",
            "Ayesha is a resilient girl and copes with the men at the flat.",
            "Ayesha is a resilient girl with a lovely sense of humour.",
        ),
        "lucky-boy": (
            "CPS",
            "One officer called him a lucky boy for the attention from the 30-year-old woman.",
            "He was lucky to get a place at the college.",
        ),
        "live-with-consequences": (
            "DSCP",
            "He has made his bed with the olders and now has to face the consequences.",
            "He is looking forward to the football season.",
        ),
        "colluding-with-abuser": (
            "LM",
            "Maya is covering for the men and will not speak to police.",
            "Maya is looking after her younger sister after school.",
        ),
    }
)

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


# Issue #19, fourth widening: more forms of each new family (a sentence that must fire the
# rule), written for these tests.
ROUND4_FORMS: list[tuple[str, str]] = [
    ("brought-it-on-themselves", "Her dad thinks she is partly to blame for what happened."),
    ("shared-responsibility", "Staff wrote that it was partly her fault for going there."),
    ("brought-it-on-themselves", "Both of them are equally responsible, according to the log."),
    ("knew-what-would-happen", "As she is old enough to consent, police closed the report."),
    ("chose-to", "Once she turned 16 it was her own decision to see him."),
    ("capacity-to-consent", "She is above the age of consent, so this is not exploitation."),
    ("capacity-to-consent", "He has the capacity to consent to sex with the 23-year-old."),
    ("happy-with-it", "She says nobody is forcing her to go, so the case was closed."),
    ("happy-with-it", "Ella is comfortable with the situation with the older men."),
    ("small-age-gap", "It is not a big age gap, as she is 15 and he is 20."),
    ("small-age-gap", "The age difference is minimal, as the man is only 19."),
    ("no-surprise-it-happened", "It was only a matter of time before she was assaulted there."),
    ("no-surprise-it-happened", "Unsurprisingly she was targeted again by the same men."),
    ("should-have", "She should have recognised the warning signs when he offered her a lift."),
    ("making-choices", "Holly leads a party lifestyle with adults in the town."),
    ("making-choices", "She keeps making choices to go back to the flat."),
    ("benefits-from-it", "He is benefiting from the association with the olders."),
    ("benefits-from-it", "It is unclear what she gets from it; the man buys her phone credit."),
    ("paid-or-profiting", "He gets paid £200 a week for holding the drugs."),
    ("paid-or-profiting", "It has become more like a job to him since he started holding drugs."),
    ("clients-or-customers", "He has his own customers for the cannabis at school."),
    ("goods-in-exchange", "She gets vodka and gifts in exchange for going to the parties."),
    ("sex-in-exchange", "A man had sex with her and then paid her £50."),
    ("owes-a-debt", "He has a debt to the gang after the package was taken."),
    ("not-a-victim", "He is more of a perpetrator than a victim."),
    ("self-producing-content", "She is a content creator for a page run by a 28-year-old man."),
    ("involved-in-exploitation", "Kai has become involved in supply of class A drugs."),
    ("missing-as-choice", "She ran away to be with the man she met online."),
    ("probably-with-friends", "He is just staying with mates, mum said, so no report was made."),
    ("absent-not-missing", "Staff said she was not missing, just absent, as she texted."),
    ("aggressive-or-difficult", "She is a difficult girl who will not listen."),
    ("hard-to-reach", "Professionals describe Leo as hard to safeguard."),
    ("resilient", "He is resilient and can handle himself around the olders."),
    ("promiscuous", "Staff at the home describe her as boy-mad."),
    ("promiscuous", "The old log calls her man mad."),
    ("nothing-to-worry-about", "The school rated it as a low-level concern."),
    ("historical-abuse", "The abuse is historical and no longer relevant to the plan."),
    ("lucky-boy", "Any lad would be flattered by an older woman's attention, staff said."),
    ("live-with-consequences", "She has to live with the consequences of going there."),
    ("colluding-with-abuser", "Jade is colluding with the perpetrator and will not talk."),
    ("colluding-with-abuser", "She is protecting her abuser by saying nothing."),
    ("contacting-adults", "Ruby instigated the contact with the 30-year-old online."),
    ("flirts", "She may have encouraged them by messaging first."),
]


@pytest.mark.parametrize(("rule", "sentence"), ROUND4_FORMS)
def test_round4_forms_fire(rule: str, sentence: str) -> None:
    assert rule in rules_of(sentence), (sentence, rules_of(sentence))


# Context that must hold for the fourth widening: adults are not the child, peers of the
# same age are not exploitation, and negation, correction and quotation still hold.
ROUND4_SILENT = [
    "The 34-year-old who controls the line has dealt drugs for years.",
    "Her mother (36) is in a relationship with a violent man.",
    "Mr X, aged 45, has a caution for paying an adult for sex.",
    "Josh (14) is going out with a girl of the same age, and it appears mutual.",
    "She does not have the capacity to consent to what the man did.",
    "She is not making her own choices; the men control where she goes.",
    'She told us "I am happy with the arrangement".',
    'He said "I get paid a good wage for it".',
    "The adult dealer is profiting from the line.",
    "Mum is colluding with the perpetrator and has been warned.",
    "The man (32) is aggressive and has a conviction for assault.",
    "The school is happy with the arrangement for transport.",
    "She was absent from school on Monday.",
    "She is a content creator on YouTube making cooking videos, supervised by mum.",
    "Responsibility for the abuse lies with the adults.",
    "He is a victim, not a perpetrator.",
    "She is a resilient girl with a great sense of humour.",
    "The panel will make decisions about the plan on Friday.",
    "She stayed at her friend's house on Friday, as agreed with her foster carer.",
    "It was no surprise that she was upset after the review.",
    "Josh (14) and Amy (14): the age gap is small and neither has raised a concern.",
    "We no longer record absent rather than missing.",
]


@pytest.mark.parametrize("sentence", ROUND4_SILENT)
def test_round4_context_stays_silent(sentence: str) -> None:
    assert rules_of(sentence) == [], sentence


# Round 5: general gaps an outside evaluation found. A row per new rule (VOCABULARY_ROWS),
# and per new form of an existing rule: the guide, a sentence that must fire the rule and a
# look-alike that must fire nothing. All sentences written for these tests.
VOCABULARY_ROWS.update(
    {
        "adult-dating-a-child": (
            "NSPCC-OB",
            "A man of 27 has been seeing Holly (15) since the autumn.",
            "Holly (15) has been seeing her nan (71) every Sunday.",
        ),
        "got-themselves-involved": (
            "CSW",
            "Dev has got himself caught up with the lads who run the trap house.",
            "Dev has got himself a place on the cricket team.",
        ),
        "banter": (
            "UKCIS",
            "Staff recorded the airdropped nude as a bit of banter among the Year 9 boys.",
            "Staff and the Year 9 boys shared some banter about the cup final.",
        ),
        "trading-images": (
            "UKCIS",
            "Year 8 staff say Kiera has been trading semi-nudes over Instagram.",
            "Year 8 staff say Kiera has been trading stickers at break.",
        ),
        "wanted-it-or-not-forced": (
            "CPS",
            "Nobody made her go to the hotel; she wanted to be there.",
            "She wanted to be there for her sister's graduation.",
        ),
    }
)

# Language round 6: one row per new rule (source, a sentence that fires, a near-miss).
VOCABULARY_ROWS.update(
    {
        "sex-with-a-child": (
            "TCS-4.7",
            "The lodger had sex with Demi (14) while her mum was at work.",
            "Demi (14) was raped by the lodger while her mum was at work.",
        ),
        "abusers-as-customers": (
            "TCS24",
            "The customers who came to the hotel room were never traced; Ruby was 15.",
            "The customers at the bakery saw Ruby (15) crying and rang her mum.",
        ),
        "exploitation-as-label": (
            "NSCP",
            "Staff at the unit call Jay the CCE lad.",
            "Staff at the unit say Jay is being criminally exploited.",
        ),
        "touched-up": (
            "TCS24",
            "A stranger touched her up at the bus stop, the log says.",
            "A stranger sexually assaulted her at the bus stop, the log says.",
        ),
        "images-exchanged-with-adult": (
            "IWF",
            "Over the summer Lola and a man of 41 swapped nude photos.",
            "Over the summer a man of 41 made Lola send him nude photos.",
        ),
        "always-comes-back": (
            "CSW",
            "Reported missing twice this week, but Ivy always returns home, staff said.",
            "Ivy always returns home from school by four, staff said.",
        ),
        "relationship-called-consensual": (
            "TCS24",
            "Because Tia (14) says she loves him, the relationship was seen to be consensual.",
            "Because Tia (14) says she loves him, the man's grooming was hard to spot.",
        ),
    }
)


ROUND5_FORMS: list[tuple[str, str, str, str]] = [
    # -- 5. an adult "dating" or "seeing" a child, whoever the note names first
    (
        "adult-dating-a-child",
        "NSPCC-OB",
        "The 22-year-old man was dating Brooke, who is 14.",
        "Brooke (14) and Finn (14) were dating for a few weeks.",
    ),
    (
        "adult-dating-a-child",
        "NSPCC-OB",
        "An adult male of 26 went out with Lexi (13) last year.",
        "The adult male of 26 went out with friends; Lexi (13) stayed in.",
    ),
    (
        "adult-dating-a-child",
        "TCS24",
        "A 35-year-old woman has been seeing Rosa, aged 15.",
        "Rosa, aged 15, said the counsellor (35) has been seeing her since May.",
    ),
]


ROUND5_FORMS += [
    # -- 6. choice and consent framing
    (
        "child-as-offender",
        "LM",
        "The panel discussed his own criminality at length.",
        "The panel discussed the adults who exploit him at length.",
    ),
    (
        "got-themselves-involved",
        "TCS-4.7",
        "The police log says she got herself mixed up with the men at the garage.",
        "The log says she got herself involved with the youth club's charity walk.",
    ),
    (
        "wanted-it-or-not-forced",
        "CPS",
        "Ayo was not pressured into holding the package, the officer wrote.",
        "Ayo was not pressured into joining the football team, the coach wrote.",
    ),
    (
        "wanted-it-or-not-forced",
        "CPS",
        "He wasn't forced to work for the olders, the log says.",
        "He wasn't forced to move schools, the log says.",
    ),
    (
        "wanted-it-or-not-forced",
        "CPS",
        "The taxi driver said she wasn't dragged into the car.",
        "The driver of the taxi took her to school early.",
    ),
    (
        "wanted-it-or-not-forced",
        "TCS-4.6",
        "Staff noted she was not kept there against her will.",
        "Staff noted she was kept safe at her aunt's flat overnight.",
    ),
    (
        "live-with-consequences",
        "TCS24",
        "The exploitation is the result of his choices over the summer.",
        "The exploitation is the result of adults targeting him over the summer.",
    ),
    (
        "live-with-consequences",
        "DSCP",
        "Her decisions led to her being assaulted at the party.",
        "A man's decision to assault her at the party is the concern.",
    ),
]


ROUND5_FORMS += [
    # -- 7. a child "supplying" drugs: dealing by another name
    (
        "dealer-or-gang-member",
        "HO-CL",
        "Zane, 16, was charged with supplying class A drugs in Bangor.",
        "Zane, 16, was charged after adults used him to move class A drugs to Bangor.",
    ),
    (
        "dealer-or-gang-member",
        "LM",
        "Teachers believe he supplies pupils with weed at lunch.",
        "Teachers believe older boys give him weed at lunch.",
    ),
    (
        "dealer-or-gang-member",
        "TCS24",
        "She is a known cocaine supplier, the intelligence report says.",
        "The hospital pharmacy supplies drugs to the ward where she stayed.",
    ),
]


ROUND5_FORMS += [
    # -- 8. "banter" for image sharing or sexual harassment
    (
        "banter",
        "TCS24",
        "The head of year said the comments about her breasts were banter.",
        "The head of year said the boys get on well and enjoy a joke with staff.",
    ),
    (
        "banter",
        "NSPCC-SX",
        "Sharing the video in the group chat was only laddish banter.",
        "Sharing the video with police was the right thing to do.",
    ),
]


ROUND5_FORMS += [
    # -- 9. "trading" sexual images, with or without a price
    (
        "trading-images",
        "IM-SG",
        "He has traded explicit videos of himself in a Discord server.",
        "He has reported explicit videos of himself to the IWF.",
    ),
    (
        "goods-in-exchange",
        "TCS24",
        "She swapped topless selfies for a new phone.",
        "A man sent her a new phone and then asked her for selfies.",
    ),
]


ROUND5_FORMS += [
    # -- 10. an adjective before "gang member", "criminal", "offender" ("hardened")
    (
        "dealer-or-gang-member",
        "LM",
        "Probation describe Levi (16) as a hardened gang member.",
        "Probation describe Levi (16) as frightened of gang members.",
    ),
    (
        "dealer-or-gang-member",
        "TCS24",
        "Levi, a notorious drug dealer at 16, was remanded.",
        "Levi, aged 16, was remanded after adults made him carry drugs.",
    ),
    (
        "child-as-offender",
        "TCS22",
        "The police summary calls Levi (16) a seasoned offender.",
        "The police summary calls Levi (16) a victim of trafficking.",
    ),
    (
        "child-as-offender",
        "LM",
        "At 14 he was already a hardened criminal, the report says.",
        "At 14 he was already hardened to the violence at home, the report says.",
    ),
]


ROUND5_FORMS += [
    # -- 11. the adults who abuse a child named as buyers of sex, customers or clients
    (
        "sex-in-exchange",
        "TCS-4.7",
        "Two adults bought sexual services from Kezia (15) in a car park.",
        "Two adults were charged with raping Kezia (15) in a car park.",
    ),
    (
        "sex-in-exchange",
        "TCS-4.7",
        "A man paid cash to sleep with Kezia at the hotel.",
        "A man paid for the hotel room where Kezia was abused.",
    ),
    (
        "clients-or-customers",
        "TCS19",
        "The buyers who paid for sex with Kezia have not been traced.",
        "The men who sexually abused Kezia have not been traced.",
    ),
    (
        "clients-or-customers",
        "SAS",
        "Clients booked her through an advert on a website.",
        "Adults contacted her through an advert on a website.",
    ),
]


ROUND5_FORMS += [
    # -- 12. the child's allegation called malicious, made up or a lie
    (
        "doubting-the-child",
        "CPS",
        "The deputy head felt the complaint was malicious and closed it.",
        "The deputy head felt the complaint was serious and passed it to the DSL.",
    ),
    (
        "doubting-the-child",
        "CPS",
        "Her stepmum insists the disclosure is made up.",
        "Her stepmum insists the disclosure is passed to police.",
    ),
    (
        "doubting-the-child",
        "TCS24",
        "The carer called it an attention-seeking lie about the driver.",
        "The carer called the police about the driver.",
    ),
    (
        "doubting-the-child",
        "CPS",
        "Staff suspect she concocted the allegation after an argument.",
        "Staff suspect the driver threatened her after an argument.",
    ),
]


ROUND5_FORMS += [
    # -- 13. minimising image and online abuse, and abuse with no physical contact
    (
        "nothing-to-worry-about",
        "TCS24",
        "Dad's view is that they were only a few selfies.",
        "Dad's view is that the selfies were taken by a man in his car.",
    ),
    (
        "nothing-to-worry-about",
        "NSPCC",
        "The grooming was purely online, so the case was stepped down.",
        "The grooming started online and moved to meetings in the park.",
    ),
    (
        "nothing-to-worry-about",
        "LM",
        "Nothing physical took place, the duty worker concluded.",
        "Nothing was found at the address, the duty worker noted.",
    ),
    (
        "nothing-to-worry-about",
        "TCS24",
        "Her aunt said it was just messages, nothing more.",
        "Her aunt said the messages came from a man of 40.",
    ),
]


ROUND5_FORMS += [
    # -- more forms of the same causes
    (
        "dealer-or-gang-member",
        "HO-CL",
        "Officers believe Kobe was supplying class B.",
        "Kobe was charged with possession with intent to supply class B.",
    ),
    (
        "wanted-it-or-not-forced",
        "CPS",
        "The sergeant said Ria chose to be there.",
        "Ria likes her foster home and wants to be there.",
    ),
    (
        "doubting-the-child",
        "CPS",
        "Ria's account was judged to be exaggerated by the officer.",
        "Ria's account was judged to be consistent by the officer.",
    ),
]


# Round 6's new terms and forms (its other tests are in tests/test_language_round6.py).
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


# One test for every family-form table: the widened families, then rounds 5 and 6.
@pytest.mark.parametrize(
    ("rule", "source", "sentence", "look_alike"), FAMILY_FORMS + ROUND5_FORMS + ROUND6_FORMS
)
def test_every_family_form_fires_and_its_look_alike_does_not(
    rule: str, source: str, sentence: str, look_alike: str
) -> None:
    assert rule in rules_of(sentence), (sentence, rules_of(sentence))
    assert rules_of(look_alike) == [], (look_alike, rules_of(look_alike))
    compiled = default_rules().by_key[rule]
    sources = [part.strip().split(" ", 1)[0] for part in compiled.rule.source.split(";")]
    assert source in sources
