"""Intents the classifier may not decide alone (knowledge/intent_cues.yml).

A message the classifier calls, say, `correct_answer` keeps that intent only if it holds
one of the intent's cue words (and, for commands such as `cancel`, is short and is not
about somebody: "he told me to stop" is a child's words, not a command); otherwise it is
demoted to `nlu_fallback`, which the disclosure form takes as the answer to the question
it asked. Rasa-independent: the NLU
component in bot/rasa/intent_floor.py only translates.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, validator

from bot import ROOT
from bot.core.datafile import load_model

CUES_FILE = ROOT / "knowledge" / "intent_cues.yml"
DEMOTED_INTENT = "nlu_fallback"
_WORDS = re.compile(r"[a-z0-9\u2019']+")


class GatedIntent(BaseModel):
    words: list[str] = []
    contrast_not: bool = False
    max_words: int | None = None
    not_with: list[str] = []
    # Where a short message without a cue goes (default `nlu_fallback`): "got an emergency"
    # read as the question "what counts as an emergency?" is the emergency itself. Longer
    # than `demote_max_words`, it goes to `nlu_fallback` (the menu, with 999 and the lead).
    demote_to: str | None = None
    demote_max_words: int | None = None

    class Config:
        extra = "forbid"

    @validator("words", "not_with", each_item=True)
    def _lower(cls, value: str) -> str:  # noqa: N805
        value = " ".join(value.lower().split())
        if not value:
            raise ValueError("a cue must not be empty")
        return value


class Situation(BaseModel):
    """A message describing something happening to a child is the concern path."""

    becomes: str
    overrides: list[str]
    told: list[str]
    # What the worker saw or found, or what is happening to a child ("has a bruise", "left
    # alone", "came to collect"): a situation as much as what a child told.
    observed: list[str] = []
    about: list[str]
    hypothetical: list[str] = []
    question_openers: list[str] = []

    class Config:
        extra = "forbid"

    @validator("told", "observed", "about", "hypothetical", "question_openers", each_item=True)
    def _lower(cls, value: str) -> str:  # noqa: N805
        value = " ".join(value.lower().split())
        if not value:
            raise ValueError("a cue must not be empty")
        return value


class IntentCues(BaseModel):
    source: str
    gated: dict[str, GatedIntent]
    not_after: list[str] = []
    situation: Situation | None = None

    class Config:
        extra = "forbid"


@lru_cache(maxsize=4)
def load(path: Path = CUES_FILE) -> IntentCues:
    return load_model(path, IntentCues)


def _tokens(text: str) -> list[str]:
    return _WORDS.findall((text or "").lower())


def has_cue(intent: str, text: str, cues: IntentCues | None = None) -> bool:
    """True if `text` holds a cue for `intent` (or `intent` is not gated at all)."""
    cues = cues or load()
    gate = cues.gated.get(intent)
    if gate is None:
        return True
    tokens = _tokens(text)
    if gate.max_words is not None and len(tokens) > gate.max_words:
        return False
    if set(tokens) & set(gate.not_with):
        return False
    if not gate.words and not gate.contrast_not:
        return True
    joined = f" {' '.join(tokens)} "
    if any(f" {' '.join(_tokens(word))} " in joined for word in gate.words):
        return True
    if gate.contrast_not:
        blockers = set(cues.not_after)
        for i, token in enumerate(tokens):
            if token == "not" and (i == 0 or tokens[i - 1] not in blockers):
                return True
    return False


def _holds(tokens: list[str], phrases: list[str]) -> bool:
    joined = f" {' '.join(tokens)} "
    return any(f" {' '.join(_tokens(phrase))} " in joined for phrase in phrases)


# Where a message splits into clauses: "what do I do, a girl just told me her stepdad hits
# her" asks first and tells after the comma.
_CLAUSES = re.compile(r"[,;:.!?\n]+|\s[-\u2013\u2014]+\s")


def is_situation(text: str, cues: IntentCues | None = None) -> bool:
    """The message tells of something happening to a child (someone told, disclosed, ...,
    or the worker saw or found something: a bruise, a child left alone, an adult collecting
    them; about a child or an adult around them), not a general question. A message that opens as
    a question is still a situation when one of its later clauses tells one ("what do I do,
    a girl just told me her stepdad hits her"); a question with the telling inside it ("should
    I tell the carers what she told me?") is not."""
    situation = (cues or load()).situation
    if situation is None:
        return False
    seen: list[str] = []  # the words before this clause: "if, say, she told me" stays an "if"
    for clause in _CLAUSES.split(text or ""):
        tokens = _tokens(clause)
        if _tells(tokens, seen, situation):
            return True
        seen.extend(tokens)
    return False


def _tells(tokens: list[str], seen: list[str], situation: Situation) -> bool:
    """One clause tells of something happening to a child (see `is_situation`); `seen` are
    the message's words before it."""
    if not tokens or tokens[0] in situation.question_openers:
        return False
    if not _holds(tokens, situation.about):
        return False
    hypothetical = set(situation.hypothetical)
    # Across a comma only a condition carries over ("what would you do if, say, a girl told
    # me ..."); "what happens now - a boy said ..." tells after a question.
    carried = set(seen[-5:]) & _CONDITIONS
    for phrase in [*situation.told, *situation.observed]:
        words = _tokens(phrase)
        for start in range(len(tokens) - len(words) + 1):
            if tokens[start : start + len(words)] == words:
                before = set(tokens[max(0, start - 5) : start])
                if start < 5:
                    before |= carried
                after = tokens[start + len(words) : start + len(words) + 1]
                # "told me cos I promised" gives a reason, not what was told.
                if not hypothetical & before and not set(after) & {"cos", "because"}:
                    return True
    return False


_CONDITIONS = frozenset({"if", "unless", "whether", "suppose", "supposing", "imagine"})


def gate(intent: str | None, text: str) -> str | None:
    """The intent to keep: `intent`; `nlu_fallback` (or the gate's `demote_to`) when a gated
    intent has no cue; the concern path when a general question is in fact a situation (see
    `is_situation`)."""
    cues = load()
    situation = cues.situation
    if situation is not None and intent in situation.overrides and is_situation(text, cues):
        return situation.becomes
    if intent is None or has_cue(intent, text, cues):
        return intent
    gated = cues.gated[intent]
    short = gated.demote_max_words is None or len(_tokens(text)) <= gated.demote_max_words
    return (gated.demote_to if short else None) or DEMOTED_INTENT
