"""Deterministic immediate-harm detector: the floor under every urgency decision.

Every message a worker types passes through `assess`. It finds danger signs with spaCy
Matcher patterns built from ``knowledge/danger_rules.yml`` (data, each rule with its seed
source), then reads the words around each sign:

* negation ("no knife", "she is not in danger") drops a sign - but a negation that is part
  of the sign itself ("is not safe", "can't go home") is the danger, not its denial;
* non-recent time ("last year", "when she was 7", "used to") lowers an immediate sign to
  urgent, unless the same sentence also says now/tonight/today, or the message names a
  current risk ("he still lives with her", "he's coming tonight"), which raise harm to
  immediate;
* present or imminent time ("right now", "tonight", "this morning") and named means or plans
  (pills, a bridge, a flight booked) raise some urgent signs to immediate;
* a clearly hypothetical or training question ("what if a child said...", "what is FGM?"),
  or a topic heading opening a sentence ("signs of trafficking", a menu button's text), is
  routine. Anything less clear stays at the higher level: a false alarm costs a worker a
  few seconds, a missed danger can cost a child's life.

The result is a floor: a trained classifier may raise it (`raise_floor`), never lower it.

Public API (Rasa-independent)::

    assess(text) -> Assessment                # urgency, signs, reasons
    raise_floor(detected, classified) -> str  # the higher of two urgencies
    URGENCIES                                 # ("routine", "urgent", "immediate"), low to high
    load_rules(path=None) -> DangerRules      # validated data; DataFileError on a bad file
    detector() -> Detector                    # the compiled default rules (cached)
    Detector(rules).assess(text)              # the same with other rules (tests)

Call `detector()` once at start-up: compiling the rules takes a second or two, and a broken
rules file must stop start-up (DataFileError, one line), never a conversation. After that,
`assess` never raises on any ``str`` and is deterministic. It reads the first
`SCAN_LIMIT_CHARS` characters (16 KiB of characters, about 3,000 words); any sign the rules
match wholly inside them is found, and `Assessment.truncated` says when text was left unread.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, StrictStr, root_validator, validator

from bot import ROOT
from bot.core.datafile import DataFileError, load_model
from bot.core.phrases import WORDS, PhraseMatcher, Source, check_pattern, compile_phrase

if TYPE_CHECKING:
    from spacy.tokens import Doc

RULES_PATH = ROOT / "knowledge" / "danger_rules.yml"

URGENCIES: tuple[str, ...] = ("routine", "urgent", "immediate")
"""Urgency levels from lowest to highest; compare with `URGENCIES.index`."""

Urgency = Literal["routine", "urgent", "immediate"]

OUTCOMES: tuple[str, ...] = ("routine", "urgent", "ask", "immediate")
"""What the first reply does, lowest to highest. `ask`: harm is disclosed but nothing says
whether the child is at risk today or tonight, so the reply keeps the 999 line and asks one
question (the record is urgent; a yes takes the immediate path)."""

Outcome = Literal["routine", "urgent", "ask", "immediate"]

URGENCY_OF_OUTCOME: dict[str, Urgency] = {
    "routine": "routine",
    "urgent": "urgent",
    "ask": "urgent",
    "immediate": "immediate",
}

Factor = Literal[
    "acute",
    "harm",
    "now",
    "escalated",
    "contact",
    "past",
    "safe",
    "not_a_case",
    "question",
    "untimed",
]
"""The risk factors a sign is read with (knowledge/danger_rules.yml, `combine`):

acute      WHAT: the sign is danger on its own (a rule with urgency immediate)
harm       WHAT: harm that must reach the lead, whose urgency depends on when and who
now        WHEN: a present or imminent time in the sign's sentence (tonight, after school)
escalated  WHEN/WHAT: one of the rule's own escalation cues (a flight booked, pills to hand)
contact    WHO: the person who harms still has the child, or will today (collecting her,
           going home to him, waiting outside), for rules raised_by_current_risk
past       LOWERS: non-recent time in the sign's sentence (last year, when she was 6)
safe       LOWERS: it is over and the child is safe (arrested, moved away, safe at her nan's
           tonight, a safety plan in place, the account blocked)
not_a_case LOWERS (with past or safe): the worker asks about a record, a closed case, a
           policy or their own past
question   LOWERS: a hypothetical, training, definition or guidance question
untimed    the rule asks rather than guesses when nothing says when (ask_when_untimed)
"""
FACTORS: tuple[str, ...] = Factor.__args__  # type: ignore[attr-defined]

SCAN_LIMIT_CHARS = 16_384
"""Characters read per message (16 KiB of characters, about 3,000 words: four times the
longest Telegram message). Signs inside this prefix are always found; the rest is not read
and the assessment says `truncated`. The cap bounds the worst case to under two seconds
(bench/bench_triage.py)."""

MAX_SIGNS = 50
"""Signs listed per assessment (urgency is still decided from all of them)."""

LONG_RUN_CHARS = 32
"""Runs of non-space characters longer than this have their symbols spaced out before
tokenising: spaCy's tokenizer is quadratic on long runs of punctuation or emoji (65,000
'!' take minutes); real words are never this long, so no word is split."""

MAX_PATTERNS_PER_PHRASE = WORDS.max_patterns
"""A phrase whose alternatives expand to more Matcher patterns than this is refused."""

RULE_ID = re.compile(r"^[a-z][a-z0-9_]*$")
SET_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

# Characters cleaned before matching (each keeps its place so offsets point into the input).
_APOSTROPHES = dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u00b4`\uff07", "'")
_DOUBLE_QUOTES = dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"')
_DROP = set("\u200b\u200c\u200d\u2060\ufeff\u00ad\u200e\u200f\u202a\u202b\u202c\u202d\u202e")
_SENTENCE_END = {".", "!", "?", ";", "\u2026", "...", "..", "\n"}


# --------------------------------------------------------------------------- schema


def snake_case_id(value: str) -> str:
    """A rule's or a combination row's id: lower_snake_case (a reader greps for it)."""
    if not RULE_ID.match(value):
        raise ValueError(f"{value!r} must be lower_snake_case")
    return value


def not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


class CueList(BaseModel):
    """Words that change what a sign means (negation, time, hypothetical...)."""

    phrases: list[StrictStr] = []
    patterns: list[list[dict[str, Any]]] = []
    why: str = ""

    class Config:
        extra = "forbid"

    @root_validator(skip_on_failure=True)
    def _not_empty(cls, values: dict[str, Any]) -> dict[str, Any]:  # noqa: N805
        if not values.get("phrases") and not values.get("patterns"):
            raise ValueError("give at least one phrase or pattern")
        return values


class Rule(BaseModel):
    """One danger sign."""

    id: str
    sign: str
    urgency: Literal["immediate", "urgent"]
    phrases: list[StrictStr] = []
    patterns: list[list[dict[str, Any]]] = []
    exceptions: list[StrictStr] = []
    lowered_by_non_recent: bool = True
    escalate_with: list[str] = []
    escalate_scope: Literal["sentence", "message"] = "sentence"
    raised_by_current_risk: bool = False
    ask_when_untimed: bool = False
    lowered_when_safe: bool = True
    source: list[Source]
    why: str

    class Config:
        extra = "forbid"

    _id = validator("id", allow_reuse=True)(lambda cls, value: snake_case_id(value))

    _text = validator("sign", "why", allow_reuse=True)(lambda cls, value: not_blank(value))

    @validator("source")
    def _has_source(cls, value: list[Source]) -> list[Source]:  # noqa: N805
        if not value:
            raise ValueError("every rule names at least one source")
        return value

    @root_validator(skip_on_failure=True)
    def _matches_something(cls, values: dict[str, Any]) -> dict[str, Any]:  # noqa: N805
        if not values.get("phrases") and not values.get("patterns"):
            raise ValueError("give at least one phrase or pattern")
        return values


class Negation(BaseModel):
    """How negation is recognised (a NegEx-style look-back window)."""

    window: int
    cues: CueList
    pseudo: CueList
    terminators: list[StrictStr]

    class Config:
        extra = "forbid"

    @validator("window")
    def _window(cls, value: int) -> int:  # noqa: N805
        if not 1 <= value <= 10:
            raise ValueError("window must be 1 to 10 words")
        return value


class Combination(BaseModel):
    """One row of the decision table: a sign with all of `when` and none of `unless` gets
    `outcome`. Rows are read in order; the first that fits decides."""

    id: str
    when: list[Factor]
    unless: list[Factor] = []
    outcome: Outcome
    why: str

    class Config:
        extra = "forbid"

    _id = validator("id", allow_reuse=True)(lambda cls, value: snake_case_id(value))

    @validator("when")
    def _when(cls, value: list[str]) -> list[str]:  # noqa: N805
        if not value:
            raise ValueError("give at least one factor")
        return value

    _why = validator("why", allow_reuse=True)(lambda cls, value: not_blank(value))

    def fits(self, factors: set[str]) -> bool:
        return set(self.when) <= factors and not set(self.unless) & factors


class DangerRules(BaseModel):
    """The whole of knowledge/danger_rules.yml."""

    version: int
    word_sets: dict[str, list[StrictStr]] = {}
    typos: dict[str, StrictStr] = {}
    negation: Negation
    non_recent: CueList
    non_recent_pseudo: CueList
    present: CueList
    present_pseudo: CueList
    current_risk: CueList
    current_risk_pseudo: CueList
    hypothetical: CueList
    hypothetical_message: CueList
    guidance: CueList
    guidance_opening: CueList | None = None
    guidance_window: int = 3
    safe_now: CueList
    not_a_case: CueList
    escalation_cues: dict[str, CueList] = {}
    combine: list[Combination]
    rules: list[Rule]

    class Config:
        extra = "forbid"

    @validator("combine")
    def _combine(cls, value: list[Combination]) -> list[Combination]:  # noqa: N805
        seen: set[str] = set()
        for row in value:
            if row.id in seen:
                raise ValueError(f"combination id {row.id!r} is used twice")
            seen.add(row.id)
        # Every sign must get an outcome: the table ends with a row for each kind of sign.
        for kind in ("acute", "harm"):
            if not any(row.when == [kind] and not row.unless for row in value):
                raise ValueError(f"no catch-all row for {kind} signs (when: [{kind}], no unless)")
        return value

    @validator("word_sets")
    def _set_names(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:  # noqa: N805
        for name, words in value.items():
            if not SET_NAME.match(name):
                raise ValueError(f"word set name {name!r} must be lower_snake_case")
            if not words:
                raise ValueError(f"word set {name!r} is empty")
        return value

    @validator("typos")
    def _typos(cls, value: dict[str, str]) -> dict[str, str]:  # noqa: N805
        lowered: set[str] = set()
        for wrong, right in value.items():
            if not wrong.strip() or not right.strip() or wrong.strip() != wrong:
                raise ValueError(f"typo {wrong!r}: both sides must be non-empty words")
            key = wrong if wrong != wrong.lower() else wrong.lower()
            if key in lowered:
                raise ValueError(f"typo {wrong!r} is listed twice")
            lowered.add(key)
        return value

    @validator("rules")
    def _unique_ids(cls, value: list[Rule]) -> list[Rule]:  # noqa: N805
        seen: set[str] = set()
        for rule in value:
            if rule.id in seen:
                raise ValueError(f"rule id {rule.id!r} is used twice")
            seen.add(rule.id)
        if not any(rule.urgency == "immediate" for rule in value):
            raise ValueError("there must be at least one immediate rule")
        return value

    @root_validator(skip_on_failure=True)
    def _escalations_exist(cls, values: dict[str, Any]) -> dict[str, Any]:  # noqa: N805
        known = {"present"} | set(values.get("escalation_cues", {}))
        for index, rule in enumerate(values.get("rules", [])):
            for name in rule.escalate_with:
                if name not in known:
                    raise ValueError(
                        f"rules[{index}] ({rule.id}): escalate_with names unknown cue list "
                        f"{name!r} (known: {', '.join(sorted(known))})"
                    )
        return values


def load_rules(path: Path | str | None = None) -> DangerRules:
    """Read and validate the danger rules (DataFileError with one line on any problem)."""
    return load_model(path or RULES_PATH, DangerRules)


# --------------------------------------------------------------------------- result


@dataclass(frozen=True)
class Sign:
    """One danger sign found in the text; `start`/`end` index the text given to `assess`."""

    rule_id: str
    label: str
    text: str
    start: int
    end: int
    urgency: Urgency
    outcome: Outcome = "urgent"
    factors: tuple[str, ...] = ()
    combination: str = ""


@dataclass(frozen=True)
class Assessment:
    """What the detector decided and why. `outcome` is what the first reply does
    (immediate, ask, urgent or routine); `urgency` is the record's level (ask is urgent)."""

    urgency: Urgency
    signs: tuple[Sign, ...]
    reasons: tuple[str, ...]
    truncated: bool = False
    outcome: Outcome = "routine"


def raise_floor(detected: str, classified: str | None) -> str:
    """The higher of the detector's and the classifier's urgency.

    The classifier may raise urgency, never lower it. An unknown or missing classifier value
    is ignored (the detector's floor stands); an unknown `detected` is a programming error.
    """
    if detected not in URGENCIES:
        raise ValueError(f"unknown urgency {detected!r}; expected one of {', '.join(URGENCIES)}")
    if classified not in URGENCIES:
        return detected
    return max(detected, classified, key=URGENCIES.index)


# --------------------------------------------------------------------------- text cleaning


class _Mapped:
    """Text being cleaned, with each character's span in the original input."""

    __slots__ = ("text", "starts", "ends")

    def __init__(self, text: str, starts: list[int], ends: list[int]) -> None:
        self.text = text
        self.starts = starts
        self.ends = ends

    @classmethod
    def of(cls, text: str) -> _Mapped:
        return cls(text, list(range(len(text))), list(range(1, len(text) + 1)))

    def sub(self, pattern: re.Pattern[str], replace: Any) -> _Mapped:
        """Replace matches; each replacement character maps to the whole replaced span."""
        pieces: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        last = 0
        for match in pattern.finditer(self.text):
            a, b = match.span()
            new = replace(match)
            if a == b or new == match.group():
                continue
            pieces.append(self.text[last:a])
            starts.extend(self.starts[last:a])
            ends.extend(self.ends[last:a])
            span_start = self.starts[a] if a < len(self.starts) else self._end()
            span_end = self.ends[b - 1]
            pieces.append(new)
            starts.extend([span_start] * len(new))
            ends.extend([span_end] * len(new))
            last = b
        if not pieces:
            return self
        pieces.append(self.text[last:])
        starts.extend(self.starts[last:])
        ends.extend(self.ends[last:])
        return _Mapped("".join(pieces), starts, ends)

    def _end(self) -> int:
        return self.ends[-1] if self.ends else 0

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of cleaned characters [start, end)."""
        if start >= end:
            return self.starts[start] if start < len(self.starts) else self._end(), self._end()
        return self.starts[start], self.ends[end - 1]


def _clean_char(char: str) -> str:
    if char in _APOSTROPHES:
        return "'"
    if char in _DOUBLE_QUOTES:
        return '"'
    if char in _DROP:
        return ""
    if char in "\r\n\u2028\u2029\x85\x0b\x0c":
        return "\n"
    category = unicodedata.category(char)
    if category[0] == "C" or category == "Zs":
        return " "
    return unicodedata.normalize("NFKC", char).lower()


_ASCII_CONTROLS = {code: " " for code in range(32) if chr(code) not in "\n\r\x0b\x0c"}
_ASCII_CONTROLS.update({ord("\r"): "\n", 0x0B: "\n", 0x0C: "\n", 0x7F: " ", ord("`"): "'"})


def _clean(text: str) -> _Mapped:
    """Lower-case, NFKC, straight quotes, no control or invisible characters."""
    if text.isascii():
        return _Mapped.of(text.translate(_ASCII_CONTROLS).lower())
    pieces: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for index, char in enumerate(text):
        new = _clean_char(char)
        pieces.append(new)
        starts.extend([index] * len(new))
        ends.extend([index + 1] * len(new))
    return _Mapped("".join(pieces), starts, ends)


_WRAPPING_QUOTE = re.compile(r"(?<!\w)'(?=\w)|(?<=\w)'(?!\w)|\"")
_LONG_RUN = re.compile(r"\S{" + str(LONG_RUN_CHARS + 1) + ",}")
_SYMBOL = re.compile(r"([^\w'])")


def _space_long_runs(mapped: _Mapped) -> _Mapped:
    """Put spaces around symbols inside very long runs; each character keeps its origin."""
    runs = list(_LONG_RUN.finditer(mapped.text))
    if not runs:
        return mapped
    pieces: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    last = 0
    for run in runs:
        a, b = run.span()
        pieces.append(mapped.text[last:a])
        starts.extend(mapped.starts[last:a])
        ends.extend(mapped.ends[last:a])
        for index in range(a, b):
            char = mapped.text[index]
            origin = (mapped.starts[index], mapped.ends[index])
            if _SYMBOL.match(char):
                pieces.append(f" {char} ")
                starts.extend((origin[0], origin[0], origin[1]))
                ends.extend((origin[0], origin[1], origin[1]))
            else:
                pieces.append(char)
                starts.append(origin[0])
                ends.append(origin[1])
        last = b
    pieces.append(mapped.text[last:])
    starts.extend(mapped.starts[last:])
    ends.extend(mapped.ends[last:])
    return _Mapped("".join(pieces), starts, ends)


# --------------------------------------------------------------------------- phrases

# The phrase syntax, its compiler and the anchor filter live in bot.core.phrases (one engine
# for every rule file); `compile_phrase` is re-exported here with the danger rules' syntax
# (WORDS: `_` is any word, never punctuation), its default.
__all__ = ["compile_phrase", "Source"]


# --------------------------------------------------------------------------- detector


@dataclass(frozen=True)
class _Span:
    start: int
    end: int


@dataclass
class _Sentence:
    start: int
    end: int


class Detector:
    """Compiled danger rules. Build once (`detector()` caches the default); reuse."""

    def __init__(self, rules: DangerRules, source: str = "danger rules") -> None:
        from bot.core.nlp import english  # first: it imports spaCy without loading TensorFlow

        self.nlp = english()
        self.rules = rules
        # One engine for every rule file (bot.core.phrases): a key's patterns run only on the
        # sentences holding one of its anchor words, so the cost follows the danger words
        # present, not every pattern in the file (see bench/bench_triage.py).
        self.phrases = PhraseMatcher(self.nlp)
        self.terminators = {word.lower() for word in rules.negation.terminators}
        # Subject words end a topic heading's clause (guidance_opening).
        self.subjects = {word.lower() for word in rules.word_sets.get("subj", ())}
        self._typo_regex, self._typo_exact, self._typo_folded = self._compile_typos(rules.typos)

        self._add(f"{source}: negation.cues", "cue:negation", rules.negation.cues)
        self._add(f"{source}: negation.pseudo", "cue:pseudo", rules.negation.pseudo)
        for name in (
            "non_recent",
            "non_recent_pseudo",
            "present",
            "present_pseudo",
            "current_risk",
            "current_risk_pseudo",
            "safe_now",
            "not_a_case",
            "hypothetical",
            "guidance",
        ):
            self._add(f"{source}: {name}", f"cue:{name}", getattr(rules, name))
        self._add(
            f"{source}: hypothetical_message",
            "cue:hypothetical_message",
            rules.hypothetical_message,
        )
        if rules.guidance_opening is not None:
            self._add(f"{source}: guidance_opening", "cue:guidance_opening", rules.guidance_opening)
        for name, cues in rules.escalation_cues.items():
            self._add(f"{source}: escalation_cues.{name}", f"cue:{name}", cues)
        for index, rule in enumerate(rules.rules):
            where = f"{source}: rules[{index}] ({rule.id})"
            self._add_phrases(where, f"rule:{rule.id}", rule.phrases, rule.patterns)
            if rule.exceptions:
                self._add_phrases(f"{where}.exceptions", f"except:{rule.id}", rule.exceptions, [])

    # -- building

    def _add(self, where: str, key: str, cues: CueList) -> None:
        self._add_phrases(where, key, cues.phrases, cues.patterns)

    def _add_phrases(
        self, where: str, key: str, phrases: list[str], patterns: list[list[dict[str, Any]]]
    ) -> None:
        compiled: list[list[dict[str, Any]]] = []
        for index, phrase in enumerate(phrases):
            try:
                compiled.extend(compile_phrase(phrase, self.rules.word_sets, self.nlp, WORDS))
            except ValueError as exc:
                raise DataFileError(f"{where}: phrase {index} {phrase!r}: {exc}") from None
        # Phrases compile to well-formed patterns; raw `patterns` from the data file are
        # checked once by a validating Matcher (validating every pattern is slow).
        for index, pattern in enumerate(patterns):
            if not pattern:
                raise DataFileError(f"{where}: pattern {index} is empty")
            try:
                check_pattern(self.nlp, pattern)
            except ValueError as exc:
                raise DataFileError(f"{where}: bad Matcher pattern {index}: {exc}") from None
            compiled.append(pattern)
        try:
            self.phrases.add(key, compiled)
        except ValueError as exc:
            raise DataFileError(f"{where}: bad Matcher pattern: {exc}") from None

    def matches(
        self, doc: Doc, sentence_of: list[int] | None = None
    ) -> Iterator[tuple[str, int, int]]:
        """(key, start, end) of every pattern match in `doc` (`sentence_of`: each token's
        sentence number; a key runs only on sentences holding one of its anchors)."""
        yield from self.phrases.find(doc, sentence_of)

    @staticmethod
    def _compile_typos(
        typos: dict[str, str],
    ) -> tuple[re.Pattern[str] | None, dict[str, str], dict[str, str]]:
        # Lower-case entries match any case; entries with capitals ("ODd") match only that
        # case, because their lower-case form is an ordinary word ("odd").
        exact = {wrong: right for wrong, right in typos.items() if wrong != wrong.lower()}
        folded = {wrong: right for wrong, right in typos.items() if wrong == wrong.lower()}
        if not typos:
            return None, exact, folded
        parts = [re.escape(w) for w in sorted(exact, key=len, reverse=True)]
        parts += [f"(?i:{re.escape(w)})" for w in sorted(folded, key=len, reverse=True)]
        regex = re.compile(r"(?<![\w'])(?:" + "|".join(parts) + r")(?![\w'])")
        return regex, exact, folded

    # -- running

    def _prepare(self, text: str) -> _Mapped:
        mapped = _Mapped.of(text)
        # Typos are fixed before lower-casing so that case-sensitive entries can be honoured;
        # quotes are straightened first so "can’t" and "can't" are the same word.
        if not text.isascii():
            mapped = mapped.sub(re.compile("[" + "".join(_APOSTROPHES) + "]"), lambda m: "'")
        if self._typo_regex is not None:
            mapped = mapped.sub(self._typo_regex, self._fix_typo)
        cleaned = _clean(mapped.text)
        if not mapped.text.isascii():
            mapped = _Mapped(
                cleaned.text,
                [mapped.starts[i] for i in cleaned.starts],
                [mapped.ends[i - 1] for i in cleaned.ends],
            )
        else:
            mapped = _Mapped(cleaned.text, mapped.starts, mapped.ends)
        # Quote marks around words ("he'd 'finish him' tonight", a child's "secret games")
        # say whose words they are, not what happened: read the words inside as words.
        # Apostrophes inside a word ("he's", "can't") are kept.
        return _space_long_runs(mapped.sub(_WRAPPING_QUOTE, lambda m: ""))

    def _fix_typo(self, match: re.Match[str]) -> str:
        found = match.group()
        if found in self._typo_exact:
            return self._typo_exact[found]
        return self._typo_folded.get(found.lower(), found)

    def assess(self, text: str) -> Assessment:
        """Assess one message. Never raises on a str; deterministic."""
        if not isinstance(text, str):
            raise TypeError(f"assess() takes a str, not {type(text).__name__}")
        truncated = len(text) > SCAN_LIMIT_CHARS
        original = text[:SCAN_LIMIT_CHARS]
        mapped = self._prepare(original)
        doc = self.nlp(mapped.text)
        return _Reader(self, doc, mapped, original, truncated).assess()


class _Reader:
    """The reading of one message (its matches, sentences and cues)."""

    def __init__(
        self, detector: Detector, doc: Doc, mapped: _Mapped, original: str, truncated: bool
    ) -> None:
        self.detector = detector
        self.rules = detector.rules
        self.doc = doc
        self.mapped = mapped
        self.original = original
        self.truncated = truncated
        self.sentences, self.sentence_of = self._sentences()
        self.cues: dict[str, list[_Span]] = {}
        self.rule_spans: dict[str, list[_Span]] = {}
        self.exceptions: dict[str, list[_Span]] = {}
        numbers = {id(sentence): n for n, sentence in enumerate(self.sentences)}
        sentence_numbers = [numbers[id(sentence)] for sentence in self.sentence_of]
        for key, start, end in detector.matches(doc, sentence_numbers):
            kind, _, name = key.partition(":")
            target = {"cue": self.cues, "rule": self.rule_spans, "except": self.exceptions}[kind]
            target.setdefault(name, []).append(_Span(start, end))
        # Look-alikes cancel the cues they contain ("not sure" is no negation; "told me
        # today" dates the telling, not the harm).
        # A negation inside a danger sign is part of that danger ("can't go home", "not
        # safe"), so it negates nothing else.
        signs = [span for spans in self.rule_spans.values() for span in spans]
        self.cues["negation"] = [
            cue
            for cue in self.cues.get("negation", ())
            if not any(s.start <= cue.start and cue.end <= s.end for s in signs)
        ]
        # A topic heading that opens a sentence ("signs of trafficking", a menu button's
        # text) makes that sentence a question about the topic; the same words mid-sentence
        # ("she shows signs of neglect") are an observation and stay a sign.
        self.cues["guidance_opening"] = [
            cue
            for cue in self.cues.get("guidance_opening", ())
            if cue.start == self._sentence_start(cue.start)
        ]
        for cue_name, pseudo_name in (
            ("negation", "pseudo"),
            ("present", "present_pseudo"),
            ("non_recent", "non_recent_pseudo"),
            ("current_risk", "current_risk_pseudo"),
        ):
            pseudo = self.cues.get(pseudo_name, ())
            self.cues[cue_name] = [
                cue
                for cue in self.cues.get(cue_name, ())
                if not any(p.start <= cue.start and cue.end <= p.end for p in pseudo)
            ]

    def _sentence_start(self, token: int) -> int:
        """The index of the first word of the sentence holding `token`."""
        return self.sentence_of[token].start

    def _sentences(self) -> tuple[list[_Sentence], list[_Sentence]]:
        """The sentences, and the sentence of each token: split at . ! ? ; and line breaks."""
        sentences: list[_Sentence] = []
        of_token: list[_Sentence] = []
        current = _Sentence(0, 0)
        for token in self.doc:
            of_token.append(current)
            text = token.text
            if text in _SENTENCE_END or "\n" in text or (token.is_punct and text[:1] in ".!?"):
                current.end = token.i + 1
                sentences.append(current)
                current = _Sentence(token.i + 1, token.i + 1)
        if current.start < len(self.doc):
            current.end = len(self.doc)
            sentences.append(current)
        return sentences, of_token

    # -- cue tests

    def _in_sentence(self, name: str, sentence: _Sentence) -> list[_Span]:
        return [s for s in self.cues.get(name, ()) if sentence.start <= s.start < sentence.end]

    def _negated_by(self, span: _Span) -> _Span | None:
        """The negation cue in the look-back window before `span`, if any."""
        sentence = self.sentence_of[span.start] if span.start < len(self.doc) else None
        if sentence is None:
            return None
        floor = max(sentence.start, span.start - self.rules.negation.window)
        for index in range(span.start - 1, floor - 1, -1):
            if self.doc[index].lower_ in self.detector.terminators:
                floor = index + 1
                break
        for cue in self.cues.get("negation", ()):
            if cue.start >= floor and cue.end <= span.start:
                return cue
        return None

    def _live(self, name: str, spans: Iterable[_Span]) -> list[_Span]:
        """Cue spans of `name` that are not themselves negated ("no longer lives with")."""
        return [span for span in spans if self._negated_by(span) is None]

    def _quote(self, span: _Span) -> str:
        start, end = self._original_span(span)
        return self.original[start:end].strip()

    def _original_span(self, span: _Span) -> tuple[int, int]:
        if span.start >= len(self.doc):
            return len(self.original), len(self.original)
        char_start = self.doc[span.start].idx
        last = self.doc[span.end - 1]
        char_end = last.idx + len(last.text)
        return self.mapped.span(char_start, char_end)

    # -- the decision

    def assess(self) -> Assessment:
        reasons: list[str] = []
        signs: list[Sign] = []
        # Cues read across the whole message (the others are read in the sign's sentence).
        message = {
            name: self._live(name, self.cues.get(name, ()))
            for name in ("current_risk", "safe_now", "not_a_case", "hypothetical_message")
        }
        for rule in self.rules.rules:
            if rule.id not in self.rule_spans:
                continue  # most rules find nothing in a message: no generator, no sort
            for span in self._best_spans(rule):
                sign = self._resolve(rule, span, message, reasons)
                if sign is not None:
                    signs.append(sign)
        signs.sort(key=lambda s: (-OUTCOMES.index(s.outcome), s.start, s.rule_id))
        outcome: Outcome = "routine"
        for sign in signs:
            if OUTCOMES.index(sign.outcome) > OUTCOMES.index(outcome):
                outcome = sign.outcome
        if self.truncated:
            reasons.append(f"only the first {SCAN_LIMIT_CHARS:,} characters were read")
        if not signs:
            reasons.append("no danger sign found")
        return Assessment(
            urgency=URGENCY_OF_OUTCOME[outcome],
            signs=tuple(signs[:MAX_SIGNS]),
            reasons=tuple(_unique(reasons)),
            truncated=self.truncated,
            outcome=outcome,
        )

    def _best_spans(self, rule: Rule) -> Iterator[_Span]:
        """Matches of one rule, longest first, no two overlapping, minus its exceptions."""
        spans = sorted(
            self.rule_spans.get(rule.id, ()), key=lambda s: (-(s.end - s.start), s.start)
        )
        taken: list[_Span] = []
        excepted = self.exceptions.get(rule.id, ())
        for span in spans:
            if any(span.start < t.end and t.start < span.end for t in taken):
                continue
            if any(span.start < e.end and e.start < span.end for e in excepted):
                continue
            taken.append(span)
        yield from sorted(taken, key=lambda s: s.start)

    def _resolve(
        self,
        rule: Rule,
        span: _Span,
        message: dict[str, list[_Span]],
        reasons: list[str],
    ) -> Sign | None:
        quote = self._quote(span)
        negation = self._negated_by(span)
        if negation is not None:
            reasons.append(f"'{quote}' is negated by '{self._quote(negation)}', so not counted")
            return None
        factors, evidence = self._factors(rule, span, message)
        row = next(row for row in self.rules.combine if row.fits(factors))
        cues = ", ".join(f"{name} '{self._quote(cue)}'" for name, cue in evidence.items())
        label = "a question, not a case" if row.outcome == "routine" else rule.sign
        reasons.append(f"{label}: '{quote}'" + (f" with {cues}" if cues else "") + f" - {row.why}")
        start, end = self._original_span(span)
        return Sign(
            rule_id=rule.id,
            label=rule.sign,
            text=self.original[start:end],
            start=start,
            end=end,
            urgency=URGENCY_OF_OUTCOME[row.outcome],
            outcome=row.outcome,
            factors=tuple(sorted(factors)),
            combination=row.id,
        )

    def _factors(
        self,
        rule: Rule,
        span: _Span,
        message: dict[str, list[_Span]],
    ) -> tuple[set[str], dict[str, _Span]]:
        """The factors this sign is read with, and the cue behind each (for the reasons)."""
        sentence = self.sentence_of[span.start]
        factors: set[str] = {"acute" if rule.urgency == "immediate" else "harm"}
        evidence: dict[str, _Span] = {}

        def found(name: str, cue: _Span | None) -> None:
            if cue is not None:
                factors.add(name)
                evidence[name] = cue

        present = self._live("present", self._in_sentence("present", sentence))
        found("now", present[0] if present else None)
        if rule.escalate_with:
            found("escalated", self._escalation(rule, sentence))

        def first(name: str) -> _Span | None:
            return message[name][0] if message[name] else None

        if rule.raised_by_current_risk:
            found("contact", first("current_risk"))
        if rule.lowered_by_non_recent:
            past = self._in_sentence("non_recent", sentence)
            found("past", past[0] if past else None)
            found("not_a_case", first("not_a_case"))
        if rule.lowered_by_non_recent and rule.lowered_when_safe:
            found("safe", first("safe_now"))
        found("question", self._hypothetical(span, sentence) or first("hypothetical_message"))
        if rule.ask_when_untimed:
            factors.add("untimed")
        return factors, evidence

    def _escalation(self, rule: Rule, sentence: _Sentence) -> _Span | None:
        for name in rule.escalate_with:
            spans = self.cues.get(name, ())
            if rule.escalate_scope == "sentence" or name == "present":
                spans = [s for s in spans if sentence.start <= s.start < sentence.end]
            live = self._live(name, spans)
            if live:
                return live[0]
        return None

    def _hypothetical(self, span: _Span, sentence: _Sentence) -> _Span | None:
        for cue in self._in_sentence("hypothetical", sentence):
            if cue.start <= span.start:
                return cue
        for cue in self._in_sentence("guidance_opening", sentence):
            # A heading that holds the sign ("is cuckooing ...?") asks about it.
            if cue.start <= span.start < cue.end:
                return cue
            # The heading covers its own clause: "signs of abuse: he has a knife" is a report.
            # So does a new subject: "signs of abuse she has a knife" is a report.
            between = self.doc[cue.end : span.start]
            if cue.end <= span.start and not any(
                token.lower_ in self.detector.terminators or token.lower_ in self.detector.subjects
                for token in between
            ):
                return cue
        window = self.rules.guidance_window
        for cue in self._in_sentence("guidance", sentence):
            if cue.end <= span.start <= cue.end + window or (cue.start <= span.start < cue.end):
                return cue
        return None


def _unique(items: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


@lru_cache(maxsize=1)
def detector() -> Detector:
    """The detector for knowledge/danger_rules.yml (compiled once per process)."""
    return Detector(load_rules(), source=str(RULES_PATH.relative_to(ROOT)))


def assess(text: str) -> Assessment:
    """Assess one message with the default rules. Never raises on a str."""
    return detector().assess(text)
