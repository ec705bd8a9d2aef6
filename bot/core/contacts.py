"""Who to call: route a purpose to the pack's contacts for the current time.

`route(pack, "lado", when)` returns the contacts that serve that purpose, best first, each
with a one-line reason ("Leicestershire LADO is closed on Friday after 16:30, so call First
Response"). A purpose the pack has no contact for returns one entry with `contact=None` and
the pack's "not set" explanation: never an exception, never a guessed number.

`purpose_from_text("who's the LADO?")` maps what a worker types to a purpose using the
phrases in ``knowledge/purposes.yml``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, validator

from bot import ROOT
from bot.core import clock
from bot.core.datafile import load_model
from bot.core.hours import (
    DAY_LABELS,
    HoursRule,
    bank_holiday_name,
    is_bank_holiday,
    is_working_time,
)
from bot.core.pack import PURPOSES, Contact, Pack, format_number

PURPOSES_FILE = ROOT / "knowledge" / "purposes.yml"

__all__ = [
    "PURPOSES",
    "PURPOSES_FILE",
    "Route",
    "load_purpose_phrases",
    "purpose_from_text",
    "route",
]


@dataclass(frozen=True)
class Route:
    """One answer to "who do I call for <purpose> now?"."""

    purpose: str
    contact: Contact | None
    reason: str
    open_now: bool | None
    source: str
    fallback_for: str | None = None

    @property
    def number(self) -> str | None:
        if self.contact is None or self.contact.number is None:
            return None
        return format_number(self.contact.number)

    def as_dict(self) -> dict[str, Any]:
        contact = self.contact
        return {
            "purpose": self.purpose,
            "name": contact.name if contact else None,
            "contact_id": contact.id if contact else None,
            "number": self.number,
            "email": contact.email if contact else None,
            "not_set": contact.not_set if contact else self.reason,
            "open_now": self.open_now,
            "reason": self.reason,
            "source": self.source,
            "fallback_for": self.fallback_for,
        }


# -- purpose_from_text -----------------------------------------------------------------


class _PurposePhrases(BaseModel):
    purpose: str
    phrases: list[str] = Field(..., min_items=1)

    class Config:
        extra = "forbid"

    @validator("purpose")
    def _known(cls, value: str) -> str:  # noqa: N805
        if value not in PURPOSES:
            raise ValueError(f"{value!r} is not a purpose (one of: {', '.join(PURPOSES)})")
        return value


class _PurposesFile(BaseModel):
    purposes: list[_PurposePhrases] = Field(..., min_items=1)

    class Config:
        extra = "forbid"


def _normalise(text: str) -> str:
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    text = text.replace("'", "")
    text = re.sub(r"[^a-z0-9\-]+", " ", text)
    return " ".join(text.split())


def load_purpose_phrases(path: Path | None = None) -> tuple[tuple[str, re.Pattern[str]], ...]:
    """Read and compile knowledge/purposes.yml (or `path`); a broken file raises a one-line
    DataFileError, so start-up can check it before the first message arrives."""
    if path is None:
        return _phrase_patterns()
    return _compile(path)


@cache
def _phrase_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    return _compile(PURPOSES_FILE)


def _compile(path: Path) -> tuple[tuple[str, re.Pattern[str]], ...]:
    data = load_model(path, _PurposesFile)
    patterns = []
    for entry in data.purposes:
        alternatives = sorted({_normalise(p) for p in entry.phrases}, key=len, reverse=True)
        body = "|".join(re.escape(a) for a in alternatives if a)
        patterns.append((entry.purpose, re.compile(rf"(?<![a-z0-9])(?:{body})(?![a-z0-9])")))
    return tuple(patterns)


def purpose_from_text(text: str) -> str | None:
    """The contact purpose a worker's message asks about, or None if none is recognised."""
    patterns = _phrase_patterns()
    if not text or not text.strip():
        return None
    normal = _normalise(text)
    for purpose, pattern in patterns:
        if pattern.search(normal):
            return purpose
    return None


# -- routing ---------------------------------------------------------------------------


def _next_opening(rule: HoursRule, when: datetime) -> datetime | None:
    """The next time a days-and-times rule opens after `when` (within two weeks)."""
    if rule.kind != "windows":
        return None
    for offset in range(15):
        day: date = (when + timedelta(days=offset)).date()
        if rule.closed_bank_holidays and is_bank_holiday(day):
            continue
        for start in sorted(w.start for w in rule.windows if day.weekday() in w.days):
            candidate = datetime.combine(day, start, tzinfo=when.tzinfo)
            if candidate > when:
                return candidate
    return None


def _day_words(moment: datetime, when: datetime) -> str:
    if moment.date() == when.date():
        return "today"
    if moment.date() == (when + timedelta(days=1)).date():
        return f"tomorrow ({DAY_LABELS[moment.weekday()]})"
    return moment.strftime("%A %-d %B")


def closed_because(contact: Contact, when: datetime, office: HoursRule) -> str:
    """Why a contact is closed now, in plain words."""
    rule = contact.hours()
    if rule.kind in ("office hours", "outside office hours"):
        if rule.kind == "office hours":
            return f"{contact.name} is only available in office hours ({rule.describe(office)})"
        return f"{contact.name} is for outside office hours and it is office hours now"
    day = when.date()
    holiday = bank_holiday_name(day)
    if rule.closed_bank_holidays and holiday:
        return f"{contact.name} is closed today ({holiday}, a bank holiday)"
    weekday = when.strftime("%A")
    closing = rule.closing_time(day)
    opening = rule.opening_time(day)
    clock_now = when.time().replace(tzinfo=None)
    if closing is None:
        return f"{contact.name} is closed on {weekday}s"
    if opening is not None and clock_now < opening:
        return f"{contact.name} does not open until {opening:%H:%M} on {weekday}"
    if clock_now >= closing:
        return f"{contact.name} is closed on {weekday} after {closing:%H:%M}"
    return f"{contact.name} is closed now ({rule.describe()})"


def _hours_words(contact: Contact, office: HoursRule) -> str:
    rule = contact.hours()
    if rule.kind == "always":
        return "available 24 hours"
    return rule.describe(office)


def _route_one(pack: Pack, purpose: str, contact: Contact, when: datetime) -> Route:
    office = pack.office_rule()
    rule = contact.hours()
    is_open = rule.is_open(when, office)
    if is_open is True:
        reason = (
            f"{contact.name}: available 24 hours."
            if rule.kind == "always"
            else f"{contact.name} is open now ({_hours_words(contact, office)})."
        )
    elif is_open is None:
        reason = f"{contact.name}: opening hours are not stated in the policy."
        if contact.serves == "out_of_hours":
            reason = f"{contact.name} is for out of hours; its hours are not stated in the policy."
        elif contact.serves == "in_hours":
            reason = f"{contact.name} is for office hours; its hours are not stated in the policy."
    else:
        reason = closed_because(contact, when, office) + "."
        opens = _next_opening(rule, when)
        if opens is not None:
            reason += f" It opens {_day_words(opens, when)} at {opens:%H:%M}."
    reason += _not_set_suffix(contact)
    return Route(purpose, contact, reason, is_open, contact.source.cite())


def _not_set_suffix(contact: Contact) -> str:
    """' Number not set for this deployment: <why>' for a contact with no number/email."""
    if contact.number is None and contact.email is None and contact.not_set:
        return f" Number not set for this deployment: {contact.not_set}"
    return ""


def _sort_key(pack: Pack, item: Route, when: datetime) -> tuple[int, int]:
    rank = {True: 0, None: 1, False: 2}[item.open_now]
    side = 1
    if item.contact is not None and item.open_now is None:
        office_open = is_working_time(pack, when)
        serves = item.contact.serves
        if office_open is False:
            side = 0 if serves == "out_of_hours" else 2 if serves == "in_hours" else 1
        elif office_open is True:
            side = 0 if serves == "in_hours" else 2 if serves == "out_of_hours" else 1
    return rank, side


def route(pack: Pack, purpose: str, when: datetime | None = None) -> list[Route]:
    """The contacts for `purpose` at `when` (default now, Europe/London), best first.

    Never empty. Open contacts come first, then contacts whose hours the policy does not
    state (ordered by whether it is office hours: weekends and bank holidays are never
    office hours), then closed ones. A closed contact with a `when_closed` fallback is
    followed by the fallback, with the reason ("... is closed on Friday after 16:30, so
    call First Response"). Raises ValueError only for a purpose name that does not exist.
    """
    if purpose not in PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r} (one of: {', '.join(PURPOSES)})")
    when = clock.parse_local(when.isoformat()) if when is not None else clock.now()
    contacts = pack.contacts_for(purpose)
    if not contacts:
        unset = pack.unset(purpose)
        if unset is not None:
            reason = f"Not set for this deployment: {unset.not_set} Ask {unset.ask}."
        else:
            reason = (
                f"Not set for this deployment: {pack.short_name}'s policy gives no contact "
                f"for this. Ask {pack.ask_first}."
            )
        return [Route(purpose, None, reason, None, f"{pack.short_name} policy pack")]

    results: list[Route] = []
    for contact in contacts:
        item = _route_one(pack, purpose, contact, when)
        results.append(item)
    results.sort(key=lambda item: _sort_key(pack, item, when))

    final: list[Route] = []
    seen: set[str] = set()
    office = pack.office_rule()
    for item in results:
        contact = item.contact
        assert contact is not None
        if item.open_now is False and contact.when_closed:
            fallback = pack.contact(contact.when_closed)
            if fallback.id not in seen:
                fallback_open = fallback.hours().is_open(when, office)
                why = closed_because(contact, when, office)
                reason = f"{why}, so call {fallback.name}."
                if fallback_open is False:
                    reason = f"{why}; {fallback.name} is also closed now."
                reason += _not_set_suffix(fallback)
                final.append(
                    Route(
                        purpose,
                        fallback,
                        reason,
                        fallback_open,
                        fallback.source.cite(),
                        fallback_for=contact.id,
                    )
                )
                seen.add(fallback.id)
        if contact.id not in seen:
            final.append(item)
            seen.add(contact.id)
    # An open fallback beats anything closed.
    final.sort(key=lambda item: {True: 0, None: 1, False: 2}[item.open_now])
    return _with_other_side(pack, purpose, final, when, seen)


# Children's social care has an office-hours front door and an out-of-hours service; a
# worker asking for one at the wrong time needs the other as well.
_OTHER_SIDE = {
    "child_social_care_referral": "out_of_hours_social_care",
    "out_of_hours_social_care": "child_social_care_referral",
}


def time_context(pack: Pack, when: datetime) -> str:
    """'it is Saturday', 'it is a bank holiday (Boxing Day)', 'it is outside office hours'."""
    holiday = bank_holiday_name(when.date())
    if holiday:
        return f"it is a bank holiday ({holiday})"
    if when.weekday() >= 5:
        return f"it is {when:%A}"
    office_open = is_working_time(pack, when)
    if office_open is True:
        return "it is office hours"
    if office_open is False:
        return "it is outside office hours"
    return f"it is {when:%A %H:%M} and the policy does not state office hours"


def _with_other_side(
    pack: Pack, purpose: str, found: list[Route], when: datetime, seen: set[str]
) -> list[Route]:
    other = _OTHER_SIDE.get(purpose)
    if other is None:
        return found
    office_open = is_working_time(pack, when)
    wanted_out_of_hours = purpose == "out_of_hours_social_care"
    # Office open and they asked for the in-hours line (or closed and they asked for the
    # out-of-hours line): the answer is already right.
    if office_open is (not wanted_out_of_hours):
        return found
    extra: list[Route] = []
    context = time_context(pack, when)
    office = pack.office_rule()
    for contact in pack.contacts_for(other):
        if contact.id in seen:
            continue
        is_open = contact.hours().is_open(when, office)
        if is_open is False:
            continue
        if office_open is None:
            side = (
                "If the office-hours service is closed"
                if not wanted_out_of_hours
                else ("In office hours")
            )
            reason = f"{side}, use {contact.name} ({context})."
        else:
            reason = f"{context[0].upper()}{context[1:]}, so use {contact.name}."
        reason += _not_set_suffix(contact)
        extra.append(Route(purpose, contact, reason, is_open, contact.source.cite()))
    if office_open is None:
        return found + extra
    # The other side is the right one now: put it first; keep the asked-for line after.
    usable = [r for r in found if r.contact is not None]
    return extra + usable if extra else found
