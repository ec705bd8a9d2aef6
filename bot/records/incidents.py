"""One incident, one concern, one page chain: which concern a conversation's signals go to.

A disclosure is one incident. The first danger signal or the first saved record in a
conversation raises a concern (and its page chain); everything later in that conversation
(another danger message, the finished record, a correction saved after the alarm) is a
dated event in that concern's chronology and an update on the same page chain, never a
second concern or a second chain. An incident ends only when the worker says the next
thing is about a different child ("new concern"), or when the conversation has been quiet
for `window_hours()` (a new shift's disclosure is a new incident).

The table stores a hash of the organisation and the chat's sender id, never the id itself,
so the link from a chat account to a concern is not readable from a database copy without
knowing the account. Rasa-independent; `bot.paging.reporting` calls in here inside the same
transaction that writes the concern or its event, so the link and the concern commit
together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from hashlib import sha256

from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, String, select, text
from sqlalchemy.orm import Session

from bot.config import settings
from bot.core.clock import LONDON
from bot.records.db import Base

WINDOW_ENV = "SAFEGUARD_INCIDENT_HOURS"
# A conversation quiet for longer than this starts a new incident: about a shift. Within it
# the worker is asked to say "new concern" for a different child (bot/core/disclosure.py).
DEFAULT_WINDOW_HOURS = settings.DEFAULT_INCIDENT_HOURS

ENDED_NEW_CONCERN = "worker started a new concern"
ENDED_QUIET = "conversation quiet"


class Incident(Base):
    """A conversation's open incident and the concern it belongs to (table ``incidents``)."""

    __tablename__ = "incidents"

    id = Column(Integer, primary_key=True)
    conversation = Column(String(64), nullable=False, index=True)
    concern_id = Column(Integer, ForeignKey("concerns.id"), nullable=False)
    concern_ref = Column(String(16), nullable=False)
    opened_at = Column(DateTime, nullable=False)
    last_signal_at = Column(DateTime, nullable=False)
    ended_at = Column(DateTime, nullable=True)
    ended_reason = Column(String(40), nullable=True)

    __table_args__ = (
        # At most one open incident per conversation: two processes raising the first alarm
        # of a conversation at the same moment cannot both open one (the loser extends).
        Index(
            "uq_incidents_one_open",
            "conversation",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
    )


class IncidentConflict(RuntimeError):
    """Another process opened this conversation's incident first: extend it instead."""


@dataclass(frozen=True)
class OpenIncident:
    """What a caller needs of an open incident: the concern's reference and when it began."""

    concern_ref: str
    opened_at: datetime


def window_hours() -> float:
    """Hours of quiet after which a conversation's next signal is a new incident."""
    return settings.current().incident_hours  # SAFEGUARD_INCIDENT_HOURS


def conversation_key(sender: str, org: str | None = None) -> str:
    """The conversation's key: a hash of the organisation and the chat's sender id."""
    organisation = (org or settings.org()).strip()
    return sha256(f"{organisation}\x1f{sender}".encode("utf-8", "replace")).hexdigest()


def _db(moment: datetime) -> datetime:
    """Stored as naive UTC, like the pager's times."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LONDON)
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def _local(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc).astimezone(LONDON)


def find_open(
    session: Session, conversation: str, now: datetime, *, lock: bool = False
) -> Incident | None:
    """The conversation's open incident, or None. One quiet for longer than the window is
    ended here (in the caller's transaction) and None returned."""
    query = select(Incident).where(
        Incident.conversation == conversation, Incident.ended_at.is_(None)
    )
    if lock:
        query = query.with_for_update()
    row = session.execute(query).scalar_one_or_none()
    if row is None:
        return None
    if row.last_signal_at < _db(now) - timedelta(hours=window_hours()):
        row.ended_at = _db(now)
        row.ended_reason = ENDED_QUIET
        session.flush()
        return None
    return row


def open_incident(session: Session, conversation: str, concern_row, now: datetime) -> Incident:  # noqa: ANN001
    """Link the conversation to the concern just written (same transaction). Raises
    IncidentConflict if another process opened the conversation's incident meanwhile."""
    if find_open(session, conversation, now) is not None:
        raise IncidentConflict("this conversation already has an open incident")
    row = Incident(
        conversation=conversation,
        concern_id=concern_row.id,
        concern_ref=concern_row.reference,
        opened_at=_db(now),
        last_signal_at=_db(now),
    )
    session.add(row)
    session.flush()
    return row


def touch(session: Session, incident: Incident, now: datetime) -> None:
    """A new signal on the incident: it stays open for another window from now."""
    incident.last_signal_at = max(incident.last_signal_at, _db(now))
    session.flush()


def end(
    session: Session, conversation: str, now: datetime, reason: str = ENDED_NEW_CONCERN
) -> str | None:
    """End the conversation's open incident (the worker says the next thing is a different
    child). Returns the reference of the concern it belonged to, or None if none was open."""
    row = find_open(session, conversation, now, lock=True)
    if row is None:
        return None
    row.ended_at = _db(now)
    row.ended_reason = reason[:40]
    session.flush()
    return row.concern_ref


def describe(row: Incident) -> OpenIncident:
    return OpenIncident(concern_ref=row.concern_ref, opened_at=_local(row.opened_at))
