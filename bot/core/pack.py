"""Organisation policy packs: one validated YAML file per organisation under ``packs/``.

A pack holds what one organisation's safeguarding policy says: who counts as a child, the
roles, the contacts (with the hours they are available and the seed file and section each
comes from), office hours, timescales, recording system, special routes, retention,
training and what happens after a report. The assistant answers from the pack selected by
``SAFEGUARD_ORG`` (default ``generic``); it never invents a number or rule: where a policy
withholds a value the pack says so in a ``not_set`` field, and the bot repeats that.

The field-by-field reference with examples is ``packs/SCHEMA.md``. The schema only grows:
fields are added, never renamed or removed, so packs written against it keep validating.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime
from functools import cache
from pathlib import Path

from pydantic import BaseModel, Field, root_validator, validator

from bot import ROOT
from bot.config.settings import org as configured_org
from bot.core import phones
from bot.core.datafile import DataFileError, read_yaml, validate
from bot.core.hours import Duration, HoursRule, is_working_time, parse_duration, parse_rule
from bot.core.phones import digits  # noqa: F401 - callers read digits() from here

PACKS_DIR = ROOT / "packs"
SCHEMA_VERSION = 1

# Every contact purpose the assistant can route. Packs may only use these; a purpose a pack
# has no contact for gets a clear "not set for this deployment" answer, never a guess.
PURPOSES: tuple[str, ...] = (
    "emergency",
    "safeguarding_lead",
    "child_social_care_referral",
    "out_of_hours_social_care",
    "police_non_emergency",
    "lado",
    "mental_health_crisis",
    "mental_health_support",
    "whistleblowing",
    "parent_support",
    "prevent",
    "fgm",
    "nspcc_helpline",
    "adult_social_care",
    "allegations_line",
    "safeguarding_team",
    "line_manager",
)

# Special routes a pack may describe (steps, timescales, contacts, source).
ROUTE_IDS: tuple[str, ...] = (
    "immediate_harm",
    "fgm",
    "allegation_staff",
    "whistleblowing",
    "prevent",
    "cse_risk_assessment",
    "domestic_abuse",
    "online_concern_colleague",
    "organised_abuse",
    "existing_plan",
    "escalation",
)

SEED_FILE = re.compile(r"^\d{3}_[0-9a-f]+\.txt$")
SEED_IN_TEXT = re.compile(r"\d{3}_[0-9a-f]+\.txt")
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.IGNORECASE)


class PackError(DataFileError):
    """A pack is missing, not YAML, breaks the schema or has a dangling reference."""


def format_number(number: str) -> str:
    """A pack number written the way people read it aloud, for tap-to-call on a phone:
    '02476 833003' -> '024 7683 3003', '116123' -> '116 123' (`bot.core.phones.display`)."""
    return phones.display(number)


class Strict(BaseModel):
    class Config:
        extra = "forbid"
        anystr_strip_whitespace = True
        min_anystr_length = 1


class Source(Strict):
    """Where a fact comes from: the seed policy file and the section inside it."""

    seed: str
    section: str

    @validator("seed")
    def _seed_name(cls, value: str) -> str:  # noqa: N805
        if not SEED_FILE.match(value):
            raise ValueError(f"{value!r} is not a seed file name like 000_49172c100f0fd48e.txt")
        return value

    def cite(self) -> str:
        return f"{self.seed}, {self.section}"


def _slug(value: str) -> str:
    if not SLUG.match(value):
        raise ValueError(f"{value!r} is not an id (lower case letters, digits, - and _)")
    return value


def _hours(value: str) -> str:
    parse_rule(value)  # raises "'...' is not a valid hours rule"
    return value


def _duration(value: str) -> str:
    parse_duration(value)
    return value


class ChildDefinition(Strict):
    """Who the policy treats as a child."""

    text: str
    up_to_age: int = Field(..., ge=1, le=25, description="oldest age still a child (inclusive)")
    looked_after_up_to_age: int | None = Field(None, ge=1, le=30)
    source: Source


class Role(Strict):
    """A safeguarding role (never a named person: names and phones are roster data)."""

    id: str
    title: str
    held_by: str | None = None
    duties: str
    contact: str | None = None
    source: Source

    _id = validator("id", allow_reuse=True)(_slug)


class Contact(Strict):
    """Someone to call or email, for which purposes, when, and where the policy says so."""

    id: str
    name: str
    number: str | None = None
    email: str | None = None
    purposes: list[str] = Field(..., min_items=1)
    available: str = "not stated"
    serves: str = "any"
    not_set: str | None = None
    notes: str | None = None
    when_closed: str | None = Field(
        None, description="contact id to call when this one is closed (LADO -> First Response)"
    )
    source: Source

    _id = validator("id", allow_reuse=True)(_slug)
    _available = validator("available", allow_reuse=True)(_hours)

    @validator("number")
    def _uk_number(cls, value: str | None) -> str | None:  # noqa: N805
        # libphonenumber (bot.core.phones): a UK number, or 999/112/101/111/116 xxx.
        return None if value is None else phones.check_uk_contact(value)

    @validator("email")
    def _email(cls, value: str | None) -> str | None:  # noqa: N805
        if value is not None and not EMAIL.match(value):
            raise ValueError(f"{value!r} is not an email address")
        return value

    @validator("purposes", each_item=True)
    def _purpose(cls, value: str) -> str:  # noqa: N805
        if value not in PURPOSES:
            raise ValueError(f"{value!r} is not a purpose (one of: {', '.join(PURPOSES)})")
        return value

    @validator("serves")
    def _serves(cls, value: str) -> str:  # noqa: N805
        if value not in ("any", "in_hours", "out_of_hours"):
            raise ValueError(f"{value!r} must be any, in_hours or out_of_hours")
        return value

    @root_validator(skip_on_failure=True)
    def _reachable_or_explained(cls, values: dict) -> dict:  # noqa: N805
        if not values.get("number") and not values.get("email") and not values.get("not_set"):
            raise ValueError(
                "a contact with no number and no email needs not_set saying where staff find it"
            )
        return values

    def hours(self) -> HoursRule:
        return parse_rule(self.available)


class OfficeHours(Strict):
    """The organisation's office hours (what "out of hours" is measured against)."""

    rule: str | None = None
    not_set: str | None = None
    out_of_hours: str | None = None
    source: Source | None = None

    @validator("rule")
    def _rule(cls, value: str | None) -> str | None:  # noqa: N805
        if value is None:
            return value
        parsed = parse_rule(value)
        if parsed.kind != "windows":
            raise ValueError(f"{value!r}: office hours must list days and times")
        return value

    @root_validator(skip_on_failure=True)
    def _set_or_explained(cls, values: dict) -> dict:  # noqa: N805
        if values.get("rule") and not values.get("source"):
            raise ValueError("office hours need a source")
        if not values.get("rule") and not values.get("not_set"):
            raise ValueError("give rule, or not_set saying the policy does not state them")
        return values


class Timescale(Strict):
    """A deadline the policy sets, e.g. consult the line manager within two hours."""

    id: str
    what: str
    within: str
    applies_to: str | None = None
    after_concern: bool = Field(
        True, description="counts from when a concern is raised (used for deadlines)"
    )
    source: Source

    _id = validator("id", allow_reuse=True)(_slug)
    _within = validator("within", allow_reuse=True)(_duration)

    def duration(self) -> Duration:
        return parse_duration(self.within)


class EventType(Strict):
    name: str
    description: str


class Recording(Strict):
    """What to record, where, and the system's concern sub-types / chronology events."""

    system: str | None = None
    not_set: str | None = None
    where: str
    what_to_record: list[str] = Field(default_factory=list)
    concern_types: list[str] = Field(default_factory=list)
    event_types: list[EventType] = Field(default_factory=list)
    review: str | None = None
    source: Source

    @root_validator(skip_on_failure=True)
    def _system_or_explained(cls, values: dict) -> dict:  # noqa: N805
        if not values.get("system") and not values.get("not_set"):
            raise ValueError("give system, or not_set saying the policy names none")
        return values


class SpecialRoute(Strict):
    """A special procedure: FGM duty, allegation against staff, whistleblowing, ..."""

    id: str
    title: str
    when: str
    steps: list[str] = Field(..., min_items=1)
    timescales: list[str] = Field(default_factory=list)
    contacts: list[str] = Field(default_factory=list)
    not_set: str | None = None
    source: Source

    @validator("id")
    def _route_id(cls, value: str) -> str:  # noqa: N805
        if value not in ROUTE_IDS:
            raise ValueError(f"{value!r} is not a route id (one of: {', '.join(ROUTE_IDS)})")
        return value


# Questions staff ask whose answer depends on the organisation's policy, answered point by
# point from the pack (`staff_questions`, bot.core.policy_answers.staff_answer). A topic a
# pack leaves out, or gives only `not_set`, is answered "not set in your policy" and who to
# ask: never a guess.
STAFF_TOPICS: tuple[str, ...] = (
    "how_to_report",
    "reporter_identity",
    "not_sure",
    "why_children_dont_tell",
    "information_sharing",
    "what_is_emergency",
    "online_safety",
)

RETENTION_STARTS: tuple[str, ...] = ("date_of_birth", "recorded")
"""What a retention period can be counted from: the child's date of birth, or the date the
concern was recorded (`bot.records.retention` computes review dates from these)."""


class RetentionRule(Strict):
    what: str
    period: str
    source: Source
    # The period as data, so `safeguard retention due` can list what has reached its review
    # date. Both or neither: a rule without them is shown as written, never guessed at.
    review_after_years: int | None = Field(None, ge=1, le=150)
    counted_from: str | None = None
    note: str | None = None
    """What the rule leaves to people (e.g. a transfer the log cannot know about), or how
    safeguard reads a period whose start the policy does not state."""

    @validator("counted_from")
    def _start(cls, value: str | None) -> str | None:  # noqa: N805
        if value is not None and value not in RETENTION_STARTS:
            raise ValueError(f"{value!r} is not one of: {', '.join(RETENTION_STARTS)}")
        return value

    @root_validator(skip_on_failure=True)
    def _both_or_neither(cls, values: dict) -> dict:  # noqa: N805
        if (values.get("review_after_years") is None) != (values.get("counted_from") is None):
            raise ValueError("give review_after_years and counted_from together, or neither")
        return values


class Retention(Strict):
    rules: list[RetentionRule] = Field(default_factory=list)
    not_set: str | None = None
    ask: str | None = None
    """Who to ask for the retention period when the policy gives none."""
    source: Source | None = None
    """Where the policy points for it (e.g. its related records-management policy)."""

    @root_validator(skip_on_failure=True)
    def _rules_or_explained(cls, values: dict) -> dict:  # noqa: N805
        if not values.get("rules") and not values.get("not_set"):
            raise ValueError("give rules, or not_set saying the policy gives no retention period")
        return values


class TrainingRequirement(Strict):
    who: str
    what: str
    when: str
    source: Source


class Training(Strict):
    requirements: list[TrainingRequirement] = Field(default_factory=list)
    not_set: str | None = None

    @root_validator(skip_on_failure=True)
    def _set_or_explained(cls, values: dict) -> dict:  # noqa: N805
        if not values.get("requirements") and not values.get("not_set"):
            raise ValueError("give requirements, or not_set")
        return values


class Step(Strict):
    text: str
    source: Source


class StaffAnswer(Strict):
    """What the policy says in answer to one question staff ask, point by point, each point
    with the seed section it comes from. `not_set` says what the policy leaves out (and
    where staff find it); it is required when there are no points."""

    points: list[Step] = Field(default_factory=list)
    not_set: str | None = None

    @root_validator(skip_on_failure=True)
    def _points_or_explained(cls, values: dict) -> dict:  # noqa: N805
        if not values.get("points") and not values.get("not_set"):
            raise ValueError("give points, or not_set saying the policy does not answer this")
        return values


class UnsetPurpose(Strict):
    """Why a purpose has no contact in this pack, and who to ask."""

    purpose: str
    not_set: str
    ask: str

    @validator("purpose")
    def _purpose(cls, value: str) -> str:  # noqa: N805
        if value not in PURPOSES:
            raise ValueError(f"{value!r} is not a purpose (one of: {', '.join(PURPOSES)})")
        return value


class Pack(Strict):
    """One organisation's policy pack."""

    schema_version: int = SCHEMA_VERSION
    org: str
    name: str
    short_name: str
    seeds: list[str] = Field(..., min_items=1)
    # What people are shown for each seed ("The Children's Society policy"), never the file
    # name; a seed with no label is shown as "<short_name> policy".
    seed_labels: dict[str, str] = Field(default_factory=dict)
    covers: str
    ask_first: str = Field(..., description="who to ask when something is not set")
    child_definition: ChildDefinition
    roles: list[Role] = Field(..., min_items=1)
    contacts: list[Contact] = Field(..., min_items=1)
    unset_purposes: list[UnsetPurpose] = Field(default_factory=list)
    office_hours: OfficeHours
    timescales: list[Timescale] = Field(default_factory=list)
    timescales_not_set: str | None = None
    recording: Recording
    routes: list[SpecialRoute] = Field(default_factory=list)
    retention: Retention
    training: Training
    after_report: list[Step] = Field(..., min_items=1)
    # Answers to the questions staff ask (STAFF_TOPICS), from this policy; optional and
    # growing: a topic not here is "not set in your policy".
    staff_questions: dict[str, StaffAnswer] = Field(default_factory=dict)

    _org = validator("org", allow_reuse=True)(_slug)

    @validator("seeds", each_item=True)
    def _seed(cls, value: str) -> str:  # noqa: N805
        if not SEED_FILE.match(value):
            raise ValueError(f"{value!r} is not a seed file name like 000_49172c100f0fd48e.txt")
        return value

    @validator("staff_questions")
    def _topics(cls, value: dict[str, StaffAnswer]) -> dict[str, StaffAnswer]:  # noqa: N805
        for topic in value:
            if topic not in STAFF_TOPICS:
                raise ValueError(f"{topic!r} is not a topic (one of: {', '.join(STAFF_TOPICS)})")
        return value

    @validator("schema_version")
    def _version(cls, value: int) -> int:  # noqa: N805
        if value != SCHEMA_VERSION:
            raise ValueError(f"schema_version {value} is not supported (this code reads 1)")
        return value

    @validator("seed_labels")
    def _labels(cls, value: dict[str, str], values: dict) -> dict[str, str]:  # noqa: N805
        seeds = values.get("seeds") or []
        for seed, label in value.items():
            if seed not in seeds:
                raise ValueError(f"{seed!r} is not in seeds")
            if not label.strip() or SEED_IN_TEXT.search(label):
                raise ValueError(f"{seed}: the label must be a name people read, not a file name")
        return value

    def seed_label(self, seed: str) -> str:
        """The human name of a seed policy: 'The Children's Society policy'."""
        return self.seed_labels.get(seed) or f"{self.short_name} policy"

    # -- lookups used by routing and answers --------------------------------------------
    def office_rule(self) -> HoursRule:
        """The office-hours rule. Office hours never include England and Wales bank
        holidays (they are working days in no policy), whether or not the rule says so."""
        rule = parse_rule(self.office_hours.rule or "not stated")
        if rule.kind == "windows" and not rule.closed_bank_holidays:
            rule = dataclasses.replace(rule, closed_bank_holidays=True)
        return rule

    def contact(self, contact_id: str) -> Contact:
        for contact in self.contacts:
            if contact.id == contact_id:
                return contact
        raise KeyError(contact_id)

    def contacts_for(self, purpose: str) -> list[Contact]:
        return [c for c in self.contacts if purpose in c.purposes]

    def unset(self, purpose: str) -> UnsetPurpose | None:
        for item in self.unset_purposes:
            if item.purpose == purpose:
                return item
        return None

    def route(self, route_id: str) -> SpecialRoute | None:
        for special in self.routes:
            if special.id == route_id:
                return special
        return None

    def staff_question(self, topic: str) -> StaffAnswer | None:
        """What this policy says on a question staff ask (STAFF_TOPICS), or None."""
        return self.staff_questions.get(topic)

    def timescale(self, timescale_id: str) -> Timescale:
        for item in self.timescales:
            if item.id == timescale_id:
                return item
        raise KeyError(timescale_id)

    def is_office_open(self, when: datetime) -> bool | None:

        return is_working_time(self, when)


def _check_references(pack: Pack) -> str | None:
    """Cross-reference checks pydantic cannot express; the first problem as 'path: msg'."""
    for name, items in (
        ("roles", pack.roles),
        ("contacts", pack.contacts),
        ("timescales", pack.timescales),
        ("routes", pack.routes),
    ):
        seen: set[str] = set()
        for index, item in enumerate(items):
            if item.id in seen:
                return f"{name}[{index}].id: duplicate id {item.id!r}"
            seen.add(item.id)
    contact_ids = {c.id for c in pack.contacts}
    timescale_ids = {t.id for t in pack.timescales}
    for index, role in enumerate(pack.roles):
        if role.contact is not None and role.contact not in contact_ids:
            return f"roles[{index}].contact: unknown contact id {role.contact!r}"
    for index, special in enumerate(pack.routes):
        for position, contact_id in enumerate(special.contacts):
            if contact_id not in contact_ids:
                return f"routes[{index}].contacts[{position}]: unknown contact id {contact_id!r}"
        for position, timescale_id in enumerate(special.timescales):
            if timescale_id not in timescale_ids:
                return (
                    f"routes[{index}].timescales[{position}]: unknown timescale id {timescale_id!r}"
                )
        if not special.contacts and not special.not_set:
            return f"routes[{index}]: a route with no contacts needs not_set saying who to ask"
    for index, item in enumerate(pack.unset_purposes):
        if pack.contacts_for(item.purpose):
            return (
                f"unset_purposes[{index}].purpose: {item.purpose!r} has a contact, "
                "so it cannot also be not set"
            )
    if not pack.contacts_for("emergency"):
        return "contacts: no contact has purpose 'emergency' (999 must always be there)"
    if not pack.timescales and not pack.timescales_not_set:
        return "timescales: give timescales, or timescales_not_set"
    for index, contact in enumerate(pack.contacts):
        if contact.when_closed is not None and contact.when_closed not in contact_ids:
            return f"contacts[{index}].when_closed: unknown contact id {contact.when_closed!r}"
        if contact.when_closed == contact.id:
            return f"contacts[{index}].when_closed: a contact cannot be its own fallback"
        if contact.source.seed not in pack.seeds:
            return f"contacts[{index}].source.seed: {contact.source.seed!r} is not in seeds"
    # An answer cites only this organisation's own policy (bot.core.replies.cited drops any
    # other seed), so every point must come from one of the pack's seeds.
    for topic, answer in pack.staff_questions.items():
        for index, point in enumerate(answer.points):
            if point.source.seed not in pack.seeds:
                return (
                    f"staff_questions.{topic}.points[{index}].source.seed: "
                    f"{point.source.seed!r} is not in seeds"
                )
    return None


def display_path(path: Path) -> str:
    """'packs/crasac.yml' for files in the repo, else the path as given."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def load_pack_file(path: Path | str) -> Pack:
    """Read and validate one pack file; every problem is a one-line PackError."""
    path = Path(path)
    shown = display_path(path)
    try:
        if path.exists() and not path.read_text(encoding="utf-8", errors="replace").strip():
            raise PackError(f"{shown}: file is empty")
        data = read_yaml(path)
        if data is None:
            raise PackError(f"{shown}: file is empty")
        pack = validate(data, Pack, shown)
    except PackError:
        raise
    except DataFileError as exc:
        message = str(exc)
        if message.startswith(str(path)):
            message = shown + message[len(str(path)) :]
        raise PackError(message) from None
    problem = _check_references(pack)
    if problem:
        raise PackError(f"{shown}: {problem}")
    if path.suffix == ".yml" and pack.org != path.stem:
        raise PackError(f"{shown}: org: {pack.org!r} does not match the file name {path.stem!r}")
    return pack


def check_packs(paths: list[Path] | None = None) -> list[str]:
    """Validate pack files (default: every packs/*.yml); the one-line problems, if any.

    For start-up checks: `problems = check_packs(); if problems: print them and exit 1`.
    """
    problems = []
    for path in paths if paths is not None else sorted(PACKS_DIR.glob("*.yml")):
        try:
            load_pack_file(path)
        except PackError as exc:
            problems.append(str(exc))
    return problems


def available_orgs() -> list[str]:
    """Org names with a pack file in PACKS_DIR, sorted."""
    return sorted(p.stem for p in PACKS_DIR.glob("*.yml"))


@cache
def _load_cached(org: str) -> Pack:
    path = PACKS_DIR / f"{org}.yml"
    if not SLUG.match(org):
        raise PackError(f"SAFEGUARD_ORG={org!r} is not an organisation name")
    if not path.exists():
        known = ", ".join(available_orgs()) or "none"
        raise PackError(f"{display_path(path)}: no pack for organisation {org!r} (have: {known})")
    return load_pack_file(path)


def load_pack(org: str | None = None) -> Pack:
    """The validated pack for `org` (default: SAFEGUARD_ORG, else generic), cached per org."""

    return _load_cached((org or configured_org()).strip())


def clear_cache() -> None:
    """Forget loaded packs (tests, or after editing a pack file)."""
    _load_cached.cache_clear()
