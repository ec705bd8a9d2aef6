"""Paging the on-call Safeguarding Lead until someone answers: a durable outbox.

The seeds promise "A Safeguarding Lead is always available to staff". This module keeps that
promise as far as software can:

* `enqueue` writes a page in the caller's transaction, so a concern and its page commit
  together ("a concern is written before anyone is paged"; nothing is lost). The escalation
  chain for the urgency is frozen into the page when it is created: who is on call then, each
  step's timeout, the repeats, and the fallback contact's purpose.
* `Pager.deliver_due` is one idempotent pass: start steps that are due, send what is due,
  retry failures with exponential back-off, move on to a person's next transport, then to the
  next step when a step's acknowledgement timeout passes (or every recipient failed). A
  delivery row has a unique key per (page, step, recipient, round) and is claimed with a
  conditional UPDATE before it is sent, so two pagers never send the same step twice.
  All state is in the database: a pager killed between write and send delivers after restart.
* `Pager.acknowledge` stops the chain; the worker is told.
* Every step writes a worker notice (the `page_notices` outbox) for the chat layer to show:
  who is being paged, escalations, the acknowledgement, and finally the fallback contact.

A page carries no child data: the pages table has no column that could hold any, and the
message a transport sees (`bot.paging.transports.PageMessage`) is built from a whitelist.

A delivery claimed by a pager that then died mid-send is ambiguous (it may or may not have
reached the service). After `claim_timeout` it is sent again: for a child at risk a possible
duplicate page is the lesser harm than a lost one. The duplicate is counted in `attempts`.
"""

from __future__ import annotations

import functools
import json
import re
import secrets
import threading
import time as _time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from bot.core import clock as _clock
from bot.core.clock import LONDON
from bot.core.rota import URGENCIES, Fallback, Person, Roster, load_roster, on_call
from bot.paging.transports import PageMessage, Transport, TransportError
from bot.records.db import Base, make_engine, session_factory, transaction

ACTIVE, ACKNOWLEDGED, UNANSWERED = "active", "acknowledged", "unanswered"
PENDING, CLAIMED, SENT, FAILED, CANCELLED = "pending", "claimed", "sent", "failed", "cancelled"

# What may appear in a page. Category is a comma-separated list of category ids
# ("cse, neglect"; see `page_category`); contact is a phone number, extension, email or
# handle. Anything else is refused, so free text (which could name the child) cannot ride
# along.
_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/_.-]{0,39}$")
_NAME = re.compile(r"^[^\r\n\t]{1,200}$")
_CONTACT = re.compile(r"^[A-Za-z0-9+@._ ()/:#,'-]{3,200}$")
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


# --------------------------------------------------------------------------- time helpers


def _db(moment: datetime) -> datetime:
    """Stored as naive UTC: SQLite keeps no offsets, and UTC never repeats an hour."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LONDON)
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def _local(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc).astimezone(LONDON)


def _hhmm(moment: datetime) -> str:
    return moment.astimezone(LONDON).strftime("%H:%M")


# --------------------------------------------------------------------------- the fallback


@dataclass(frozen=True)
class FallbackContact:
    """The policy pack's answer for the fallback purpose now.

    `phone` is None when the policy sets no number; `reason` then says so and who to ask
    (the pack's own words). `source` names the policy and section (never its file name).
    """

    label: str
    phone: str | None
    reason: str
    source: str


FallbackResolver = Callable[[Fallback, str, datetime], "FallbackContact | None"]


def resolve_fallback(
    fallback: Fallback, organisation: str, when: datetime
) -> FallbackContact | None:
    """Look the fallback purpose up in the organisation's policy pack with
    `bot.core.contacts.route`, at the time the chain reaches it (out-of-hours matters).

    Returns None only if the pack cannot be loaded: the caller then says the contact is not
    set and who to ask, and never makes a number up.
    """
    try:
        from bot.core.contacts import route
        from bot.core.pack import load_pack
        from bot.core.replies import cited

        pack = load_pack(fallback.pack or organisation)
        routes = route(pack, fallback.purpose, when)
    except Exception:  # noqa: BLE001 - a broken pack must not stop a page; the worker is told
        return None
    if not routes:
        return None
    best = routes[0]
    contact = getattr(best, "contact", None)
    return FallbackContact(
        label=(contact.name if contact is not None else fallback.purpose),
        phone=best.number,
        reason=best.reason,
        source=cited(pack, [best.source]),  # the policy's name, never its file name
    )


# --------------------------------------------------------------------------- enqueue


def _check(value: str, pattern: re.Pattern[str], what: str) -> str:
    value = (value or "").strip()
    if not pattern.match(value):
        raise PagerError(f"page: {what} {value[:40]!r} is not allowed in a page")
    return value


def _check_category(category: str | list[str] | tuple[str, ...]) -> str:
    """Category ids only: free text is refused (it could name the child)."""
    parts = category if isinstance(category, list | tuple) else str(category).split(",")
    parts = [str(p).strip().lower() for p in parts]
    known = _known_categories()
    for part in parts:
        if part in ("other", "not given"):
            continue
        if not _SLUG.match(part) or (known is not None and part not in known):
            raise PagerError(f"page: category {part[:40]!r} is not a category id")
    return ", ".join(dict.fromkeys(parts)) or "not given"


def _recipient(person: Person) -> dict[str, Any]:
    return {
        "id": person.id,
        "name": person.name,
        "role": person.role,
        "channels": [list(c) for c in person.channels],
    }


def freeze_chain(roster: Roster, urgency: str, now: datetime) -> list[dict[str, Any]]:
    """The escalation chain for `urgency` as it stands at `now`, ready to snapshot."""
    policy = roster.escalation[urgency]
    people = on_call(roster, now)
    chain: list[dict[str, Any]] = []
    for round_no in range(policy.repeat):
        for step in policy.steps:
            if step.target == "fallback":
                chosen: list[Person] = []
            elif step.target == "on_call_lead":
                chosen = [p for p in people if p.role == "lead"][:1]
            elif step.target == "deputies":
                chosen = [p for p in people if p.role == "deputy"]
            elif step.target == "all_on_call":
                chosen = list(people)
            else:
                chosen = [roster.person(step.person or "")]
            chain.append(
                {
                    "target": step.target,
                    "round": round_no,
                    "timeout_s": int(step.timeout_minutes * 60),
                    "recipients": [_recipient(p) for p in chosen],
                }
            )
    if chain[-1]["target"] != "fallback":
        chain.append({"target": "fallback", "round": policy.repeat - 1, "timeout_s": 0})
    for entry in chain:
        if entry["target"] == "fallback":
            entry["fallback"] = roster.fallback.dict()
            entry["organisation"] = roster.organisation
            entry["recipients"] = []
    return chain


def _notice(session: Session, page: Page, kind: str, text: str, now: datetime) -> None:
    if page.urgency == "immediate" and kind != "acknowledged":
        text = "If a child is in danger now, call 999 first. " + text
    session.add(
        PageNotice(
            page_id=page.id, concern_ref=page.concern_ref, kind=kind, text=text, created_at=_db(now)
        )
    )


def enqueue(
    session: Session,
    concern_ref: str,
    urgency: str,
    category: str,
    worker_name: str,
    worker_contact: str,
    now: datetime,
    *,
    roster: Roster | None = None,
) -> int:
    """Write a page for a logged concern in the caller's transaction; returns the page id.

    Only these fields exist on a page; category is a short label ("sexual abuse"), never
    free text, so nothing about the child can ride along.
    """
    if urgency not in URGENCIES:
        raise PagerError(f"page: urgency must be one of {', '.join(URGENCIES)}, not {urgency!r}")
    roster = roster or load_roster(shared=True)
    page = Page(
        token=secrets.token_urlsafe(16),
        concern_ref=_check(concern_ref, _REF, "concern reference"),
        urgency=urgency,
        category=_check_category(category),
        worker_name=_check(worker_name, _NAME, "worker name"),
        worker_contact=_check(worker_contact, _CONTACT, "worker contact"),
        status=ACTIVE,
        chain=json.dumps(freeze_chain(roster, urgency, now)),
        step=0,
        created_at=_db(now),
    )
    session.add(page)
    session.flush()
    _notice(
        session,
        page,
        "logged",
        f"Concern {page.concern_ref} is logged and the on-call Safeguarding Lead is being "
        f"paged ({urgency}). You will be told when someone acknowledges.",
        now,
    )
    return int(page.id)


_SLUG = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


@functools.lru_cache(maxsize=1)
def _known_categories() -> frozenset[str] | None:
    """Category ids from knowledge/abuse_categories.yml, or None if it cannot be read.

    Only the ids are read (plain YAML): the full validated load needs spaCy, and the
    categories module owns validating that file.
    """
    from bot import ROOT
    from bot.core.datafile import read_yaml

    try:
        data = read_yaml(ROOT / "knowledge" / "abuse_categories.yml")
        ids = frozenset(str(c["id"]) for c in data["categories"])
    except Exception:  # noqa: BLE001 - then the slug rule alone applies
        return None
    return ids or None


def page_category(categories: Any) -> str:
    """The categories as a page may carry them: known category ids only ("cse, neglect").

    Anything else (free text, which could name the child) becomes "other": the Lead reads
    the concern itself when they call back.
    """
    if isinstance(categories, str):
        categories = [categories]
    known = _known_categories()
    out: list[str] = []
    for raw in categories or []:
        label = str(raw).strip().lower()
        if not _SLUG.match(label) or (known is not None and label not in known):
            label = "other"
        if label not in out:
            out.append(label)
    return ", ".join(out) or "not given"


def page_concern(
    session: Session, concern: Any, *, now: datetime | None = None, roster: Roster | None = None
) -> int:
    """Page for a concern row inside its own transaction (for `ConcernLog.record`'s
    ``in_same_transaction``). Reads exactly five attributes, never anything else:
    reference, urgency, categories, worker_name, worker_contact.

    A contact or category the page may not carry is replaced (by a pointer to the concern
    log, or "other") rather than refused: failing here would lose the concern itself.
    """
    category = page_category(concern.categories)
    contact = " ".join((concern.worker_contact or "").split())
    if not _CONTACT.match(contact):
        contact = NO_CONTACT
    name = " ".join((concern.worker_name or "").split())[:200] or "unknown worker"
    return enqueue(
        session,
        concern.reference,
        concern.urgency,
        category,
        name,
        contact,
        now or _clock.now(),
        roster=roster,
    )


# --------------------------------------------------------------------------- one chain

URGENCY_RANK = {"routine": 0, "urgent": 1, "immediate": 2}
DANGER_AGAIN = "danger reported again"
RECORD_ADDED = "the full record was added"
UPDATE_REASONS = (DANGER_AGAIN, RECORD_ADDED)


@dataclass(frozen=True)
class PageUpdate:
    """What `update_page` did: re-opened the chain (paging again from its first step for
    `urgency`), or told the people already engaged (`told`, names)."""

    page_id: int
    urgency: str
    reopened: bool
    told: tuple[str, ...] = ()


def update_page(
    session: Session,
    concern: Any,
    urgency: str,
    reason: str,
    now: datetime,
    *,
    roster: Roster | None = None,
) -> PageUpdate:
    """A later signal about a concern that already has its page chain: update THAT chain,
    in the caller's transaction, never start a second one. Returns the page id.

    * The chain is re-opened (the new urgency's steps appended and started now) when the
      urgency goes up, or when danger is reported again on a page that is no longer being
      paged (acknowledged, or run out): someone must acknowledge the new danger.
    * Otherwise (the chain is still paging at this urgency, or the record was added) the
      people already engaged are sent an update: whoever the current step is paging, or
      whoever acknowledged. The escalation timing is left alone: an update never delays it.

    `reason` is one of UPDATE_REASONS; the page says it with the time, nothing else.
    Returns what it did (`PageUpdate`).
    """
    if reason not in UPDATE_REASONS:
        raise PagerError(f"page: update reason {reason[:40]!r} is not one of {UPDATE_REASONS}")
    if urgency not in URGENCIES:
        raise PagerError(f"page: urgency must be one of {', '.join(URGENCIES)}, not {urgency!r}")
    page = session.scalars(
        select(Page).where(Page.concern_ref == concern.reference).order_by(Page.id.desc())
    ).first()
    if page is None:
        # A concern kept without a page (e.g. written from the spool before paging was
        # possible): its first chain, not a second.
        page_id = page_concern(session, concern, now=now, roster=roster)
        return PageUpdate(page_id, concern.urgency, reopened=True)
    roster = roster or load_roster(shared=True)
    page.update_note = f"{reason} at {_hhmm(now)}"
    higher = URGENCY_RANK[urgency] > URGENCY_RANK.get(page.urgency, 0)
    if higher or (reason == DANGER_AGAIN and page.status != ACTIVE):
        new_urgency = max(urgency, page.urgency, key=URGENCY_RANK.get)
        _reopen(session, page, new_urgency, roster, now)
        session.flush()
        return PageUpdate(int(page.id), new_urgency, reopened=True)
    told = _send_update(session, page, roster, now)
    session.flush()
    return PageUpdate(int(page.id), page.urgency, reopened=False, told=tuple(told))


def _reopen(session: Session, page: Page, urgency: str, roster: Roster, now: datetime) -> None:
    """Append the urgency's chain as it stands now and start it: the same page, one chain."""
    chain = json.loads(page.chain)
    start = len(chain)
    chain.extend(freeze_chain(roster, urgency, now))
    page.chain = json.dumps(chain)
    page.urgency = urgency
    page.status = ACTIVE
    page.step = start
    page.step_started_at = None
    page.step_deadline = None
    page.closed_at = None
    _notice(
        session,
        page,
        "reopened",
        f"Concern {page.concern_ref}: {page.update_note}. The Safeguarding Lead is being paged "
        f"again ({urgency}) on the same page; you will be told when someone acknowledges.",
        now,
    )


def _engaged(session: Session, page: Page, roster: Roster) -> list[dict[str, Any]]:
    """Who is already dealing with the page: whoever acknowledged it (matched by name in the
    roster), else whoever the current step is paging."""
    if page.status == ACKNOWLEDGED and page.acknowledged_by:
        named = [p for p in roster.people if p.name == page.acknowledged_by]
        if named:
            return [_recipient(named[0])]
    chain = json.loads(page.chain)
    if page.step_started_at is not None and 0 <= page.step < len(chain):
        return list(chain[page.step].get("recipients") or [])
    return []


def _delivery(
    page: Page, person: dict[str, Any], round_no: int, dedupe_key: str, now: datetime
) -> PageDelivery:
    """One recipient of the page's current step (`round_no` < 0: an update message)."""
    channels = person["channels"]
    return PageDelivery(
        page_id=page.id,
        step=page.step,
        round=round_no,
        dedupe_key=dedupe_key,
        recipient_id=person["id"],
        recipient_name=person["name"],
        channels=json.dumps(channels),
        channel_index=0,
        transport=channels[0][0],
        status=PENDING,
        next_try_at=_db(now),
        created_at=_db(now),
    )


def _send_update(session: Session, page: Page, roster: Roster, now: datetime) -> list[str]:
    people = [p for p in _engaged(session, page, roster) if p.get("channels")]
    if not people:
        return []
    used = session.scalars(
        select(PageDelivery.round).where(PageDelivery.page_id == page.id, PageDelivery.round < 0)
    ).all()
    update_no = -(max((-r for r in used), default=0) + 1)
    for person in people:
        session.add(
            _delivery(page, person, update_no, f"{page.id}:u{-update_no}:{person['id']}", now)
        )
    names = ", ".join(p["name"] for p in people)
    _notice(
        session,
        page,
        "updated",
        f"Concern {page.concern_ref}: {names} told ({page.update_note}).",
        now,
    )
    return [p["name"] for p in people]


# --------------------------------------------------------------------------- the pager


@dataclass(frozen=True)
class AckResult:
    page_id: int
    concern_ref: str
    acknowledged_by: str
    already: bool
    worker_name: str
    worker_contact: str


class Pager:
    """Delivers pages from the outbox and escalates them until someone acknowledges."""

    def __init__(
        self,
        engine_or_url: Engine | str | None = None,
        roster: Roster | None = None,
        transports: dict[str, Transport] | Iterable[Transport] | None = None,
        clock: Callable[[], datetime] | None = None,
        *,
        max_tries_per_transport: int = 3,
        backoff_seconds: float = 5.0,
        backoff_cap_seconds: float = 60.0,
        claim_timeout_seconds: float = 120.0,
        fallback_resolver: FallbackResolver | None = None,
    ) -> None:
        if isinstance(engine_or_url, Engine):
            self.engine = engine_or_url
        else:
            self.engine = make_engine(engine_or_url)
        self.factory = session_factory(self.engine)
        self.roster = roster or load_roster()
        if transports is None:
            from bot.paging.transports import default_transports

            transports = default_transports()
        if not isinstance(transports, dict):
            transports = {t.name: t for t in transports}
        self.transports: dict[str, Transport] = dict(transports)
        self.clock = clock or _clock.now
        self.max_tries = max_tries_per_transport
        self.backoff = backoff_seconds
        self.backoff_cap = backoff_cap_seconds
        self.claim_timeout = timedelta(seconds=claim_timeout_seconds)
        self.fallback_resolver = fallback_resolver or resolve_fallback

    # ------------------------------------------------------------------ public

    def deliver_due(self) -> int:
        """One pass: escalate what is due, send what is due. Returns pages handed to a service."""
        now = self.clock()
        self.sweep(now)
        sent = 0
        for _ in range(50):
            advanced = self._advance_all(now)
            handled, delivered = self._send_due(now)
            sent += delivered
            if not advanced and not handled:
                break
        return sent

    def sweep(self, now: datetime | None = None) -> int:
        """Release claims left by a pager that died mid-send, so they are sent again."""
        now = now or self.clock()
        stale = _db(now) - self.claim_timeout
        with transaction(self.factory) as session:
            result = session.execute(
                update(PageDelivery)
                .where(PageDelivery.status == CLAIMED, PageDelivery.claimed_at < stale)
                .values(status=PENDING, claim_id=None, next_try_at=_db(now))
            )
            return int(result.rowcount or 0)

    def acknowledge(self, page: int | str, by: str) -> AckResult:
        """Stop the chain for a page (by id or opaque token) and tell the worker."""
        now = self.clock()
        by = " ".join((by or "").split())[:120] or "unknown"
        for _ in range(5):
            try:
                with transaction(self.factory) as session:
                    row = self._find(session, page)
                    already = row.status == ACKNOWLEDGED
                    if not already:
                        row.status = ACKNOWLEDGED
                        row.acknowledged_at = _db(now)
                        row.acknowledged_by = by
                        row.closed_at = row.closed_at or _db(now)
                        session.execute(
                            update(PageDelivery)
                            .where(PageDelivery.page_id == row.id, PageDelivery.status == PENDING)
                            .values(status=CANCELLED)
                        )
                        _notice(
                            session,
                            row,
                            "acknowledged",
                            f"{by} acknowledged concern {row.concern_ref} at {_hhmm(now)} and "
                            f"will call you back on {row.worker_contact}.",
                            now,
                        )
                    return AckResult(
                        page_id=int(row.id),
                        concern_ref=row.concern_ref,
                        acknowledged_by=row.acknowledged_by or by,
                        already=already,
                        worker_name=row.worker_name,
                        worker_contact=row.worker_contact,
                    )
            except StaleDataError:
                continue
        raise PagerError(f"page {page}: busy, try the acknowledgement again")

    def handle_ack_callback(self, update_json: dict[str, Any] | str) -> AckResult | None:
        """A Telegram button press (an Update with a callback_query): acknowledge the page it
        names and answer the press. Returns None if the update is not one of our buttons."""
        from bot.paging.transports import token_from_callback

        try:
            data = json.loads(update_json) if isinstance(update_json, str) else update_json
        except ValueError:
            return None
        query = data.get("callback_query") if isinstance(data, dict) else None
        if not isinstance(query, dict):
            return None
        token = token_from_callback(query.get("data"))
        if token is None or "id" not in query:
            return None
        user = query.get("from") or {}
        chat_id = ((query.get("message") or {}).get("chat") or {}).get("id", user.get("id"))
        by = self._who(chat_id, user)
        telegram = self.transports.get("telegram")
        try:
            result = self.acknowledge(token, by)
        except PagerError:
            if telegram is not None:
                try:
                    telegram.answer_callback(query["id"], "This page is not known here.")
                except TransportError:
                    pass
            return None
        if telegram is not None:
            text = (
                f"Already acknowledged by {result.acknowledged_by}."
                if result.already
                else f"Acknowledged. Call {result.worker_name} back on {result.worker_contact}."
            )
            try:
                telegram.answer_callback(query["id"], text[:200])
            except TransportError:
                pass  # the acknowledgement is recorded; the spinner just times out
        return result

    def notices(self, concern_ref: str | None = None, unseen_only: bool = True) -> list[dict]:
        """Worker notices (oldest first) for the chat layer or console to show."""
        with self.factory() as session:
            query = select(PageNotice).order_by(PageNotice.id)
            if concern_ref:
                query = query.where(PageNotice.concern_ref == concern_ref)
            if unseen_only:
                query = query.where(PageNotice.shown_at.is_(None))
            return [
                {
                    "id": n.id,
                    "page_id": n.page_id,
                    "concern_ref": n.concern_ref,
                    "kind": n.kind,
                    "text": n.text,
                    "created_at": _local(n.created_at),
                }
                for n in session.scalars(query)
            ]

    def mark_notices_shown(self, ids: Iterable[int]) -> None:
        ids = list(ids)
        if not ids:
            return
        with transaction(self.factory) as session:
            session.execute(
                update(PageNotice)
                .where(PageNotice.id.in_(ids), PageNotice.shown_at.is_(None))
                .values(shown_at=_db(self.clock()))
            )

    def run_forever(self, stop: Any, interval: float = 1.0) -> Any:
        """Deliver until `stop` is set. With a threading.Event this blocks; with an
        asyncio.Event it returns a coroutine to await (passes run in a worker thread)."""
        import asyncio

        if isinstance(stop, asyncio.Event):
            return self._run_async(stop, interval)
        self._report_spool()
        self.sweep()
        while not stop.is_set():
            self._safe_pass()
            stop.wait(interval)
        return None

    async def _run_async(self, stop: Any, interval: float) -> None:
        import asyncio

        await asyncio.to_thread(self._report_spool)
        await asyncio.to_thread(self.sweep)
        while not stop.is_set():
            await asyncio.to_thread(self._safe_pass)
            try:
                await asyncio.wait_for(stop.wait(), timeout=interval)
            except asyncio.TimeoutError:
                pass

    def _report_spool(self) -> None:
        """At start-up: say loudly (one line each) what waits in the local spool and any
        spool file that could not be read (moved aside, never deleted)."""
        import sys

        from bot.records import spool

        try:
            lines = spool.startup_lines()
        except Exception as exc:  # noqa: BLE001 - reporting must not stop paging
            lines = [f"!!! the local spool could not be checked ({type(exc).__name__})"]
        for line in lines:
            print(line, file=sys.stderr, flush=True)

    def _replay_spool(self) -> None:
        """Write concerns kept in the local spool while the database was down (bot.records.spool)
        to the log, with their pages, before delivering: on the first pass, then every
        `spool.REPLAY_EVERY_S` seconds while any wait."""
        import logging

        from bot.records import spool

        moment = _time.monotonic()
        if moment < getattr(self, "_next_spool_replay", float("-inf")):
            return
        self._next_spool_replay = moment + spool.REPLAY_EVERY_S
        if not spool.pending_count():
            return
        log = logging.getLogger(__name__)
        try:
            from bot.paging.reporting import concern_log

            result = spool.replay(concern_log(engine=self.engine), now=self.clock())
        except Exception as exc:  # noqa: BLE001 - the loop must outlive a bad replay
            log.error("spool replay failed: %s", (str(exc).splitlines() or [""])[0][:200])
            return
        if result.written:
            log.warning("wrote %d concern(s) from the local spool", len(result.written))
        if result.problem:
            log.error(
                "%d concern(s) still waiting in the local spool: %s",
                result.remaining,
                result.problem,
            )

    def _safe_pass(self) -> None:
        self._replay_spool()
        try:
            self.deliver_due()
        except Exception as exc:  # noqa: BLE001 - the loop must outlive a bad pass
            import logging

            logging.getLogger(__name__).error("pager pass failed: %s", exc)
            _time.sleep(0.05)

    # ------------------------------------------------------------------ internals

    def _who(self, chat_id: Any, user: dict[str, Any]) -> str:
        for person in self.roster.people:
            if person.telegram_chat_id is not None and str(person.telegram_chat_id) == str(chat_id):
                return person.name
        name = " ".join(x for x in (user.get("first_name"), user.get("last_name")) if x)
        return f"{name or 'Telegram user'} (telegram {user.get('id', chat_id)})"

    def _find(self, session: Session, page: int | str) -> Page:
        row = None
        if isinstance(page, int) or (isinstance(page, str) and page.strip().isdigit()):
            row = session.get(Page, int(page))
        elif isinstance(page, str) and page.strip():
            row = session.scalars(select(Page).where(Page.token == page.strip())).first()
        if row is None:
            raise PagerError(f"no page with id or token {str(page)[:40]!r}")
        return row

    def _advance_all(self, now: datetime) -> bool:
        # Only pages with something to do: a step not started, a deadline passed, or a
        # delivery of the current step that failed (`_advance` checks whether all did).
        # Opening every active page each pass cost ~16% of a core with 100 pages waiting
        # for an acknowledgement (make bench).
        failed_here = (
            select(PageDelivery.id)
            .where(
                PageDelivery.page_id == Page.id,
                PageDelivery.step == Page.step,
                PageDelivery.round >= 0,
                PageDelivery.status == FAILED,
            )
            .exists()
        )
        due = or_(Page.step_started_at.is_(None), Page.step_deadline <= _db(now), failed_here)
        with self.factory() as session:
            ids = list(session.scalars(select(Page.id).where(Page.status == ACTIVE, due)))
        changed = False
        for page_id in ids:
            try:
                with transaction(self.factory) as session:
                    page = session.get(Page, page_id)
                    if page is not None and page.status == ACTIVE:
                        changed |= self._advance(session, page, now)
            except (StaleDataError, IntegrityError):
                changed = True  # another pager moved it on; look again next round
        return changed

    def _advance(self, session: Session, page: Page, now: datetime) -> bool:
        """Move one page's chain forward as far as `now` allows. True if anything changed."""
        chain = json.loads(page.chain)
        changed = False
        while page.status == ACTIVE:
            entry = chain[page.step]
            label = TARGET_LABELS[entry["target"]]
            where = f"step {page.step + 1} of {len(chain)}"
            if page.step_started_at is None:
                changed = True
                if entry["target"] == "fallback":
                    self._send_to_fallback(session, page, entry, now)
                    if page.step == len(chain) - 1:
                        page.status = UNANSWERED
                        page.closed_at = _db(now)
                        return True
                    page.step += 1
                    continue
                recipients = entry["recipients"]
                if not recipients:
                    _notice(
                        session,
                        page,
                        "skipped",
                        f"No one to page as {label} ({where}): nobody in that role is on call. "
                        "Moving to the next step.",
                        now,
                    )
                    page.step += 1
                    continue
                for person in recipients:
                    key = f"{page.id}:{page.step}:{person['id']}:{entry['round']}"
                    session.add(_delivery(page, person, entry["round"], key, now))
                page.step_started_at = _db(now)
                page.step_deadline = _db(now + timedelta(seconds=entry["timeout_s"]))
                names = ", ".join(p["name"] for p in recipients)
                minutes = entry["timeout_s"] / 60
                _notice(
                    session,
                    page,
                    "paging",
                    f"Paging {names} as {label} ({where}). If no one acknowledges within "
                    f"{minutes:g} min, it escalates.",
                    now,
                )
                session.flush()
                return True
            deadline = page.step_deadline
            all_failed = self._step_failed(session, page)
            if _db(now) >= deadline or all_failed:
                names = ", ".join(p["name"] for p in entry["recipients"])
                why = (
                    "could not be reached by any channel"
                    if all_failed
                    else f"did not acknowledge within {entry['timeout_s'] / 60:g} min"
                )
                _notice(
                    session, page, "escalating", f"{names} {why}; escalating from {where}.", now
                )
                page.step += 1
                page.step_started_at = None
                page.step_deadline = None
                changed = True
                continue
            return changed
        return changed

    def _step_failed(self, session: Session, page: Page) -> bool:
        statuses = list(
            session.scalars(
                select(PageDelivery.status).where(
                    PageDelivery.page_id == page.id,
                    PageDelivery.step == page.step,
                    PageDelivery.round >= 0,  # update messages are not the step's pages
                )
            )
        )
        return bool(statuses) and all(s == FAILED for s in statuses)

    def _send_to_fallback(
        self, session: Session, page: Page, entry: dict[str, Any], now: datetime
    ) -> None:
        fallback = Fallback.parse_obj(entry["fallback"])
        contact = self.fallback_resolver(fallback, entry["organisation"], now)
        opening = (
            f"No Safeguarding Lead has acknowledged concern {page.concern_ref}. Take "
            "responsibility for the immediate action now"
        )
        if contact is not None and contact.phone:
            text = (
                f"{opening}: call {contact.label} on {contact.phone} ({contact.reason} "
                f"Source: {contact.source}.)"
            )
        elif contact is not None:
            text = f"{opening}. The fallback contact is not set: {contact.reason}"
        else:
            text = (
                f"{opening}. The fallback contact ({fallback.purpose}) could not be read from "
                f"the {fallback.pack or entry['organisation']} policy pack: ask your "
                "organisation's Designated Safeguarding Lead or administrator for it."
            )
        _notice(session, page, "fallback", text, now)

    def _send_due(self, now: datetime) -> tuple[bool, int]:
        with self.factory() as session:
            due = list(
                session.scalars(
                    select(PageDelivery.id)
                    .where(PageDelivery.status == PENDING, PageDelivery.next_try_at <= _db(now))
                    .order_by(PageDelivery.next_try_at, PageDelivery.id)
                )
            )
        handled = False
        sent = 0
        for delivery_id in due:
            claim = self._claim(delivery_id, now)
            if claim is None:
                continue
            handled = True
            message, transport_name, address, live, claim_id = claim
            if not live:
                self._finish(delivery_id, claim_id, CANCELLED, now)
                continue
            transport = self.transports.get(transport_name)
            try:
                if transport is None:
                    raise TransportError(f"{transport_name}: transport not configured")
                transport.send(message, address)
            except TransportError as exc:
                self._failed(delivery_id, claim_id, str(exc), now, retry=transport is not None)
            except Exception as exc:  # noqa: BLE001 - a buggy transport must not stop paging
                error = f"{transport_name}: {type(exc).__name__}"
                self._failed(delivery_id, claim_id, error, now, retry=True)
            else:
                self._finish(delivery_id, claim_id, SENT, now)
                sent += 1
        return handled, sent

    def _claim(
        self, delivery_id: int, now: datetime
    ) -> tuple[PageMessage, str, str, bool, str] | None:
        """Take a pending delivery for this pass (a conditional UPDATE: only one pager can
        win it) and build its message from the page's whitelisted columns."""
        claim_id = secrets.token_hex(8)
        with transaction(self.factory) as session:
            result = session.execute(
                update(PageDelivery)
                .where(PageDelivery.id == delivery_id, PageDelivery.status == PENDING)
                .values(status=CLAIMED, claim_id=claim_id, claimed_at=_db(now))
            )
            if result.rowcount != 1:
                return None
            delivery = session.get(PageDelivery, delivery_id)
            page = session.get(Page, delivery.page_id)
            chain = json.loads(page.chain)
            channels = json.loads(delivery.channels)
            address = channels[delivery.channel_index][1]
            message = PageMessage(
                page_id=int(page.id),
                token=page.token,
                urgency=page.urgency,
                concern_ref=page.concern_ref,
                category=page.category,
                worker_name=page.worker_name,
                worker_contact=page.worker_contact,
                step_label=(
                    f"{TARGET_LABELS[chain[delivery.step]['target']]}, "
                    f"step {delivery.step + 1} of {len(chain)}"
                ),
                update=page.update_note or "",
            )
            # An update message goes to someone already engaged (paged or acknowledged):
            # an acknowledged page still sends it; a step's own page stops at the ack.
            live = page.status != ACKNOWLEDGED or delivery.round < 0
            return message, delivery.transport, address, live, claim_id

    def _finish(self, delivery_id: int, claim_id: str, status: str, now: datetime) -> None:
        with transaction(self.factory) as session:
            delivery = session.get(PageDelivery, delivery_id)
            ours = delivery.status == CLAIMED and delivery.claim_id == claim_id
            # Released by a sweep but not yet taken again: record the send so it is not
            # repeated. Taken by another pager meanwhile: that pager records its own.
            if not ours and not (status == SENT and delivery.status == PENDING):
                return
            delivery.status = status
            if status == SENT:
                delivery.sent_at = _db(now)
                delivery.attempts += 1

    def _failed(
        self, delivery_id: int, claim_id: str, error: str, now: datetime, retry: bool
    ) -> None:
        with transaction(self.factory) as session:
            delivery = session.get(PageDelivery, delivery_id)
            if delivery.status != CLAIMED or delivery.claim_id != claim_id:
                return  # released by a sweep and handled elsewhere
            page = session.get(Page, delivery.page_id)
            delivery.last_error = error[:240]
            delivery.tries += 1
            if retry:
                delivery.attempts += 1
            channels = json.loads(delivery.channels)
            if retry and delivery.tries < self.max_tries:
                wait = min(self.backoff * 2 ** (delivery.tries - 1), self.backoff_cap)
                delivery.status = PENDING
                delivery.next_try_at = _db(now + timedelta(seconds=wait))
            elif delivery.channel_index + 1 < len(channels):
                delivery.channel_index += 1
                delivery.transport = channels[delivery.channel_index][0]
                delivery.tries = 0
                delivery.status = PENDING
                delivery.next_try_at = _db(now)
            else:
                delivery.status = FAILED
                _notice(
                    session,
                    page,
                    "unreachable",
                    f"Could not page {delivery.recipient_name} by any channel.",
                    now,
                )


# --------------------------------------------------------------------------- reporting


def page_rows(engine: Engine) -> list[dict[str, Any]]:
    """Every page with its deliveries, for `safeguard pages` (one row per recipient)."""
    factory = session_factory(engine)
    rows: list[dict[str, Any]] = []
    with factory() as session:
        for page in session.scalars(select(Page).order_by(Page.id)):
            base = {
                "id": page.id,
                "concern_ref": page.concern_ref,
                "urgency": page.urgency,
                "page_status": page.status,
                "created_at": _local(page.created_at),
                "acknowledged_at": _local(page.acknowledged_at),
                "acknowledged_by": page.acknowledged_by,
            }
            deliveries = list(
                session.scalars(
                    select(PageDelivery)
                    .where(PageDelivery.page_id == page.id)
                    .order_by(PageDelivery.step, PageDelivery.id)
                )
            )
            if not deliveries:
                rows.append(
                    base
                    | {
                        "step": None,
                        "recipient": None,
                        "transport": None,
                        "status": page.status,
                        "attempts": 0,
                        "last_error": None,
                    }
                )
            for d in deliveries:
                rows.append(
                    base
                    | {
                        "step": d.step + 1,
                        "recipient": d.recipient_name,
                        "transport": d.transport,
                        "status": d.status,
                        "attempts": d.attempts,
                        "last_error": d.last_error,
                    }
                )
    return rows


def stopper() -> threading.Event:
    """A stop flag for `Pager.run_forever` (Ctrl-C sets it in `safeguard pager run`)."""
    return threading.Event()
