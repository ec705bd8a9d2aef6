"""Case-note language checker: finds wording that can be used against a child.

Seed 002 section 4.7 (The Children's Society) lists terms that must not be used when
recording child sexual or criminal exploitation, because such records have been used
against children in court. The rules live in ``knowledge/language_rules.yml`` (data, with
sources); the phrase-rule engine (`bot.core.phrases`) compiles them into spaCy Matcher
patterns, and this module decides which matches the context lets stand and reports each
finding with where it is, why it harms the child and what to consider writing instead.

It is advice, never a block: the wording says "consider", and text inside quotation marks
is never flagged, because it is what someone said and must be kept verbatim.

Public API (Rasa-independent)::

    check(text, rules=None) -> list[Finding]
    format_for_chat(findings) -> str
    load_rules(path=None) -> RuleSet

`check` never raises on any ``str``: it checks at most `MAX_CHARS` characters (the rest is
not checked; `was_truncated(text)` tells a caller to say so) in chunks of at most
`CHUNK_CHARS`.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, root_validator, validator

from bot import ROOT
from bot.core.datafile import DataFileError, load_model
from bot.core.phrases import (
    SENTENCE_WORDS,
    PhraseMatcher,
    Source,
    compile_phrase,
    entry_words,
    split_word_hyphens,
)

RULES_PATH = ROOT / "knowledge" / "language_rules.yml"

MAX_CHARS = 500_000
"""Characters checked per text (about 100 pages); the rest is not checked."""

CHUNK_CHARS = 50_000
"""Text is tokenised in pieces of at most this size, split at line breaks where possible."""

MAX_PATTERNS_PER_PHRASE = SENTENCE_WORDS.max_patterns
"""A phrase whose multi-word alternatives expand to more Matcher patterns than this is refused."""

SEVERITY_RANK = {"high": 3, "medium": 2, "low": 1}

SPELLING_MIN_LENGTH = 7
"""Only words this long get misspellings read as them: a slip in a short word is too often
another word."""

KEBAB = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SEED_FILE = re.compile(r"\b\d{3}_[0-9a-f]{16}\.txt\b")


# --------------------------------------------------------------------------- schema


class ContextTest(BaseModel):
    """One test of the words around a match (see the header of language_rules.yml)."""

    words: str | None = None
    before: int = 0
    after: int = 0
    stop_at: str | None = None
    if_first_word_in: str | None = None
    age_at_least: int | None = None
    age_below: int | None = None
    age_gap: int | None = None
    ages_within: int | None = None
    youngest_at_least: int = 0
    oldest_below: int = 18
    all_ages_at_least: int | None = None
    inside: bool = False

    class Config:
        extra = "forbid"

    @root_validator(skip_on_failure=True)
    def _one_kind(cls, values: dict[str, Any]) -> dict[str, Any]:  # noqa: N805
        names = (
            "words",
            "age_at_least",
            "age_below",
            "age_gap",
            "ages_within",
            "all_ages_at_least",
        )
        kinds = [k for k in names if values.get(k) is not None and values.get(k) != ""]
        if len(kinds) != 1:
            raise ValueError(
                "give exactly one of words, age_at_least, age_below, age_gap, ages_within,"
                " all_ages_at_least"
            )
        if values.get("words"):
            if values["before"] < 0 or values["after"] < 0:
                raise ValueError("before and after must not be negative")
            if values["before"] == 0 and values["after"] == 0 and not values.get("inside"):
                raise ValueError("a words test needs before or after (how many words to look at)")
        elif any(values.get(k) for k in ("before", "after", "stop_at", "if_first_word_in")):
            raise ValueError("before/after/stop_at/if_first_word_in only go with words")
        if values.get("inside") and not values.get("words"):
            raise ValueError("inside only goes with words")
        if values.get("youngest_at_least") and values.get("ages_within") is None:
            raise ValueError("youngest_at_least only goes with ages_within")
        if values.get("oldest_below", 18) != 18 and values.get("ages_within") is None:
            raise ValueError("oldest_below only goes with ages_within")
        return values


class Condition(BaseModel):
    """When a phrase is only harmful in context: stated in words, implemented by tests."""

    text: str
    any_of: list[ContextTest] = []
    none_of: list[ContextTest] = []

    class Config:
        extra = "forbid"

    @root_validator(skip_on_failure=True)
    def _has_tests(cls, values: dict[str, Any]) -> dict[str, Any]:  # noqa: N805
        if not values.get("any_of") and not values.get("none_of"):
            raise ValueError("a condition needs at least one test in any_of or none_of")
        if not values.get("text", "").strip():
            raise ValueError("say in words when the condition holds")
        return values


class Context(BaseModel):
    """Context that silences a term: the note refuses it, names the words themselves, or the
    words describe an adult and not the child (see the header of language_rules.yml).

    Two kinds. `cues`: a cue phrase ending at most `window` words before the term, in its
    sentence, with no `stop_at` word between (a `pseudo` phrase covering the cue is no cue);
    `cues_after`: a cue phrase starting at most `after_window` words after the term, in its
    sentence or the next ("...called him a money mule; I have corrected this").
    `adult`/`child`: the nearest person named before the term, within `window` words of its
    sentence and before any `stop_at` word, is an adult (an `adult` phrase, or an age of at
    least `adult_age`), not the child (a `child` phrase, an age under `adult_age`, or a
    capitalised name that is not in word set `not_names`). With `speaker_verbs` (a word
    set) it is the speaker who decides: the nearest person before a word like "claims" or
    "said" that comes before the term ("Dean (31) claims the sex was consensual").
    """

    text: str
    every_rule: bool = False
    cues: list[str] = []
    cues_after: list[str] = []
    after_window: int = 0
    pseudo: list[str] = []
    adult: list[str] = []
    child: list[str] = []
    adult_age: int = 18
    not_names: str | None = None
    speaker_verbs: str | None = None
    window: int = 4
    stop_at: str | None = None

    class Config:
        extra = "forbid"

    @root_validator(skip_on_failure=True)
    def _one_kind(cls, values: dict[str, Any]) -> dict[str, Any]:  # noqa: N805
        if not values.get("text", "").strip():
            raise ValueError("say in words when the context holds")
        cues = bool(values.get("cues") or values.get("cues_after"))
        people = bool(values.get("adult"))
        if cues == people:
            raise ValueError("give either cues (a cue before the term) or adult (who it describes)")
        if cues and (values.get("child") or values.get("not_names") or values.get("speaker_verbs")):
            raise ValueError("child, not_names and speaker_verbs go with adult, not with cues")
        if people and values.get("pseudo"):
            raise ValueError("pseudo goes with cues")
        if bool(values.get("cues_after")) != bool(values.get("after_window")):
            raise ValueError("cues_after and after_window go together")
        if not 0 <= values["after_window"] <= 20:
            raise ValueError("after_window must be 0 to 20 words")
        if not 0 <= values["window"] <= 12:
            raise ValueError("window must be 0 to 12 words")
        return values


class Rule(BaseModel):
    id: str
    phrases: list[str]
    alternatives: list[str]
    why: str
    source: str
    severity: Literal["high", "medium", "low"]
    condition: Condition | None = None
    silent_when: list[str] = []
    guides_differ: str | None = None

    class Config:
        extra = "forbid"

    @validator("id")
    def _kebab(cls, value: str) -> str:  # noqa: N805
        if not KEBAB.match(value):
            raise ValueError(f"{value!r} is not kebab-case (like 'putting-themselves-at-risk')")
        return value

    @validator("phrases", "alternatives")
    def _non_empty(cls, value: list[str]) -> list[str]:  # noqa: N805
        if not value or any(not item.strip() for item in value):
            raise ValueError("needs at least one entry, none of them blank")
        return value

    @validator("why", "source")
    def _text(cls, value: str) -> str:  # noqa: N805
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()


class Spelling(BaseModel):
    """Words whose common misspellings are read as the word (see the header of the rules)."""

    text: str
    words: list[str]

    class Config:
        extra = "forbid"

    @validator("words")
    def _long_single_words(cls, value: list[str]) -> list[str]:  # noqa: N805
        for word in value:
            if not re.fullmatch(rf"[a-z]{{{SPELLING_MIN_LENGTH},}}", word):
                raise ValueError(
                    f"{word!r}: one lower-case word of {SPELLING_MIN_LENGTH} letters or more"
                )
        return value


class RuleFile(BaseModel):
    sources: dict[str, Source]
    spelling: Spelling | None = None
    word_sets: dict[str, list[str]] = {}
    contexts: dict[str, Context] = {}
    rules: list[Rule]

    class Config:
        extra = "forbid"

    @validator("word_sets", pre=True)
    def _words_are_text(cls, value: Any) -> Any:  # noqa: N805
        # YAML reads unquoted on/off/yes/no as true/false and 18 as a number: say so.
        for name, words in (value or {}).items() if isinstance(value, dict) else ():
            for word in words or ():
                if not isinstance(word, str):
                    raise ValueError(f'{name}: {word!r} is not text (quote it: "{word}")')
        return value

    @validator("sources", pre=True)
    def _plain_titles(cls, value: Any) -> Any:  # noqa: N805
        if isinstance(value, dict):
            return {key: Source.of(entry) for key, entry in value.items()}
        return value

    @root_validator(skip_on_failure=True)
    def _consistent(cls, values: dict[str, Any]) -> dict[str, Any]:  # noqa: N805
        rules: list[Rule] = values["rules"]
        if not rules:
            raise ValueError("rules: no rules")
        seen: set[str] = set()
        for i, rule in enumerate(rules):
            if rule.id in seen:
                raise ValueError(f"rules[{i}].id: {rule.id!r} is used twice")
            seen.add(rule.id)
            for part in rule.source.split(";"):
                key = part.strip().split(" ", 1)[0]
                if key not in values["sources"]:
                    raise ValueError(f"rules[{i}].source: {key!r} is not in sources")
                if key.startswith("TCS-4") and not SEED_FILE.search(part):
                    raise ValueError(f"rules[{i}].source: {key} must name the seed file")
            tests = (rule.condition.any_of + rule.condition.none_of) if rule.condition else []
            for test in tests:
                for name in (test.words, test.stop_at, test.if_first_word_in):
                    if name and name not in values["word_sets"]:
                        raise ValueError(f"rules[{i}].condition: no word set {name!r}")
            for name in rule.silent_when:
                if name not in values["contexts"]:
                    raise ValueError(f"rules[{i}].silent_when: no context {name!r}")
                if values["contexts"][name].every_rule:
                    raise ValueError(f"rules[{i}].silent_when: {name!r} applies to every rule")
        for name, context in values["contexts"].items():
            if not KEBAB.match(name):
                raise ValueError(f"contexts: {name!r} is not kebab-case")
            for set_name in (context.stop_at, context.not_names, context.speaker_verbs):
                if set_name and set_name not in values["word_sets"]:
                    raise ValueError(f"contexts.{name}: no word set {set_name!r}")
        for name, words in values["word_sets"].items():
            if not words or any(not w.strip() for w in words):
                raise ValueError(f"word_sets.{name}: needs words, none blank")
        return values


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Finding:
    """One piece of wording to reconsider. Offsets index the text given to `check`."""

    start: int
    end: int
    line: int
    col: int
    text: str
    rule: str
    reason: str
    alternatives: list[str] = field(default_factory=list)
    severity: str = "medium"
    source: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "line": self.line,
            "col": self.col,
            "text": self.text,
            "rule": self.rule,
            "reason": self.reason,
            "alternatives": list(self.alternatives),
            "severity": self.severity,
            "source": self.source,
        }


# --------------------------------------------------------------------------- text helpers

_PUNCT_RUN = re.compile(r"[^\w\s]{32,}")
_SURROGATE = re.compile("[\ud800-\udfff]")
_SPACE_LIKE = re.compile(r"[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def normalise(text: str) -> str:
    """Same-length copy for matching: curly apostrophes straightened, odd spaces made plain,
    hyphens inside words made spaces ("drug-running" matches "drug running").

    Offsets stay valid because every replacement is one character for one.
    """
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u02bc", "'")
    text = split_word_hyphens(text)
    text = _SURROGATE.sub("\ufffd", text)  # spaCy cannot store lone surrogates
    text = _PUNCT_RUN.sub(lambda m: " " * len(m.group()), text)  # spaCy splits these slowly
    return _SPACE_LIKE.sub(" ", text)


def line_starts(text: str) -> list[int]:
    """Offsets where each line starts (\\r\\n, \\r and \\n all end a line)."""
    return [0] + [m.end() for m in _LINE_BREAK.finditer(text)]


def line_col(starts: list[int], offset: int) -> tuple[int, int]:
    """1-based line and column (in characters) of an offset."""
    index = bisect.bisect_right(starts, offset) - 1
    return index + 1, offset - starts[index] + 1


# --------------------------------------------------------------------------- quotations

_QUOTE_OR_BREAK = re.compile(
    "[\"'\u2018\u2019\u201c\u201d\u201e\u00ab\u00bb]|(?:\r\n|\r|\n)[^\\S\r\n]*(?:\r\n|\r|\n)"
)
_DOUBLE_CLOSERS = {
    '"': '"',
    "\u201c": '\u201d"',
    "\u201e": '\u201c\u201d"',
    "\u00ab": "\u00bb",
}
_OPEN_BEFORE = set("([{\u2014\u2013-/") | {"\u201c", '"'}
_CLOSE_AFTER = set(".,;:!?)]}\u2014\u2013-/\u201d\"'\u2019\u2026")
_ELISIONS = re.compile(
    r"(?:cause|cos|coz|em|til|till|tis|twas|n|bout|round|ere|ello|ow|appen)\b|\d0s\b",
    re.IGNORECASE,
)


def _opens(text: str, i: int) -> bool:
    prev = text[i - 1] if i > 0 else " "
    nxt = text[i + 1] if i + 1 < len(text) else " "
    return (prev.isspace() or prev in _OPEN_BEFORE) and not nxt.isspace()


def _closes(text: str, i: int) -> bool:
    prev = text[i - 1] if i > 0 else " "
    nxt = text[i + 1] if i + 1 < len(text) else " "
    return not prev.isspace() and (nxt.isspace() or nxt in _CLOSE_AFTER)


class _LineEnds:
    """Where the line holding an offset ends, by binary search (no rescanning the text)."""

    def __init__(self, text: str) -> None:
        self.ends = [m.start() for m in _LINE_BREAK.finditer(text)] + [len(text)]

    def __call__(self, offset: int) -> int:
        return self.ends[bisect.bisect_left(self.ends, offset)]


LOOKAHEAD_MARKS = 50
"""How far `_better_closer_later` looks for a later closing mark (keeps the scan linear)."""


def quoted_spans(text: str) -> list[tuple[int, int]]:
    """Character ranges [start, end) inside quotation marks (see `quotations`)."""
    return quotations(text)[0]


def quotations(text: str) -> tuple[list[tuple[int, int]], list[int]]:
    """Quoted character ranges and the offsets of the single quote marks that delimit them.

    Ranges are [start, end), quote marks included, sorted and not overlapping.

    - Double quotes: straight "..." (paired by whether each mark opens or closes), curly
      “...”, „...“ and «...». A quote left open ends at the end of its line.
    - Single quotes: '...' and ‘...’ open after a space or bracket and close before a space
      or punctuation; apostrophes inside words (she's, don't) are neither, and "girls'" only
      closes a quote when no later closing mark on the line fits better. Elisions such as
      'cause and '90s are not quotes. A single quote left open is not a quote at all.
    - No quotation runs past a blank line (a new paragraph).
    """
    spans: list[tuple[int, int]] = []
    single_marks: list[int] = []
    double_open: int | None = None
    double_kind = ""
    single_open: int | None = None
    marks = list(_QUOTE_OR_BREAK.finditer(text))
    line_end = _LineEnds(text)
    for n, match in enumerate(marks):
        i = match.start()
        ch = match.group()
        if len(ch) > 1:  # paragraph break: close what is open
            if double_open is not None:
                spans.append((double_open, line_end(double_open)))
            double_open = single_open = None
            continue
        if double_open is not None:
            if ch in _DOUBLE_CLOSERS[double_kind]:
                if ch == double_kind and _opens(text, i) and not _closes(text, i):
                    # An opening mark while one is open: the earlier quote was never closed.
                    spans.append((double_open, line_end(double_open)))
                    double_open = i
                    continue
                spans.append((double_open, i + 1))
                double_open = None
            elif ch == double_kind and ch != '"':
                spans.append((double_open, line_end(double_open)))
                double_open = i
            continue
        if ch in _DOUBLE_CLOSERS:
            if ch == '"' and _closes(text, i) and not _opens(text, i):
                continue  # a stray closing mark
            double_open, double_kind = i, ch
            continue
        if ch in "'\u2018\u2019":
            if single_open is None:
                if ch in "'\u2018" and _opens(text, i) and not _ELISIONS.match(text, i + 1):
                    single_open = i
                continue
            if ch in "'\u2019" and _closes(text, i):
                if text[i - 1] in "sS" and _better_closer_later(text, marks, n, line_end):
                    continue  # a plural possessive (girls') inside the quotation
                spans.append((single_open, i + 1))
                single_marks += [single_open, i]
                single_open = None
            elif ch in "'\u2018" and _opens(text, i) and not _ELISIONS.match(text, i + 1):
                single_open = i  # the earlier one was an apostrophe after all
    if double_open is not None:
        spans.append((double_open, line_end(double_open)))
    return _merge(spans), single_marks


def _better_closer_later(
    text: str, marks: list[re.Match[str]], n: int, line_end: _LineEnds
) -> bool:
    """Is there another closing single quote later on this line, before any opening one?

    Looks at most LOOKAHEAD_MARKS marks ahead, so a pathological line stays linear.
    """
    end = line_end(marks[n].start())
    for later in marks[n + 1 : n + 1 + LOOKAHEAD_MARKS]:
        j = later.start()
        if j >= end or len(later.group()) > 1:
            return False
        if later.group() in "'\u2018\u2019":
            if _opens(text, j) and not _closes(text, j):
                return False
            if _closes(text, j):
                return True
    return False


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _inside(spans: list[tuple[int, int]], starts: list[int], offset: int) -> bool:
    index = bisect.bisect_right(starts, offset) - 1
    return index >= 0 and spans[index][0] <= offset < spans[index][1]


def _only_framing_outside(
    ctx: _Words,
    start: int,
    end: int,
    chunk_start: int,
    quotes: list[tuple[int, int]],
    quote_starts: list[int],
) -> bool:
    """The match runs into a quotation and its words outside the quotation are only little
    words ('he is "out of control"'): the term is the quoted speaker's, so it is kept.
    ('associating with "elders"' keeps "associating" outside: that is the note's framing.)"""
    outside = [
        ctx.lower[k]
        for k in range(start, end)
        if not _inside(quotes, quote_starts, chunk_start + ctx.idx[k])
    ]
    return len(outside) < end - start and all(word in _STOP_WORDS for word in outside)


class _StopWords:
    """spaCy's English stop words, imported on first use (spaCy is heavy at start-up)."""

    _words: frozenset[str] | None = None

    def __contains__(self, word: object) -> bool:
        if self._words is None:
            from spacy.lang.en.stop_words import STOP_WORDS  # heavy: imported on first use

            type(self)._words = frozenset(STOP_WORDS)
        return word in self._words  # type: ignore[operator]


_STOP_WORDS = _StopWords()


# --------------------------------------------------------------------------- ages

_NUMBER_WORDS = {
    w: n
    for n, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen "
        "fourteen fifteen sixteen seventeen eighteen nineteen".split()
    )
}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70}
_NUM = (
    r"(\d{1,2}|(?:twenty|thirty|forty|fifty|sixty|seventy)(?:[- ](?:one|two|three|four|five|"
    r"six|seven|eight|nine))?|" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + r")"
)
_NOT_AGE_AFTER = (
    r"(?!\s*(?:am|pm|:|/|\.\d|%|th\b|st\b|nd\b|rd\b|months?|weeks?|days?|hours?|mins?|minutes?"
    r"|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|times|pounds|quid|miles|people|of\b"
    r"|noon|midday|midnight|o'clock|o’clock|ish\b|-ish))"
)
_AGE_PATTERNS = [
    re.compile(rf"\b{_NUM}\s*-?\s*(?:years?|yrs?)\s*-?\s*old\b"),
    re.compile(rf"\b{_NUM}\s*(?:yo|y/o|y\.o\.)(?!\w)"),
    re.compile(rf"\baged?\s+(?:of\s+)?{_NUM}\b{_NOT_AGE_AFTER}"),
    re.compile(
        rf"\bsince\s+(?:she|he|they|the child|the young person)\s+(?:was|were|turned)\s+{_NUM}\b"
        + _NOT_AGE_AFTER
    ),
    re.compile(rf"\b(?:since|from|at)\s+{_NUM}\b{_NOT_AGE_AFTER}"),
    re.compile(rf"\((?:aged?\s+)?{_NUM}\)"),
    re.compile(
        rf"\b(?:is|was|turned|who's|who is|who was|,|also)\s+{_NUM}(?=\s*(?:[.,;)]|$|and\b))"
    ),
    re.compile(
        rf"\b(?:man|woman|men|women|male|female|adult|person|boy|girl|lad|guy)\s+(?:of|aged)\s+"
        rf"{_NUM}\b{_NOT_AGE_AFTER}"
    ),
    re.compile(rf"\bunder\s+(?:the\s+age\s+of\s+)?{_NUM}\b{_NOT_AGE_AFTER}"),
]
_DECADE = re.compile(
    r"\bin\s+(?:his|her|their)\s+(?:early\s+|mid\s+|late\s+)?"
    r"(20s|twenties|30s|thirties|40s|forties|50s|fifties|60s|sixties)\b"
)
_DECADES = {"20s": 20, "twenties": 20, "30s": 30, "thirties": 30, "40s": 40, "forties": 40}
_DECADES |= {"50s": 50, "fifties": 50, "60s": 60, "sixties": 60}
_SCHOOL_YEAR = re.compile(r"\b(?:year|yr)\s?(\d{1,2})\b(?!\s*(?:olds?|-old))")


def _number(word: str) -> int | None:
    word = word.lower()
    if word.isdigit():
        return int(word)
    if word in _NUMBER_WORDS:
        return _NUMBER_WORDS[word]
    parts = re.split(r"[- ]", word)
    if parts[0] in _TENS:
        return _TENS[parts[0]] + (_NUMBER_WORDS.get(parts[1], 0) if len(parts) > 1 else 0)
    return None


def ages_in(sentence: str) -> list[int]:
    """Ages of people mentioned in a sentence ("her 24-year-old boyfriend" -> [24]).

    "under 13" counts as 12. A school year counts as its youngest age (Year 7 -> 11).
    "both 15" is two people aged 15.
    """
    return [age for _, age in age_mentions(sentence)]


_PAIR = re.compile(rf"\b(?:both|all)\s+(?:aged\s+)?{_NUM}\b{_NOT_AGE_AFTER}")


def age_mentions(sentence: str) -> list[tuple[int, int]]:
    """(character offset, age) of each age mentioned in a sentence, in text order."""
    lowered = sentence.lower()
    found: dict[int, int] = {}  # where the number is -> age (two patterns may find one number)
    for index, pattern in enumerate(_AGE_PATTERNS):
        for match in pattern.finditer(lowered):
            value = _number(match.group(1))
            if value is None:
                continue
            if index == len(_AGE_PATTERNS) - 1:
                value -= 1  # "under 13"
            if 1 <= value <= 99:
                found.setdefault(match.start(1), value)
    for match in _DECADE.finditer(lowered):
        found.setdefault(match.start(1), _DECADES[match.group(1)])
    for match in _SCHOOL_YEAR.finditer(lowered):
        year = int(match.group(1))
        if 1 <= year <= 13:
            found.setdefault(match.start(1), year + 4)
    mentions = sorted(found.items())
    for match in _PAIR.finditer(lowered):
        value = _number(match.group(1))
        if value is not None and 1 <= value <= 99:
            mentions += [(match.start(1), value)] * (1 if match.start(1) in found else 2)
    return sorted(mentions)


# --------------------------------------------------------------------------- spelling


def misspellings(word: str) -> set[str]:
    """The usual one-slip misspellings of a word: one letter left out, two neighbouring
    letters swapped, a letter doubled or a double letter made single, s and z confused
    ("sexualy", "recruted", "promiscous", "streetwize"). The first letter is never changed."""
    out: set[str] = set()
    for i in range(1, len(word)):
        out.add(word[:i] + word[i + 1 :])  # one left out
        out.add(word[:i] + word[i] + word[i:])  # one doubled
        if i + 1 < len(word) and word[i] != word[i + 1]:
            out.add(word[:i] + word[i + 1] + word[i] + word[i + 2 :])  # neighbours swapped
        swap = {"s": "z", "z": "s"}.get(word[i])
        if swap:
            out.add(word[:i] + swap + word[i + 1 :])
    out.discard(word)
    return out


def spelling_map(words: list[str], known: set[str]) -> dict[str, str]:
    """misspelling -> word, for each word of `words`; a misspelling that is a word the rules
    use (`known`) or that two of the words share is left alone."""
    found: dict[str, str] = {}
    shared: set[str] = set()
    for word in words:
        for slip in misspellings(word):
            if slip in known:
                continue
            if slip in found and found[slip] != word:
                shared.add(slip)
            found[slip] = word
    return {slip: word for slip, word in found.items() if slip not in shared}


def _pattern_words(patterns: list[list[dict[str, Any]]]) -> set[str]:
    words: set[str] = set()
    for pattern in patterns:
        for spec in pattern:
            value = spec.get("LOWER")
            if isinstance(value, str):
                words.add(value)
            elif isinstance(value, dict):
                words.update(value.get("IN", ()))
    return words


# --------------------------------------------------------------------------- compiling


@dataclass
class CompiledRule:
    rule: Rule
    order: int
    patterns: list[list[dict[str, Any]]]
    contexts: tuple[str, ...] = ()
    """Names of the contexts that silence this rule: every_rule ones, then its silent_when."""


@dataclass
class RuleSet:
    """Rules compiled for one spaCy vocabulary; build with `load_rules`."""

    path: Path
    rules: list[CompiledRule]
    word_sets: dict[str, frozenset[str]]
    matcher: PhraseMatcher
    nlp: Any
    by_key: dict[str, CompiledRule]
    contexts: dict[str, Context] = field(default_factory=dict)
    context_matcher: PhraseMatcher | None = None
    spelling: dict[str, str] = field(default_factory=dict)
    """misspelling -> the word it is read as (`Spelling` in the rules file)."""

    @property
    def anchors(self) -> frozenset[str] | None:
        """The anchor words of every rule (bot.core.phrases); None when the filter is off."""
        return self.matcher.anchor_words if self.matcher.filtering else None

    @anchors.setter
    def anchors(self, value: frozenset[str] | None) -> None:
        """Set None to run every rule on every sentence (tests: the filter changes nothing)."""
        self.matcher.filtering = value is not None


def load_rules(path: Path | str | None = None) -> RuleSet:
    """Read, validate and compile a rules file; every problem is a one-line DataFileError."""
    from bot.core.nlp import english  # bot.core.nlp imports spaCy without TensorFlow

    path = Path(path) if path is not None else RULES_PATH
    data = load_model(path, RuleFile)
    nlp = english()
    matcher = PhraseMatcher(nlp)
    compiled: list[CompiledRule] = []
    by_key: dict[str, CompiledRule] = {}
    for i, rule in enumerate(data.rules):
        patterns: list[list[dict[str, Any]]] = []
        for j, phrase in enumerate(rule.phrases):
            try:
                patterns += compile_phrase(phrase, data.word_sets, nlp, SENTENCE_WORDS)
            except ValueError as exc:
                raise DataFileError(f"{path}: rules[{i}].phrases[{j}]: {exc}") from None
        try:
            matcher.add(rule.id, patterns, greedy=True)
        except ValueError as exc:  # spaCy refuses a malformed pattern
            raise DataFileError(f"{path}: rules[{i}].phrases: {exc}") from None
        every = tuple(name for name, context in data.contexts.items() if context.every_rule)
        entry = CompiledRule(rule, i, patterns, contexts=every + tuple(rule.silent_when))
        compiled.append(entry)
        by_key[rule.id] = entry
    known = {w for entry in compiled for w in _pattern_words(entry.patterns)}
    context_matcher = PhraseMatcher(nlp)
    for name, context in data.contexts.items():
        for part, phrases in (
            ("cue", context.cues),
            ("after", context.cues_after),
            ("pseudo", context.pseudo),
            ("adult", context.adult),
            ("child", context.child),
        ):
            cue_patterns: list[list[dict[str, Any]]] = []
            field_name = {"cue": "cues", "after": "cues_after"}.get(part, part)
            for j, phrase in enumerate(phrases):
                try:
                    cue_patterns += compile_phrase(phrase, data.word_sets, nlp, SENTENCE_WORDS)
                except ValueError as exc:
                    where = f"{path}: contexts.{name}.{field_name}[{j}]"
                    raise DataFileError(f"{where}: {exc}") from None
            if cue_patterns:
                context_matcher.add(f"{name}:{part}", cue_patterns)
                known |= _pattern_words(cue_patterns)
    word_sets = {
        name: frozenset(" ".join(entry_words(nlp, word, SENTENCE_WORDS)) for word in words)
        for name, words in data.word_sets.items()
    }
    known |= {w for entries in word_sets.values() for entry in entries for w in entry.split()}
    spelling = spelling_map(data.spelling.words, known) if data.spelling else {}
    loaded = RuleSet(
        path=path,
        rules=compiled,
        word_sets=word_sets,
        matcher=matcher,
        nlp=nlp,
        by_key=by_key,
        contexts=dict(data.contexts),
        context_matcher=context_matcher,
        spelling=spelling,
    )
    if path == RULES_PATH:
        # Loading the shipped file (start-up checks, a reload) also refreshes what `check`
        # uses, so start-up pays the compile cost once and not the first worker's message.
        global _default
        _default = loaded
    return loaded


_default: RuleSet | None = None


def default_rules() -> RuleSet:
    """The shipped rules, loaded on first use and kept for the process."""
    return _default if _default is not None else load_rules(RULES_PATH)


# --------------------------------------------------------------------------- checking


def was_truncated(text: str) -> bool:
    """True when `check` looked at only the first MAX_CHARS characters of this text."""
    return len(text) > MAX_CHARS


_DOUBLE_MARKS = re.compile('["\u201c\u201d\u201e\u00ab\u00bb]')


def _without_quote_marks(text: str, single_marks: list[int]) -> str:
    """Quote marks become spaces (same length), so 'with "elders"' matches like 'with elders'.

    Whether a finding is inside a quotation is decided from the original text.
    """
    text = _DOUBLE_MARKS.sub(" ", text)
    if not single_marks:
        return text
    chars = list(text)
    for offset in single_marks:
        chars[offset] = " "
    return "".join(chars)


def _with_closing_mark(text: str, start: int, end: int, single_marks: set[int]) -> int:
    """'with "elders"': a match holding an opening quote mark keeps its closing mark."""
    if end >= len(text):
        return end
    if _DOUBLE_MARKS.match(text, end) and len(_DOUBLE_MARKS.findall(text, start, end)) % 2:
        return end + 1
    if end in single_marks and any(i in single_marks for i in range(start, end)):
        return end + 1
    return end


def _chunks(text: str) -> list[tuple[int, int]]:
    """Split into pieces of at most CHUNK_CHARS, at a blank line, line break or space."""
    pieces: list[tuple[int, int]] = []
    start = 0
    while start < len(text):
        end = min(start + CHUNK_CHARS, len(text))
        if end < len(text):
            window = text[start:end]
            for sep in ("\n\n", "\n", " "):
                cut = window.rfind(sep)
                if cut > CHUNK_CHARS // 2:
                    end = start + cut + len(sep)
                    break
        pieces.append((start, end))
        start = end
    return pieces


_SENTENCE_END = {".", "!", "?", "\u2026", ";"}


def _is_paragraph_break(token: Any) -> bool:
    return token.is_space and len(_LINE_BREAK.findall(token.text)) >= 2


def _sentence_ids(doc: Any) -> list[int]:
    """A sentence number per token: sentences end at . ! ? ; … and at blank lines."""
    ids: list[int] = []
    current = 0
    for token in doc:
        if _is_paragraph_break(token):
            current += 1
            ids.append(current)
            continue
        ids.append(current)
        if token.text in _SENTENCE_END:
            current += 1
    return ids


class _Words:
    """One tokenised chunk without whitespace, so patterns need no gaps for line breaks.

    `doc` holds the words and one whitespace token per blank line (no phrase runs across a
    paragraph); `idx[i]` is where token i starts in the chunk and `sent[i]` its sentence.
    """

    def __init__(self, nlp: Any, text: str, spelling: dict[str, str] | None = None) -> None:
        from spacy.tokens import Doc  # heavy: imported on first use, not at start-up

        tokenised = nlp.make_doc(text)
        sentences = _sentence_ids(tokenised)
        kept = [t for t in tokenised if not t.is_space or _is_paragraph_break(t)]
        self.text = text
        self.idx = [t.idx for t in kept]
        self.sent = [sentences[t.i] for t in kept]
        self.lengths = [len(t.text) for t in kept]
        self.lower = [t.lower_ for t in kept]
        # Sentence ends become line breaks in the Doc the Matcher sees (SENTENCE_WORDS).
        words = [SENTENCE_WORDS.as_break(t.text) for t in kept]
        if spelling:
            # A misspelt word is matched as the word ("promiscous"); offsets stay the text's.
            for i, lower in enumerate(self.lower):
                word = spelling.get(lower)
                if word is not None:
                    self.lower[i] = word
                    words[i] = word.title() if kept[i].text.istitle() else word
        self.doc = Doc(nlp.vocab, words=words)
        self._ages: dict[int, list[tuple[int, int]]] = {}
        self._bounds: dict[int, tuple[int, int]] = {}
        self.cues: dict[int, dict[str, list[tuple[int, int]]]] = {}

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Character offsets in the chunk of words [start, end)."""
        return self.idx[start], self.idx[end - 1] + self.lengths[end - 1]

    def bounds(self, index: int) -> tuple[int, int]:
        """Words [start, end) of the sentence holding word `index`."""
        sid = self.sent[index]
        if sid not in self._bounds:
            lo = hi = index
            while lo > 0 and self.sent[lo - 1] == sid:
                lo -= 1
            while hi + 1 < len(self.sent) and self.sent[hi + 1] == sid:
                hi += 1
            self._bounds[sid] = (lo, hi + 1)
        return self._bounds[sid]

    def age_words(self, index: int) -> list[tuple[int, int]]:
        """(word index, age) of each age mentioned in the sentence holding word `index`."""
        sid = self.sent[index]
        if sid not in self._ages:
            lo, hi = self.bounds(index)
            first, last = self.span(lo, hi)
            words = []
            for offset, age in age_mentions(self.text[first:last]):
                at = bisect.bisect_right(self.idx, first + offset, lo, hi) - 1
                words.append((max(at, lo), age))
            self._ages[sid] = words
        return self._ages[sid]

    def sentence_ages(self, index: int) -> list[int]:
        return [age for _, age in self.age_words(index)]

    def neighbours(
        self, start: int, end: int, before: int, after: int, stop: frozenset[str]
    ) -> list[str]:
        """Lower-cased words within `before` words before / `after` after, same sentence."""
        out: list[str] = []
        sid = self.sent[start]
        for n in range(start - 1, max(start - before, 0) - 1, -1):
            if self.sent[n] != sid or self.lower[n] in stop:
                break
            out.append(self.lower[n])
        for n in range(end, min(end - 1 + after, len(self.lower) - 1) + 1):
            if self.sent[n] != sid:
                break
            out.append(self.lower[n])
        return out


def _matches(rules: RuleSet, ctx: _Words) -> list[tuple[str, int, int]]:
    """Every rule's matches in the chunk. The engine's anchor filter runs a rule only on the
    sentences that hold one of its anchor words: most sentences of a note hold none."""
    return list(rules.matcher.find(ctx.doc, ctx.sent, ctx.lower))


def _passes(test: ContextTest, ctx: _Words, start: int, end: int, rules: RuleSet) -> bool:
    if test.age_at_least is not None:
        return any(age >= test.age_at_least for age in ctx.sentence_ages(start))
    if test.age_below is not None:
        return any(age < test.age_below for age in ctx.sentence_ages(start))
    if test.age_gap is not None:
        ages = ctx.sentence_ages(start)
        return len(ages) >= 2 and min(ages) < 18 and max(ages) - min(ages) >= test.age_gap
    if test.ages_within is not None:
        ages = ctx.sentence_ages(start)
        return (
            len(ages) >= 2
            and max(ages) < test.oldest_below
            and min(ages) < 18
            and max(ages) - min(ages) <= test.ages_within
            and min(ages) >= test.youngest_at_least
        )
    if test.all_ages_at_least is not None:
        ages = ctx.sentence_ages(start)
        return len(ages) >= 2 and min(ages) >= test.all_ages_at_least
    if (
        test.if_first_word_in
        and ctx.lower[start] not in rules.word_sets[test.if_first_word_in]
    ):
        return False
    stop = rules.word_sets[test.stop_at] if test.stop_at else frozenset()
    words = rules.word_sets[test.words or ""]
    if test.inside and any(w in words for w in ctx.lower[start:end]):
        return True
    return any(w in words for w in ctx.neighbours(start, end, test.before, test.after, stop))


def _condition_holds(
    condition: Condition | None, ctx: _Words, start: int, end: int, rules: RuleSet
) -> bool:
    if condition is None:
        return True
    if condition.any_of and not any(_passes(t, ctx, start, end, rules) for t in condition.any_of):
        return False
    return not any(_passes(t, ctx, start, end, rules) for t in condition.none_of)


def _context_cues(rules: RuleSet, ctx: _Words, sentences: set[int], names: set[str]) -> None:
    """Find the phrases of these contexts in these sentences once (ctx.cues[sid][key] =
    spans). Called once per chunk, with every context a kept match there may need: a context
    no rule of the chunk uses (one rule's own `silent_when`) is not looked for."""
    todo = sentences - set(ctx.cues)
    if not todo or rules.context_matcher is None:
        return
    for sid in todo:
        ctx.cues[sid] = {}
    keys = [key for key in rules.context_matcher.keys if key.split(":", 1)[0] in names]
    found = rules.context_matcher.find(ctx.doc, ctx.sent, ctx.lower, only=todo, keys=keys)
    for key, start, end in found:
        ctx.cues[ctx.sent[start]].setdefault(key, []).append((start, end))


def _cue_before(
    name: str, context: Context, ctx: _Words, start: int, end: int, rules: RuleSet
) -> bool:
    """A cue of `name` ends at most `window` words before the term, nothing stopping it."""
    found = ctx.cues.get(ctx.sent[start], {})
    pseudo = found.get(f"{name}:pseudo", [])
    stop = rules.word_sets[context.stop_at] if context.stop_at else frozenset()
    for cue_start, cue_end in found.get(f"{name}:cue", []):
        if cue_end > start or start - cue_end > context.window:
            continue  # after the term, inside it, or too far before it
        if any(p <= cue_start and cue_end <= q for p, q in pseudo):
            continue  # a look-alike ("not only", "not sure")
        if any(ctx.lower[k] in stop for k in range(cue_end, start)):
            continue
        return True
    return False


def _nearest_person_is_adult(
    name: str, context: Context, ctx: _Words, start: int, rules: RuleSet
) -> bool:
    """Who the words describe: the nearest person named before them in their clause."""
    found = ctx.cues.get(ctx.sent[start], {})
    who: dict[int, str] = {}
    spans = [
        (cue_start, cue_end, kind)
        for kind in ("child", "adult")
        for cue_start, cue_end in found.get(f"{name}:{kind}", [])
        if cue_end <= start  # a phrase running into the term is part of it, not its subject
    ]
    for cue_start, cue_end, kind in sorted(spans, key=lambda s: s[1] - s[0]):
        for k in range(cue_start, cue_end):
            who[k] = kind  # the longer phrase wins: "older boys" is adult, "young man" a child
    for k, age in ctx.age_words(start):
        who.setdefault(k, "adult" if age >= context.adult_age else "child")
    lo, _ = ctx.bounds(start)
    stop = rules.word_sets[context.stop_at] if context.stop_at else frozenset()
    not_names = rules.word_sets[context.not_names] if context.not_names else None
    speaker_verbs = rules.word_sets[context.speaker_verbs] if context.speaker_verbs else None
    heard = speaker_verbs is None  # with speaker verbs, people before one are not the speaker
    for k in range(start - 1, max(lo, start - context.window) - 1, -1):
        if not heard:
            if ctx.lower[k] in speaker_verbs:  # type: ignore[operator]
                heard = True
            elif ctx.lower[k] in stop:
                return False
            continue
        if k in who:
            return who[k] == "adult"
        if ctx.lower[k] in stop:
            return False
        if not_names is not None and ctx.doc[k].text.istitle() and ctx.lower[k] not in not_names:
            return False  # a name: the child
    return False


def _cue_after(name: str, context: Context, ctx: _Words, end: int) -> bool:
    """A `cues_after` phrase starts at most `after_window` words after the term, in its
    sentence or the next one."""
    sid = ctx.sent[end - 1]
    for where in (sid, _next_sentence(ctx, end - 1)):
        for cue_start, _ in ctx.cues.get(where, {}).get(f"{name}:after", []):
            if end <= cue_start and cue_start - end <= context.after_window:
                return True
    return False


def _next_sentence(ctx: _Words, index: int) -> int:
    _, hi = ctx.bounds(index)
    return ctx.sent[hi] if hi < len(ctx.sent) else -1


def _silenced(compiled: CompiledRule, ctx: _Words, start: int, end: int, rules: RuleSet) -> bool:
    for name in compiled.contexts:
        context = rules.contexts[name]
        if context.adult:
            if _nearest_person_is_adult(name, context, ctx, start, rules):
                return True
            continue
        if context.cues and _cue_before(name, context, ctx, start, end, rules):
            return True
        if context.cues_after and _cue_after(name, context, ctx, end):
            return True
    return False


def check(text: str, rules: RuleSet | None = None) -> list[Finding]:
    """Find wording to reconsider in a case note, in text order.

    Never raises on a ``str``; looks at the first MAX_CHARS characters only.
    """
    if not isinstance(text, str):
        raise TypeError(f"check() needs text (str), not {type(text).__name__}")
    rules = rules or default_rules()
    checked = text[:MAX_CHARS]
    if not checked.strip():
        return []
    quotes, single_marks = quotations(checked)
    single_set = set(single_marks)
    matchable = _without_quote_marks(normalise(checked), single_marks)
    quote_starts = [s for s, _ in quotes]
    starts = line_starts(text)
    candidates: list[tuple[int, int, CompiledRule]] = []
    for chunk_start, chunk_end in _chunks(matchable):
        piece = matchable[chunk_start:chunk_end]
        ctx = _Words(rules.nlp, piece, rules.spelling)
        kept: list[tuple[CompiledRule, int, int, int]] = []
        for key, start, end in _matches(rules, ctx):
            compiled = rules.by_key[key]
            char_start = chunk_start + ctx.span(start, end)[0]
            if _inside(quotes, quote_starts, char_start):
                continue
            if quotes and _only_framing_outside(ctx, start, end, chunk_start, quotes, quote_starts):
                continue
            if not _condition_holds(compiled.rule.condition, ctx, start, end, rules):
                continue
            kept.append((compiled, start, end, char_start))
        wanted = {ctx.sent[start] for compiled, start, _, _ in kept if compiled.contexts}
        wanted |= {
            _next_sentence(ctx, end - 1) for compiled, _, end, _ in kept if compiled.contexts
        }
        names = {name for compiled, _, _, _ in kept for name in compiled.contexts}
        _context_cues(rules, ctx, wanted - {-1}, names)
        standing = [
            (compiled, start, end)
            for compiled, start, end, _ in kept
            if not _silenced(compiled, ctx, start, end, rules)
        ]
        for compiled, start, end in _merge_near(standing, ctx, chunk_start, quotes, quote_starts):
            char_start, char_end = (chunk_start + at for at in ctx.span(start, end))
            char_end = _with_closing_mark(checked, char_start, char_end, single_set)
            candidates.append((char_start, char_end, compiled))
    findings: list[Finding] = []
    for char_start, char_end, compiled in _resolve(candidates):
        rule = compiled.rule
        line, col = line_col(starts, char_start)
        findings.append(
            Finding(
                start=char_start,
                end=char_end,
                line=line,
                col=col,
                text=text[char_start:char_end],
                rule=rule.id,
                reason=rule.why,
                alternatives=list(rule.alternatives),
                severity=rule.severity,
                source=rule.source,
            )
        )
    return findings


MERGE_GAP = 3
"""Findings of one rule this many words apart or closer, in one sentence, are one finding
("just a phase he will soon grow out of" is one piece of minimising, not two); the same
words twice stay two findings."""


def _merge_near(
    found: list[tuple[CompiledRule, int, int]],
    ctx: _Words,
    chunk_start: int,
    quotes: list[tuple[int, int]],
    quote_starts: list[int],
) -> list[tuple[CompiledRule, int, int]]:
    """Join a rule's findings that are at most MERGE_GAP words apart in one sentence, unless
    quoted words lie between them (a quotation is never part of a finding)."""
    out: list[tuple[CompiledRule, int, int]] = []
    for compiled, start, end in sorted(found, key=lambda f: (f[0].order, f[1], f[2])):
        if out:
            held, held_start, held_end = out[-1]
            if (
                held is compiled
                and ctx.sent[held_start] == ctx.sent[start]
                and ctx.lower[held_start:held_end] != ctx.lower[start:end]  # a repeat is two
                and 0 <= start - held_end <= MERGE_GAP
                and not any(
                    _inside(quotes, quote_starts, chunk_start + ctx.idx[k])
                    for k in range(held_end, start)
                )
            ):
                out[-1] = (held, held_start, max(held_end, end))
                continue
        out.append((compiled, start, end))
    return out


def _resolve(
    candidates: list[tuple[int, int, CompiledRule]],
) -> list[tuple[int, int, CompiledRule]]:
    """One finding per piece of wording: where findings share words, keep the one that
    starts first, then the more severe, then the longer ("chose to go missing" over "chose
    to go"), then the earlier rule."""
    unique = {(c[0], c[1], c[2].order): c for c in candidates}
    ranked = sorted(
        unique.values(),
        key=lambda c: (c[0], -SEVERITY_RANK[c[2].rule.severity], -(c[1] - c[0]), c[2].order),
    )
    kept: list[tuple[int, int, CompiledRule]] = []
    for cand in ranked:
        if not any(cand[0] < held[1] and held[0] < cand[1] for held in kept):
            kept.append(cand)
    return sorted(kept, key=lambda c: (c[0], c[1], c[2].order))


# --------------------------------------------------------------------------- chat


CHAT_MAX_ITEMS = 8


def _one_line(text: str) -> str:
    return " ".join(text.split())


def format_for_chat(findings: list[Finding]) -> str:
    """Short plain text for a worker on a phone: what was found, why, what to consider."""
    if not findings:
        return "Language check: nothing to change in the wording of this note."
    groups: dict[tuple[str, str], list[Finding]] = {}
    for finding in findings:
        groups.setdefault((finding.rule, _one_line(finding.text).lower()), []).append(finding)
    count = len(groups)
    lines = [
        f"Language check: consider rewording {'this phrase' if count == 1 else f'{count} phrases'}"
        " (words in quotation marks are left as said):"
    ]
    for (_rule, _text), items in list(groups.items())[:CHAT_MAX_ITEMS]:
        first = items[0]
        times = f" ({len(items)} times)" if len(items) > 1 else ""
        options = " Or: ".join(first.alternatives[:2])
        lines.append(f'- "{_one_line(first.text)}"{times}: {first.reason} Consider: {options}')
    if count > CHAT_MAX_ITEMS:
        lines.append(f"...and {count - CHAT_MAX_ITEMS} more phrase(s) like these.")
    lines.append("Keep the child's own words exactly as said, inside quotation marks.")
    return "\n".join(lines)
