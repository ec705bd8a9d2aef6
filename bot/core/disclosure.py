"""The disclosure record: which questions are asked, how answers are kept, and the summary.

Rasa-independent. The Rasa form (`disclosure_form` in domain.yml) asks for these fields in
this order, and `actions/disclosure_form.py` calls in here to check, summarise and save.
The order follows the seeds' recording forms (Leicestershire template "Logging a concern";
CRASAC recording guidance): the child, the child's own words, what the worker saw, when and
where, who else, what has been done, and the worker's own view kept apart from the facts.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from bot.core import categories

SKIPPED = "(not known)"


@dataclass(frozen=True)
class Field:
    slot: str
    label: str
    # Worker-written narrative is checked for victim-blaming language. The child's own
    # words are never checked or changed: they are recorded verbatim.
    language_checked: bool = False
    # Narrative fields hold the child's story: encrypted at rest, never in a page or a log.
    narrative: bool = True


FIELDS: tuple[Field, ...] = (
    Field("child_identity", "Child (name or reference)"),
    Field("child_age", "Age or date of birth"),
    Field("child_words", "What the child said (their own words)"),
    Field("observations", "What you saw", language_checked=True),
    Field("when_where", "When and where it happened; when it was disclosed"),
    Field("others_involved", "Who else was present or is involved", language_checked=True),
    Field("actions_taken", "What you have done and who you have told", language_checked=True),
    Field("worker_view", "Your own view (kept apart from the facts)", language_checked=True),
)
FIELDS_BY_SLOT = {f.slot: f for f in FIELDS}
RECORD_SLOTS = tuple(f.slot for f in FIELDS)
# Set to True when a record is finished (saved, kept in the spool, or cancelled): the
# protected tracker store redacts the conversation at that event (bot/rasa/tracker_store.py).
CLOSED_SLOT = "concern_closed"
# Slots the form fills besides the record fields, in order.
FORM_SLOTS = ("danger_now", "disclosure_timing", *RECORD_SLOTS, "categories", "confirm_record")

MAX_FIELD_CHARS = 8000


# Embedding, override and isolate controls: invisible, never typed on purpose, and able to
# make a record read differently on a lead's screen ("Trojan Source").
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def invisible(ch: str) -> bool:
    """True for a character a record does not keep: control characters other than newline
    and tab (they cannot be typed on purpose and break displays), lone surrogates (they
    cannot be stored) and the bidi embedding/override/isolate controls.

    Everything a worker can type is kept: emoji joiners, the zero-width non-joiner Persian
    needs, right-to-left marks, non-breaking spaces (phones and Word put them between
    words), private-use characters, and characters newer than this Python's Unicode tables
    (recent emoji). `str.isprintable()` would drop all of those.
    """
    category = unicodedata.category(ch)
    if category == "Cc":
        return ch not in "\n\t"
    return category == "Cs" or ch in _BIDI_CONTROLS


def clean_answer(value: object) -> str:
    """An answer as it will be stored: text kept exactly, only outer whitespace trimmed.

    The child's words must be verbatim, so nothing inside the text is changed except that
    Windows and old Mac line ends become newlines and `invisible` characters are dropped.
    """
    text = "" if value is None else str(value)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if not invisible(ch))
    return text.strip()


def too_long(text: str) -> bool:
    return len(text) > MAX_FIELD_CHARS


def summary(values: dict[str, object], categories: list[str] | None = None) -> str:
    """The record as the worker will confirm it, one labelled line per field."""
    lines = ["Here is what I will record. Please check it:"]
    for field in FIELDS:
        value = clean_answer(values.get(field.slot)) or SKIPPED
        lines.append(f"- {field.label}: {value}")
    if categories:
        lines.append(f"- Categories: {', '.join(categories)}")
    return "\n".join(lines)


# A category's special route in the policy pack (bot/core/pack.py ROUTE_IDS), where the seeds
# give one: FGM -> the mandatory reporting duty; radicalisation -> Prevent/Channel;
# CSE -> the organisation's CSE risk assessment; domestic abuse -> the harm-assessment
# points (seed 002 s.3.43); a concern about staff or a volunteer -> LADO route; online
# abuse by a colleague -> report within one hour without alerting them.
CATEGORY_ROUTES: dict[str, str] = {
    "fgm": "fgm",
    "radicalisation": "prevent",
    "cse": "cse_risk_assessment",
    "domestic_abuse": "domestic_abuse",
    "staff_allegation": "allegation_staff",
    "online_colleague": "online_concern_colleague",
}


def routes_for(categories: list[str]) -> list[str]:
    """The special routes that apply to the chosen categories, in order, without repeats."""
    routes: list[str] = []
    for category in categories:
        route = CATEGORY_ROUTES.get(category)
        if route and route not in routes:
            routes.append(route)
    return routes


# Concerns about the adults around the child have their own routes but are not categories
# of abuse in the seed appendices; recognised by these words in what the worker says.
ROUTE_ONLY_CATEGORIES: dict[str, tuple[str, ...]] = {
    "staff_allegation": (
        "member of staff",
        "staff member",
        "a teacher",
        "volunteer",
        "colleague",
        "coworker",
        "co-worker",
        "allegation against",
        "allegation about",
        "about staff",
    ),
}
CATEGORY_NAMES: dict[str, str] = {
    "staff_allegation": "Concern about a member of staff or a volunteer",
    "online_colleague": "Online concern about a colleague",
}


def categories_in(text: str) -> list[str]:
    """Category ids suggested by what was said: the abuse categories, then the routes
    for concerns about staff. A colleague's online activity is its own route."""

    wanted = " ".join(text.lower().split())
    for category in categories.load_categories().categories:
        if wanted in (category.id, category.name.lower()):
            return [category.id]
    for category_id, name in CATEGORY_NAMES.items():
        if wanted in (category_id, name.lower()):
            return [category_id]
    found = list(categories.suggest_categories(text))
    lowered = " ".join(text.lower().split())
    if any(word in lowered for word in ROUTE_ONLY_CATEGORIES["staff_allegation"]):
        online = "online" in found or any(w in lowered for w in ("online", "internet", "phone"))
        found.append("online_colleague" if online else "staff_allegation")
    return found


def category_name(category_id: str) -> str:

    if category_id in CATEGORY_NAMES:
        return CATEGORY_NAMES[category_id]
    for category in categories.load_categories().categories:
        if category.id == category_id:
            return category.name
    return category_id  # the worker's own words for a category we do not list


# -- the first two questions: a typed answer is that answer ---------------------------------

DANGER_YES, DANGER_NO, DANGER_UNCLEAR = "yes", "no", "unclear"
_YES_WORDS = ("yes", "yeah", "yep", "yup", "y", "ya", "aye", "definitely", "i think so")
_NO_WORDS = ("no", "nope", "nah", "n", "not", "nobody", "no one", "noone", "none")
_SAFE_WORDS = (
    "is safe",
    "are safe",
    "she's safe",
    "he's safe",
    "they're safe",
    "safe now",
    "safe tonight",
    "safe at",
    "safe with",
    "not in danger",
    "no danger",
)


_UNSURE_WORDS = (
    "not sure",
    "unsure",
    "don't know",
    "dont know",
    "do not know",
    "maybe",
    "no idea",
    "can't tell",
    "cant tell",
    "might be",
    "possibly",
    "not certain",
)


def _starts_with(text: str, words: tuple[str, ...]) -> bool:
    lowered = " ".join(text.lower().replace(",", " ").replace(".", " ").split())
    return any(lowered == w or lowered.startswith(w + " ") for w in words)


def read_danger_answer(text: str, shows_danger: bool) -> str:
    """A typed answer to "is anyone in danger right now?": DANGER_YES, DANGER_NO or
    DANGER_UNCLEAR. Danger shown (the 999 floor on the answer) is always yes, whatever
    else it says ("no, but he's picking her up at 3"): the floor is never lowered."""
    if shows_danger:
        return DANGER_YES
    lowered = text.lower()
    if any(w in lowered for w in _UNSURE_WORDS):
        return DANGER_UNCLEAR
    if _starts_with(text, _NO_WORDS) or any(w in lowered for w in _SAFE_WORDS):
        return DANGER_NO
    if _starts_with(text, _YES_WORDS):
        return DANGER_YES
    return DANGER_UNCLEAR


_DURING = (
    "with me",
    "still here",
    "still with",
    "here now",
    "right now",
    "during",
    "in the session",
    "in session",
    "next to me",
    "in the room",
    "sat with",
)
_AFTER = (
    "ended",
    "after",
    "gone",
    "left",
    "finished",
    "over",
    "went home",
    "gone home",
    "earlier",
    "yesterday",
    "last week",
    "this morning",
    "not with",
    "home now",
)


def timing_of(text: str) -> str | None:
    """ "during" (the child is still with the worker), "after", or None when the answer
    does not say. "not with me" is after, though it contains "with me"."""
    lowered = " ".join(text.lower().split())
    if any(w in lowered for w in ("not with me", "not here", "no longer", "not anymore")):
        return "after"
    if _starts_with(lowered, ("yes", "yeah", "yep", "still")) or any(w in lowered for w in _DURING):
        return "during"
    if _starts_with(lowered, ("no", "nope", "nah")) or any(w in lowered for w in _AFTER):
        return "after"
    return None


# -- a question in the middle of the record --------------------------------------------------

_QUESTION_STARTS = (
    "who",
    "whos",
    "who's",
    "what",
    "whats",
    "what's",
    "when",
    "where",
    "which",
    "how",
    "can",
    "could",
    "should",
    "shall",
    "do",
    "does",
    "did",
    "is",
    "are",
    "will",
    "would",
    "have",
    "has",
    "am",
    "tell me",
    "give me",
    "remind me",
    "any idea",
)


def is_question(text: str) -> bool:
    """Asked as a question: ends with "?" or starts like one ("who's the LADO", "how long
    have I got"). An answer such as "told the DSL in person" or "walking stiffly, asks to go
    to the toilet" is not one, whatever the classifier makes of it."""
    stripped = (text or "").strip()
    if stripped.endswith("?"):
        return True
    return _starts_with(stripped.replace("\u2019", "'"), _QUESTION_STARTS)


# -- "skip" -----------------------------------------------------------------------------------

SKIP_PHRASES = frozenset(
    {
        "skip",
        "skip it",
        "skip this",
        "skip this one",
        "skip question",
        "skip for now",
        "pass",
        "pass on that",
        "next",
        "next question",
        "move on",
        "n/a",
        "na",
        "not applicable",
        "doesn't apply",
        "dont know",
        "don't know",
        "i don't know",
        "i dont know",
        "dunno",
        "idk",
        "dk",
        "no idea",
        "unknown",
        "not known",
        "none given",
        "leave it blank",
        "leave blank",
        "not sure",
        "i'm not sure",
        "skip, don't know",
    }
)


def is_skip(text: str) -> bool:
    """The worker asks to skip the question (the answer becomes SKIPPED). Only a bare skip
    word or phrase: "she didn't say" or "an unknown account" is an answer, kept as typed."""
    lowered = " ".join((text or "").lower().replace("\u2019", "'").split()).strip(" .!")
    return lowered in SKIP_PHRASES
