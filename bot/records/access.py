"""Who may use the assistant in a chat app: the roster, plus staff approved in chat.

Two sources, in this order:

1. The roster (`bot.core.rota`, SAFEGUARD_ROSTER): every person with a `telegram_chat_id` is
   staff with their roster role. The roster is deployment data a lead edits; it always wins,
   and nothing done in chat can change or remove a roster person.
2. The `staff_members` table: people a lead or admin added in chat (or with `safeguard staff
   add`), or approved after they sent /start (`access_requests`).

Anyone else is a stranger: the gateway tells them the public NSPCC helpline and nothing of
the organisation's, and never passes their messages on. A stranger's /start is recorded as
one request (repeats do not make more, and a refused request stays refused until a lead adds
the person directly), so the leads are told once.

Roles: worker, deputy, lead, admin (as in the roster). Leads, deputies and admins may use the
leads' commands (open concerns, acknowledge, rota, staff list); only leads and admins may
approve, refuse, add or remove staff. Names here are staff names (never a child's): they are
what the Safeguarding Lead needs to call a worker back.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, Column, DateTime, Integer, String, UniqueConstraint, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bot.config import settings
from bot.core import clock as _clock
from bot.core import phones, rota
from bot.core.people import Worker
from bot.records.db import Base, make_engine, session_factory, transaction
from bot.records.migrate import MigrationError, upgrade

if TYPE_CHECKING:
    from bot.core.people import Worker

logger = logging.getLogger(__name__)

ROLES = ("worker", "deputy", "lead", "admin")
LEAD_ROLES = frozenset({"lead", "deputy", "admin"})
APPROVER_ROLES = frozenset({"lead", "admin"})
PENDING, APPROVED, REFUSED = "pending", "approved", "refused"
# A bot's username is public: cap how many strangers' requests can wait at once, so a flood
# of /start messages cannot fill the database or the leads' chats.
MAX_PENDING = 50
NAME_MAX = 120

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u200b-\u200f\u2028-\u202e\u2066-\u2069]")
_USERNAME = re.compile(r"^[A-Za-z0-9_]{1,64}$")


class AccessError(ValueError):
    """A staff change that cannot be made (one plain line, safe to show a lead)."""


class StaffMember(Base):
    """Someone approved in chat (not in the roster file)."""

    __tablename__ = "staff_members"
    __table_args__ = (UniqueConstraint("telegram_user_id", name="uq_staff_members_telegram"),)

    id = Column(Integer, primary_key=True)
    telegram_user_id = Column(BigInteger, nullable=False)
    name = Column(String(NAME_MAX), nullable=False)
    username = Column(String(64), nullable=True)
    role = Column(String(16), nullable=False)
    phone = Column(String(32), nullable=True)
    added_by = Column(String(NAME_MAX), nullable=False)
    added_at = Column(DateTime, nullable=False)
    removed_at = Column(DateTime, nullable=True)
    removed_by = Column(String(NAME_MAX), nullable=True)


class AccessRequest(Base):
    """A /start from someone who is not staff, waiting for (or decided by) a lead."""

    __tablename__ = "access_requests"

    id = Column(Integer, primary_key=True)
    telegram_user_id = Column(BigInteger, nullable=False, index=True)
    chat_id = Column(BigInteger, nullable=False)
    name = Column(String(NAME_MAX), nullable=False)
    username = Column(String(64), nullable=True)
    status = Column(String(16), nullable=False, index=True)
    role = Column(String(16), nullable=True)
    requested_at = Column(DateTime, nullable=False)
    decided_at = Column(DateTime, nullable=True)
    decided_by = Column(String(NAME_MAX), nullable=True)


@dataclass(frozen=True)
class Identity:
    """A member of staff as the chat layer sees them."""

    telegram_user_id: int
    name: str
    role: str
    phone: str | None = None
    source: str = "approved"  # "roster" or "approved"
    person_id: str | None = None  # the roster id, for roster people

    @property
    def sender_id(self) -> str:
        """The conversation id given to Rasa (actions.context.worker_from resolves it):
        channel-qualified, so it can never be mistaken for a roster id typed as a sender."""
        return telegram_sender(self.telegram_user_id)

    @property
    def contact(self) -> str:
        """How a lead calls this worker back (fits the pager's contact rule)."""
        return self.phone or f"Telegram chat {self.telegram_user_id}"

    @property
    def is_lead(self) -> bool:
        return self.role in LEAD_ROLES

    @property
    def can_approve(self) -> bool:
        return self.role in APPROVER_ROLES

    def worker(self):  # noqa: ANN201

        # The bare Telegram id, as bot.records.access.worker_for gives for "telegram:<id>": the
        # concerns a person raised and the pager's notices find them by it.
        return Worker(
            id=str(self.telegram_user_id), name=self.name, contact=self.contact, role=self.role
        )


@dataclass(frozen=True)
class RequestView:
    id: int
    telegram_user_id: int
    chat_id: int
    name: str
    username: str | None
    status: str
    role: str | None
    requested_at: datetime
    decided_by: str | None = None

    @property
    def who(self) -> str:
        handle = f" (@{self.username})" if self.username else ""
        return f"{self.name}{handle}, Telegram id {self.telegram_user_id}"


def clean_name(text: str | None, fallback: str = "") -> str:
    """A display name safe to show in a lead's chat: no control or direction characters."""
    cleaned = " ".join(_CONTROL.sub(" ", text or "").split())[:NAME_MAX]
    return cleaned or fallback


def clean_username(text: str | None) -> str | None:
    return text if text and _USERNAME.match(text) else None


def _db(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def _check_role(role: str) -> str:
    role = (role or "").strip().lower()
    if role not in ROLES:
        raise AccessError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    return role


def _check_phone(phone: str | None) -> str | None:
    if phone is None or not phone.strip():
        return None
    try:
        return phones.check_person(phone)  # libphonenumber; written the way it is shown
    except phones.PhoneNumberError as exc:
        raise AccessError(str(exc)) from None


class StaffDirectory:
    """Staff lookups and changes. Thread-safe; every failure is an `AccessError` line."""

    def __init__(
        self,
        engine_or_url: Engine | str | None = None,
        *,
        roster_path: Path | str | None = None,
        clock: Callable[[], datetime] | None = None,
        migrate: bool = True,
    ) -> None:
        self.engine = (
            engine_or_url if isinstance(engine_or_url, Engine) else make_engine(engine_or_url)
        )
        self.factory = session_factory(self.engine)
        self.clock = clock or _clock.now
        self._roster_path = Path(roster_path) if roster_path else None
        self._roster_cache: tuple[tuple[str, float], object] | None = None
        self._lock = threading.Lock()
        if migrate:

            try:
                upgrade(self.engine)
            except MigrationError as exc:
                raise AccessError(str(exc)) from None

    # ------------------------------------------------------------------ roster

    def roster(self):  # noqa: ANN201
        """The roster, re-read when its file changes (a lead's edit applies without restart)."""

        path = self._roster_path or rota.roster_path()
        try:
            stamp = (str(path), os.stat(path).st_mtime)
        except OSError:
            stamp = (str(path), -1.0)
        with self._lock:
            if self._roster_cache is not None and self._roster_cache[0] == stamp:
                return self._roster_cache[1]
        roster = rota.load_roster(path)
        with self._lock:
            self._roster_cache = (stamp, roster)
        return roster

    def _roster_people(self) -> list[Identity]:
        try:
            roster = self.roster()
        except ValueError:
            # A broken roster must not lock everyone out: the chat-approved staff still work,
            # and start-up (`safeguard telegram`) refuses to start with a broken roster.
            return []
        return [
            Identity(
                telegram_user_id=int(p.telegram_chat_id),
                name=p.name,
                role=p.role,
                phone=p.phone,
                source="roster",
                person_id=p.id,
            )
            for p in roster.people
            if p.telegram_chat_id is not None
        ]

    # ------------------------------------------------------------------ lookups

    def identify(self, telegram_user_id: int | str) -> Identity | None:
        """The member of staff with this Telegram id, or None for a stranger."""
        try:
            user_id = int(str(telegram_user_id).strip())
        except ValueError:
            return None
        for person in self._roster_people():
            if person.telegram_user_id == user_id:
                return person
        with self._session_errors("look up staff"), self.factory() as session:
            row = session.scalars(
                select(StaffMember).where(
                    StaffMember.telegram_user_id == user_id, StaffMember.removed_at.is_(None)
                )
            ).first()
            return _identity(row) if row is not None else None

    def staff(self) -> list[Identity]:
        """Everyone who may use the assistant: roster people first, then approved staff."""
        out = self._roster_people()
        seen = {p.telegram_user_id for p in out}
        with self._session_errors("list staff"), self.factory() as session:
            rows = session.scalars(
                select(StaffMember)
                .where(StaffMember.removed_at.is_(None))
                .order_by(StaffMember.name, StaffMember.id)
            )
            out += [_identity(r) for r in rows if r.telegram_user_id not in seen]
        return out

    def approvers(self) -> list[Identity]:
        """Leads and admins who can decide access requests (told about each new one)."""
        return [p for p in self.staff() if p.can_approve]

    def pending(self) -> list[RequestView]:
        """Requests waiting for a decision (not those of people since put in the roster)."""
        in_roster = {p.telegram_user_id for p in self._roster_people()}
        with self._session_errors("list access requests"), self.factory() as session:
            rows = session.scalars(
                select(AccessRequest)
                .where(AccessRequest.status == PENDING)
                .order_by(AccessRequest.id)
            )
            return [_request(r) for r in rows if int(r.telegram_user_id) not in in_roster]

    def get_request(self, request_id: int) -> RequestView:
        with self._session_errors("read an access request"), self.factory() as session:
            row = session.get(AccessRequest, int(request_id))
            if row is None:
                raise AccessError(f"no access request #{request_id}")
            return _request(row)

    # ------------------------------------------------------------------ changes

    def request_access(
        self, telegram_user_id: int, chat_id: int, name: str | None, username: str | None
    ) -> tuple[RequestView | None, bool]:
        """Record a stranger's /start. Returns (the request, whether it is new).

        A repeat returns the existing pending or refused request (not new). When MAX_PENDING
        requests already wait, nothing is recorded and (None, False) is returned.
        """
        user_id, chat = int(telegram_user_id), int(chat_id)
        shown = clean_name(name, f"Telegram user {user_id}")
        handle = clean_username(username)
        now = _db(self.clock())
        with self._session_errors("record an access request"), transaction(self.factory) as session:
            latest = session.scalars(
                select(AccessRequest)
                .where(AccessRequest.telegram_user_id == user_id)
                .order_by(AccessRequest.id.desc())
            ).first()
            if latest is not None and latest.status in (PENDING, REFUSED):
                return _request(latest), False
            waiting = session.scalar(
                select(func.count())
                .select_from(AccessRequest)
                .where(AccessRequest.status == PENDING)
            )
            if int(waiting or 0) >= MAX_PENDING:
                return None, False
            row = AccessRequest(
                telegram_user_id=user_id,
                chat_id=chat,
                name=shown,
                username=handle,
                status=PENDING,
                requested_at=now,
            )
            session.add(row)
            session.flush()
            return _request(row), True

    def approve(self, request_id: int, by: Identity, role: str = "worker") -> RequestView:
        """A lead or admin approves a pending request: the person becomes staff."""
        self._must_approve(by)
        role = _check_role(role)
        now = _db(self.clock())
        with self._session_errors("approve the request"), transaction(self.factory) as session:
            row = session.get(AccessRequest, int(request_id))
            if row is None:
                raise AccessError(f"no access request #{request_id}")
            if row.status != PENDING:
                raise AccessError(
                    f"access request #{row.id} was already {row.status} by {row.decided_by}"
                )
            if any(p.telegram_user_id == row.telegram_user_id for p in self._roster_people()):
                raise AccessError(f"{row.name} is already in the roster")
            row.status, row.role = APPROVED, role
            row.decided_at, row.decided_by = now, by.name
            self._upsert(session, row.telegram_user_id, row.name, row.username, role, None, by)
            session.flush()
            return _request(row)

    def refuse(self, request_id: int, by: Identity) -> RequestView:
        self._must_approve(by)
        now = _db(self.clock())
        with self._session_errors("refuse the request"), transaction(self.factory) as session:
            row = session.get(AccessRequest, int(request_id))
            if row is None:
                raise AccessError(f"no access request #{request_id}")
            if row.status != PENDING:
                raise AccessError(
                    f"access request #{row.id} was already {row.status} by {row.decided_by}"
                )
            row.status, row.decided_at, row.decided_by = REFUSED, now, by.name
            session.flush()
            return _request(row)

    def add_staff(
        self,
        telegram_user_id: int,
        name: str,
        role: str = "worker",
        by: Identity | str = "safeguard staff add",
        phone: str | None = None,
        username: str | None = None,
    ) -> Identity:
        """Add (or re-add, or change the role of) someone approved outside the roster."""
        if isinstance(by, Identity):
            self._must_approve(by)
        role = _check_role(role)
        phone = _check_phone(phone)
        try:
            user_id = int(telegram_user_id)
        except (TypeError, ValueError):
            raise AccessError(f"{telegram_user_id!r} is not a Telegram user id") from None
        if user_id <= 0:
            raise AccessError(f"{user_id} is not a Telegram user id (a person's id is positive)")
        shown = clean_name(name)
        if not shown:
            raise AccessError("a name is needed (the lead calls the worker back by it)")
        for person in self._roster_people():
            if person.telegram_user_id == user_id:
                raise AccessError(
                    f"Telegram id {user_id} is {person.name} in the roster; change the roster "
                    "file instead"
                )
        with self._session_errors("add staff"), transaction(self.factory) as session:
            row = self._upsert(session, user_id, shown, clean_username(username), role, phone, by)
            # Any pending request from them is settled by this.
            for request in session.scalars(
                select(AccessRequest).where(
                    AccessRequest.telegram_user_id == user_id, AccessRequest.status == PENDING
                )
            ):
                request.status, request.role = APPROVED, role
                request.decided_at = _db(self.clock())
                request.decided_by = by.name if isinstance(by, Identity) else str(by)
            session.flush()
            return _identity(row)

    def remove_staff(self, telegram_user_id: int, by: Identity | str) -> Identity:
        if isinstance(by, Identity):
            self._must_approve(by)
        user_id = int(telegram_user_id)
        for person in self._roster_people():
            if person.telegram_user_id == user_id:
                raise AccessError(
                    f"{person.name} is in the roster; remove them from the roster file instead"
                )
        with self._session_errors("remove staff"), transaction(self.factory) as session:
            row = session.scalars(
                select(StaffMember).where(
                    StaffMember.telegram_user_id == user_id, StaffMember.removed_at.is_(None)
                )
            ).first()
            if row is None:
                raise AccessError(f"no approved staff member with Telegram id {user_id}")
            if isinstance(by, Identity) and by.telegram_user_id == user_id:
                raise AccessError("you cannot remove yourself; ask another lead or admin")
            row.removed_at = _db(self.clock())
            row.removed_by = by.name if isinstance(by, Identity) else str(by)
            return _identity(row)

    # ------------------------------------------------------------------ internals

    def _must_approve(self, by: Identity) -> None:
        if not by.can_approve:
            raise AccessError("only a Safeguarding Lead or an admin can change who has access")

    def _upsert(
        self,
        session,  # noqa: ANN001
        user_id: int,
        name: str,
        username: str | None,
        role: str,
        phone: str | None,
        by: Identity | str,
    ) -> StaffMember:
        who = by.name if isinstance(by, Identity) else str(by)
        now = _db(self.clock())
        row = session.scalars(
            select(StaffMember).where(StaffMember.telegram_user_id == user_id)
        ).first()
        if row is None:
            row = StaffMember(telegram_user_id=user_id)
            session.add(row)
        row.name, row.role = name[:NAME_MAX], role
        row.username = username or row.username
        row.phone = phone or row.phone
        row.added_by, row.added_at = who[:NAME_MAX], now
        row.removed_at = row.removed_by = None
        return row

    @contextmanager
    def _session_errors(self, doing: str) -> Iterator[None]:
        """Database failures as one plain AccessError line (never the URL or a traceback)."""
        try:
            yield
        except IntegrityError:
            raise AccessError(f"could not {doing}: it changed meanwhile; try again") from None
        except SQLAlchemyError as exc:
            original = getattr(exc, "orig", None) or exc
            raise AccessError(
                f"could not {doing}: the database failed ({type(original).__name__})"
            ) from None


def _identity(row: StaffMember) -> Identity:
    return Identity(
        telegram_user_id=int(row.telegram_user_id),
        name=row.name,
        role=row.role,
        phone=row.phone,
        source="approved",
    )


def _request(row: AccessRequest) -> RequestView:
    return RequestView(
        id=int(row.id),
        telegram_user_id=int(row.telegram_user_id),
        chat_id=int(row.chat_id),
        name=row.name,
        username=row.username,
        status=row.status,
        role=row.role,
        requested_at=row.requested_at,
        decided_by=row.decided_by,
    )


_DEFAULT: dict[str, StaffDirectory] = {}
_DEFAULT_LOCK = threading.Lock()


def directory(url: str | None = None) -> StaffDirectory:
    """One shared directory per database URL (migrated once per process)."""

    key = url or settings.db_url()
    with _DEFAULT_LOCK:
        found = _DEFAULT.get(key)
        if found is None:
            found = _DEFAULT[key] = StaffDirectory(key)
        return found


TELEGRAM, TEAMS = "telegram", "teams"


def telegram_sender(telegram_user_id: int | str) -> str:
    """The conversation id of a Telegram user (what the gateway sends Rasa, signed)."""
    return f"{TELEGRAM}:{int(telegram_user_id)}"


def teams_sender(aad_object_id: str) -> str:
    """The conversation id of a Teams user, by the Entra object id Microsoft vouched for."""
    return f"{TEAMS}:{aad_object_id.strip().lower()}"


def worker_for(sender: str) -> Worker:
    """The worker behind a conversation id, for every channel and action (one place).

    Conversation ids name the channel that authenticated the person (README, "Security"):
    "telegram:<Telegram user id>" (the gateway, which Telegram vouches for, signs it to the
    REST channel), "teams:<Entra object id>" (the Teams channel checks Microsoft's token),
    "terminal:<account>" and "dev:<name>". Only the first two are looked up: a Telegram id in
    the roster (telegram_chat_id) or among the staff approved in chat, an Entra id in the
    roster (teams_aad_id). Anything else, a bare roster id like "alex" included, is a worker
    known only by the conversation id: still heard, still able to raise a concern, never a
    lead. A Telegram person's Worker id is their bare Telegram id, as it always was, so the
    concerns they raised and the pager's notices still find them.
    """

    sender = str(sender or "unknown")
    channel, _, who = sender.partition(":")
    if channel == TELEGRAM and who.isdigit():
        key = "telegram_chat_id"
        found_id = who
    elif channel == TEAMS and who:
        key = "teams_aad_id"
        found_id = who.lower()
    else:
        return Worker(id=sender, name=f"worker {sender}", contact=f"chat id {sender}")
    worker_id = who if channel == TELEGRAM else sender
    try:
        for person in rota.load_roster(shared=True).people:
            if str(getattr(person, key) or "") == found_id:
                return Worker(
                    id=worker_id, name=person.name, contact=person.phone or "", role=person.role
                )
    except Exception:  # noqa: BLE001 - a broken roster must not stop a worker being heard
        logger.warning("roster unavailable while identifying a worker")
    if channel == TELEGRAM:  # staff approved in chat
        try:
            identity = directory().identify(who)
            if identity is not None:
                return identity.worker()
        except Exception:  # noqa: BLE001 - an unreachable database must not silence them
            logger.warning("staff directory unavailable while identifying a worker")
    return Worker(id=worker_id, name=f"worker {worker_id}", contact=f"chat id {worker_id}")
