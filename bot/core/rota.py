"""Who is on call: the roster of Safeguarding Leads, their shifts, and gaps in cover.

The roster is deployment data (``deploy/roster.example.yml``; ``SAFEGUARD_ROSTER`` picks the
file), validated with `bot.core.datafile.load_model` so a broken file stops start-up with one line.

The seeds promise "A Safeguarding Lead is always available to staff". A gap in cover breaks
that promise, so `cover_warnings` turns every gap in the next 72 hours into a plain warning
that the CLI and start-up print loudly, not a log line nobody reads.

Shifts are written in Europe/London wall-clock time ("mon-fri 09:00-17:00", "daily
22:00-08:00"). Each occurrence is placed on its local date and converted to UTC before any
comparison, so an overnight shift across the October/March clock change still starts and
ends at the local times written (and is an hour longer or shorter in real time).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, root_validator, validator

from bot.config import settings
from bot.core.clock import LONDON, ClockError, parse_local
from bot.core.datafile import DataFileError, load_model

DEFAULT_ROSTER = settings.DEFAULT_ROSTER
URGENCIES = ("immediate", "urgent", "routine")
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ROLE_ORDER = {"lead": 0, "deputy": 1, "admin": 2, "worker": 3}

_PERSON_ID = r"^[a-z0-9][a-z0-9_-]{0,31}$"
_PHONE = re.compile(r"^\+?[0-9][0-9 ]{6,18}[0-9]$")
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_SHIFT = re.compile(r"^\s*(?P<days>[a-z,\- ]+?)\s+(?P<start>\d{2}:\d{2})-(?P<end>\d{2}:\d{2})\s*$")


class RotaError(ValueError):
    """A roster problem that must be reported as one plain line."""


# --------------------------------------------------------------------------- parsing helpers


def parse_days(text: str) -> frozenset[int]:
    """'mon-fri' -> {0..4}; 'sat,sun'; 'daily'; 'fri-mon' wraps round the week."""
    text = text.strip().lower()
    if text in ("daily", "every day", "mon-sun"):
        return frozenset(range(7))
    days: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if "-" in part:
            first, _, last = part.partition("-")
            if first.strip() not in DAY_NAMES or last.strip() not in DAY_NAMES:
                raise ValueError(f"{part!r} is not a day range like mon-fri")
            i, j = DAY_NAMES.index(first.strip()), DAY_NAMES.index(last.strip())
            while True:
                days.add(i)
                if i == j:
                    break
                i = (i + 1) % 7
        elif part in DAY_NAMES:
            days.add(DAY_NAMES.index(part))
        else:
            raise ValueError(f"{part!r} is not a day (use mon, tue, ... sun, mon-fri or daily)")
    return frozenset(days)


def parse_clock(text: str) -> time:
    """'09:00' -> time(9); '24:00' is accepted as the end of the day (returned as 00:00)."""
    hours, minutes = (int(x) for x in text.split(":"))
    if text == "24:00":
        return time(0, 0)
    if not (0 <= hours < 24 and 0 <= minutes < 60):
        raise ValueError(f"{text!r} is not a time of day")
    return time(hours, minutes)


@dataclass(frozen=True)
class WeeklyShift:
    """One weekly layer: on these weekdays from `start` local time to `end` local time.

    If `end` is not after `start` the shift runs overnight into the next day (22:00-08:00);
    equal times mean a full 24 hours.
    """

    days: frozenset[int]
    start: time
    end: time

    @property
    def overnight(self) -> bool:
        return self.end <= self.start

    @classmethod
    def parse(cls, text: str) -> WeeklyShift:
        match = _SHIFT.match(text.lower())
        if not match:
            raise ValueError(f"{text!r} is not a shift like 'mon-fri 09:00-17:00'")
        return cls(
            days=parse_days(match["days"]),
            start=parse_clock(match["start"]),
            end=parse_clock(match["end"]),
        )

    def occurrences(
        self, start_utc: datetime, end_utc: datetime
    ) -> list[tuple[datetime, datetime]]:
        """Every occurrence overlapping [start_utc, end_utc), as UTC intervals."""
        first = start_utc.astimezone(LONDON).date() - timedelta(days=1)
        last = end_utc.astimezone(LONDON).date()
        out = []
        day = first
        while day <= last:
            if day.weekday() in self.days:
                begins = _local(day, self.start)
                ends = _local(day + timedelta(days=1) if self.overnight else day, self.end)
                if begins < end_utc and ends > start_utc:
                    out.append((begins, ends))
            day += timedelta(days=1)
        return out


def _local(day: date, at: time) -> datetime:
    """A local wall-clock time on a date, as UTC (fold=0: the first of a repeated hour)."""
    return datetime.combine(day, at, tzinfo=LONDON).astimezone(timezone.utc)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LONDON)
    return moment.astimezone(timezone.utc)


# --------------------------------------------------------------------------- schema


class Person(BaseModel):
    """Someone who can be paged. Contact details are deployment data, never policy."""

    id: str = Field(..., regex=_PERSON_ID)
    name: str = Field(..., min_length=1, max_length=80)
    role: Literal["lead", "deputy", "admin", "worker"]
    phone: str | None = None
    telegram_chat_id: int | None = None
    teams_webhook_url: str | None = None
    # The person's Microsoft Entra (AAD) object id: how the Teams channel, which verifies
    # Microsoft's token, recognises them (bot.records.access.worker_for). Their roster role in
    # a Teams chat comes from this match only, never from a name they send.
    teams_aad_id: str | None = None

    class Config:
        extra = "forbid"
        frozen = True

    @validator("teams_aad_id")
    def _aad(cls, value: str | None) -> str | None:  # noqa: N805
        if value is None:
            return None
        value = value.strip().lower()
        if not _GUID.match(value):
            raise ValueError(f"{value!r} is not an Entra object id like 0f8c...-...-...")
        return value

    @validator("phone")
    def _phone(cls, value: str | None) -> str | None:  # noqa: N805
        if value is not None and not _PHONE.match(value):
            raise ValueError(f"{value!r} is not a phone number like 07700 900123")
        return value

    @validator("teams_webhook_url")
    def _webhook(cls, value: str | None) -> str | None:  # noqa: N805
        if value is not None and not re.match(r"^https?://[^\s]+$", value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value

    @property
    def channels(self) -> list[tuple[str, str]]:
        """(transport, address) pairs in the order to try them; console is the last resort."""
        out: list[tuple[str, str]] = []
        if self.telegram_chat_id is not None:
            out.append(("telegram", str(self.telegram_chat_id)))
        if self.teams_webhook_url:
            out.append(("teams", self.teams_webhook_url))
        out.append(("console", self.id))
        return out


class Shift(BaseModel):
    """A weekly layer of cover for one person."""

    person: str
    when: str
    note: str | None = None

    class Config:
        extra = "forbid"

    @validator("when")
    def _when(cls, value: str) -> str:  # noqa: N805
        WeeklyShift.parse(value)
        return value

    @property
    def weekly(self) -> WeeklyShift:
        return WeeklyShift.parse(self.when)


class Override(BaseModel):
    """A one-off change: `person` is on call from `start` to `end` (local), and/or the
    people in `replaces` are off (leave, sickness). `replaces: [all]` stands everyone down."""

    start: str
    end: str
    person: str | None = None
    replaces: list[str] = []
    note: str | None = None

    class Config:
        extra = "forbid"

    @validator("start", "end")
    def _iso(cls, value: str) -> str:  # noqa: N805
        try:
            parse_local(value)
        except ClockError:
            raise ValueError(f"{value!r} is not a local time like 2026-12-25T09:00") from None
        return value

    @root_validator(skip_on_failure=True)
    def _shape(cls, values: dict) -> dict:  # noqa: N805
        if parse_local(values["end"]) <= parse_local(values["start"]):
            raise ValueError("end must be after start")
        if not values.get("person") and not values.get("replaces"):
            raise ValueError("an override needs a person, or replaces, or both")
        return values

    @property
    def interval(self) -> tuple[datetime, datetime]:
        return _utc(parse_local(self.start)), _utc(parse_local(self.end))


class Step(BaseModel):
    """One escalation step: who to page and how long to wait for an acknowledgement."""

    target: Literal["on_call_lead", "deputies", "all_on_call", "person", "fallback"]
    person: str | None = None
    timeout_minutes: float = Field(0, ge=0, le=24 * 60)

    class Config:
        extra = "forbid"

    @root_validator(skip_on_failure=True)
    def _person(cls, values: dict) -> dict:  # noqa: N805
        if values["target"] == "person" and not values.get("person"):
            raise ValueError("target 'person' needs person: <id>")
        if values["target"] != "person" and values.get("person"):
            raise ValueError("person: is only used with target: person")
        if values["target"] != "fallback" and values.get("timeout_minutes", 0) <= 0:
            raise ValueError("a paging step needs timeout_minutes greater than 0")
        return values


class Escalation(BaseModel):
    """The chain for one urgency: the steps, repeated `repeat` times, then the fallback."""

    steps: list[Step] = Field(..., min_items=1)
    repeat: int = Field(1, ge=1, le=10)

    class Config:
        extra = "forbid"


class Fallback(BaseModel):
    """Who the worker is told to ring when no Safeguarding Lead acknowledges.

    A purpose looked up in the organisation's policy pack (`bot.core.contacts.route`), never a
    number written here: numbers come from the policy, which names its seed file and section.
    """

    purpose: str = Field(..., regex=r"^[a-z][a-z0-9_]*$")
    pack: str | None = None
    note: str | None = None

    class Config:
        extra = "forbid"


class Roster(BaseModel):
    organisation: str
    source: str = Field(..., min_length=1)
    people: list[Person] = Field(..., min_items=1)
    shifts: list[Shift] = []
    overrides: list[Override] = []
    fallback: Fallback
    escalation: dict[Literal["immediate", "urgent", "routine"], Escalation]

    class Config:
        extra = "forbid"

    @root_validator(skip_on_failure=True)
    def _references(cls, values: dict) -> dict:  # noqa: N805
        ids = [p.id for p in values["people"]]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"people: duplicate id {dupes[0]!r}")
        known = set(ids)
        roles = {p.id: p.role for p in values["people"]}
        for n, shift in enumerate(values["shifts"]):
            if shift.person not in known:
                raise ValueError(f"shifts[{n}].person: {shift.person!r} is not in people")
            if roles[shift.person] not in ("lead", "deputy"):
                raise ValueError(
                    f"shifts[{n}].person: {shift.person!r} is a {roles[shift.person]}; "
                    "only leads and deputies go on call"
                )
        for n, over in enumerate(values["overrides"]):
            for who in ([over.person] if over.person else []) + over.replaces:
                if who != "all" and who not in known:
                    raise ValueError(f"overrides[{n}]: {who!r} is not in people")
        missing = [u for u in URGENCIES if u not in values["escalation"]]
        if missing:
            raise ValueError(f"escalation: no chain for urgency {missing[0]!r}")
        for urgency, chain in values["escalation"].items():
            for n, step in enumerate(chain.steps):
                if step.person and step.person not in known:
                    raise ValueError(
                        f"escalation.{urgency}.steps[{n}].person: {step.person!r} is not in people"
                    )
        return values

    def person(self, person_id: str) -> Person:
        for person in self.people:
            if person.id == person_id:
                return person
        raise RotaError(f"no one called {person_id!r} in the roster")


# --------------------------------------------------------------------------- queries


def roster_path() -> Path:
    """SAFEGUARD_ROSTER, else the fictional example roster."""
    return settings.current().roster_path


_parsed: dict[Path, tuple[tuple[int, int, int], Roster]] = {}


def load_roster(path: Path | str | None = None, *, shared: bool = False) -> Roster:
    """Read and validate the roster; problems raise a one-line `DataFileError`.

    The file is parsed again whenever it changes (its modification time, size or inode), so
    an edit applies to the next call; otherwise the last parse is reused. Measured: parsing
    and validating took 17-50 ms, and saving one disclosure loaded the roster three times
    in the action server (README "Performance"). Each caller gets its own copy, unless it
    only reads the roster and says so with `shared=True`: the deep copy was a third of the
    time of saving a disclosure (1.2 ms a copy, three per save; `make bench`)."""
    target = Path(path) if path else roster_path()
    try:
        info = target.stat()
    except OSError:
        return load_model(target, Roster)  # the one-line "cannot read" error
    stamp = (info.st_mtime_ns, info.st_size, info.st_ino)
    cached = _parsed.get(target)
    if cached is None or cached[0] != stamp:
        cached = (stamp, load_model(target, Roster))
        _parsed[target] = cached
    return cached[1] if shared else cached[1].copy(deep=True)


def on_call(roster: Roster, when: datetime) -> list[Person]:
    """Who is on call at `when`: leads first, then deputies, each in roster order."""
    moment = _utc(when)
    on: set[str] = set()
    for shift in roster.shifts:
        for begins, ends in shift.weekly.occurrences(moment, moment + timedelta(seconds=1)):
            if begins <= moment < ends:
                on.add(shift.person)
    for over in roster.overrides:
        begins, ends = over.interval
        if begins <= moment < ends:
            if "all" in over.replaces:
                on.clear()
            on.difference_update(over.replaces)
            if over.person:
                on.add(over.person)
    order = {p.id: n for n, p in enumerate(roster.people)}
    people = [roster.person(i) for i in on]
    return sorted(people, key=lambda p: (ROLE_ORDER[p.role], order[p.id]))


def gaps(roster: Roster, start: datetime, hours: float = 72) -> list[tuple[datetime, datetime]]:
    """Stretches in [start, start + hours) when no one is on call, as local (start, end)."""
    begin = _utc(start)
    finish = begin + timedelta(hours=hours)
    edges = {begin, finish}
    for shift in roster.shifts:
        for a, b in shift.weekly.occurrences(begin, finish):
            edges.update((a, b))
    for over in roster.overrides:
        edges.update(over.interval)
    points = sorted(e for e in edges if begin <= e <= finish)
    out: list[tuple[datetime, datetime]] = []
    for a, b in zip(points, points[1:], strict=False):
        if a == b or on_call(roster, a):
            continue
        if out and out[-1][1] == a:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return [(a.astimezone(LONDON), b.astimezone(LONDON)) for a, b in out]


def _span(hours: float) -> str:
    whole = int(hours)
    minutes = round((hours - whole) * 60)
    return f"{whole} h {minutes} min" if minutes else f"{whole} h"


def cover_warnings(roster: Roster, start: datetime, hours: float = 72) -> list[str]:
    """Plain, loud warnings for every gap in cover; empty means someone is always on call."""
    warnings = []
    fmt = "%a %d %b %H:%M"
    for a, b in gaps(roster, start, hours):
        length = (b - a).total_seconds() / 3600
        when = "NOW, " if a <= _utc(start) else ""
        warnings.append(
            f"NO SAFEGUARDING LEAD ON CALL {when}from {a.strftime(fmt)} to {b.strftime(fmt)} "
            f"({_span(length)}): nobody will be paged; workers will be sent straight to the "
            f"fallback ({roster.fallback.purpose}). Fix the roster's shifts or overrides."
        )
    if not any(p.role == "lead" for p in roster.people):
        warnings.append("THE ROSTER HAS NO SAFEGUARDING LEAD (role: lead) AT ALL.")
    return warnings


def describe(person: Person) -> str:
    return f"{person.name} ({person.role})"


__all__ = [
    "DataFileError",
    "Escalation",
    "Fallback",
    "Override",
    "Person",
    "Roster",
    "RotaError",
    "Shift",
    "Step",
    "WeeklyShift",
    "cover_warnings",
    "gaps",
    "load_roster",
    "on_call",
    "roster_path",
]
