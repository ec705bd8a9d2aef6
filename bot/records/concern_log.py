"""The concern log: every concern a worker records, and its chronology, kept safe.

A concern is written once and never changed: what happens next (consulting the
Safeguarding Lead, calls to other agencies, updates, review, closing, reopening) is
appended as an event. Whether a concern is open or closed is *derived* from those events,
so the record shows who closed it, when, and why, and nothing can be quietly undone. The
database enforces this too: the migration installs triggers that refuse UPDATE and DELETE
on both tables.

The child's identity, their words and every narrative field are encrypted at rest
(`bot.records.crypto`); only urgency, categories, times and worker details are stored in clear,
because the Safeguarding Lead's list and the pager need them without the key.

Durability: `ConcernLog.record` writes the concern and its "Concern Raised" event in one
transaction, and runs the caller's ``in_same_transaction(session, concern_row)`` inside
it (the pager adds its outbox rows there), so the concern and its pages commit together
or not at all. Every failure is a `ConcernLogError` with one plain line; nothing is
swallowed.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, relationship

from bot.config import settings
from bot.core import clock
from bot.records import audit
from bot.records.audit import Actor
from bot.records.crypto import CryptoError, KeySpec, Sealer
from bot.records.db import Base, UTCDateTime, make_engine, session_factory, transaction
from bot.records.incidents import IncidentConflict
from bot.records.migrate import MigrationError, upgrade

if TYPE_CHECKING:
    from bot.records.audit import Actor

# --------------------------------------------------------------------------- vocabulary

URGENCIES: tuple[str, ...] = ("immediate", "urgent", "routine")
"""immediate: a child is in danger now (999 first); urgent: the Safeguarding Lead today;
routine: recorded and reviewed in the normal way."""

OPEN = "open"
CLOSED = "closed"

# What an event does to the concern's status. Only these four exist; the organisation's
# own event names map onto them through `EventTypes`.
KIND_RAISED = "raised"
KIND_UPDATE = "update"
KIND_CLOSED = "closed"
KIND_REOPENED = "reopened"
EVENT_KINDS: tuple[str, ...] = (KIND_RAISED, KIND_UPDATE, KIND_CLOSED, KIND_REOPENED)

CRASAC_EVENT_TYPES: tuple[str, ...] = (
    # Source: seed 000 (CRASAC policy), Appendix Five "Recording guidance", table
    # "Summary of Safeguarding and CSE Sub Types" (same table in seed 001, Appendix Five).
    "Concern Raised",
    "Consultation with SGL",
    "Action Required (Outgoing comms)",
    "Action Response received",
    "CSE update",
    "SG update",
    "Worker update",
    "Manager Review",
    "Concern Closed",
    "Manager Sign off (concern closed)",
)

RAISED_TYPE = "Concern Raised"
CLOSED_TYPE = "Concern Closed"
UPDATE_TYPE = "Update"
"""safeguard's own update type, used only when an organisation lists no update types of
its own (a chronology must be able to say what happened next)."""

REOPENED_TYPE = "Concern Reopened"
"""safeguard's own record type, not a policy rule: the log is append-only, so undoing a
close (e.g. closed by mistake) must itself be an event. CRASAC's policy (seed 000,
"Recording Concerns") says a *new* risk is raised as a new concern, not a reopening."""


@dataclass(frozen=True)
class EventTypes:
    """The event types a worker may log, and which of them open, close and reopen.

    Each organisation's pack (``packs/*.yml``) supplies its own names; the default is
    CRASAC's list (the only seed that defines one) plus `REOPENED_TYPE`.
    """

    allowed: tuple[str, ...]
    raised: str = RAISED_TYPE
    closed: str = CLOSED_TYPE
    reopened: str = REOPENED_TYPE

    @classmethod
    def from_names(cls, names: Iterable[str]) -> EventTypes:
        """An organisation's event-type names (e.g. a pack's ``recording.event_types``),
        completed with safeguard's own record types where the organisation has none:
        "Concern Raised", "Concern Closed" and "Concern Reopened", and "Update" if no
        other type is left. Most policies (all seeds but CRASAC's) name no such types, yet
        the log must still record raising, closing and what happens in between."""
        given = [name.strip() for name in names if name and name.strip()]
        lifecycle = (RAISED_TYPE, CLOSED_TYPE, REOPENED_TYPE)
        allowed = list(dict.fromkeys(given))
        if not [name for name in allowed if name not in lifecycle]:
            allowed.append(UPDATE_TYPE)
        for name in lifecycle:
            if name not in allowed:
                allowed.append(name)
        return cls(allowed=tuple(allowed))

    def __post_init__(self) -> None:
        allowed = tuple(dict.fromkeys(name.strip() for name in self.allowed if name.strip()))
        if self.reopened not in allowed:
            # Reopening must always be possible; see REOPENED_TYPE.
            allowed = allowed + (self.reopened,)
        object.__setattr__(self, "allowed", allowed)
        for role, name in (("raised", self.raised), ("closed", self.closed)):
            if name not in allowed:
                raise ValueError(
                    f"event types: the {role} type {name!r} is not in the allowed list"
                )

    def kind(self, event_type: str) -> str:
        """The effect an event of this type has on the concern's status."""
        if event_type == self.raised:
            return KIND_RAISED
        if event_type == self.closed:
            return KIND_CLOSED
        if event_type == self.reopened:
            return KIND_REOPENED
        return KIND_UPDATE

    def resolve(self, event_type: str) -> str:
        """The allowed name matching `event_type` (case and spacing forgiven), or raise."""
        wanted = " ".join(event_type.split()).casefold()
        for name in self.allowed:
            if " ".join(name.split()).casefold() == wanted:
                return name
        raise UnknownEventType(
            f"unknown event type {event_type!r}; allowed: " + ", ".join(self.addable)
        )

    @property
    def addable(self) -> tuple[str, ...]:
        """The types a person may add (the raised event is written only by `record`)."""
        return tuple(name for name in self.allowed if name != self.raised)


DEFAULT_EVENT_TYPES = EventTypes(allowed=CRASAC_EVENT_TYPES)

# --------------------------------------------------------------------------- errors


class ConcernLogError(RuntimeError):
    """Anything that stops the concern log doing what was asked, as one plain line."""


class ConcernNotFound(ConcernLogError):
    """No concern has that reference."""


class UnknownEventType(ConcernLogError):
    """The event type is not one the organisation records."""


class InvalidConcern(ConcernLogError):
    """The draft or the event is incomplete or contradicts the log."""


# --------------------------------------------------------------------------- references

# No 0/O, 1/I/L or U: a reference read out over the phone cannot be misheard as another.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_PATTERN = re.compile(r"^SG-[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{4}$")


def new_reference() -> str:
    """A random reference like ``SG-7KQ2-M4XP`` (30^8 ≈ 6.6e11; not guessable from a count)."""
    chars = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"SG-{chars[:4]}-{chars[4:]}"


def normalise_reference(text: str) -> str:
    """Accept ``sg-7kq2-m4xp`` or ``SG7KQ2M4XP`` as typed; raise ConcernNotFound if it
    cannot be a reference at all."""
    compact = re.sub(r"[\s-]", "", text or "").upper()
    if compact.startswith("SG"):
        compact = compact[2:]
    candidate = f"SG-{compact[:4]}-{compact[4:]}"
    if not REFERENCE_PATTERN.match(candidate):
        raise ConcernNotFound(
            f"{text.strip()!r} is not a concern reference (they look like SG-7KQ2-M4XP)"
        )
    return candidate


# --------------------------------------------------------------------------- tables


class ConcernRecord(Base):
    """One concern (table ``concerns``); never updated or deleted once written."""

    __tablename__ = "concerns"

    id = Column(Integer, primary_key=True)
    reference = Column(String(16), nullable=False, unique=True)
    org = Column(String(64), nullable=False)
    created_at = Column(UTCDateTime(), nullable=False)
    urgency = Column(String(16), nullable=False)
    categories = Column(JSON, nullable=False)
    worker_id = Column(String(128), nullable=False, index=True)
    worker_name = Column(String(200), nullable=False)
    worker_contact = Column(String(200), nullable=False)
    disclosed_at = Column(UTCDateTime(), nullable=True)
    # Fernet token of a JSON object holding the child's identity, words and every
    # narrative field (see `SEALED_FIELDS`).
    sealed_record = Column(Text, nullable=False)

    events = relationship("ConcernEvent", back_populates="concern", lazy="raise")

    __table_args__ = (
        CheckConstraint(
            "urgency IN ('immediate', 'urgent', 'routine')", name="ck_concerns_urgency"
        ),
    )


class ConcernEvent(Base):
    """One entry in a concern's chronology (table ``concern_events``); append-only."""

    __tablename__ = "concern_events"

    id = Column(Integer, primary_key=True)
    concern_id = Column(Integer, ForeignKey("concerns.id"), nullable=False)
    event_type = Column(String(100), nullable=False)
    kind = Column(String(16), nullable=False)
    happened_at = Column(UTCDateTime(), nullable=False)
    recorded_at = Column(UTCDateTime(), nullable=False)
    recorded_by = Column(String(200), nullable=False)
    sealed_text = Column(Text, nullable=False)

    concern = relationship("ConcernRecord", back_populates="events", lazy="raise")

    __table_args__ = (
        CheckConstraint(
            "kind IN ('raised', 'update', 'closed', 'reopened')", name="ck_concern_events_kind"
        ),
        Index("ix_concern_events_concern_happened", "concern_id", "happened_at"),
    )


# --------------------------------------------------------------------------- drafts/views

SEALED_FIELDS: tuple[str, ...] = (
    "child",
    "child_age",
    "child_words",
    "observations",
    "happened_when",
    "happened_where",
    "others_involved",
    "actions_taken",
    "told",
    "worker_view",
    "language_choices",
    "danger_answer",
    "timing_answer",
)


def _safe_repr(obj: object, shown: tuple[str, ...]) -> str:
    """A repr naming only non-narrative fields: a view printed into a log or a traceback
    must not leak what a child said."""
    parts = ", ".join(f"{name}={getattr(obj, name)!r}" for name in shown)
    return f"{type(obj).__name__}({parts}, <narrative hidden>)"


@dataclass(repr=False)
class ConcernDraft:
    """What the worker told the chat, ready to be recorded.

    The fields follow what the seeds' recording forms ask for. Text is stored exactly as
    given: `child_words` above all must be the child's own words, verbatim.
    """

    urgency: str
    worker_id: str
    worker_name: str
    child: str
    """The child's name, or the organisation's reference for them."""
    child_words: str = ""
    """What the child said, verbatim (never summarised or corrected)."""
    observations: str = ""
    """What the worker saw or heard themselves (e.g. injuries, behaviour)."""
    categories: list[str] = field(default_factory=list)
    worker_contact: str = ""
    child_age: str = ""
    """Age or date of birth, as the worker knows it."""
    happened_when: str = ""
    happened_where: str = ""
    disclosed_at: datetime | None = None
    others_involved: str = ""
    """Who else was present or is involved (including the person the child named)."""
    actions_taken: str = ""
    """What the worker has done so far."""
    told: str = ""
    """Who the worker has told (e.g. the Safeguarding Lead, police, social care)."""
    worker_view: str = ""
    """The worker's own opinion, kept apart from the facts above."""
    language_choices: list[Any] = field(default_factory=list)
    """The case-note language checks and what the worker chose (JSON-serialisable)."""
    danger_answer: str = ""
    """What the worker typed when asked "is anyone in danger right now?" (an answer is
    never lost: a typed answer is kept as typed, a button press is not stored here)."""
    timing_answer: str = ""
    """What the worker typed when asked whether the child is still with them."""
    org: str | None = None
    """Defaults to SAFEGUARD_ORG."""
    created_at: datetime | None = None
    """Defaults to now (bot.core.clock)."""

    def __repr__(self) -> str:
        return _safe_repr(self, ("urgency", "worker_id", "categories"))


@dataclass(frozen=True, repr=False)
class ConcernView:
    """A concern as read back, decrypted, with its status derived from the chronology."""

    reference: str
    org: str
    created_at: datetime
    urgency: str
    categories: tuple[str, ...]
    worker_id: str
    worker_name: str
    worker_contact: str
    child: str
    child_age: str
    child_words: str
    observations: str
    happened_when: str
    happened_where: str
    disclosed_at: datetime | None
    others_involved: str
    actions_taken: str
    told: str
    worker_view: str
    language_choices: list[Any]
    danger_answer: str
    timing_answer: str
    status: str
    status_changed_at: datetime

    @property
    def is_open(self) -> bool:
        return self.status == OPEN

    def __repr__(self) -> str:
        return _safe_repr(self, ("reference", "urgency", "status", "worker_id"))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (times as ISO 8601 with offset)."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, tuple):
                value = list(value)
            out[name] = value
        return out


Concern = ConcernView
"""The decrypted read model; `ConcernRecord` is the encrypted table row."""


@dataclass(frozen=True, repr=False)
class EventView:
    """One chronology entry, decrypted."""

    sequence: int
    type: str
    kind: str
    text: str
    by: str
    happened_at: datetime
    recorded_at: datetime

    def __repr__(self) -> str:
        return _safe_repr(self, ("sequence", "type", "by", "happened_at"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "sequence": self.sequence,
            "type": self.type,
            "kind": self.kind,
            "text": self.text,
            "by": self.by,
            "happened_at": self.happened_at.isoformat(),
            "recorded_at": self.recorded_at.isoformat(),
        }


def _aware(moment: datetime, what: str) -> datetime:
    if not isinstance(moment, datetime):
        raise InvalidConcern(f"{what} must be a date and time")
    if moment.tzinfo is None:
        return moment.replace(tzinfo=clock.LONDON)
    return moment


CLEAR_FIELD_LIMITS = {
    "worker_id": ConcernRecord.worker_id.type.length,
    "worker_name": ConcernRecord.worker_name.type.length,
    "worker_contact": ConcernRecord.worker_contact.type.length,
    "org": ConcernRecord.org.type.length,
}
RECORDED_BY_LIMIT = ConcernEvent.recorded_by.type.length


def _blank(text: Any) -> bool:
    return not isinstance(text, str) or not text.strip()


def validate_draft(draft: ConcernDraft) -> None:
    """Raise InvalidConcern (one line) if the draft cannot be recorded as it is."""
    if draft.urgency not in URGENCIES:
        raise InvalidConcern(f"urgency {draft.urgency!r} is not one of: " + ", ".join(URGENCIES))
    if _blank(draft.worker_id) or _blank(draft.worker_name):
        raise InvalidConcern("say who is recording the concern: a worker id and name")
    if _blank(draft.child):
        raise InvalidConcern(
            "say who the child is: their name or your organisation's reference for them"
        )
    if _blank(draft.child_words) and _blank(draft.observations):
        raise InvalidConcern(
            "record what the child said (in their words) or what you saw; both are empty"
        )
    text_fields = ("worker_contact",) + tuple(f for f in SEALED_FIELDS if f != "language_choices")
    for name in text_fields:
        if not isinstance(getattr(draft, name), str):
            raise InvalidConcern(f"{name} must be text")
    if not isinstance(draft.categories, (list, tuple)) or any(_blank(c) for c in draft.categories):
        raise InvalidConcern("categories must be a list of non-empty names")
    if not isinstance(draft.language_choices, (list, tuple)):
        raise InvalidConcern("language_choices must be a list")
    try:
        json.dumps(list(draft.language_choices))
    except (TypeError, ValueError):
        raise InvalidConcern("language_choices must hold only JSON values") from None
    if draft.org is not None and _blank(draft.org):
        raise InvalidConcern("org must be a name, or left unset for SAFEGUARD_ORG")
    # The clear columns have limits; check here so SQLite and PostgreSQL agree.
    for name, limit in CLEAR_FIELD_LIMITS.items():
        value = getattr(draft, name)
        if isinstance(value, str) and len(value.strip()) > limit:
            raise InvalidConcern(f"{name} is longer than {limit} characters")
    for name in ("created_at", "disclosed_at"):
        value = getattr(draft, name)
        if value is not None:
            _aware(value, name)


# --------------------------------------------------------------------------- the log

InSameTransaction = Callable[[Session, ConcernRecord], None]


class ConcernLog:
    """Record concerns, append to their chronology, and read them back decrypted.

    ``ConcernLog(url=None, key=None)`` opens SAFEGUARD_DB_URL (or `url`), applies the
    schema migrations, and loads the key (SAFEGUARD_KEY / SAFEGUARD_KEY_FILE / the
    embedded default, see `bot.records.crypto`). Every method raises `ConcernLogError` with one
    plain line on failure.
    """

    def __init__(
        self,
        url: str | None = None,
        key: KeySpec = None,
        *,
        event_types: EventTypes | Iterable[str] | None = None,
        engine: Engine | None = None,
        migrate: bool = True,
    ) -> None:
        if event_types is None:
            self.event_types = DEFAULT_EVENT_TYPES
        elif isinstance(event_types, EventTypes):
            self.event_types = event_types
        else:
            self.event_types = EventTypes.from_names(event_types)
        try:
            self._sealer = Sealer(key)
        except CryptoError as exc:
            raise ConcernLogError(str(exc)) from None
        if engine is None:
            try:
                engine = make_engine(url or settings.db_url())
            except ImportError as exc:
                raise ConcernLogError(
                    f"cannot open the concern log database: its driver ({exc.name}) is not "
                    "installed"
                ) from None
            except SQLAlchemyError:
                # The message would echo the URL, password and all: describe it instead.
                raise ConcernLogError(
                    "cannot open the concern log database: the URL is not valid (e.g. "
                    "sqlite:////path/concerns.sqlite3 or postgresql+psycopg2://user@host/db)"
                ) from None
        self.engine = engine
        self.sessions = session_factory(self.engine)
        if migrate:

            try:
                upgrade(self.engine)
            except MigrationError as exc:
                raise ConcernLogError(str(exc)) from None

    def close_connections(self) -> None:
        """Release pooled database connections (the log stays usable; it reconnects)."""
        self.engine.dispose()

    # ----------------------------------------------------------------- plumbing

    def _where(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def session(self, doing: str) -> Iterator[Session]:
        """One transaction on the log's database for a caller's own tables (a conversation's
        incident, say): committed at the end, rolled back on error, and any database or
        key failure turned into one plain ConcernLogError saying what could not be done."""
        with self._db(doing), transaction(self.sessions) as session:
            yield session

    @contextmanager
    def _db(self, doing: str) -> Iterator[None]:
        """Turn database and key failures into one plain ConcernLogError."""
        try:
            yield
        except ConcernLogError:
            raise
        except CryptoError as exc:
            raise ConcernLogError(f"could not {doing}: {exc}") from None
        except SQLAlchemyError as exc:
            raise ConcernLogError(
                f"could not {doing}: the concern log database {self._where()} "
                f"failed ({_reason(exc)})"
            ) from exc

    def _seal_record(self, draft: ConcernDraft) -> str:
        payload = {name: getattr(draft, name) for name in SEALED_FIELDS}
        payload["language_choices"] = list(draft.language_choices)
        payload["v"] = 1
        return self._sealer.seal(json.dumps(payload, ensure_ascii=False))

    def _find(self, session: Session, ref: str, *, lock: bool = False) -> ConcernRecord:
        reference = normalise_reference(ref)
        query = select(ConcernRecord).where(ConcernRecord.reference == reference)
        if lock:
            query = query.with_for_update()
        row = session.execute(query).scalar_one_or_none()
        if row is None:
            raise ConcernNotFound(f"no concern with reference {reference}")
        return row

    @staticmethod
    def _ordered_events(session: Session, concern_ids: Sequence[int], kinds=None):  # noqa: ANN001, ANN205
        query = select(ConcernEvent).where(ConcernEvent.concern_id.in_(list(concern_ids)))
        if kinds is not None:
            query = query.where(ConcernEvent.kind.in_(list(kinds)))
        query = query.order_by(ConcernEvent.happened_at, ConcernEvent.recorded_at, ConcernEvent.id)
        return session.execute(query).scalars().all()

    def _status_by_concern(
        self, session: Session, concern_ids: Sequence[int]
    ) -> dict[int, ConcernEvent]:
        """The last status-changing event of each concern (raised/closed/reopened)."""
        last: dict[int, ConcernEvent] = {}
        if not concern_ids:
            return last
        lifecycle = (KIND_RAISED, KIND_CLOSED, KIND_REOPENED)
        for event in self._ordered_events(session, concern_ids, lifecycle):
            last[event.concern_id] = event
        return last

    def _view(self, row: ConcernRecord, last_status_event: ConcernEvent) -> ConcernView:
        sealed = json.loads(self._sealer.open(row.sealed_record))
        status = CLOSED if last_status_event.kind == KIND_CLOSED else OPEN
        return ConcernView(
            reference=row.reference,
            org=row.org,
            created_at=row.created_at,
            urgency=row.urgency,
            categories=tuple(row.categories or ()),
            worker_id=row.worker_id,
            worker_name=row.worker_name,
            worker_contact=row.worker_contact,
            disclosed_at=row.disclosed_at,
            status=status,
            status_changed_at=last_status_event.happened_at,
            **{
                name: sealed.get(name, [] if name == "language_choices" else "")
                for name in SEALED_FIELDS
            },
        )

    def _event_view(self, event: ConcernEvent) -> EventView:
        return EventView(
            sequence=event.id,
            type=event.event_type,
            kind=event.kind,
            text=self._sealer.open(event.sealed_text),
            by=event.recorded_by,
            happened_at=event.happened_at,
            recorded_at=event.recorded_at,
        )

    # ----------------------------------------------------------------- writing

    def record(
        self,
        draft: ConcernDraft,
        *,
        in_same_transaction: InSameTransaction | None = None,
        actor: Actor | None = None,
        reason: str = "",
    ) -> ConcernView:
        """Write the concern and its "Concern Raised" event, durably, before anything else.

        `in_same_transaction(session, row)` runs inside the same transaction after the
        concern row has its id (the pager adds its outbox rows there): all of it commits
        together or none of it does. Raises ConcernLogError; the concern is then NOT saved
        and the caller must say so to the worker.

        The audit trail gets a "create" entry in the same transaction: by `actor`
        (a `bot.records.audit.Actor`; default: the draft's worker, role "unknown") for `reason`
        (default "raised a concern").
        """
        validate_draft(draft)
        now = clock.now()
        created_at = _aware(draft.created_at, "created_at") if draft.created_at else now
        disclosed_at = _aware(draft.disclosed_at, "disclosed_at") if draft.disclosed_at else None
        # A created_at ahead of our clock (a caller's clock, a test's explicit time) is
        # kept as given: refusing to record a concern over clock skew would lose it.
        with self._db("save the concern"):
            sealed_record = self._seal_record(draft)
            sealed_raised = self._sealer.seal(
                f"Concern recorded by {draft.worker_name.strip()} through safeguard."
            )
            try:
                with transaction(self.sessions) as session:
                    reference = self._unused_reference(session)
                    row = ConcernRecord(
                        reference=reference,
                        org=(draft.org or settings.org()).strip(),
                        created_at=created_at,
                        urgency=draft.urgency,
                        categories=[c.strip() for c in draft.categories],
                        worker_id=draft.worker_id.strip(),
                        worker_name=draft.worker_name.strip(),
                        worker_contact=draft.worker_contact.strip(),
                        disclosed_at=disclosed_at,
                        sealed_record=sealed_record,
                    )
                    session.add(row)
                    session.flush()
                    raised = ConcernEvent(
                        concern_id=row.id,
                        event_type=self.event_types.raised,
                        kind=KIND_RAISED,
                        happened_at=created_at,
                        recorded_at=now,
                        recorded_by=row.worker_name,
                        sealed_text=sealed_raised,
                    )
                    session.add(raised)
                    session.flush()
                    if in_same_transaction is not None:
                        in_same_transaction(session, row)
                        session.flush()
                    _audit(
                        session,
                        actor or _draft_actor(draft),
                        "create",
                        reference,
                        detail=f"urgency {draft.urgency}",
                        reason=reason or "raised a concern",
                        org=row.org,
                        now=now,
                        error=ConcernLogError,
                    )
            except (ConcernLogError, SQLAlchemyError, CryptoError, IncidentConflict):
                raise
            except Exception as exc:
                # A step that must be saved with the concern (e.g. the pages) failed, so
                # nothing was saved: say so plainly rather than pretend.
                raise ConcernLogError(
                    "could not save the concern: a step saved with it failed "
                    f"({type(exc).__name__}: {_first_line(str(exc))}); nothing was saved"
                ) from exc
            return self._view(row, raised)

    def _unused_reference(self, session: Session) -> str:
        for _ in range(20):
            reference = new_reference()
            taken = session.execute(
                select(ConcernRecord.id).where(ConcernRecord.reference == reference)
            ).first()
            if taken is None:
                return reference
        raise ConcernLogError("could not save the concern: no free reference found")

    def add_event(
        self,
        ref: str,
        type: str,
        text: str,
        by: str,
        happened_at: datetime | None = None,
        *,
        actor: Actor | None = None,
        reason: str = "",
        in_same_transaction: InSameTransaction | None = None,
    ) -> EventView:
        """Append an event of an allowed type. Backdating (`happened_at` in the past) is
        allowed and sorts the event by when it happened; a future time is refused. A
        closing or reopening type changes the status, with the same checks as `close` and
        `reopen`.

        The audit trail gets an "add-event", "close" or "reopen" entry (detail: the event
        type, never its text) in the same transaction, by `actor` (default: `by`, role
        "unknown") for `reason`."""
        event_type = self.event_types.resolve(type)
        kind = self.event_types.kind(event_type)
        if kind == KIND_RAISED:
            raise InvalidConcern(
                f"{event_type!r} is written when the concern is recorded; choose another event type"
            )
        if _blank(text):
            raise InvalidConcern("the event needs some text saying what happened")
        if _blank(by):
            raise InvalidConcern("say who is adding the event")
        if len(by.strip()) > RECORDED_BY_LIMIT:
            raise InvalidConcern(
                f"the name of who is adding the event is longer than {RECORDED_BY_LIMIT} characters"
            )
        now = clock.now()
        when = _aware(happened_at, "happened_at") if happened_at is not None else now
        if when > now:
            raise InvalidConcern(
                f"the event time {when.isoformat(timespec='minutes')} is in the future"
            )
        with self._db("add the event"):
            sealed_text = self._sealer.seal(text)
            with transaction(self.sessions) as session:
                row = self._find(session, ref, lock=True)
                if kind in (KIND_CLOSED, KIND_REOPENED):
                    last = self._status_by_concern(session, [row.id])[row.id]
                    self._check_status_change(row.reference, kind, last, when)
                event = ConcernEvent(
                    concern_id=row.id,
                    event_type=event_type,
                    kind=kind,
                    happened_at=when,
                    recorded_at=now,
                    recorded_by=by.strip(),
                    sealed_text=sealed_text,
                )
                session.add(event)
                session.flush()
                if in_same_transaction is not None:
                    # e.g. the pager updating the concern's one page chain: both or neither.
                    in_same_transaction(session, row)
                    session.flush()
                _audit(
                    session,
                    actor or _named_actor(by),
                    {KIND_CLOSED: "close", KIND_REOPENED: "reopen"}.get(kind, "add-event"),
                    row.reference,
                    detail=event_type,
                    reason=reason,
                    org=row.org,
                    now=now,
                )
                return self._event_view(event)

    @staticmethod
    def _check_status_change(reference: str, kind: str, last: ConcernEvent, when: datetime) -> None:
        is_closed = last.kind == KIND_CLOSED
        if kind == KIND_CLOSED and is_closed:
            raise InvalidConcern(f"{reference} is already closed")
        if kind == KIND_REOPENED and not is_closed:
            raise InvalidConcern(f"{reference} is open; only a closed concern can be reopened")
        if when < last.happened_at:
            verb = "close" if kind == KIND_CLOSED else "reopening"
            raise InvalidConcern(
                f"a {verb} cannot be dated before the concern's last status change "
                f"({last.happened_at.isoformat(timespec='minutes')})"
            )

    def close(
        self,
        ref: str,
        by: str,
        reason: str,
        happened_at: datetime | None = None,
        *,
        actor: Actor | None = None,
        purpose: str = "",
    ) -> EventView:
        """Close the concern by appending the organisation's closing event."""
        return self.add_event(
            ref, self.event_types.closed, reason, by, happened_at, actor=actor, reason=purpose
        )

    def reopen(
        self,
        ref: str,
        by: str,
        reason: str,
        happened_at: datetime | None = None,
        *,
        actor: Actor | None = None,
        purpose: str = "",
    ) -> EventView:
        """Reopen a closed concern by appending a reopening event."""
        return self.add_event(
            ref, self.event_types.reopened, reason, by, happened_at, actor=actor, reason=purpose
        )

    # ----------------------------------------------------------------- reading

    def get(self, ref: str) -> ConcernView:
        """The concern with this reference, decrypted, or ConcernNotFound."""
        with self._db("read the concern"), self.sessions() as session:
            row = self._find(session, ref)
            last = self._status_by_concern(session, [row.id])[row.id]
            return self._view(row, last)

    def list(self, open_only: bool = False, worker_id: str | None = None) -> list[ConcernView]:
        """Concerns, newest first; only open ones with `open_only`; one worker's with
        `worker_id`."""
        with self._db("list concerns"), self.sessions() as session:
            query = select(ConcernRecord).order_by(
                ConcernRecord.created_at.desc(), ConcernRecord.id.desc()
            )
            if worker_id is not None:
                query = query.where(ConcernRecord.worker_id == worker_id.strip())
            rows = session.execute(query).scalars().all()
            last = self._status_by_concern(session, [row.id for row in rows])
            views = [self._view(row, last[row.id]) for row in rows]
        if open_only:
            views = [view for view in views if view.is_open]
        return views

    def chronology(self, ref: str) -> list[EventView]:
        """Every event of the concern, in the order they happened (backdated events sort
        by `happened_at`; ties by when they were recorded)."""
        with self._db("read the chronology"), self.sessions() as session:
            row = self._find(session, ref)
            return [self._event_view(e) for e in self._ordered_events(session, [row.id])]


def _audit(
    session: Session,
    actor: Actor,
    action: str,
    ref: str,
    *,
    error: type[ConcernLogError] = InvalidConcern,
    **kwargs: Any,
) -> None:
    """The audit-trail hook: one entry in the caller's transaction (bot.records.audit). An entry
    that cannot be written stops the write with `error` (for a new concern a plain
    ConcernLogError, never InvalidConcern: the draft is fine and must be kept, e.g. in the
    spool, not dropped as incomplete)."""

    try:
        audit.append(session, actor, action, concern_ref=ref, **kwargs)
    except audit.AuditError as exc:
        raise error(f"could not write the audit trail: {exc}") from None


def _draft_actor(draft: ConcernDraft) -> Actor:

    return Actor(id=draft.worker_id, name=draft.worker_name, role="unknown", channel="system")


def _named_actor(by: str) -> Actor:

    return Actor(id=by.strip(), name=by.strip(), role="unknown", channel="system")


def _first_line(text: str, limit: int = 200) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _reason(exc: SQLAlchemyError) -> str:
    original = getattr(exc, "orig", None)
    detail = _first_line(str(original if original is not None else exc))
    return f"{type(original or exc).__name__}: {detail}" if detail else type(exc).__name__
