"""The outbox: a page is written in the caller's transaction, so a concern and its page
commit together ("a concern is written before anyone is paged"; nothing is lost).

`enqueue` writes a page with its frozen chain (`bot.paging.chain`); `page_concern` pages
for a concern row from exactly five of its attributes; `update_page` keeps one incident on
one chain: a higher urgency or danger after an acknowledgement re-opens it, anything else
sends an update to whoever is engaged. Worker notices (`add_notice`) are written here
too, for the chat layer to show. Delivery is `bot.paging.pager`'s job.
"""

from __future__ import annotations

import functools
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import ROOT
from bot.core import clock as _clock
from bot.core.datafile import read_yaml
from bot.core.rota import URGENCIES, Roster, load_roster
from bot.paging.chain import freeze_chain, recipient
from bot.paging.models import (
    ACKNOWLEDGED,
    ACTIVE,
    CONTACT_PATTERN,
    NAME_PATTERN,
    NO_CONTACT,
    PENDING,
    REF_PATTERN,
    Page,
    PageDelivery,
    PageNotice,
    PagerError,
    hhmm,
    to_db,
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



def add_notice(session: Session, page: Page, kind: str, text: str, now: datetime) -> None:
    if page.urgency == "immediate" and kind != "acknowledged":
        text = "If a child is in danger now, call 999 first. " + text
    session.add(
        PageNotice(
            page_id=page.id,
            concern_ref=page.concern_ref,
            kind=kind,
            text=text,
            created_at=to_db(now),
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
        concern_ref=_check(concern_ref, REF_PATTERN, "concern reference"),
        urgency=urgency,
        category=_check_category(category),
        worker_name=_check(worker_name, NAME_PATTERN, "worker name"),
        worker_contact=_check(worker_contact, CONTACT_PATTERN, "worker contact"),
        status=ACTIVE,
        chain=json.dumps(freeze_chain(roster, urgency, now)),
        step=0,
        created_at=to_db(now),
    )
    session.add(page)
    session.flush()
    add_notice(
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
    if not CONTACT_PATTERN.match(contact):
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
    categories: Any = None,
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
    `categories`: the finished record's, when it brings them; the page then carries them
    (known category ids only, as `page_category` allows) instead of what the alarm knew,
    which was none ("other"). Returns what it did (`PageUpdate`).
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
    page.update_note = f"{reason} at {hhmm(now)}"
    known = page_category(categories) if categories else "not given"
    if known not in ("not given", "other"):
        page.category = known
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
    add_notice(
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
            return [recipient(named[0])]
    chain = json.loads(page.chain)
    if page.step_started_at is not None and 0 <= page.step < len(chain):
        return list(chain[page.step].get("recipients") or [])
    return []


def new_delivery(
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
        next_try_at=to_db(now),
        created_at=to_db(now),
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
            new_delivery(page, person, update_no, f"{page.id}:u{-update_no}:{person['id']}", now)
        )
    names = ", ".join(p["name"] for p in people)
    add_notice(
        session,
        page,
        "updated",
        f"Concern {page.concern_ref}: {names} told ({page.update_note}).",
        now,
    )
    return [p["name"] for p in people]


