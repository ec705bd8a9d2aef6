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

import asyncio
import json
import logging
import os
import secrets
import socket
import sys
import threading
import time as _time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from bot.core import clock as _clock
from bot.core.rota import Fallback, Roster, load_roster
from bot.paging import replay
from bot.paging.chain import FallbackResolver, resolve_fallback
from bot.paging.models import (
    ACKNOWLEDGED,
    ACTIVE,
    CANCELLED,
    CLAIMED,
    FAILED,
    PENDING,
    SENT,
    TARGET_LABELS,
    UNANSWERED,
    Page,
    PageDelivery,
    PageNotice,
    PagerError,
    PagerHeartbeat,
    from_db,
    hhmm,
    to_db,
)
from bot.paging.outbox import add_notice, new_delivery
from bot.paging.reporting import concern_log
from bot.paging.transports import (
    PageMessage,
    Transport,
    TransportError,
    default_transports,
    token_from_callback,
)
from bot.records import spool
from bot.records.db import make_engine, session_factory, transaction

# --------------------------------------------------------------------------- the pager

# Seconds between heartbeat writes (a pass may come every 0.5 s; a write each time would cost
# an fsync per pass on SQLite for nothing). `safeguard health` calls a beat older than
# bot.commands.health.PAGER_STALE_S stale.
HEARTBEAT_EVERY_S = 5.0


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
        stale = to_db(now) - self.claim_timeout
        with transaction(self.factory) as session:
            result = session.execute(
                update(PageDelivery)
                .where(PageDelivery.status == CLAIMED, PageDelivery.claimed_at < stale)
                .values(status=PENDING, claim_id=None, next_try_at=to_db(now))
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
                        row.acknowledged_at = to_db(now)
                        row.acknowledged_by = by
                        row.closed_at = row.closed_at or to_db(now)
                        session.execute(
                            update(PageDelivery)
                            .where(PageDelivery.page_id == row.id, PageDelivery.status == PENDING)
                            .values(status=CANCELLED)
                        )
                        add_notice(
                            session,
                            row,
                            "acknowledged",
                            f"{by} acknowledged concern {row.concern_ref} at {hhmm(now)} and "
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
                    "created_at": from_db(n.created_at),
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
                .values(shown_at=to_db(self.clock()))
            )

    def run_forever(self, stop: Any, interval: float = 1.0) -> Any:
        """Deliver until `stop` is set. With a threading.Event this blocks; with an
        asyncio.Event it returns a coroutine to await (passes run in a worker thread)."""

        if isinstance(stop, asyncio.Event):
            return self._run_async(stop, interval)
        self._report_spool()
        self.sweep()
        while not stop.is_set():
            self._safe_pass()
            stop.wait(interval)
        return None

    async def _run_async(self, stop: Any, interval: float) -> None:

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


        moment = _time.monotonic()
        if moment < getattr(self, "_next_spool_replay", float("-inf")):
            return
        self._next_spool_replay = moment + spool.REPLAY_EVERY_S
        if not spool.pending_count():
            return
        log = logging.getLogger(__name__)
        try:

            result = replay.replay(concern_log(engine=self.engine), now=self.clock())
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

            logging.getLogger(__name__).error("pager pass failed: %s", exc)
            _time.sleep(0.05)
            return
        self.beat()

    def beat(self, force: bool = False) -> None:
        """Record that this pager finished a pass (`pager_heartbeats`, one row per host), at
        most every HEARTBEAT_EVERY_S: `safeguard health` reports its age. Real time, never
        the pinned clock. A failed write is logged; it never stops paging."""
        moment = _time.monotonic()
        if not force and moment < getattr(self, "_next_beat", float("-inf")):
            return
        self._next_beat = moment + HEARTBEAT_EVERY_S
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        host = (socket.gethostname() or "localhost")[:120]
        try:
            with transaction(self.factory) as session:
                row = session.get(PagerHeartbeat, host)
                if row is None or row.pid != os.getpid():
                    if row is not None:
                        session.delete(row)
                        session.flush()
                    session.add(
                        PagerHeartbeat(host=host, pid=os.getpid(), started_at=now, beat_at=now)
                    )
                else:
                    row.beat_at = now
        except Exception as exc:  # noqa: BLE001 - a heartbeat must never stop paging
            logging.getLogger(__name__).warning(
                "pager heartbeat not written: %s", type(exc).__name__
            )

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
        due = or_(Page.step_started_at.is_(None), Page.step_deadline <= to_db(now), failed_here)
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
                        page.closed_at = to_db(now)
                        return True
                    page.step += 1
                    continue
                recipients = entry["recipients"]
                if not recipients:
                    add_notice(
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
                    session.add(new_delivery(page, person, entry["round"], key, now))
                page.step_started_at = to_db(now)
                page.step_deadline = to_db(now + timedelta(seconds=entry["timeout_s"]))
                names = ", ".join(p["name"] for p in recipients)
                minutes = entry["timeout_s"] / 60
                add_notice(
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
            if to_db(now) >= deadline or all_failed:
                names = ", ".join(p["name"] for p in entry["recipients"])
                why = (
                    "could not be reached by any channel"
                    if all_failed
                    else f"did not acknowledge within {entry['timeout_s'] / 60:g} min"
                )
                add_notice(
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
        add_notice(session, page, "fallback", text, now)

    def _send_due(self, now: datetime) -> tuple[bool, int]:
        with self.factory() as session:
            due = list(
                session.scalars(
                    select(PageDelivery.id)
                    .where(PageDelivery.status == PENDING, PageDelivery.next_try_at <= to_db(now))
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
                .values(status=CLAIMED, claim_id=claim_id, claimed_at=to_db(now))
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
                delivery.sent_at = to_db(now)
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
                delivery.next_try_at = to_db(now + timedelta(seconds=wait))
            elif delivery.channel_index + 1 < len(channels):
                delivery.channel_index += 1
                delivery.transport = channels[delivery.channel_index][0]
                delivery.tries = 0
                delivery.status = PENDING
                delivery.next_try_at = to_db(now)
            else:
                delivery.status = FAILED
                add_notice(
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
                "created_at": from_db(page.created_at),
                "acknowledged_at": from_db(page.acknowledged_at),
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
