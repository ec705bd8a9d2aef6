"""The phrase-rule engine: one phrase syntax, one compiler, one anchor filter, one `Source`.

Every rule file that finds words in text runs through this module, the way retext-equality
runs every rule file through one plugin: the danger detector (`bot.core.triage`,
``knowledge/danger_rules.yml``) and the case-note language checker (`bot.core.language`,
``knowledge/language_rules.yml``). A rule file keeps its own meaning (triage: signs, cues and
how they combine; language: terms, why, wording to consider and the context that silences
them); this module only turns phrases into matches.

The phrase syntax (one phrase = one or more spaCy Matcher patterns, on lower-case words)::

    word            that exact word (whole words only; never a substring)
    a|b|c           any one of these words
    (a b|c|d e)     any one of these, each one or more words (groups may nest)
    $name           any entry of the word set `name` (entries may be several words);
                    also inside alternatives: "(a|$name)"
    ~word           any inflection, by the lookup lemma ("~kill": kill, kills, killed...);
                    only where the text was lemmatised
    ?  (suffix)     the slot may be absent: "back?", "(a|the)?", "$reflexive?"
    _               any one word (what counts as a word is the rule file's `Syntax`)
    _{0,3}          up to three such words; _{1,2} one or two

A phrase cannot start or end with `_`, and cannot be all optional.

Public API (no Rasa; spaCy is imported on first use)::

    Syntax, WORDS, SENTENCE_WORDS        how a rule file's phrases read
    compile_phrase(phrase, word_sets, nlp, syntax=WORDS) -> list[Pattern]   (ValueError)
    entry_words(nlp, text, syntax=WORDS) -> tuple[str, ...]   words of a word-set entry
    check_pattern(nlp, pattern)          a raw Matcher pattern from a data file (ValueError)
    anchors_of(pattern) -> Anchors | None
    PhraseMatcher(nlp)                   compiled phrases under string keys
        .add(key, patterns, greedy=False)
        .find(doc, sentence_of=None, lower=None) -> list[Match]   (key, start, end)
        .anchor_words                    every anchor word, or None if some key has none
        .filtering                       False runs every key on every sentence (tests)
    Source                               where a rule comes from

The anchor filter: every compiled pattern needs at least one literal word (its "anchor":
from its required slot with the fewest common words). `find` runs a key's patterns only on
the sentences that hold one of that key's anchors, so the cost follows the words present in
a note, not the size of the rule files. A key with a pattern that has no anchor is run on
every sentence. Turning the filter off never changes what is found (tested), only the time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

from pydantic import BaseModel, root_validator, validator

Pattern = list[dict[str, Any]]
"""One spaCy Matcher token pattern."""

SEED_FILE = re.compile(r"^\d{3}_[0-9a-f]{16}\.txt$")


# --------------------------------------------------------------------------- sources


class Source(BaseModel):
    """Where a rule comes from: a published guide, or a seed policy file and its section.

    A guide gives at least its title (and should give publisher, url or section, and
    date); a seed policy gives `seed` (its file name) and `section`. A plain string in a
    data file is read as a title, so a short citation stays valid.
    """

    title: str | None = None
    publisher: str | None = None
    url: str | None = None
    section: str | None = None
    date: str | None = None
    seed: str | None = None
    note: str | None = None

    class Config:
        extra = "forbid"

    @validator("seed")
    def _seed_file(cls, value: str | None) -> str | None:  # noqa: N805
        if value is not None and not SEED_FILE.match(value):
            raise ValueError(f"{value!r} is not a seed file name like 000_49172c100f0fd48e.txt")
        return value

    @validator("section", "title", "publisher", "url", "date", "note")
    def _not_blank(cls, value: str | None) -> str | None:  # noqa: N805
        if value is not None and not str(value).strip():
            raise ValueError("must not be empty")
        return value

    @validator("date", pre=True)
    def _date_text(cls, value: Any) -> Any:  # noqa: N805
        return str(value) if isinstance(value, int | float) else value  # `date: 2022`

    @root_validator(skip_on_failure=True)
    def _says_what(cls, values: dict[str, Any]) -> dict[str, Any]:  # noqa: N805
        if not values.get("seed") and not values.get("title"):
            raise ValueError("a source names a seed file or a title")
        return values

    @classmethod
    def of(cls, value: Any) -> Any:
        """For `pre` validators: a plain string is a title."""
        return {"title": value} if isinstance(value, str) else value

    def label(self) -> str:
        """One line a reader can follow: who, what, when, where in it."""
        if self.seed:
            return f"{self.seed}, section {self.section}" if self.section else self.seed
        parts = [p for p in (self.publisher, self.title) if p]
        text = ", ".join(parts)
        if self.date:
            text += f" ({self.date})"
        if self.section:
            text += f", {self.section}"
        if self.url:
            text += f", {self.url}"
        return text


# --------------------------------------------------------------------------- syntax


@dataclass(frozen=True)
class Syntax:
    """How one rule file's phrases read.

    `wildcard` is the token spec `_` compiles to (what counts as "any one word");
    `max_gap` the largest N in `_{low,N}`; `split_hyphens` makes "risk-taking" two words,
    for a caller that matches text whose word hyphens were made spaces; `max_patterns` is
    how many Matcher patterns one phrase may expand to.
    """

    wildcard: Mapping[str, Any]
    max_gap: int = 8
    split_hyphens: bool = False
    max_patterns: int = 1_000
    breaks: frozenset[str] = frozenset()
    """Tokens a caller must give the Matcher as white space (`as_break`), so that `_`,
    which never matches white space, never crosses them."""

    def as_break(self, word: str) -> str:
        """The word to put in a Doc for a token of the text: a break becomes a line break."""
        return "\n" if word in self.breaks else word


WORDS = Syntax(wildcard={"IS_PUNCT": False, "IS_SPACE": False})
"""`_` is any word, never punctuation (the danger rules)."""

SENTENCE_WORDS = Syntax(
    wildcard={"IS_SPACE": False},
    max_gap=5,
    split_hyphens=True,
    max_patterns=2_000,
    breaks=frozenset({".", "!", "?", ";", ":", '"', "\u201c", "\u201d", "\u2026", "..."}),
)
"""`_` is any word or mark inside a sentence, a comma included; never a sentence end, a
colon or a quotation mark (the language rules: "putting herself, again, at risk"). The
caller turns those marks into white space (`Syntax.as_break`): a plain "not white space"
test is checked inside spaCy's Matcher, where a set of excluded marks would be a Python
call per word and per pattern."""

_WORD_HYPHEN = re.compile(r"(?<=\w)[-\u2010\u2011](?=\w)")
_CLITIC = re.compile(r"'(?:ve|m|s|ll|re|d)")


def split_word_hyphens(text: str) -> str:
    """Same-length copy with hyphens inside words made spaces ("drug-running")."""
    return _WORD_HYPHEN.sub(" ", text)


def entry_words(nlp: Any, text: str, syntax: Syntax = WORDS) -> tuple[str, ...]:
    """The lower-case words of one phrase word or word-set entry, as the text is split."""
    return _entry_words(nlp, text, syntax.split_hyphens)


@lru_cache(maxsize=16_384)
def _entry_words(nlp: Any, text: str, split_hyphens: bool) -> tuple[str, ...]:
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    if split_hyphens:
        text = split_word_hyphens(text)
    if _CLITIC.fullmatch(text):
        # Alone, "'ve" and "'m" tokenise as "'" + "ve"; inside "they've" they are one token.
        return (text,)
    return tuple(token.lower_ for token in nlp.make_doc(text) if not token.is_space)


# --------------------------------------------------------------------------- compiling


def compile_phrase(
    phrase: str, word_sets: Mapping[str, Sequence[str]], nlp: Any, syntax: Syntax = WORDS
) -> list[Pattern]:
    """Turn one phrase of the syntax above into spaCy Matcher patterns.

    Raises ValueError with a plain message (the caller adds where the phrase is).
    """
    if not phrase.strip():
        raise ValueError("empty phrase")
    items = _split_top(phrase.strip(), " ")
    if items and (_is_wildcard(items[0]) or _is_wildcard(items[-1])):
        # Checked after the slots parse, so a bad gap is reported first.
        _sequence(phrase, word_sets, nlp, syntax, depth=0)
        raise ValueError("a phrase cannot start or end with a wildcard (_)")
    out = []
    for pattern in _sequence(phrase, word_sets, nlp, syntax, depth=0):
        if not pattern or all(spec.get("OP") == "?" for spec in pattern):
            raise ValueError("every word is optional, so it would match nothing")
        out.append([dict(spec) for spec in pattern])
    return out


def _is_wildcard(item: str) -> bool:
    return item in ("_", "_?") or bool(_GAP.match(item))


def _sequence(
    phrase: str, word_sets: Mapping[str, Sequence[str]], nlp: Any, syntax: Syntax, depth: int
) -> list[Pattern]:
    if depth > 5:
        raise ValueError("groups nested too deeply")
    slots = _split_top(phrase.strip(), " ")
    if not slots:
        raise ValueError("empty phrase or alternative")
    combos: list[Pattern] = [[]]
    for slot in slots:
        variants = _slot_variants(slot, word_sets, nlp, syntax, depth)
        if len(combos) * len(variants) > syntax.max_patterns:
            raise ValueError(f"expands to more than {syntax.max_patterns} patterns")
        combos = [done + variant for done in combos for variant in variants]
    return combos


def _split_top(text: str, separator: str) -> list[str]:
    """Split at `separator` (" " means any white space) outside parentheses.

    Splitting at spaces drops empty pieces; splitting at "|" keeps them so that an empty
    alternative can be reported.
    """
    by_space = separator == " "
    parts: list[str] = []
    current = ""
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise ValueError("unbalanced brackets: an unbalanced ')' closes nothing")
        if depth == 0 and (char.isspace() if by_space else char == separator):
            parts.append(current)
            current = ""
        else:
            current += char
    if depth:
        raise ValueError("unbalanced brackets: an unbalanced '(' is never closed")
    parts.append(current)
    if by_space:
        return [part for part in (p.strip() for p in parts) if part]
    return parts


_GAP = re.compile(r"^_\{(\d+),(\d+)\}$")


def _wraps(body: str) -> bool:
    """True when `body` is one parenthesised group: "(a|b c)" but not "(a) (b)"."""
    if not (body.startswith("(") and body.endswith(")")):
        return False
    depth = 0
    for index, char in enumerate(body):
        depth += char == "("
        depth -= char == ")"
        if depth == 0 and index < len(body) - 1:
            return False
    return True


def _slot_variants(
    slot: str, word_sets: Mapping[str, Sequence[str]], nlp: Any, syntax: Syntax, depth: int
) -> list[Pattern]:
    wildcard = dict(syntax.wildcard)
    gap = _GAP.match(slot)
    if gap:
        low, high = int(gap.group(1)), int(gap.group(2))
        if low > high or not 1 <= high <= syntax.max_gap:
            raise ValueError(
                f"{slot!r}: a gap is _{{low,high}} with high at most {syntax.max_gap} "
                f"(give between 1 and {syntax.max_gap} words)"
            )
        return [
            [dict(wildcard) for _ in range(low)]
            + [dict(wildcard, OP="?") for _ in range(high - low)]
        ]
    optional = slot.endswith("?") and len(slot) > 1
    body = slot[:-1] if optional else slot
    if body == "_":
        return [[dict(wildcard, OP="?") if optional else dict(wildcard)]]
    grouped = _wraps(body)
    if grouped:
        body = body[1:-1]
    elif "(" in body or ")" in body:
        raise ValueError(f"{slot!r}: a group must stand alone, as in '(a|b)' or '(a|b)?'")
    options = _split_top(body, "|")
    if any(not option.strip() for option in options):
        raise ValueError(f"{slot!r}: empty alternative")
    words: list[tuple[str, ...]] = []
    lemmas: list[str] = []
    sequences: list[Pattern] = []
    for option in (o.strip() for o in options):
        if option.startswith("$"):
            name = option[1:]
            if name not in word_sets:
                raise ValueError(
                    f"no word set {name!r}: {slot!r} names an unknown word set ${name}"
                )
            entries: Iterable[str] = word_sets[name]
        elif option.startswith("~"):
            if not re.fullmatch(r"~[\w'-]+", option):
                raise ValueError(f"{slot!r}: ~lemma must be one word")
            lemmas.append(option[1:].lower())
            continue
        elif "(" in option or (grouped and " " in option) or "$" in option or "_" in option:
            sequences.extend(_sequence(option, word_sets, nlp, syntax, depth + 1))
            continue
        else:
            entries = [option]
        for entry in entries:
            tokens = entry_words(nlp, entry, syntax)
            if not tokens:
                raise ValueError(f"{slot!r}: alternative {entry!r} has no words")
            words.append(tokens)
    variants: list[Pattern] = _compress(words) if words else []
    if lemmas:
        unique = sorted(set(lemmas))
        variants.append([{"LEMMA": unique[0]} if len(unique) == 1 else {"LEMMA": {"IN": unique}}])
    variants.extend(sequences)
    if optional:
        if len(variants) == 1 and len(variants[0]) == 1:
            variants = [[dict(variants[0][0], OP="?")]]
        else:
            variants.append([])  # the whole slot may be absent
    return variants


def _lower(words: set[str]) -> dict[str, Any]:
    return {"LOWER": next(iter(words))} if len(words) == 1 else {"LOWER": {"IN": sorted(words)}}


def _compress(alternatives: list[tuple[str, ...]]) -> list[Pattern]:
    """Alternatives (word tuples) -> as few token-spec sequences as match exactly the same.

    ("spending", "time"), ("spends", "time"), ("hanging", "out"), ("hung", "out") become
    [IN spending/spends, time] and [IN hanging/hung, out]: far fewer Matcher patterns than
    one per alternative (the Matcher's time grows with the number of patterns).
    """
    out: list[Pattern] = []
    by_length: dict[int, list[tuple[str, ...]]] = {}
    for alt in dict.fromkeys(alternatives):
        by_length.setdefault(len(alt), []).append(alt)
    for length, group in sorted(by_length.items()):
        if length == 1:
            out.append([_lower({alt[0] for alt in group})])
            continue
        firsts_by_rest: dict[tuple[str, ...], set[str]] = {}
        for alt in group:
            firsts_by_rest.setdefault(alt[1:], set()).add(alt[0])
        rests_by_firsts: dict[frozenset[str], list[tuple[str, ...]]] = {}
        for rest, firsts in firsts_by_rest.items():
            rests_by_firsts.setdefault(frozenset(firsts), []).append(rest)
        for firsts, rests in rests_by_firsts.items():
            head = _lower(set(firsts))
            out += [[head, *tail] for tail in _compress(rests)]
    return out


def check_pattern(nlp: Any, pattern: Pattern) -> None:
    """Raise ValueError (first line of spaCy's complaint) for a malformed raw pattern."""
    from spacy.matcher import Matcher  # heavy: imported on first use, not at start-up

    if not pattern:
        raise ValueError("the pattern is empty")
    try:
        Matcher(nlp.vocab, validate=True).add("check", [pattern])
    except Exception as exc:  # spaCy reports bad patterns with several exception types
        text = str(exc).strip()
        raise ValueError(text.splitlines()[0] if text else type(exc).__name__) from None


# --------------------------------------------------------------------------- anchors


class Anchors(NamedTuple):
    """Words a pattern cannot match without: lower-case words, and lemmas."""

    lower: frozenset[str]
    lemma: frozenset[str]


_LITERAL = {"LOWER": "lower", "ORTH": "lower", "TEXT": "lower", "LEMMA": "lemma"}


def anchors_of(pattern: Pattern) -> Anchors | None:
    """The words of the pattern's required literal slot with fewest common words.

    None when no required slot names literal words (the pattern must run everywhere).
    """
    from spacy.lang.en.stop_words import STOP_WORDS  # heavy: imported on first use, not at start-up

    best: tuple[tuple[bool, int, int], str, set[str]] | None = None
    for spec in pattern:
        if spec.get("OP") not in (None, "+"):
            continue
        for attr, kind in _LITERAL.items():
            value = spec.get(attr)
            if isinstance(value, str):
                words = {value.lower()}
            elif (
                isinstance(value, dict)
                and set(value) == {"IN"}
                and value["IN"]
                and all(isinstance(item, str) for item in value["IN"])
            ):
                words = {item.lower() for item in value["IN"]}
            else:
                continue
            common = len(words & STOP_WORDS)
            rank = (common == len(words), common, len(words))
            if best is None or rank < best[0]:
                best = (rank, kind, words)
    if best is None:
        return None
    _, kind, words = best
    empty: frozenset[str] = frozenset()
    return Anchors(frozenset(words), empty) if kind == "lower" else Anchors(empty, frozenset(words))


# --------------------------------------------------------------------------- matching


class Match(NamedTuple):
    """A key's phrase found at words [start, end) of a Doc."""

    key: str
    start: int
    end: int


_VERDICTS_KEPT = 4096


@dataclass
class _Group:
    key: str
    matcher: Any
    anchored: bool = True
    patterns: int = 0
    slots: tuple[frozenset[str], ...] = ()
    needs: tuple[int, ...] = ()
    """Per pattern, a bit mask of the `slots` it requires (a required slot's lower-case
    words): a pattern can only match text holding a word of each of its slots. Empty when
    some pattern has no such slot, and then nothing is skipped."""

    bits_of: dict[str, int] = field(default_factory=dict)
    """word -> the bits of the slots that hold it"""

    verdicts: dict[int, bool] = field(default_factory=dict)
    """held slots (a bit mask) -> whether some pattern's needs are met: a rule with many
    phrases has many needs, and the same few masks come back sentence after sentence."""

    def may_match(self, words: Iterable[str]) -> bool:
        """Could some pattern match text made of these words?"""
        held = 0
        bits_of = self.bits_of
        for word in words:
            held |= bits_of.get(word, 0)
        if not held:
            return False
        verdict = self.verdicts.get(held)
        if verdict is None:
            if len(self.verdicts) >= _VERDICTS_KEPT:
                self.verdicts.clear()  # bounded in a long-running server
            verdict = any(need & held == need for need in self.needs)
            self.verdicts[held] = verdict
        return verdict


@dataclass
class PhraseMatcher:
    """Compiled phrases under string keys, with the anchor filter. Build once; reuse.

    One Matcher per key: `greedy=True` keeps, for that key, only the longest of
    overlapping matches (spaCy's greedy="LONGEST").
    """

    nlp: Any
    filtering: bool = True
    _groups: dict[str, _Group] = field(default_factory=dict)
    _by_lower: dict[str, list[_Group]] = field(default_factory=dict)
    _by_lemma: dict[str, list[_Group]] = field(default_factory=dict)
    _everywhere: list[_Group] = field(default_factory=list)

    def add(self, key: str, patterns: Sequence[Pattern], greedy: bool = False) -> None:
        """Add patterns under `key` (a key is added once; ValueError from spaCy otherwise)."""
        from spacy.matcher import Matcher  # heavy: imported on first use, not at start-up

        if key in self._groups:
            raise ValueError(f"key {key!r} is added twice")
        if not patterns:
            raise ValueError(f"key {key!r} has no patterns")
        matcher = Matcher(self.nlp.vocab, validate=False)
        try:
            matcher.add(key, [list(p) for p in patterns], greedy="LONGEST" if greedy else None)
        except Exception as exc:  # spaCy reports bad patterns with several exception types
            text = str(exc).strip()
            raise ValueError(text.splitlines()[0] if text else type(exc).__name__) from None
        slots, needs = _needs(patterns)
        bits_of: dict[str, int] = {}
        for bit, slot in enumerate(slots):
            for word in slot:
                bits_of[word] = bits_of.get(word, 0) | 1 << bit
        group = _Group(
            key, matcher, patterns=len(patterns), slots=slots, needs=needs, bits_of=bits_of
        )
        self._groups[key] = group
        found = [anchors_of(p) for p in patterns]
        if any(a is None for a in found):
            group.anchored = False
            self._everywhere.append(group)
            return
        for anchors in found:
            assert anchors is not None
            for word in anchors.lower:
                _add_once(self._by_lower.setdefault(word, []), group)
            for word in anchors.lemma:
                _add_once(self._by_lemma.setdefault(word, []), group)

    @property
    def keys(self) -> list[str]:
        return list(self._groups)

    @property
    def anchor_words(self) -> frozenset[str] | None:
        """Every anchor word (lower-case words and lemmas); None when some key has none."""
        if self._everywhere:
            return None
        return frozenset(self._by_lower) | frozenset(self._by_lemma)

    def find(
        self,
        doc: Any,
        sentence_of: Sequence[int] | None = None,
        lower: Sequence[str] | None = None,
        only: set[int] | None = None,
        keys: Iterable[str] | None = None,
    ) -> list[Match]:
        """Every match in `doc`, by key in the order keys were added, then by position.

        `sentence_of[i]` is the sentence number of token i (non-decreasing); without it the
        whole Doc is one sentence. A key runs only on sentences holding one of its anchors,
        unless `filtering` is off. `lower` (each token's lower-case text) saves recomputing.
        `only` limits the search to these sentence numbers (needs `sentence_of`); `keys` to
        these keys (the others are not run).
        """
        n = len(doc)
        if n == 0:
            return []
        if lower is None:
            lower = [t.lower_ for t in doc]
        wanted = (
            self._wanted(doc, lower, sentence_of) if self.filtering else dict.fromkeys(self._groups)
        )
        if keys is not None:
            chosen = set(keys)
            wanted = {key: held for key, held in wanted.items() if key in chosen}
        if only is not None and sentence_of is not None:
            wanted = {
                key: (set(only) if held is None else held & only)
                for key, held in wanted.items()
                if held is None or held & only
            }
        if not wanted:
            return []
        one_sentence = sentence_of is None or sentence_of[0] == sentence_of[-1]
        bounds: dict[int, tuple[int, int]] | None = None
        words: dict[int, set[str]] | None = None
        every_word: set[str] | None = None
        found: list[Match] = []
        for key, sentences in wanted.items():
            group = self._groups[key]
            whole = one_sentence or sentences is None
            if self.filtering and group.needs:
                # Every required slot of some pattern must have a word in these sentences.
                if whole:
                    every_word = every_word if every_word is not None else set(lower)
                    if not group.may_match(every_word):
                        continue
                else:
                    words = words if words is not None else _words_by_sentence(lower, sentence_of)
                    sentences = {sid for sid in sentences if group.may_match(words[sid])}  # type: ignore[union-attr]
                    if not sentences:
                        continue
            if whole:
                spans = [(0, n)]
            else:
                bounds = bounds if bounds is not None else _sentence_bounds(sentence_of)  # type: ignore[arg-type]
                spans = _runs(sentences, bounds)  # type: ignore[arg-type]
            for start, end in spans:
                target = doc if (start, end) == (0, n) else doc[start:end]
                for _hash, s, e in group.matcher(target):
                    found.append(Match(key, start + s, start + e))
        return found

    def _wanted(
        self, doc: Any, lower: Sequence[str], sentence_of: Sequence[int] | None
    ) -> dict[str, set[int] | None]:
        """key -> the sentences holding one of its anchors (None: every sentence)."""
        wanted: dict[str, set[int] | None] = {g.key: None for g in self._everywhere}
        hits: list[tuple[int, list[_Group]]] = []
        by_lower, by_lemma = self._by_lower, self._by_lemma
        for i, word in enumerate(lower):
            groups = by_lower.get(word)
            if groups:
                hits.append((i, groups))
        if by_lemma:
            for i, token in enumerate(doc):
                groups = by_lemma.get(token.lemma_.lower())
                if groups:
                    hits.append((i, groups))
        for i, groups in hits:
            sid = sentence_of[i] if sentence_of is not None else 0
            for group in groups:
                held = wanted.setdefault(group.key, set())
                if held is not None:
                    held.add(sid)
        return wanted


def _needs(patterns: Sequence[Pattern]) -> tuple[tuple[frozenset[str], ...], tuple[int, ...]]:
    """The required literal slots of these patterns (each a set of lower-case words) and,
    per pattern, a bit mask of the slots it needs. ((), ()) when a pattern has none."""
    index: dict[frozenset[str], int] = {}
    masks: set[int] = set()
    for pattern in patterns:
        mask = 0
        for spec in pattern:
            if spec.get("OP") not in (None, "+"):
                continue
            value = spec.get("LOWER", spec.get("ORTH", spec.get("TEXT")))
            if isinstance(value, str):
                slot = frozenset({value.lower()})
            elif isinstance(value, dict) and set(value) == {"IN"} and value["IN"]:
                slot = frozenset(str(v).lower() for v in value["IN"])
            else:
                continue
            mask |= 1 << index.setdefault(slot, len(index))
        if not mask:
            return (), ()
        masks.add(mask)
    # A need that holds another is redundant (if it is met, the smaller one is too).
    minimal: list[int] = []
    for mask in sorted(masks, key=lambda m: (m.bit_count(), m)):
        if not any(kept & mask == kept for kept in minimal):
            minimal.append(mask)
    return tuple(index), tuple(minimal)


def _words_by_sentence(
    lower: Sequence[str], sentence_of: Sequence[int] | None
) -> dict[int, set[str]]:
    if sentence_of is None:
        return {0: set(lower)}
    words: dict[int, set[str]] = {}
    for word, sid in zip(lower, sentence_of, strict=True):
        words.setdefault(sid, set()).add(word)
    return words


def _sentence_bounds(sentence_of: Sequence[int]) -> dict[int, tuple[int, int]]:
    """sentence number -> its token range [start, end)."""
    bounds: dict[int, tuple[int, int]] = {}
    for i, sid in enumerate(sentence_of):
        held = bounds.get(sid)
        bounds[sid] = (i, i + 1) if held is None else (held[0], i + 1)
    return bounds


def _runs(sentences: set[int], bounds: dict[int, tuple[int, int]]) -> list[tuple[int, int]]:
    """Token ranges of the wanted sentences, neighbouring sentences joined into one run."""
    out: list[tuple[int, int]] = []
    for sid in sorted(sentences):
        start, end = bounds[sid]
        if out and out[-1][1] == start:
            out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def _add_once(groups: list[_Group], group: _Group) -> None:
    if not any(g is group for g in groups):
        groups.append(group)
