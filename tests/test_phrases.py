"""The phrase-rule engine (bot/core/phrases.py): one syntax, one compiler, one anchor filter,
one Source model, shared by the danger rules and the language rules."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.core.phrases import (
    _VERDICTS_KEPT,
    SENTENCE_WORDS,
    WORDS,
    Anchors,
    PhraseMatcher,
    Source,
    anchors_of,
    check_pattern,
    compile_phrase,
    entry_words,
)


@pytest.fixture(scope="module")
def nlp():  # noqa: ANN201
    from bot.core.nlp import english

    return english()


SETS = {"pron": ["her", "him", "the baby"], "go": ["go", "goes", "went", "going back"]}


def test_words_and_groups(nlp) -> None:  # noqa: ANN001
    assert compile_phrase("keeps going missing", SETS, nlp) == [
        [{"LOWER": "keeps"}, {"LOWER": "going"}, {"LOWER": "missing"}]
    ]
    assert compile_phrase("(ran|run) off|away", SETS, nlp) == [
        [{"LOWER": {"IN": ["ran", "run"]}}, {"LOWER": {"IN": ["away", "off"]}}]
    ]
    # A word set may be one alternative among others, and entries may be several words.
    assert compile_phrase("($go|left) home", SETS, nlp) == [
        [{"LOWER": {"IN": ["go", "goes", "left", "went"]}}, {"LOWER": "home"}],
        [{"LOWER": "going"}, {"LOWER": "back"}, {"LOWER": "home"}],
    ]


def test_optional_slots_gaps_and_lemmas(nlp) -> None:  # noqa: ANN001
    [pattern] = compile_phrase("went back? to _{0,2} them", SETS, nlp)
    assert pattern[1] == {"LOWER": "back", "OP": "?"}
    assert [spec.get("OP") for spec in pattern[3:5]] == ["?", "?"]
    assert compile_phrase("~recruit $pron", SETS, nlp)[0][0] == {"LEMMA": "recruit"}
    with_absent = compile_phrase("(the|a group of)? elders", SETS, nlp)
    assert [{"LOWER": "elders"}] in with_absent and len(with_absent) == 3


def test_each_rule_file_says_what_a_wildcard_is(nlp) -> None:  # noqa: ANN001
    words = compile_phrase("a _ b", {}, nlp, WORDS)[0][1]
    sentence = compile_phrase("a _ b", {}, nlp, SENTENCE_WORDS)[0][1]
    assert words == {"IS_PUNCT": False, "IS_SPACE": False}
    # Sentence ends reach the Matcher as white space, so "not white space" is enough.
    assert sentence == {"IS_SPACE": False}
    assert "." in SENTENCE_WORDS.breaks and "," not in SENTENCE_WORDS.breaks
    assert SENTENCE_WORDS.as_break(";") == "\n" and SENTENCE_WORDS.as_break(",") == ","


def test_hyphens_split_only_where_the_text_is_split_too(nlp) -> None:  # noqa: ANN001
    assert entry_words(nlp, "drug-running", SENTENCE_WORDS) == ("drug", "running")
    assert entry_words(nlp, "drug-running", WORDS) == ("drug", "-", "running")
    assert entry_words(nlp, "Can’t", WORDS) == ("ca", "n't")
    assert entry_words(nlp, "'ve", WORDS) == ("'ve",)


@pytest.mark.parametrize(
    ("phrase", "problem"),
    [
        ("(a|b", "unbalanced '('"),
        ("(a|b", "unbalanced brackets"),
        ("a)", "unbalanced ')'"),
        ("$nope", "no word set 'nope'"),
        ("a?", "every word is optional"),
        ("x _{0,9} y", "high at most 8"),
        ("(a|)", "empty alternative"),
        ("(her|his)self", "a group must stand alone"),
        ("_ a", "cannot start or end with a wildcard"),
        ("a _{0,2}", "cannot start or end with a wildcard"),
        ("~a.b", "~lemma must be one word"),
    ],
)
def test_bad_phrases_are_explained(nlp, phrase: str, problem: str) -> None:  # noqa: ANN001
    with pytest.raises(ValueError, match=re.escape(problem)):
        compile_phrase(phrase, {}, nlp)


def test_a_phrase_may_not_expand_without_limit(nlp) -> None:  # noqa: ANN001
    many = {"s": [f"w{i} v{i}" for i in range(40)]}  # 40 x 40 patterns
    with pytest.raises(ValueError, match="expands to more than"):
        compile_phrase("$s $s", many, nlp)


def test_raw_patterns_are_checked(nlp) -> None:  # noqa: ANN001
    check_pattern(nlp, [{"LOWER": "knife"}])
    with pytest.raises(ValueError):
        check_pattern(nlp, [{"LOWRE": "knife"}])
    with pytest.raises(ValueError, match="empty"):
        check_pattern(nlp, [])


def test_anchor_is_the_rarest_required_slot() -> None:
    pattern = [{"LOWER": {"IN": ["she", "he"]}}, {"LOWER": "is", "OP": "?"}, {"LOWER": "dealing"}]
    assert anchors_of(pattern) == Anchors(frozenset({"dealing"}), frozenset())
    assert anchors_of([{"LEMMA": "recruit"}]) == Anchors(frozenset(), frozenset({"recruit"}))
    assert anchors_of([{"LIKE_NUM": True}, {"OP": "?"}]) is None
    assert anchors_of([{"LOWER": "x", "OP": "?"}, {"IS_PUNCT": False}]) is None


# --------------------------------------------------------------------------- matching


def _matcher(nlp, rules: dict[str, list[str]], syntax=WORDS) -> PhraseMatcher:  # noqa: ANN001
    matcher = PhraseMatcher(nlp)
    for key, phrases in rules.items():
        patterns = [p for phrase in phrases for p in compile_phrase(phrase, SETS, nlp, syntax)]
        matcher.add(key, patterns, greedy=True)
    return matcher


def _sentences(doc) -> list[int]:  # noqa: ANN001
    ids, current = [], 0
    for token in doc:
        ids.append(current)
        current += token.text in {".", "!", "?"}
    return ids


RULES = {
    "missing": ["keeps going missing", "keeps running away"],
    "back": ["went back? to (them|the men)"],
    "numbers": ["she is _ years"],
}


def test_a_key_runs_only_on_sentences_holding_its_anchors(nlp) -> None:  # noqa: ANN001
    matcher = _matcher(nlp, RULES)
    doc = nlp("Staff met Ava. She keeps going missing. She went to them.")
    found = matcher.find(doc, _sentences(doc))
    assert [(m.key, doc[m.start : m.end].text) for m in found] == [
        ("missing", "keeps going missing"),
        ("back", "went to them"),
    ]
    assert matcher.anchor_words == {"keeps", "went", "years"}  # the rarest word of each


def test_find_can_be_limited_to_some_keys(nlp) -> None:  # noqa: ANN001
    matcher = _matcher(nlp, RULES)
    doc = nlp("She keeps going missing. She went to them.")
    found = matcher.find(doc, _sentences(doc), keys=["back"])
    assert [(m.key, doc[m.start : m.end].text) for m in found] == [("back", "went to them")]
    assert matcher.find(doc, _sentences(doc), keys=[]) == []
    matcher.filtering = False
    try:
        assert [m.key for m in matcher.find(doc, keys=["missing"])] == ["missing"]
    finally:
        matcher.filtering = True


def test_greedy_keeps_the_longest_of_a_keys_overlapping_matches(nlp) -> None:  # noqa: ANN001
    matcher = _matcher(nlp, {"back": ["went to them", "went back? to them"]})
    doc = nlp("She went back to them.")
    assert [(m.start, m.end) for m in matcher.find(doc)] == [(1, 5)]


def test_a_key_without_anchors_runs_everywhere(nlp) -> None:  # noqa: ANN001
    matcher = PhraseMatcher(nlp)
    matcher.add("num", [[{"LOWER": "went"}, {"LIKE_NUM": True}]])
    matcher.add("any", [[{"LIKE_NUM": True}, {"OP": "?"}, {"LOWER": "times", "OP": "?"}]])
    doc = nlp("It happened. She went 3 times.")
    found = matcher.find(doc, _sentences(doc))
    assert [(m.key, m.start, m.end) for m in found if m.key == "num"] == [("num", 4, 6)]
    assert ("any", 5, 7) in found
    assert matcher.anchor_words is None
    with pytest.raises(ValueError, match="added twice"):
        matcher.add("num", [[{"LOWER": "x"}]])


WORDS_POOL = [
    "she", "keeps", "going", "missing", "running", "away", "went", "back", "to", "them",
    "the", "men", ".", "is", "16", "years", "old", "!", "and", "staff", "\n",
]  # fmt: skip


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(WORDS_POOL), max_size=40))
def test_the_anchor_filter_never_changes_what_is_found(words: list[str]) -> None:
    from bot.core.nlp import english

    nlp = english()
    matcher = _matcher(nlp, RULES, SENTENCE_WORDS)
    doc = nlp.make_doc(" ".join(words))
    sentences = _sentences(doc)
    filtered = sorted(matcher.find(doc, sentences))
    matcher.filtering = False
    try:
        unfiltered = sorted(matcher.find(doc, sentences))
    finally:
        matcher.filtering = True
    assert filtered == unfiltered


# --------------------------------------------------------------------------- sources


def test_sources_name_a_guide_or_a_seed() -> None:
    guide = Source(
        title="Appropriate language: child sexual and/or criminal exploitation",
        publisher="The Children's Society",
        url="https://example.org/guide",
        date=2022,
    )
    assert guide.date == "2022"
    assert guide.label().startswith("The Children's Society, Appropriate language")
    seed = Source(seed="002_d3f9acad92c1597f.txt", section="4.7")
    assert seed.label() == "002_d3f9acad92c1597f.txt, section 4.7"
    assert Source.of("A plain citation") == {"title": "A plain citation"}
    with pytest.raises(ValidationError, match="is not a seed file name"):
        Source(seed="policy.txt", section="1")
    with pytest.raises(ValidationError, match="names a seed file or a title"):
        Source(publisher="NSPCC")
    with pytest.raises(ValidationError, match="extra fields"):
        Source(title="x", colour="red")


def test_a_key_runs_only_where_every_required_word_of_a_pattern_is(nlp) -> None:  # noqa: ANN001
    matcher = _matcher(nlp, {"back": ["went back? to (them|the men)"]})
    group = matcher._groups["back"]
    assert group.may_match({"she", "went", "to", "them"})
    assert group.may_match({"went", "to", "the", "men"})
    assert not group.may_match({"she", "went", "home"})  # "went" alone: the Matcher is not run
    # Verdicts are remembered per set of held slots, and the memory stays bounded.
    assert group.may_match({"went", "to", "them"}) and not group.may_match({"went"})
    group.verdicts.update({-i: True for i in range(1, _VERDICTS_KEPT + 1)})
    assert not group.may_match({"to", "home"})  # a mask not seen before
    assert len(group.verdicts) == 1
    doc = nlp("She went home. Later she went back to them.")
    assert [doc[m.start : m.end].text for m in matcher.find(doc, _sentences(doc))] == [
        "went back to them"
    ]
