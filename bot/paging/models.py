"""The pager's tables (pages, deliveries, worker notices), what a page may carry, and the
time helpers they share.

A page carries no child data: the pages table has no column that could hold any, and what
may go in a column that is there (a reference, a name, a call-back contact, category ids)
is checked against the patterns below, so free text (which could name the child) cannot
ride along. Times are stored as naive UTC (`to_db`) and shown in Europe/London.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from sqlalchemy import Column, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint

from bot.core.clock import LONDON
from bot.records.db import Base

ACTIVE, ACKNOWLEDGED, UNANSWERED = "active", "acknowledged", "unanswered"
PENDING, CLAIMED, SENT, FAILED, CANCELLED = "pending", "claimed", "sent", "failed", "cancelled"

# What may appear in a page. Category is a comma-separated list of category ids
# ("cse, neglect"; see `page_category`); contact is a phone number, extension, email or
# handle. Anything else is refused, so free text (which could name the child) cannot ride
# along.
REF_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/_.-]{0,39}$")
NAME_PATTERN = re.compile(r"^[^\r\n\t]{1,200}$")
CONTACT_PATTERN = re.compile(r"^[A-Za-z0-9+@._ ()/:#,'-]{3,200}$")
NO_CONTACT = "not given (see the concern log)"

TARGET_LABELS = {
    "on_call_lead": "on-call Safeguarding Lead",
    "deputies": "on-call deputies",
    "all_on_call": "everyone on call",
    "person": "named contact",
    "fallback": "fallback contact",
}


class PagerError(ValueError):
    """Bad input to the pager (one plain line, safe to show a user)."""


# --------------------------------------------------------------------------- tables


class Page(Base):
    """One page per logged concern. No column here can hold anything about the child."""

    __tablename__ = "pages"
    __table_args__ = (UniqueConstraint("token", name="uq_pages_token"),)

    id = Column(Integer, primary_key=True)
    token = Column(String(32), nullable=False)
    concern_ref = Column(String(40), nullable=False, index=True)
    urgency = Column(String(16), nullable=False)
    category = Column(String(120), nullable=False)
    worker_name = Column(String(200), nullable=False)
    worker_contact = Column(String(200), nullable=False)
    status = Column(String(16), nullable=False, default=ACTIVE, index=True)
    chain = Column(Text, nullable=False)
    step = Column(Integer, nullable=False, default=0)
    step_started_at = Column(DateTime, nullable=True)
    step_deadline = Column(DateTime, nullable=True)
    created_at = Column(DateTime, nullable=False)
    acknowledged_at = Column(DateTime, nullable=True)
    acknowledged_by = Column(String(120), nullable=True)
    closed_at = Column(DateTime, nullable=True)
    version = Column(Integer, nullable=False, default=1)
    # Why the page was sent again (`update_page`): a fixed phrase and a time, never text.
    update_note = Column(String(80), nullable=True)

    __mapper_args__ = {"version_id_col": version}


class PageDelivery(Base):
    """One recipient of one step of a page. `dedupe_key` makes a second send impossible."""

    __tablename__ = "page_deliveries"
    __table_args__ = (
        UniqueConstraint(
            "page_id", "step", "recipient_id", "round", name="uq_page_deliveries_once"
        ),
        UniqueConstraint("dedupe_key", name="uq_page_deliveries_dedupe_key"),
    )

    id = Column(Integer, primary_key=True)
    page_id = Column(
        Integer, ForeignKey("pages.id", ondelete="CASCADE"), nullable=False, index=True
    )
    step = Column(Integer, nullable=False)
    round = Column(Integer, nullable=False)
    dedupe_key = Column(String(120), nullable=False)
    recipient_id = Column(String(40), nullable=False)
    recipient_name = Column(String(200), nullable=False)
    channels = Column(Text, nullable=False)
    channel_index = Column(Integer, nullable=False, default=0)
    transport = Column(String(16), nullable=False)
    status = Column(String(16), nullable=False, default=PENDING, index=True)
    tries = Column(Integer, nullable=False, default=0)
    attempts = Column(Integer, nullable=False, default=0)
    next_try_at = Column(DateTime, nullable=False)
    claim_id = Column(String(32), nullable=True)
    claimed_at = Column(DateTime, nullable=True)
    sent_at = Column(DateTime, nullable=True)
    last_error = Column(String(240), nullable=True)
    created_at = Column(DateTime, nullable=False)


class PageNotice(Base):
    """Something the worker must be told about their page (the chat layer shows these)."""

    __tablename__ = "page_notices"

    id = Column(Integer, primary_key=True)
    page_id = Column(
        Integer, ForeignKey("pages.id", ondelete="CASCADE"), nullable=False, index=True
    )
    concern_ref = Column(String(40), nullable=False, index=True)
    kind = Column(String(16), nullable=False)
    text = Column(Text, nullable=False)
    created_at = Column(DateTime, nullable=False)
    shown_at = Column(DateTime, nullable=True)


class PagerHeartbeat(Base):
    """When a pager last finished a pass, one row per host (`safeguard health` reads its age).
    Real UTC time, whatever SAFEGUARD_NOW pins: it measures whether the loop is alive."""

    __tablename__ = "pager_heartbeats"

    host = Column(String(120), primary_key=True)
    pid = Column(Integer, nullable=False)
    started_at = Column(DateTime, nullable=False)
    beat_at = Column(DateTime, nullable=False)


# --------------------------------------------------------------------------- time helpers


def to_db(moment: datetime) -> datetime:
    """Stored as naive UTC: SQLite keeps no offsets, and UTC never repeats an hour."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LONDON)
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def from_db(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc).astimezone(LONDON)


def hhmm(moment: datetime) -> str:
    return moment.astimezone(LONDON).strftime("%H:%M")


