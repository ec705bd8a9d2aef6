"""Retention review: which concerns have reached the review date their organisation's policy
sets. Lists only; nothing is ever deleted (the concern log is append-only).

The rules are data in each pack (``retention.rules``, see packs/SCHEMA.md), each with the
seed file and section it comes from: e.g. Chelmsford's child protection files are kept
until 25 years after the pupil's date of birth (seed 004, "8. Records and information
sharing"), the Leicestershire partnership keeps a student's records for eight years (seed
003, "44. Confidentiality and Record Keeping"). A pack whose policy gives no period says
so (``not_set``) and who to ask; then nothing is due and the review says why.

A rule counted from the date of birth needs one: the log's "age / date of birth" field is
what the worker typed, so a date is used only when exactly one full date is written there
(``2012-03-04``, ``04/03/2012`` day first, ``4 March 2012``) and it is before the concern
was recorded. Otherwise the concern is listed as "review date unknown: date of birth not
recorded" for a person to check: never guessed from an age.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.core.replies import cited

DUE = "due"
UNKNOWN = "unknown"
NOT_YET = "not yet"

NO_DATE_OF_BIRTH = "review date unknown: date of birth not recorded"

_MONTHS = {
    name.lower(): number
    for number in range(1, 13)
    for name in (calendar.month_name[number], calendar.month_abbr[number])
}
_MONTHS["sept"] = 9
_MONTH_WORD = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DATE_PATTERNS = (
    # 2012-03-04
    (re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)"), ("y", "m", "d")),
    # 04/03/2012, 4.3.2012, 04-03-2012: day first (UK)
    (re.compile(r"(?<!\d)(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})(?!\d)"), ("d", "m", "y")),
    # 4 March 2012, 4th of Mar 2012
    (
        re.compile(
            rf"(?<!\d)(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH_WORD})\.?,?\s+(\d{{4}})(?!\d)",
            re.IGNORECASE,
        ),
        ("d", "M", "y"),
    ),
    # March 4 2012, Mar 4th, 2012
    (
        re.compile(
            rf"\b({_MONTH_WORD})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})(?!\d)",
            re.IGNORECASE,
        ),
        ("M", "d", "y"),
    ),
)


def dates_in(text: str) -> list[date]:
    """Every full, valid calendar date written in `text`, in order, without repeats."""
    found: list[tuple[int, date]] = []
    taken: list[tuple[int, int]] = []
    for pattern, order in _DATE_PATTERNS:
        for match in pattern.finditer(text or ""):
            if any(start < match.end() and match.start() < end for start, end in taken):
                continue
            parts = dict(zip(order, match.groups(), strict=True))
            month = _MONTHS[parts["M"].lower()] if "M" in parts else int(parts["m"])
            try:
                found.append((match.start(), date(int(parts["y"]), month, int(parts["d"]))))
            except ValueError:
                continue  # 31/02/2012 is not a date
            taken.append((match.start(), match.end()))
    return list(dict.fromkeys(day for _, day in sorted(found)))


def date_of_birth(text: str, recorded: date) -> tuple[date | None, str]:
    """(date of birth, "") if `text` holds exactly one plausible one, else (None, why)."""
    days = dates_in(text)
    if not days:
        return None, NO_DATE_OF_BIRTH
    if len(days) > 1:
        return None, (
            "review date unknown: more than one date in the age / date of birth field; check "
            "which is the date of birth"
        )
    (day,) = days
    if day >= recorded:
        return None, (
            "review date unknown: the date in the age / date of birth field is not before the "
            "concern was recorded"
        )
    return day, ""


def add_years(day: date, years: int) -> date:
    """The same day `years` later; 29 February becomes 28 February (never a day late)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


@dataclass(frozen=True)
class ReviewItem:
    """One concern under one retention rule."""

    reference: str
    status: str  # the concern: open / closed
    recorded: date
    rule: str  # what the rule covers (the pack's `what`)
    period: str  # as the policy words it
    source: str  # seed file, section
    review_date: date | None
    state: str  # due / unknown / not yet
    why: str
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["recorded"] = self.recorded.isoformat()
        out["review_date"] = self.review_date.isoformat() if self.review_date else None
        return out


def _review(rule: Any, concern: Any) -> tuple[date | None, str]:
    """(review date, why) for one concern under one rule."""
    recorded = concern.created_at.date()
    years = rule.review_after_years
    if rule.counted_from == "recorded":
        review = add_years(recorded, years)
        return review, (
            f"recorded {recorded.isoformat()}; {rule.period} counted from the date recorded "
            f"gives {review.isoformat()}"
        )
    born, problem = date_of_birth(concern.child_age or "", recorded)
    if born is None:
        return None, problem
    review = add_years(born, years)
    return review, f"{years} years after the date of birth on the record gives {review.isoformat()}"


def review_items(pack: Any, concerns: list[Any], at: date) -> list[ReviewItem]:
    """Every (concern, rule) pair with its review date and state on `at`; rules without a
    computable period are left out (see `unscheduled_rules`)."""
    items = []
    for concern in concerns:
        for rule in pack.retention.rules:
            if rule.review_after_years is None:
                continue
            review, why = _review(rule, concern)
            if review is None:
                state = UNKNOWN
            elif review <= at:
                state = DUE
            else:
                state = NOT_YET
            items.append(
                ReviewItem(
                    reference=concern.reference,
                    status=concern.status,
                    recorded=concern.created_at.date(),
                    rule=rule.what,
                    period=rule.period,
                    source=rule.source.cite(),
                    review_date=review,
                    state=state,
                    why=why,
                    note=rule.note or "",
                )
            )
    order = {DUE: 0, UNKNOWN: 1, NOT_YET: 2}
    return sorted(
        items,
        key=lambda i: (order[i.state], i.review_date or date.max, i.recorded, i.reference),
    )


def due(pack: Any, concerns: list[Any], at: date) -> list[ReviewItem]:
    """What needs a person's review on `at`: review date come, or unknown."""
    return [item for item in review_items(pack, concerns, at) if item.state != NOT_YET]


def unscheduled_rules(pack: Any) -> list[Any]:
    """The pack's rules with no period safeguard can count (shown as written)."""
    return [rule for rule in pack.retention.rules if rule.review_after_years is None]


def not_set_text(pack: Any) -> str:
    """Why nothing can be due under this pack, and who to ask."""
    retention = pack.retention
    text = f"No retention period is set for {pack.name}: {retention.not_set}"
    if retention.ask:
        text += f" Ask {retention.ask}."
    if retention.source:

        text += f" (Source: {cited(pack, [retention.source])}.)"
    return text
