"""The audit trail: who read or wrote which concern, when and why, hash-chained.

Every read and write of a concern by a person adds one entry: who (roster person id, name
and role, and the channel: cli or chat), what (an action from `ACTIONS` and the concern
reference), when (UTC, shown in Europe/London) and why (the reason given on the command
line, or the purpose of the chat action). Entries hold no child data: a reference, an
action, an event type name, never what anyone said.

Tamper evidence: entry *n* stores ``hash = sha256(hash of entry n-1 + canonical JSON of
entry n)`` (the first entry chains from `GENESIS`). Changing an entry breaks its own
hash; deleting one leaves a gap in the positions; swapping two breaks the chain.
``verify`` also remembers the last entry it checked (an anchor file in SAFEGUARD_VAR), so
entries cut off the end after a verify are caught by the next one. The database refuses
UPDATE and DELETE on the table (triggers from migration ``0003_audit_trail``), so tampering
needs someone with rights to drop the triggers, and even then it shows.

One chain, however many processes append at once: an append first takes the chain lock
(a PostgreSQL transaction advisory lock; on SQLite the database write lock, taken with
BEGIN IMMEDIATE before the tail is read), and ``position`` is UNIQUE, so a chain can never
fork; an append that loses a race anyway is retried.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Index, Integer, String, Text, UniqueConstraint, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from bot.config import settings
from bot.core import clock
from bot.records.db import Base, UTCDateTime, make_engine, session_factory, transaction
from bot.records.migrate import MigrationError, upgrade

GENESIS = "0" * 64
"""The 'previous hash' of the first entry."""

ACTIONS: tuple[str, ...] = (
    "create",  # a concern was recorded
    "view",  # a concern and its chronology were shown
    "export",  # a concern was exported in full (JSON)
    "list",  # a list of concerns (references only) was shown
    "add-event",  # an event was added to a chronology
    "close",
    "reopen",
    "refused",  # someone asked for something they may not do (detail: what)
    "audit-show",  # someone read the audit trail itself
    "retention-review",  # someone listed concerns due for a retention review
)

CHANNELS: tuple[str, ...] = ("cli", "chat", "system")

# Arbitrary constant shared by every safeguard process: "the audit chain lock".
_PG_CHAIN_LOCK = 0x5AFEA0D1
_RETRIES = 20
TEXT_LIMIT = 500
"""Longest reason or detail kept (a reason is a purpose, not a case note)."""

ANCHOR_FILE = "audit-anchor.json"


class AuditError(RuntimeError):
    """The audit trail could not be written or read (one plain line)."""


# --------------------------------------------------------------------------- who


@dataclass(frozen=True)
class Actor:
    """A person acting on concerns: roster id, name and role, and the channel they use.

    `aliases` are other ids their own concerns may be recorded under (their chat id); they
    are used for access checks only and never written to the trail.
    """

    id: str
    name: str
    role: str
    channel: str = "cli"
    aliases: tuple[str, ...] = ()

    @property
    def own_ids(self) -> frozenset[str]:
        return frozenset({self.id, *self.aliases})

    @classmethod
    def from_person(cls, person: Any, channel: str = "cli") -> Actor:
        """From a roster `bot.core.rota.Person`."""
        aliases = (str(person.telegram_chat_id),) if person.telegram_chat_id is not None else ()
        return cls(
            id=person.id, name=person.name, role=person.role, channel=channel, aliases=aliases
        )

    @classmethod
    def from_worker(cls, worker: Any, channel: str = "chat") -> Actor:
        """From a `bot.core.people.Worker` (the chat's idea of who is talking)."""
        return cls(
            id=worker.id,
            name=worker.name,
            role=getattr(worker, "role", "worker") or "worker",
            channel=channel,
        )


# --------------------------------------------------------------------------- table


class AuditEntry(Base):
    """One entry (table ``audit_entries``); never updated or deleted."""

    __tablename__ = "audit_entries"

    id = Column(Integer, primary_key=True)
    position = Column(Integer, nullable=False)
    recorded_at = Column(UTCDateTime(), nullable=False)
    org = Column(String(64), nullable=False)
    person_id = Column(String(128), nullable=False)
    person_name = Column(String(200), nullable=False)
    role = Column(String(16), nullable=False)
    channel = Column(String(16), nullable=False)
    action = Column(String(32), nullable=False)
    concern_ref = Column(String(16), nullable=True)
    detail = Column(Text, nullable=False)
    reason = Column(Text, nullable=False)
    prev_hash = Column(String(64), nullable=False)
    entry_hash = Column(String(64), nullable=False)

    __table_args__ = (
        UniqueConstraint("position", name="uq_audit_entries_position"),
        Index("ix_audit_entries_concern_ref", "concern_ref"),
        Index("ix_audit_entries_person_id", "person_id"),
    )


HASHED_FIELDS: tuple[str, ...] = (
    "position",
    "recorded_at",
    "org",
    "person_id",
    "person_name",
    "role",
    "channel",
    "action",
    "concern_ref",
    "detail",
    "reason",
)


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(fields: dict[str, Any]) -> str:
    """The entry as canonical JSON: the hashed fields only, keys sorted, no spaces, times
    as UTC ``YYYY-MM-DDTHH:MM:SS.ffffffZ``."""
    out = {}
    for name in HASHED_FIELDS:
        value = fields[name]
        if isinstance(value, datetime):
            value = _utc_text(value)
        out[name] = value
    return json.dumps(out, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    """sha256(previous hash + canonical JSON of the entry), hex."""
    return hashlib.sha256((prev_hash + canonical(fields)).encode("utf-8")).hexdigest()


def _fields(row: AuditEntry) -> dict[str, Any]:
    return {name: getattr(row, name) for name in HASHED_FIELDS}


# --------------------------------------------------------------------------- views


@dataclass(frozen=True)
class EntryView:
    """One entry as read back (`recorded_at` in Europe/London)."""

    position: int
    recorded_at: datetime
    org: str
    person_id: str
    person_name: str
    role: str
    channel: str
    action: str
    concern_ref: str | None
    detail: str
    reason: str
    entry_hash: str

    @classmethod
    def of(cls, row: AuditEntry) -> EntryView:
        return cls(entry_hash=row.entry_hash, **_fields(row))

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["recorded_at"] = self.recorded_at.isoformat()
        out["recorded_at_utc"] = _utc_text(self.recorded_at)
        return out

    def describe(self) -> str:
        """One line, e.g. '#12 2026-11-23 16:00 alice (lead, cli) view SG-7KQ2-M4XP'."""
        what = self.action + (f" {self.concern_ref}" if self.concern_ref else "")
        return (
            f"#{self.position} {self.recorded_at.strftime('%Y-%m-%d %H:%M')} "
            f"{self.person_id} ({self.role}, {self.channel}) {what}"
        )


@dataclass(frozen=True)
class Verification:
    """What `AuditTrail.verify` found."""

    ok: bool
    count: int
    head: str
    problem: str = ""
    bad_position: int | None = None

    def message(self) -> str:
        if self.ok:
            if not self.count:
                return "Audit trail intact: no entries yet."
            return f"Audit trail intact: {self.count} entries; head {self.head}."
        return f"Audit trail NOT intact: {self.problem}"


# --------------------------------------------------------------------------- appending

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


def _clean(value: str | None, limit: int, what: str) -> str:
    value = _CONTROL.sub(" ", str(value or "")).strip()
    if len(value) > limit:
        raise AuditError(f"the {what} is longer than {limit} characters")
    return value


def lock_chain(session: Session) -> None:
    """Take the chain lock for the rest of `session`'s transaction: a PostgreSQL advisory
    transaction lock, or on SQLite the write lock (BEGIN IMMEDIATE), unless this
    transaction already writes and so already holds it."""
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PG_CHAIN_LOCK})
    elif dialect == "sqlite":
        raw = connection.connection.dbapi_connection
        if not raw.in_transaction:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def append(
    session: Session,
    actor: Actor,
    action: str,
    *,
    concern_ref: str | None = None,
    detail: str = "",
    reason: str = "",
    org: str | None = None,
    now: datetime | None = None,
) -> AuditEntry:
    """Add one entry inside the caller's transaction (it commits or rolls back with it).

    Takes the chain lock first (see `lock_chain`). Raises AuditError for an entry that
    cannot be written as given.
    """
    if action not in ACTIONS:
        raise AuditError(f"unknown audit action {action!r}")
    if actor.channel not in CHANNELS:
        raise AuditError(f"unknown channel {actor.channel!r} (one of: {', '.join(CHANNELS)})")
    fields = {
        "recorded_at": (now or clock.now()),
        "org": _clean(org or settings.org(), 64, "organisation"),
        "person_id": _clean(actor.id, 128, "person id") or "unknown",
        "person_name": _clean(actor.name, 200, "person's name") or "unknown",
        "role": _clean(actor.role, 16, "role") or "unknown",
        "channel": actor.channel,
        "action": action,
        "concern_ref": concern_ref or None,
        "detail": _clean(detail, TEXT_LIMIT, "detail"),
        "reason": _clean(reason, TEXT_LIMIT, "reason"),
    }
    if fields["recorded_at"].tzinfo is None:
        raise AuditError("naive datetime given to the audit trail; use bot.core.clock")
    # Microseconds survive both databases; keep exactly what will be read back.
    lock_chain(session)
    tail = session.execute(
        select(AuditEntry.position, AuditEntry.entry_hash)
        .order_by(AuditEntry.position.desc())
        .limit(1)
    ).first()
    fields["position"] = (tail.position + 1) if tail else 1
    prev_hash = tail.entry_hash if tail else GENESIS
    row = AuditEntry(prev_hash=prev_hash, entry_hash=chain_hash(prev_hash, fields), **fields)
    session.add(row)
    session.flush()
    return row


# --------------------------------------------------------------------------- the trail


class AuditTrail:
    """Append to, read and verify the audit trail in SAFEGUARD_DB_URL (or `url`/`engine`)."""

    def __init__(
        self, url: str | None = None, *, engine: Engine | None = None, migrate: bool = True
    ) -> None:
        if engine is None:
            try:
                engine = make_engine(url or settings.db_url())
            except (ImportError, SQLAlchemyError):
                raise AuditError(
                    "cannot open the audit trail: the database URL is not valid"
                ) from None
        self.engine = engine
        self.sessions = session_factory(engine)
        if migrate:

            try:
                upgrade(engine)
            except MigrationError as exc:
                raise AuditError(str(exc)) from None

    def _where(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def _failed(self, doing: str, exc: SQLAlchemyError) -> AuditError:
        original = getattr(exc, "orig", None) or exc
        line = (str(original).strip().splitlines() or [""])[0][:200]
        return AuditError(
            f"could not {doing}: the database {self._where()} failed "
            f"({type(original).__name__}: {line})"
        )

    def record(self, actor: Actor, action: str, **kwargs: Any) -> EntryView:
        """Append one entry in its own transaction (retried if another process won the
        race for the same position). Arguments as `append`."""
        last: SQLAlchemyError | None = None
        for _ in range(_RETRIES):
            try:
                with transaction(self.sessions) as session:
                    row = append(session, actor, action, **kwargs)
                    view = EntryView.of(row)
                return view
            except (IntegrityError, OperationalError) as exc:
                last = exc  # lost a race (or the write lock timed out): try again
        assert last is not None
        raise self._failed("write the audit trail", last)

    def entries(
        self,
        concern_ref: str | None = None,
        person_id: str | None = None,
        limit: int | None = None,
    ) -> list[EntryView]:
        """Entries in chain order, optionally for one concern or one person; with `limit`,
        the last `limit` of them."""
        query = select(AuditEntry)
        if concern_ref:
            query = query.where(AuditEntry.concern_ref == concern_ref)
        if person_id:
            query = query.where(AuditEntry.person_id == person_id)
        if limit:
            query = query.order_by(AuditEntry.position.desc()).limit(limit)
        else:
            query = query.order_by(AuditEntry.position)
        try:
            with self.sessions() as session:
                rows = [EntryView.of(row) for row in session.execute(query).scalars()]
        except SQLAlchemyError as exc:
            raise self._failed("read the audit trail", exc) from exc
        return sorted(rows, key=lambda e: e.position)

    def _rows(self, session: Session, batch: int = 2000) -> Iterator[AuditEntry]:
        after = 0
        while True:
            rows = (
                session.execute(
                    select(AuditEntry)
                    .where(AuditEntry.position > after)
                    .order_by(AuditEntry.position, AuditEntry.id)
                    .limit(batch)
                )
                .scalars()
                .all()
            )
            if not rows:
                return
            yield from rows
            after = rows[-1].position
            session.expunge_all()

    def verify(self, anchor: Path | None | bool = True) -> Verification:
        """Check every entry's hash, the chain between them and that positions run 1..n.

        `anchor`: True for the default anchor file (SAFEGUARD_VAR/audit-anchor.json), a
        path, or None/False for none. With an anchor, the last entry a previous verify saw
        must still be there, unchanged (catches entries cut off the end); an intact trail
        then moves the anchor to the new head. Raises AuditError if it cannot check.
        """
        anchor_path = _anchor_path(anchor)
        key = self._anchor_key()
        previous = GENESIS
        count = 0
        seen_anchor: dict[str, Any] | None = _read_anchor(anchor_path).get(key)
        anchor_ok = seen_anchor is None
        try:
            with self.sessions() as session:
                for row in self._rows(session):
                    count += 1
                    entry = EntryView.of(row)
                    if row.position != count:
                        missing = count if row.position > count else row.position
                        return self._broken(
                            f"entry #{missing} is missing or out of place (found "
                            f"#{row.position} where #{count} should be): entries were deleted "
                            "or reordered",
                            missing,
                            count - 1,
                            previous,
                        )
                    if row.prev_hash != previous:
                        return self._broken(
                            f"entry {entry.describe()} does not follow the entry before it "
                            "(entries were deleted, inserted or swapped)",
                            row.position,
                            count - 1,
                            previous,
                        )
                    if chain_hash(previous, _fields(row)) != row.entry_hash:
                        return self._broken(
                            f"entry {entry.describe()} was changed after it was written "
                            "(its contents do not match its hash)",
                            row.position,
                            count - 1,
                            previous,
                        )
                    if seen_anchor and row.position == seen_anchor["position"]:
                        if row.entry_hash != seen_anchor["hash"]:
                            return self._broken(
                                f"entry {entry.describe()} is not the entry verified on "
                                f"{seen_anchor.get('verified_at', 'an earlier check')}: the "
                                "trail was rewritten from there on",
                                row.position,
                                count - 1,
                                previous,
                            )
                        anchor_ok = True
                    previous = row.entry_hash
        except SQLAlchemyError as exc:
            raise self._failed("check the audit trail", exc) from exc
        if not anchor_ok:
            assert seen_anchor is not None
            return self._broken(
                f"entries #{count + 1} to #{seen_anchor['position']} are missing: an earlier "
                f"check ({seen_anchor.get('verified_at', '?')}) saw the trail reach "
                f"#{seen_anchor['position']}; entries were deleted from the end",
                count + 1,
                count,
                previous,
            )
        if anchor_path is not None and count:
            _write_anchor(anchor_path, key, count, previous)
        return Verification(ok=True, count=count, head=previous)

    @staticmethod
    def _broken(problem: str, position: int, count: int, head: str) -> Verification:
        return Verification(
            ok=False, count=count, head=head, problem=problem, bad_position=position
        )

    def _anchor_key(self) -> str:
        """Which database an anchor belongs to (the URL without its password, and the
        PostgreSQL search path, so two schemas on one server are told apart)."""
        where = self._where()
        if self.engine.dialect.name == "postgresql":
            try:
                with self.engine.connect() as connection:
                    where += "#" + str(connection.execute(text("SHOW search_path")).scalar())
            except SQLAlchemyError as exc:
                raise self._failed("check the audit trail", exc) from exc
        return hashlib.sha256(where.encode("utf-8")).hexdigest()[:32]


# --------------------------------------------------------------------------- anchor file


def _anchor_path(anchor: Path | None | bool) -> Path | None:
    if anchor is True:
        return settings.var_dir() / ANCHOR_FILE
    if not anchor:
        return None
    return Path(anchor)


def _read_anchor(path: Path | None) -> dict[str, Any]:
    if path is None or not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise AuditError(f"cannot read the audit anchor {path}: {exc}") from None
    if not isinstance(data, dict):
        raise AuditError(f"the audit anchor {path} is not a JSON object")
    return data


def _write_anchor(path: Path, key: str, position: int, head: str) -> None:
    data = _read_anchor(path)
    data[key] = {
        "position": position,
        "hash": head,
        "verified_at": clock.now().isoformat(timespec="seconds"),
    }
    tmp = path.with_name(path.name + ".tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise AuditError(f"cannot write the audit anchor {path}: {exc}") from None
