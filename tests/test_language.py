"""The case-note language checker: rules data, matching, quotes, context, offsets, CLI."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import ROOT
from bot.commands.cli import main
from bot.core import language
from bot.core.datafile import DataFileError
from bot.core.language import (
    CHAT_MAX_ITEMS,
    MAX_CHARS,
    RULES_PATH,
    Finding,
    ages_in,
    check,
    default_rules,
    format_for_chat,
    load_rules,
    quoted_spans,
    was_truncated,
)
from tests.conftest import SEEDS_DIR
from tests.test_language_vocab import VOCABULARY_ROWS

SEED_002 = SEEDS_DIR / "002_d3f9acad92c1597f.txt"
GUIDANCE = SEEDS_DIR.parent / "reference" / "language-guidance.md"


def rules_of(text: str) -> list[str]:
    return [f.rule for f in check(text)]


# --------------------------------------------------------------------------- coverage of sources

# Every row of the seed 002 section 4.7 table: (the term as the seed prints it, a case-note
# sentence using it that must fire, the rule, a near-miss that must stay silent).
SEED_ROWS = [
    (
        "'Putting themselves at risk'",
        "She is putting herself at risk by going to the flat.",
        "putting-themselves-at-risk",
        "She was at risk from the adults at the flat.",
    ),
    (
        "'Sexual activity with...'",
        "There was sexual activity with a 22-year-old man.",
        "sexual-activity-with",
        "The child has described sexual activity, however she may have been groomed.",
    ),
    (
        "'Sexually active since [age under 13]'",
        "She has been sexually active since she was 12.",
        "sexually-active-under-13",
        "She attended the sexual health clinic with her carer.",
    ),
    (
        "'Has been contacting adult males/females via phone or internet'",
        "She has been contacting adult males via her phone.",
        "contacting-adults",
        "Adult males may have been contacting the child via her phone.",
    ),
    (
        "'Offering him/her drugs seemingly in return for sex'",
        "Men are offering her drugs seemingly in return for sex.",
        "sex-in-exchange",
        "Men gave her drugs and then sexually abused her.",
    ),
    (
        "'In a relationship with...'",
        "She is in a relationship with a 29-year-old man.",
        "relationship-with-adult",
        "She is in a relationship with a boy in her class.",
    ),
    (
        "'Involved in CSE'",
        "Staff believe she is involved in CSE.",
        "involved-in-exploitation",
        "Staff involved in CSE strategy meetings were updated.",
    ),
    (
        "'Promiscuous'",
        "The old file describes her as promiscuous.",
        "promiscuous",
        "The old file describes the adults who abused her.",
    ),
    (
        "'Prostituting themselves'",
        "Police said she was prostituting herself.",
        "child-prostitution",
        "Police said she was being sexually exploited.",
    ),
    (
        "'Boyfriend/girlfriend'",
        "Her 24-year-old boyfriend collects her from school.",
        "boyfriend-older-or-perpetrator",
        "Mum and her boyfriend came to the review.",
    ),
    (
        "'He/she is drug running'",
        "He is drug running for a group from London.",
        "drug-running",
        "He goes to running club and is drug free.",
    ),
    (
        "'Recruit/run/work'",
        "He has been working for a gang since March.",
        "recruit-run-work",
        "His elder sister works at the shop.",
    ),
    (
        "'He/she is choosing this lifestyle'",
        "He is choosing this lifestyle.",
        "lifestyle-choice",
        "He is choosing a college course.",
    ),
    (
        "'Spending time / associating with \"elders\"'",
        'He is associating with "elders" from the estate.',
        "spending-time-with-elders",
        "He is spending time with his elder brother.",
    ),
    (
        "'Offering him/her drugs seemingly in return for sex or to run drugs'",
        "They are offering him drugs to sell drugs in Rugby.",
        "drugs-in-return-for-running",
        "He was given drugs by the men and is being criminally exploited.",
    ),
]

# Every row of the table in reference/language-guidance.md (first column -> a sentence, rule,
# near-miss).
GUIDANCE_ROWS = {
    "putting / placing themselves": (
        "Kyle keeps placing himself in dangerous situations.",
        "putting-themselves-at-risk",
        "Staff placed him in the quiet room.",
    ),
    "risky behaviour": (
        "She has a pattern of risky behaviour.",
        "risky-behaviour",
        "A risk assessment is in place.",
    ),
    "choosing / chose this lifestyle": (
        "Professionals called it a lifestyle choice.",
        "lifestyle-choice",
        "The nurse talked about a healthy lifestyle.",
    ),
    "sexual activity with": (
        "The note records sexual activity with two adults.",
        "sexual-activity-with",
        "She described sexual activity to the officer.",
    ),
    "sexually active": (
        "Mum told us she is sexually active.",
        "sexually-active",
        "She asked the school nurse about sexual health.",
    ),
    "has been contacting adult males": (
        "He has been messaging older men online.",
        "contacting-adults",
        "I called the adult social care team.",
    ),
    "sending explicit pictures to an adult": (
        "She has been sending explicit pictures to an adult.",
        "sending-explicit-images",
        "She was sent explicit pictures by an adult.",
    ),
    "offering drugs (seemingly) in return for sex": (
        "She is swapping sex for somewhere to stay.",
        "sex-in-exchange",
        "She exchanged numbers with a girl at college.",
    ),
    "in a relationship with (an adult / older person)": (
        "She is in a relationship with an older man.",
        "relationship-with-adult",
        "Mum is in a relationship with a 40-year-old man.",
    ),
    "involved in CSE / CCE / child sexual exploitation": (
        "He is involved in county lines.",
        "involved-in-exploitation",
        "Officers involved in CSE prevention work attended.",
    ),
    "promiscuous; sleeps around": (
        "Friends say she sleeps around.",
        "promiscuous",
        "She sleeps at her nan's around twice a week.",
    ),
    "prostituting themselves; child prostitute": (
        "An old report calls her a child prostitute.",
        "child-prostitution",
        "An old report calls her a victim of child sexual exploitation.",
    ),
    "boyfriend / girlfriend (for an older person or a perpetrator); older boyfriend": (
        "Her older boyfriend buys her vodka.",
        "boyfriend-older-or-perpetrator",
        "Her boyfriend is 15 and in her form group.",
    ),
    "drug running; drug runner; running drugs": (
        "He has been running drugs to Rugby.",
        "drug-running",
        "He has been running every morning.",
    ),
    "recruit / run / work (for a gang or line)": (
        "He was recruited into a gang.",
        "recruit-run-work",
        "Mum works for the council.",
    ),
    'spending time / associating with "elders"': (
        "She is spending time with older males.",
        "spending-time-with-elders",
        "She spends time with her elder sister.",
    ),
    "consented; willingly went": (
        "She willingly went to the house.",
        "consented-or-willing",
        "Mum consented to the referral.",
    ),
    "child pornography": (
        "His phone held child pornography.",
        "child-pornography",
        "His phone held indecent images of children.",
    ),
    "historical abuse": (
        "She disclosed historical abuse.",
        "historical-abuse",
        "She disclosed non-recent abuse.",
    ),
}


def test_rules_file_loads_and_every_rule_is_complete() -> None:
    rules = default_rules()
    assert len(rules.rules) >= 19
    for compiled in rules.rules:
        rule = compiled.rule
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.id)
        assert rule.alternatives and rule.why and rule.source and compiled.patterns
        assert rule.severity in {"high", "medium", "low"}
        if "TCS-4.7" in rule.source:
            assert "002_d3f9acad92c1597f.txt" in rule.source
        assert not re.search(r"\bwrong\b", rule.why.lower())


def test_seed_rows_listed_here_are_the_seed_table() -> None:
    """Guards the table above: each row it names is really in seed 002 section 4.7."""
    text = SEED_002.read_text(encoding="utf-8")
    section = text[text.index("4.7 Considerations around language") : text.index("4.8 Defining")]
    cells = [line.split("\t")[0] for line in section.splitlines() if "\t" in line]
    terms = [re.sub(r"<[^>]+>", "", c).strip() for c in cells if c.strip() and c != "--"]
    terms = [t for t in terms if t and t != "Inappropriate term"]
    assert len(terms) == len(SEED_ROWS)
    for (row, *_), term in zip(SEED_ROWS, terms, strict=True):
        assert re.sub(r"\W", "", row.lower()) in re.sub(r"\W", "", term.lower())


@pytest.mark.parametrize(("row", "sentence", "rule", "near_miss"), SEED_ROWS)
def test_every_seed_row_fires_and_its_near_miss_does_not(
    row: str, sentence: str, rule: str, near_miss: str
) -> None:
    assert rule in rules_of(sentence), row
    assert rules_of(near_miss) == [], row


def test_guidance_rows_listed_here_are_the_guidance_table() -> None:
    lines = GUIDANCE.read_text(encoding="utf-8").splitlines()
    rows = [ln for ln in lines if ln.startswith("| ") and not ln.startswith("| term to flag")]
    assert len(rows) == len(GUIDANCE_ROWS)
    for line, key in zip(rows, GUIDANCE_ROWS, strict=True):
        assert line.split("|")[1].strip().startswith(key.split(";")[0].strip())


@pytest.mark.parametrize("row", list(GUIDANCE_ROWS))
def test_every_guidance_row_fires_and_its_near_miss_does_not(row: str) -> None:
    sentence, rule, near_miss = GUIDANCE_ROWS[row]
    assert rule in rules_of(sentence), row
    assert rules_of(near_miss) == [], row


def test_every_rule_is_covered_by_a_row_test() -> None:
    tested = {r for _, _, r, _ in SEED_ROWS} | {r for _, r, _ in GUIDANCE_ROWS.values()}
    tested |= {"sexually-active", "for-attention"}  # tested below and in the corpus
    tested |= set(VOCABULARY_ROWS)  # the guides' wider vocabulary (tests/test_language_vocab.py)
    assert {c.rule.id for c in default_rules().rules} <= tested


# --------------------------------------------------------------------------- matching


@pytest.mark.parametrize("verb", ["put", "puts", "putting", "placed", "placing", "places"])
@pytest.mark.parametrize("pronoun", ["himself", "herself", "themselves", "themself"])
def test_inflections_and_pronouns(verb: str, pronoun: str) -> None:
    assert rules_of(f"The child {verb} {pronoun} at risk.") == ["putting-themselves-at-risk"]


@pytest.mark.parametrize(
    "text",
    [
        "She's putting herself at risk.",
        "She’s putting herself at risk.",
        "SHE IS PUTTING HERSELF AT RISK.",
        "She is Putting Herself At Risk.",
        "She is putting\nherself at risk.",
        "She is putting\r\nherself\r\nat risk.",
        "She is putting   herself \t at\n   risk.",
        "She is putting\u00a0herself at risk.",
        "She is putting herself at significant risk.",
    ],
)
def test_case_apostrophes_and_line_breaks(text: str) -> None:
    assert rules_of(text) == ["putting-themselves-at-risk"]


def test_whole_words_only(tmp_path: Path) -> None:
    rules_file = tmp_path / "rules.yml"
    rules_file.write_text(
        yaml.safe_dump(
            {
                "sources": {"T": "test"},
                "rules": [
                    {
                        "id": "lac",
                        "phrases": ["lac"],
                        "alternatives": ["a child in care"],
                        "why": "jargon",
                        "source": "T",
                        "severity": "low",
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    rules = load_rules(rules_file)
    assert [f.text for f in check("She is LAC.", rules)] == ["LAC"]
    assert check("Her placement is a lacrosse club; black lace.", rules) == []
    assert [f.text for f in check("lac-status and lac.", rules)] == ["lac", "lac"]


@pytest.mark.parametrize(
    "text",
    [
        "She moved placement last week.",
        "Her elder sister works at the shop.",
        "He goes to running club.",
        "She was at risk.",
        "The drugs were found by police.",
        "Staff put her at ease.",
    ],
)
def test_near_misses_stay_silent(text: str) -> None:
    assert rules_of(text) == []


# --------------------------------------------------------------------------- quotes


@pytest.mark.parametrize(
    "text",
    [
        'She said "I keep putting myself at risk".',
        "She said “I keep putting myself at risk”.",
        "She said 'I keep putting myself at risk'.",
        "She said ‘I keep putting myself at risk’.",
        "She said „I keep putting myself at risk“.",
        "She said «I keep putting myself at risk».",
        'She said "I keep putting\nmyself at risk" and cried.',
        "She said 'I don't care, I'm putting myself at risk' and left.",
        "“He’s my boyfriend, he’s 24,” she said.",
    ],
)
def test_quoted_words_are_never_flagged(text: str) -> None:
    assert check(text) == []


def test_apostrophes_are_not_quotes() -> None:
    text = "She's worried; the girls' older boyfriends don't let her go home."
    assert rules_of(text) == ["boyfriend-older-or-perpetrator"]
    assert quoted_spans(text) == []


def test_plural_possessive_inside_a_quote() -> None:
    text = "She said 'the girls' boyfriends are older' and left."
    assert quoted_spans(text) == [(9, 42)]
    assert check(text) == []


def test_elision_is_not_a_quote() -> None:
    text = "She went 'cause her older boyfriend told her to."
    assert rules_of(text) == ["boyfriend-older-or-perpetrator"]


def test_unclosed_double_quote_ends_at_the_line() -> None:
    text = 'She shouted "leave me alone\nStaff feel she is putting herself at risk.'
    assert rules_of(text) == ["putting-themselves-at-risk"]
    assert check('She shouted "I am putting myself at risk') == []


def test_many_unclosed_quotes_on_one_line() -> None:
    text = 'x "y ' * 20_000
    assert quoted_spans(text) == [(2, len(text))]
    lines = 'x "y\n' * 1_000
    assert len(quoted_spans(lines)) == 1_000


def test_unclosed_single_quote_is_not_a_quote() -> None:
    assert rules_of("Her 'friend is putting herself at risk.") == ["putting-themselves-at-risk"]


def test_quotes_do_not_run_past_a_paragraph() -> None:
    text = 'He said "go\n\nShe is putting herself at risk. "Fine," he said.'
    assert rules_of(text) == ["putting-themselves-at-risk"]


def test_outside_framing_around_a_quoted_word_is_flagged() -> None:
    text = 'He is associating with "elders" from the estate.'
    [finding] = check(text)
    assert finding.text == 'associating with "elders"'
    assert check('She said her "boyfriend" is 24.') == []


# --------------------------------------------------------------------------- context


@pytest.mark.parametrize(
    ("text", "fires"),
    [
        ("Her 24-year-old boyfriend waits outside school.", True),
        ("Her older boyfriend waits outside school.", True),
        ("The boyfriend who gives her drugs waits outside school.", True),
        ("Her boyfriend, who is 19, waits outside school.", True),
        ("Her boyfriend (19) waits outside school.", True),
        ("Her boyfriend is in his twenties.", True),
        ("She is 13 and her boyfriend is 16.", True),
        ("Mum and her boyfriend came to the review.", False),
        ("Mum's boyfriend is 35.", False),
        ("Her boyfriend is 15 and in her form group.", False),
        ("She is 14 and her boyfriend is 15.", False),
        ("Her boyfriend came to the review with her.", False),
        ("Mum told us her boyfriend is 24.", True),
        ("Ms Kaur (41) and her boyfriend (44) came to the review.", False),
        ("Tasha (14) and her boyfriend (44) came to the review.", True),
    ],
)
def test_boyfriend_only_about_an_adult_older_person_or_perpetrator(text: str, fires: bool) -> None:
    assert ("boyfriend-older-or-perpetrator" in rules_of(text)) is fires


@pytest.mark.parametrize(
    ("text", "fires"),
    [
        ("She is in a relationship with a 30-year-old.", True),
        ("She is in a relationship with an older man.", True),
        ("She is in a relationship with a man she met online.", True),
        ("She is in a relationship with a boy in her year.", False),
        ("Mum is in a relationship with a 40-year-old man.", False),
        ("The man is in a relationship with a woman from Rugby.", False),
        # two adults whose ages are given (titles or names): every age 18 or over
        ("Mr Ferris (58) is in a relationship with Mrs Dunn (55).", False),
        ("Ms Obi, 33, has been in a relationship with Mr Kerr, 36, since 2019.", False),
        ("Mr Ferris (58) is in a relationship with Lacey (16).", True),
        ("Lacey (16) is in a relationship with Mr Ferris (58).", True),
    ],
)
def test_relationship_only_with_an_adult_or_older_person(text: str, fires: bool) -> None:
    assert ("relationship-with-adult" in rules_of(text)) is fires


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("She has been sexually active since she was 12.", "sexually-active-under-13"),
        ("Aged 11, she is thought to be sexually active.", "sexually-active-under-13"),
        ("He has been sexually active since Year 7.", "sexually-active-under-13"),
        ("She is 15 and sexually active.", "sexually-active"),
        ("Mum said she is sexually active.", "sexually-active"),
        ("Her mum's partner said the man is sexually active.", None),
        # a peer whose age is given: the same age, give or take a year, from 13
        ("Kit (13) is sexually active with a girl who is also 13.", None),
        ("Kit (13) is sexually active with a girl of 16.", "sexually-active"),
        ("At 14 Kit is sexually active with a 21-year-old.", "sexually-active"),
    ],
)
def test_sexually_active_about_a_child_and_under_13(text: str, rule: str | None) -> None:
    found = rules_of(text)
    assert found == ([rule] if rule else [])
    if rule:
        assert check(text)[0].severity == ("high" if rule.endswith("13") else "medium")


def test_ages() -> None:
    assert ages_in("her 24-year-old boyfriend") == [24]
    assert ages_in("since she was 12") == [12]
    assert ages_in("Hannah, aged eleven,") == [11]
    assert ages_in("Tom (19) and Amy (14)") == [19, 14]
    assert ages_in("a man in his thirties") == [30]
    assert ages_in("since Year 7") == [11]
    assert ages_in("for 2 years since 12 October at 9am") == []
    assert ages_in("sexually active at 12.") == [12]
    assert ages_in("we met at 12 noon, then at 12:30") == []


@pytest.mark.parametrize(
    ("text", "fires"),
    [
        ("She consented to sex with him.", True),
        ("She went with them willingly.", True),
        ("She did not consent to sex.", False),
        ("She didn't agree to sex.", False),
        ("She never consented to sexual activity.", False),
        ("At 12 she is too young to consent to sex.", False),
        ("The assault was non-consensual.", False),
        ("She did not go with them willingly.", False),
        ("Mum consented to the referral.", False),
    ],
)
def test_consent_only_when_the_note_claims_it(text: str, fires: bool) -> None:
    assert ("consented-or-willing" in rules_of(text)) is fires


@pytest.mark.parametrize(
    ("text", "fires"),
    [
        ("She is putting herself at risk.", True),
        ("Staff feel she is putting herself at risk.", True),
        ("Staff must take care not to put themselves at risk.", False),
        ("I did not put myself at risk.", False),
    ],
)
def test_putting_at_risk_is_about_the_child_not_staff(text: str, fires: bool) -> None:
    assert ("putting-themselves-at-risk" in rules_of(text)) is fires


def test_passive_and_adult_senders_are_not_the_child() -> None:
    assert rules_of("She has been sending nudes to a man.") == ["sending-explicit-images"]
    assert rules_of("She has been sent nudes by a man.") == []
    assert rules_of("A man sent explicit images to her.") == []
    assert rules_of("The session covered the sharing of nude images.") == []
    assert rules_of("She has been sending nudes to boys in her class.") == []


# --------------------------------------------------------------------------- findings


def test_offsets_lines_and_columns_map_back_to_the_text() -> None:
    text = (
        "Visit 3 😟 — notes\r\n"
        "Jade is putting herself\r\nat risk, mum says.\n"
        'Her older boyfriend (24) picks her up; she said "he\'s my boyfriend".\n'
        "\u05e9\u05dc\u05d5\u05dd She is involved in CSE."
    )
    findings = check(text)
    assert [f.rule for f in findings] == [
        "putting-themselves-at-risk",
        "boyfriend-older-or-perpetrator",
        "involved-in-exploitation",
    ]
    lines = re.split(r"\r\n|\r|\n", text)
    for f in findings:
        assert text[f.start : f.end] == f.text
        assert lines[f.line - 1][f.col - 1 :].startswith(f.text.split("\r")[0])
    assert (findings[0].line, findings[0].col) == (2, 9)
    assert findings[0].text == "putting herself\r\nat risk"
    assert (findings[1].line, findings[1].col) == (4, 11)
    assert (findings[2].line, findings[2].col) == (5, 13)  # 4 Hebrew letters, a space, 'She is '


def test_finding_says_what_why_and_what_instead() -> None:
    [finding] = check("She is involved in CSE.")
    assert isinstance(finding, Finding)
    assert finding.text == "involved in CSE"
    assert "choice" in finding.reason
    assert "The child is being sexually exploited." in finding.alternatives
    assert finding.severity == "high"
    assert "TCS-4.7" in finding.source and "002_d3f9acad92c1597f.txt" in finding.source
    with pytest.raises(AttributeError):
        finding.rule = "other"  # type: ignore[misc]
    assert finding.as_dict()["alternatives"] == finding.alternatives


def test_findings_are_in_text_order_and_not_duplicated() -> None:
    text = "She is sexually active since she was 12. Her boyfriend is 30. He is drug running."
    findings = check(text)
    assert [f.start for f in findings] == sorted(f.start for f in findings)
    assert [f.rule for f in findings] == [
        "sexually-active-under-13",
        "boyfriend-older-or-perpetrator",
        "drug-running",
    ]


def test_alternatives_never_soften() -> None:
    soft = re.compile(r"\b(relationship with her boyfriend|chose|choice|consensual|willing)\b")
    for compiled in default_rules().rules:
        for alternative in compiled.rule.alternatives:
            assert not soft.search(alternative.lower()), (compiled.rule.id, alternative)


# --------------------------------------------------------------------------- chat text


def test_format_for_chat() -> None:
    text = "She is putting herself at risk. Her boyfriend (24) and her boyfriend's car."
    message = format_for_chat(check(text))
    assert message.startswith("Language check: consider rewording 2 phrases")
    assert '"putting herself at risk"' in message
    assert "(2 times)" in message
    assert "Consider:" in message and "The child may have been groomed." in message
    assert "quotation marks" in message
    assert "wrong" not in message.lower()
    assert "*" not in message and "<" not in message  # plain text


def test_format_for_chat_when_clean_and_when_long() -> None:
    assert format_for_chat([]) == "Language check: nothing to change in the wording of this note."
    long_note = " ".join(
        f"Note {n}: she is involved in CSE number {n}." if n % 2 else f"He is drug running {n}."
        for n in range(1, 30)
    )
    rules_found = {f.rule for f in check(long_note)}
    assert rules_found == {"involved-in-exploitation", "drug-running"}
    many = [
        Finding(i, i + 1, 1, i + 1, f"w{i}", f"r{i}", "why.", ["alt"], "low", "T")
        for i in range(CHAT_MAX_ITEMS + 3)
    ]
    message = format_for_chat(many)
    assert message.count("\n- ") == CHAT_MAX_ITEMS
    assert "3 more" in message


# --------------------------------------------------------------------------- rule-file errors


def _rules_yaml(tmp_path: Path, **changes: object) -> Path:
    rule = {
        "id": "test-rule",
        "phrases": ["bad word"],
        "alternatives": ["better word"],
        "why": "it harms",
        "source": "T",
        "severity": "low",
    }
    data: dict = {"sources": {"T": "test", "TCS-4.7": "seed"}, "word_sets": {}, "rules": [rule]}
    for key, value in changes.items():
        if key in rule or key == "condition":
            rule[key] = value
        else:
            data[key] = value
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"id": "Bad Id"}, "rules[0].id: 'Bad Id' is not kebab-case"),
        ({"phrases": []}, "rules[0].phrases: needs at least one entry"),
        ({"phrases": ["$nope word"]}, "rules[0].phrases[0]: no word set 'nope'"),
        ({"phrases": ["(a|b word"]}, "rules[0].phrases[0]: unbalanced brackets"),
        ({"phrases": ["word?"]}, "rules[0].phrases[0]: every word is optional"),
        ({"phrases": ["word _{0,9} word"]}, "between 1 and 5 words"),
        ({"phrases": ["word _"]}, "cannot start or end with a wildcard"),
        ({"phrases": ["(a b|c) $x"], "word_sets": {"x": ["d"]}}, None),
        ({"severity": "urgent"}, "rules[0].severity"),
        ({"source": "NOPE"}, "'NOPE' is not in sources"),
        ({"source": "TCS-4.7"}, "TCS-4.7 must name the seed file"),
        ({"colour": "red"}, "extra fields not permitted"),
        ({"condition": {"text": "x", "any_of": [{"words": "nope", "after": 2}]}}, "no word set"),
        ({"condition": {"text": "x", "any_of": [{"words": "w"}]}}, "needs before or after"),
        ({"condition": {"text": "x"}}, "at least one test"),
        (
            {"condition": {"text": "x", "none_of": [{"all_ages_at_least": 18, "after": 2}]}},
            "only go with words",
        ),
        (
            {"condition": {"text": "x", "none_of": [{"all_ages_at_least": 18, "age_gap": 3}]}},
            "give exactly one of",
        ),
    ],
)
def test_bad_rule_files_give_one_line_errors(tmp_path: Path, changes: dict, message: str) -> None:
    if "condition" in changes:
        changes["word_sets"] = {"w": ["word"]}
    path = _rules_yaml(tmp_path, **changes)
    if message is None:  # a valid file, for contrast
        [rule] = load_rules(path).rules
        assert len(rule.patterns) == 2
        return
    with pytest.raises(DataFileError) as err:
        load_rules(path)
    assert message in str(err.value)
    assert "\n" not in str(err.value)
    assert str(err.value).startswith(str(path))


def test_missing_and_broken_rule_files(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="file not found"):
        load_rules(tmp_path / "none.yml")
    broken = tmp_path / "broken.yml"
    broken.write_text("rules: [\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="broken.yml: line"):
        load_rules(broken)


def test_shipped_rules_path_and_cache() -> None:
    assert RULES_PATH == ROOT / "knowledge" / "language_rules.yml"
    loaded = load_rules()
    assert loaded.path == RULES_PATH
    assert default_rules() is loaded  # start-up's load is the one `check` uses
    assert default_rules() is default_rules()


# --------------------------------------------------------------------------- robustness


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_check_never_raises_and_offsets_are_in_the_text(text: str) -> None:
    for f in check(text):
        assert 0 <= f.start < f.end <= len(text)
        assert text[f.start : f.end] == f.text
        assert f.line >= 1 and f.col >= 1


FRAGMENTS = [
    "putting herself at risk",
    "boyfriend",
    " 24-year-old ",
    '"',
    "'",
    "“",
    "”",
    "’",
    "\n",
    "\r\n",
    "\n\n",
    "in a relationship with",
    "sexually active since she was 12",
    "drug-running",
    "mum's",
    " ",
    ".",
    "😟",
    "\u202e",
    "\x00",
    "\ud800",
    "ﷺ",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8)), max_size=40))
def test_check_on_note_like_noise(parts: list[str]) -> None:
    text = "".join(parts)
    for f in check(text):
        assert 0 <= f.start < f.end <= len(text)
        assert text[f.start : f.end] == f.text


def _without_anchor_filter(text: str) -> list[Finding]:
    rules = default_rules()
    saved, rules.anchors = rules.anchors, None
    try:
        return check(text, rules)
    finally:
        rules.anchors = saved


def test_anchor_filter_changes_nothing_on_the_corpus() -> None:
    corpus = yaml.safe_load((ROOT / "tests/data/language_corpus.yml").read_text("utf-8"))
    note = "\n".join(item["text"] for item in corpus["sentences"])
    assert default_rules().anchors
    assert check(note) == _without_anchor_filter(note)
    assert check(note.replace("\n", "\n\n")) == _without_anchor_filter(note.replace("\n", "\n\n"))


def test_looking_only_for_the_contexts_in_use_changes_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """check() looks only for the contexts its kept matches use; looking for all of them
    finds the same, sentence by sentence and in one note."""
    corpus = yaml.safe_load((ROOT / "tests/data/language_corpus.yml").read_text("utf-8"))
    texts = [item["text"] for item in corpus["sentences"]]
    texts.append("\n".join(texts))
    expected = [check(text) for text in texts]
    every = set(default_rules().contexts)
    real = language._context_cues

    def every_context(rules: object, ctx: object, sentences: set[int], _names: object) -> None:
        real(rules, ctx, sentences, every)  # type: ignore[arg-type]

    monkeypatch.setattr(language, "_context_cues", every_context)
    assert [check(text) for text in texts] == expected


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.sampled_from(FRAGMENTS + ["Staff met Jade. ", "older", " man ", "she "]), max_size=30
    )
)
def test_anchor_filter_changes_nothing(parts: list[str]) -> None:
    text = "".join(parts)
    assert check(text) == _without_anchor_filter(text)


def test_no_phrase_runs_across_a_blank_line() -> None:
    assert check("She keeps putting herself\n\nat risk.") == []
    assert rules_of("She keeps putting herself\nat risk.") == ["putting-themselves-at-risk"]


@pytest.mark.parametrize(
    "text",
    [
        "",
        " \n\t ",
        "\x00\x01\x02\x1b[31m",
        "\ud800\udfff lone surrogates",
        "مرحبا هي تضع نفسها في خطر",
        "\u202eputting herself at risk",
        "😟" * 1000,
        '"' * 5000 + "'" * 5000,
        "a" * 200_000,
    ],
    ids=lambda text: f"{len(text)}-chars-{text[:12]!r}",
)
def test_odd_inputs(text: str) -> None:
    for f in check(text):
        assert text[f.start : f.end] == f.text


def test_100_kb_note_is_checked_to_the_end() -> None:
    line = "Staff met Jade at school and talked about her week and her plans.\n"
    text = line * (100_000 // len(line)) + "She is putting herself at risk.\n"
    assert len(text) > 100_000
    findings = check(text)
    assert [f.rule for f in findings] == ["putting-themselves-at-risk"]
    assert findings[0].line == text.count("\n")


def test_text_beyond_the_cap_is_not_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    assert MAX_CHARS >= 100_000
    monkeypatch.setattr(language, "MAX_CHARS", 1_000)
    text = "x " * 500 + "She is putting herself at risk."
    assert was_truncated(text)
    assert check(text) == []
    assert not was_truncated("short")
    assert check(text[-40:])


def test_chunks_split_long_text_at_line_breaks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(language, "CHUNK_CHARS", 200)
    line = "Staff met Jade today. She is putting herself at risk.\n"
    text = line * 20
    findings = check(text)
    assert len(findings) == 20
    assert all(text[f.start : f.end] == "putting herself at risk" for f in findings)


def test_non_text_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        check(None)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- CLI

NOTE = 'Jade is putting herself\nat risk.\nShe said "he is my boyfriend".\nHer boyfriend is 24.\n'


@pytest.fixture
def note(tmp_path: Path) -> Path:
    path = tmp_path / "note.txt"
    path.write_text(NOTE, encoding="utf-8")
    return path


def test_cli_linter_lines(note: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-note", str(note)]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        f'{note}:1:9  putting-themselves-at-risk  "putting herself at risk"  '
        "-> The child may have been groomed.",
        f'{note}:4:5  boyfriend-older-or-perpetrator  "boyfriend"  '
        '-> Record who the person is, their age and the power imbalance, e.g. "a 24-year-old '
        'man who is sexually exploiting her".',
    ]
    assert "2 phrases to consider" in err


def test_cli_clean_note_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clean = tmp_path / "clean.txt"
    clean.write_text("The child may have been groomed.\n", encoding="utf-8")
    assert main(["check-note", str(clean)]) == 0
    assert capsys.readouterr().out == ""


def test_cli_json_one_file(note: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-note", "--json", str(note)]) == 1
    data = json.loads(capsys.readouterr().out)
    assert [f["rule"] for f in data["findings"]] == [
        "putting-themselves-at-risk",
        "boyfriend-older-or-perpetrator",
    ]
    first = data["findings"][0]
    assert set(first) == {
        "start", "end", "line", "col", "text", "rule", "reason", "alternatives", "severity",
        "source",
    }  # fmt: skip
    assert NOTE[first["start"] : first["end"]] == first["text"] == "putting herself\nat risk"


def test_cli_json_several_files(
    note: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clean = tmp_path / "clean.txt"
    clean.write_text("Nothing to see.", encoding="utf-8")
    assert main(["check-note", "--json", str(note), str(clean)]) == 1
    data = json.loads(capsys.readouterr().out)
    assert {f["file"] for f in data["findings"]} == {str(note)}
    assert main(["check-note", "--json", str(clean)]) == 0
    assert json.loads(capsys.readouterr().out) == {"findings": []}


def test_cli_reads_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"She sleeps around.\n")))
    assert main(["check-note"]) == 1
    assert capsys.readouterr().out.startswith('-:1:5  promiscuous  "sleeps around"')
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO("Fine. ✓\n".encode())))
    assert main(["check-note", "-"]) == 0


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d, "is a directory"),
        (lambda d: d / "missing.txt", "file not found"),
        (lambda d: (d / "latin1.txt", (d / "latin1.txt").write_bytes(b"caf\xe9"))[0], "not UTF-8"),
        (lambda d: (d / "bin.txt", (d / "bin.txt").write_bytes(b"a\x00b"))[0], "NUL bytes"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make, message: str
) -> None:
    target = make(tmp_path)
    assert main(["check-note", str(target)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
    assert err.startswith("safeguard check-note: ")


def test_cli_bad_stdin_and_bad_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"\xff\xfe\xfa")))
    assert main(["check-note"]) == 2
    assert "standard input: not UTF-8 text" in capsys.readouterr().err
    bad_rules = tmp_path / "rules.yml"
    bad_rules.write_text("sources: {}\nrules: []\n", encoding="utf-8")
    note = tmp_path / "n.txt"
    note.write_text("hello", encoding="utf-8")
    assert main(["check-note", "--rules", str(bad_rules), str(note)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "rules.yml" in err


def test_cli_help_describes_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["check-note", "--help"])
    out = capsys.readouterr().out
    assert "quotation" in out and "Exit status" in out


def test_cli_as_a_subprocess_on_stdin() -> None:
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-m", "bot.commands.cli", "check-note", "-"],
        input="Her 24-year-old boyfriend picks her up.\nShe said 'I chose this lifestyle'.\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert result.stdout == (
        '-:1:17  boyfriend-older-or-perpetrator  "boyfriend"  -> Record who the person is, '
        'their age and the power imbalance, e.g. "a 24-year-old man who is sexually '
        'exploiting her".\n'
    )
    assert "Traceback" not in result.stderr
