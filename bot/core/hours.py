"""Opening-hours rules, bank holidays and working-day arithmetic, in Europe/London time.

An hours rule is a short string written in a policy pack, e.g.::

    always                                  24 hours a day, every day
    not stated                              the policy does not say (we never guess)
    office hours                            the pack's own office_hours rule
    outside office hours                    whenever the pack's office hours are closed
    mon-thu 08:30-17:00; fri 08:30-16:30    listed days and times (end may be 24:00)
    mon-fri 09:00-17:00; closed bank holidays

Days are mon tue wed thu fri sat sun, as ranges (mon-fri), lists (sat,sun) or `daily`.
Bank holidays are England and Wales bank holidays (the `holidays` library, subdivision ENG).
A rule only closes on bank holidays when it says `closed bank holidays`: where a policy
does not say, we do not assume.

Times are compared as local wall-clock times, so the rule means the same thing in GMT and
BST.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Protocol

import holidays

from bot.core.clock import LONDON

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_LABELS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

ALWAYS = "always"
NOT_STATED = "not stated"
OFFICE_HOURS = "office hours"
OUTSIDE_OFFICE_HOURS = "outside office hours"
CLOSED_BANK_HOLIDAYS = "closed bank holidays"

_TIME = r"(?:[01]\d|2[0-3]):[0-5]\d|24:00"
_CLAUSE = re.compile(rf"^(?P<days>[a-z,\-]+)\s+(?P<start>{_TIME})-(?P<end>{_TIME})$")


class HoursRuleError(ValueError):
    """The text is not a valid hours rule."""


@dataclass(frozen=True)
class Window:
    """Open on `days` (0=Mon) from `start` to `end` local time; end None means midnight."""

    days: frozenset[int]
    start: time
    end: time | None

    def contains(self, moment: datetime) -> bool:
        if moment.weekday() not in self.days:
            return False
        clock = moment.time().replace(tzinfo=None)
        return self.start <= clock and (self.end is None or clock < self.end)

    def describe(self) -> str:
        return f"{_describe_days(self.days)} {_fmt(self.start)}–{_fmt(self.end)}"


@dataclass(frozen=True)
class HoursRule:
    """A parsed hours rule. `kind` is one of always / not stated / office hours /
    outside office hours / windows."""

    text: str
    kind: str
    windows: tuple[Window, ...] = field(default=())
    closed_bank_holidays: bool = False

    @property
    def is_known(self) -> bool:
        return self.kind != NOT_STATED

    def is_open(self, when: datetime, office: HoursRule | None = None) -> bool | None:
        """True/False, or None when the rule (or the office hours it refers to) is not
        stated. `office` is the pack's office-hours rule, needed for the relative kinds."""
        when = _local(when)
        if self.kind == ALWAYS:
            return True
        if self.kind == NOT_STATED:
            return None
        if self.kind in (OFFICE_HOURS, OUTSIDE_OFFICE_HOURS):
            if office is None or office.kind in (OFFICE_HOURS, OUTSIDE_OFFICE_HOURS):
                return None
            inside = office.is_open(when)
            if inside is None:
                return None
            return inside if self.kind == OFFICE_HOURS else not inside
        if self.closed_bank_holidays and is_bank_holiday(when.date()):
            return False
        return any(window.contains(when) for window in self.windows)

    def describe(self, office: HoursRule | None = None) -> str:
        """Plain words for a worker, e.g. 'Mon–Thu 08:30–17:00; Fri 08:30–16:30'."""
        if self.kind == ALWAYS:
            return "24 hours, every day"
        if self.kind == NOT_STATED:
            return "hours not stated in the policy"
        if self.kind == OFFICE_HOURS:
            inner = office.describe() if office and office.kind == "windows" else "not stated"
            return f"office hours ({inner})"
        if self.kind == OUTSIDE_OFFICE_HOURS:
            inner = office.describe() if office and office.kind == "windows" else "not stated"
            return f"outside office hours (office hours: {inner})"
        text = "; ".join(window.describe() for window in self.windows)
        if self.closed_bank_holidays:
            text += "; closed on bank holidays"
        return text

    def closing_time(self, day: date) -> time | None:
        """The latest closing time on `day` for a windows rule (None if closed or unknown;
        midnight is returned as 23:59)."""
        if self.kind != "windows":
            return None
        if self.closed_bank_holidays and is_bank_holiday(day):
            return None
        ends = [w.end or time(23, 59) for w in self.windows if day.weekday() in w.days]
        return max(ends) if ends else None

    def opening_time(self, day: date) -> time | None:
        if self.kind != "windows":
            return None
        if self.closed_bank_holidays and is_bank_holiday(day):
            return None
        starts = [w.start for w in self.windows if day.weekday() in w.days]
        return min(starts) if starts else None


class HasOfficeHours(Protocol):
    """Anything with an `office_rule()` (a Pack) can be passed where a rule is expected."""

    def office_rule(self) -> HoursRule: ...


def _fmt(moment: time | None) -> str:
    return "24:00" if moment is None else moment.strftime("%H:%M")


def _describe_days(days: frozenset[int]) -> str:
    ordered = sorted(days)
    if len(ordered) == 7:
        return "Every day"
    if ordered == list(range(ordered[0], ordered[-1] + 1)) and len(ordered) > 2:
        return f"{DAY_LABELS[ordered[0]]}–{DAY_LABELS[ordered[-1]]}"
    return ", ".join(DAY_LABELS[d] for d in ordered)


def _local(when: datetime) -> datetime:
    if when.tzinfo is None:
        return when.replace(tzinfo=LONDON)
    return when.astimezone(LONDON)


def _parse_days(text: str) -> frozenset[int]:
    if text == "daily":
        return frozenset(range(7))
    days: set[int] = set()
    for part in text.split(","):
        if "-" in part:
            first, _, last = part.partition("-")
            if first not in DAY_NAMES or last not in DAY_NAMES:
                raise HoursRuleError(part)
            a, b = DAY_NAMES.index(first), DAY_NAMES.index(last)
            if b < a:
                raise HoursRuleError(part)
            days.update(range(a, b + 1))
        elif part in DAY_NAMES:
            days.add(DAY_NAMES.index(part))
        else:
            raise HoursRuleError(part)
    return frozenset(days)


def _parse_time(text: str) -> time | None:
    if text == "24:00":
        return None
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


@lru_cache(maxsize=512)
def parse_rule(text: str) -> HoursRule:
    """Parse an hours rule; raises HoursRuleError("'<text>' is not a valid hours rule")."""
    problem = HoursRuleError(f"{text!r} is not a valid hours rule")
    if not isinstance(text, str):
        raise problem
    normal = " ".join(text.lower().split())
    if normal in (ALWAYS, "24/7"):
        return HoursRule(text, ALWAYS)
    if normal in (NOT_STATED, OFFICE_HOURS, OUTSIDE_OFFICE_HOURS):
        return HoursRule(text, normal)
    windows: list[Window] = []
    closed_bank_holidays = False
    for clause in (c.strip() for c in normal.split(";")):
        if clause == CLOSED_BANK_HOLIDAYS:
            closed_bank_holidays = True
            continue
        match = _CLAUSE.match(clause)
        if not match:
            raise problem
        try:
            days = _parse_days(match["days"])
        except HoursRuleError:
            raise problem from None
        start, end = _parse_time(match["start"]), _parse_time(match["end"])
        if start is None or (end is not None and end <= start):
            raise problem
        windows.append(Window(days, start, end))
    if not windows:
        raise problem
    return HoursRule(text, "windows", tuple(windows), closed_bank_holidays)


@lru_cache(maxsize=64)
def _bank_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("GB", subdiv="ENG", years=year)


def is_bank_holiday(day: date | datetime) -> bool:
    """True on an England and Wales bank holiday (including substitute days)."""
    if isinstance(day, datetime):
        day = _local(day).date()
    return day in _bank_holidays(day.year)


def bank_holiday_name(day: date) -> str | None:
    return _bank_holidays(day.year).get(day)


def is_working_day(day: date | datetime) -> bool:
    """Monday to Friday and not a bank holiday."""
    if isinstance(day, datetime):
        day = _local(day).date()
    return day.weekday() < 5 and not is_bank_holiday(day)


def _as_rule(pack_or_rule: HoursRule | HasOfficeHours | str | None) -> HoursRule | None:
    if pack_or_rule is None:
        return None
    if isinstance(pack_or_rule, HoursRule):
        return pack_or_rule
    if isinstance(pack_or_rule, str):
        return parse_rule(pack_or_rule)
    return pack_or_rule.office_rule()


def is_working_time(
    pack_or_rule: HoursRule | HasOfficeHours | str | None, when: datetime
) -> bool | None:
    """Is `when` inside office hours? Uses the pack's office hours (or the given rule).

    Weekends and bank holidays are never working time. On a working day, a rule the
    policy does not state gives None (unknown) rather than a guess.
    """
    when = _local(when)
    if not is_working_day(when):
        return False
    rule = _as_rule(pack_or_rule)
    if rule is None or not rule.is_known:
        return None
    return rule.is_open(when)


def next_working_day(day: date) -> date:
    day += timedelta(days=1)
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def add_working_days(
    start: datetime,
    days: int,
    office: HoursRule | HasOfficeHours | str | None = None,
) -> datetime:
    """The deadline for "within `days` working day(s)" of `start` (0 = "same working day").

    Working days are Mon–Fri except England and Wales bank holidays. With office hours
    known (a pack whose office_hours is a days-and-times rule):

    - started before the office opens on a working day: that day counts as the first, and
      the deadline is the close of the last counted day (Mon 07:00 + 1 -> Mon 17:00);
    - started during office hours: the same clock time `days` working days later, but no
      later than that day's close (Mon 10:00 + 1 -> Tue 10:00);
    - started after close, at a weekend or on a bank holiday: the close of the `days`-th
      following working day (Mon 19:30 + 1 -> Tue 17:00; Sat 14:00 + 1 -> Mon 17:00).

    With office hours not stated, we never invent a closing time: the deadline is the same
    clock time on the `days`-th working day counted from the next working day (or from the
    start day when it is itself a working day), which is never later than the rules above
    would give on a working day. "Same working day" then means the end of that day (23:59).
    """
    if days < 0:
        raise ValueError("days must be zero or more")
    start = _local(start)
    clock = start.time().replace(tzinfo=None)
    rule = _as_rule(office)
    rule = rule if rule is not None and rule.kind == "windows" else None
    day = start.date()

    def forward(first: date, count: int) -> date:
        for _ in range(count):
            first = next_working_day(first)
        return first

    if rule is None:
        if days == 0:
            last = day if is_working_day(day) else next_working_day(day)
            return datetime.combine(last, time(23, 59), tzinfo=LONDON)
        if is_working_day(day):
            last = forward(day, days)
        else:
            last = forward(next_working_day(day), days - 1)
        return datetime.combine(last, clock, tzinfo=LONDON)

    def closes(on: date) -> time:
        return rule.closing_time(on) or time(23, 59)

    opens = rule.opening_time(day) if is_working_day(day) else None
    closing = rule.closing_time(day) if is_working_day(day) else None
    if opens is not None and closing is not None and clock < opens:
        last = forward(day, max(days, 1) - 1)
        return datetime.combine(last, closes(last), tzinfo=LONDON)
    if opens is not None and closing is not None and clock < closing:
        if days == 0:
            return datetime.combine(day, closing, tzinfo=LONDON)
        last = forward(day, days)
        return datetime.combine(last, min(clock, closes(last)), tzinfo=LONDON)
    last = forward(next_working_day(day), max(days, 1) - 1)
    return datetime.combine(last, closes(last), tzinfo=LONDON)


_DURATION = re.compile(
    r"^(?P<count>\d+|one|two|three|four|five|six|seven|eight|nine|ten|twelve|twenty-four)\s+"
    r"(?P<unit>minute|hour|day|working day|week)s?$"
)
_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "twelve": 12,
    "twenty-four": 24,
}


@dataclass(frozen=True)
class Duration:
    """A timescale from a policy: `immediately`, `same working day`, `N hours`,
    `N working days`, `N days`, `N minutes`, `N weeks`, or `not stated`."""

    text: str
    unit: str  # immediately | same working day | minute | hour | day | working day | week
    count: int = 0

    def deadline(
        self, start: datetime, office: HoursRule | HasOfficeHours | str | None = None
    ) -> datetime | None:
        """When the timescale runs out for something that started at `start`."""
        start = _local(start)
        if self.unit == NOT_STATED:
            return None
        if self.unit == "immediately":
            return start
        if self.unit == "same working day":
            return add_working_days(start, 0, office)
        if self.unit == "working day":
            return add_working_days(start, self.count, office)
        step = {
            "minute": timedelta(minutes=1),
            "hour": timedelta(hours=1),
            "day": timedelta(days=1),
            "week": timedelta(weeks=1),
        }[self.unit]
        # Elapsed time, not wall-clock arithmetic: two hours is two real hours across a
        # GMT/BST change.
        return (start.astimezone(timezone.utc) + step * self.count).astimezone(LONDON)

    def describe(self) -> str:
        if self.unit in ("immediately", "same working day", NOT_STATED):
            return self.unit
        plural = "" if self.count == 1 else "s"
        return f"within {self.count} {self.unit}{plural}"


@lru_cache(maxsize=256)
def parse_duration(text: str) -> Duration:
    """Parse a timescale; raises ValueError("'<text>' is not a valid timescale")."""
    problem = ValueError(
        f"{text!r} is not a valid timescale (use e.g. 'immediately', '2 hours', "
        "'1 working day', 'same working day', 'not stated')"
    )
    if not isinstance(text, str):
        raise problem
    normal = " ".join(text.lower().split())
    if normal in ("immediately", "same working day", NOT_STATED):
        return Duration(text, normal)
    match = _DURATION.match(normal)
    if not match:
        raise problem
    raw = match["count"]
    count = int(raw) if raw.isdigit() else _WORDS[raw]
    if count <= 0:
        raise problem
    return Duration(text, match["unit"], count)
