"""Categories of abuse and harm: what each is, its signs, what to do, and the words for it.

The facts live in ``knowledge/abuse_categories.yml`` (validated here); this module reads
them and answers three questions:

- a worker asks "what are the signs of grooming?" -> ``find_category`` picks the category
  and ``explain`` writes the answer for a phone, ending with its sources;
- a worker describes a disclosure -> ``suggest_categories`` lists the categories whose words
  appear in it, so the form can offer them (the worker decides; nothing is assigned);
- a channel without buttons needs the list -> ``menu_text``.

Matching is whole-word on spaCy tokens, never substrings ("lac" never fires inside
"placement"), ignores case and hyphens, and lets a keyword written in its base form match
its inflections ("hit" matches "hits"/"hitting", via the lemma or a plain plural), while a
keyword written in an inflected form matches only itself ("groomed" does not match "groom").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from pydantic import PrivateAttr, conlist, root_validator, validator

from bot import ROOT
from bot.core.datafile import load_model
from bot.core.pack import Source, Strict

CATEGORIES_FILE = ROOT / "knowledge" / "abuse_categories.yml"
SCHEMA_VERSION = 1

_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_SECTION_NUMBER = re.compile(r"^\d")


class Step(Strict):
    """One thing to do, with the seed section that says so."""

    text: str
    source: Source


class Category(Strict):
    """One category of abuse or harm, as the seed policies describe it."""

    id: str
    name: str
    definition: str
    indicators: conlist(str, min_items=1)  # type: ignore[valid-type]
    what_to_do: list[Step] = []
    keywords: conlist(str, min_items=1)  # type: ignore[valid-type]
    sources: conlist(Source, min_items=1)  # type: ignore[valid-type]

    @validator("id")
    def _id(cls, value: str) -> str:  # noqa: N805
        if not _ID.match(value):
            raise ValueError(f"{value!r} is not an id (lower case letters, digits and _)")
        return value

    @validator("keywords", each_item=True)
    def _keyword(cls, value: str) -> str:  # noqa: N805
        if not re.search(r"\w", value):
            raise ValueError(f"{value!r} has no letters or digits to match")
        if value != value.lower():
            raise ValueError(f"{value!r} must be lower case (matching ignores case)")
        return value

    def cited_sources(self) -> list[Source]:
        """Every source behind this category's text: definition, signs and steps."""
        return [*self.sources, *(step.source for step in self.what_to_do)]


class CategoryBook(Strict):
    """The whole file: readable seed names, steps said every time, and the categories."""

    schema_version: int
    seeds: dict[str, str]
    first_steps: conlist(Step, min_items=1)  # type: ignore[valid-type]
    last_steps: conlist(Step, min_items=1)  # type: ignore[valid-type]
    menu_sources: conlist(Source, min_items=1)  # type: ignore[valid-type]
    categories: conlist(Category, min_items=1)  # type: ignore[valid-type]

    _matcher: _Matcher | None = PrivateAttr(default=None)

    @validator("schema_version")
    def _version(cls, value: int) -> int:  # noqa: N805
        if value != SCHEMA_VERSION:
            raise ValueError(f"must be {SCHEMA_VERSION}, not {value}")
        return value

    @root_validator(skip_on_failure=True)
    def _consistent(cls, values: dict) -> dict:  # noqa: N805
        categories: list[Category] = values["categories"]
        seen_ids: set[str] = set()
        owner: dict[str, str] = {}
        for category in categories:
            if category.id in seen_ids:
                raise ValueError(f"category id {category.id!r} is used twice")
            seen_ids.add(category.id)
            for keyword in category.keywords:
                key = " ".join(_words_of(keyword))
                if key in owner and owner[key] != category.id:
                    raise ValueError(
                        f"keyword {keyword!r} is in both {owner[key]!r} and {category.id!r}"
                    )
                owner[key] = category.id
        cited = [s for c in categories for s in c.cited_sources()]
        cited += [step.source for step in (*values["first_steps"], *values["last_steps"])]
        cited += values["menu_sources"]
        for source in cited:
            if source.seed not in values["seeds"]:
                raise ValueError(f"source seed {source.seed!r} is not listed under seeds")
        return values

    def get(self, category_id: str) -> Category:
        """The category with this id; KeyError names the known ids."""
        for category in self.categories:
            if category.id == category_id:
                return category
        known = ", ".join(c.id for c in self.categories)
        raise KeyError(f"no category {category_id!r} (known: {known})")

    def matcher(self) -> _Matcher:
        if self._matcher is None:
            self._matcher = _Matcher(self.categories)
        return self._matcher


# ---------------------------------------------------------------------------------------
# Matching


# spaCy's tokenizer takes time quadratic in the length of one run of non-space characters
# (it peels prefixes and suffixes off one at a time): 8,000 emoji pasted in a row took 16 s,
# 110,000 would hang the action server. No keyword word is anywhere near this long, so such
# runs are blanked before tokenizing (found by tests/test_fuzz.py).
_LONG_RUN = re.compile(r"\S{48,}")


def _tokens(text: str):  # noqa: ANN202 - spaCy tokens
    """Non-punctuation, non-space tokens of the lower-cased text."""
    from bot.core.nlp import english  # heavy: imported on first use, not at start-up

    text = _LONG_RUN.sub(" ", text)
    return [t for t in english()(text.lower()) if not (t.is_punct or t.is_space)]


def _words_of(keyword: str) -> tuple[str, ...]:
    """A keyword as the words it must match, in order."""
    return tuple(t.lower_ for t in _tokens(keyword))


def _singular(word: str) -> str:
    """A plain English plural's singular: 'injuries' -> 'injury', 'pics' -> 'pic'."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _forms(text: str) -> list[frozenset[str]]:
    """For each word of the text, the forms a keyword word may equal."""
    out = []
    for token in _tokens(text):
        lower = token.lower_
        out.append(frozenset({lower, token.lemma_.lower(), _singular(lower)}))
    return out


class _Matcher:
    """Keyword index for one set of categories: first word -> (words, category index)."""

    def __init__(self, categories: Iterable[Category]) -> None:
        self.ids: list[str] = []
        self.index: dict[str, list[tuple[tuple[str, ...], int]]] = {}
        for position, category in enumerate(categories):
            self.ids.append(category.id)
            for keyword in category.keywords:
                words = _words_of(keyword)
                if words:
                    self.index.setdefault(words[0], []).append((words, position))

    def matches(self, text: str) -> list[tuple[int, int, int]]:
        """Every keyword hit as (start word, number of words, category position)."""
        forms = _forms(text)
        hits: set[tuple[int, int, int]] = set()
        for start, first in enumerate(forms):
            for form in first:
                for words, position in self.index.get(form, ()):
                    end = start + len(words)
                    if end <= len(forms) and all(
                        w in forms[start + i] for i, w in enumerate(words[1:], start=1)
                    ):
                        hits.add((start, len(words), position))
        return sorted(hits)


# ---------------------------------------------------------------------------------------
# Public API


@lru_cache(maxsize=4)
def _load(path: str) -> CategoryBook:
    return load_model(path, CategoryBook)


def load_categories(path: Path | str = CATEGORIES_FILE) -> CategoryBook:
    """Load and validate the categories file (cached); DataFileError names any problem."""
    return _load(str(Path(path).resolve()))


def find_category(text: str, book: CategoryBook | None = None) -> Category | None:
    """The one category a question is about ("signs of grooming?"), or None.

    When several categories' words appear, the longest keyword wins ("child sexual
    exploitation" over "sexual ..."), then the one mentioned first.
    """
    if not text or not text.strip():
        return None
    book = book or load_categories()
    hits = book.matcher().matches(text)
    if not hits:
        return None
    start, length, position = min(hits, key=lambda h: (-h[1], h[0], h[2]))
    return book.categories[position]


def suggest_categories(text: str, book: CategoryBook | None = None) -> list[str]:
    """Ids of every category whose words appear in a disclosure, first-mentioned first.

    Suggestions only: the worker chooses the categories on the form.
    """
    if not text or not text.strip():
        return []
    book = book or load_categories()
    ids: list[str] = []
    for _start, _length, position in book.matcher().matches(text):
        category_id = book.categories[position].id
        if category_id not in ids:
            ids.append(category_id)
    return ids


def cite(sources: Iterable[Source], book: CategoryBook | None = None, pack=None) -> str:  # noqa: ANN001
    """'(Source: CRASAC policy, Appendix Two; The Children's Society policy s.4.6, s.3.5)'.

    With `pack` (a deployment of one organisation, not the generic pack): only that
    organisation's own policy is cited, by the pack's label; "" if it says nothing here."""
    book = book or load_categories()
    own = pack is not None and pack.org != "generic"
    grouped: dict[str, list[str]] = {}
    for source in sources:
        if own and source.seed not in pack.seeds:
            continue
        name = pack.seed_label(source.seed) if own else book.seeds[source.seed]
        section = source.section
        if _SECTION_NUMBER.match(section):
            section = f"s.{section}"
        sections = grouped.setdefault(name, [])
        if section not in sections:
            sections.append(section)
    if not grouped:
        return ""
    parts = []
    for name, sections in grouped.items():
        separator = " " if sections[0].startswith("s.") else ", "
        parts.append(f"{name}{separator}{', '.join(sections)}")
    return f"(Source: {'; '.join(parts)})"


def explain(category: Category, book: CategoryBook | None = None, pack=None) -> str:  # noqa: ANN001
    """Plain text for a phone: what it is, the signs, what to do, and the sources."""
    book = book or load_categories()
    lines = [category.name, "", category.definition, "", "Signs to look for:"]
    lines += [f"• {sign}" for sign in category.indicators]
    lines += ["", "What to do:"]
    steps = [*book.first_steps, *category.what_to_do, *book.last_steps]
    lines += [f"• {step.text}" for step in steps]
    sources = [*category.cited_sources(), *(step.source for step in steps)]
    cited = cite(sources, book, pack)
    lines += ["", cited] if cited else []
    return "\n".join(lines)


def menu_text(book: CategoryBook | None = None) -> str:
    """The list of categories as plain text, for channels without buttons."""
    book = book or load_categories()
    lines = ["I can explain the signs of:"]
    lines += [f"• {category.name}" for category in book.categories]
    lines += [
        "",
        'Ask for one, for example "signs of grooming" or "what is county lines".',
        "If a child is in danger right now, call 999.",
    ]
    lines += ["", cite([*book.menu_sources, book.first_steps[0].source], book)]
    return "\n".join(lines)
