"""A SQL tracker store that is never a second, readable copy of a child's disclosure.

Rasa keeps every conversation as a list of events (what the worker typed, what the bot
said, the slots the form filled). The default tracker store (endpoints.yml: none set) is
Rasa's in-memory store, which writes nothing to disk. For production and the two-server
set-up, point endpoints.yml at this store::

    tracker_store:
      type: bot.rasa.tracker_store.ProtectedSQLTrackerStore
      url: postgresql+psycopg2://rasa@db.internal/safeguard    # or sqlite:////path/x.db
      retention_days: 7        # optional; 0 keeps conversations until deleted by hand

What it keeps, and how:

- While a conversation is going on, every event that can hold what someone typed or what
  the bot said back (user messages with their parse data, bot messages, slot values,
  entities) is stored as a Fernet token under the concern-log key (`bot.records.crypto`), so a
  restart of Rasa mid-form loses nothing and the database holds nothing readable.
  Only the event type, time, intent name and action or slot name stay in clear (Rasa needs
  them to find the current session).
- When the disclosure is finished (saved or kept in the spool by the form, or cancelled:
  the actions then set the `concern_closed` slot), every user and bot text of the
  conversation so far, the parse data's text and entities, and the values of the form's
  narrative slots are replaced by `REDACTED` (in clear: nothing is left to
  protect). Intents, actions, slot names and the order of events are kept, so the
  conversation carries on normally. The concern itself is in the concern log, encrypted;
  the tracker no longer holds the story even for someone with the key.
- Conversations whose last event is older than `retention_days` are deleted outright
  (checked at most once an hour, when a conversation is saved, and by `purge_expired`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from bot.core import clock, disclosure
from bot.rasa import patches
from bot.records.crypto import CryptoError, KeySpec, Sealer

logger = logging.getLogger(__name__)

TYPE = "bot.rasa.tracker_store.ProtectedSQLTrackerStore"
"""What endpoints.yml names as ``tracker_store: type:``."""

REDACTED = "[removed after the concern was saved]"

# Event types that hold only names, times and flags: stored as Rasa stores them.
CLEAR_EVENT_TYPES = frozenset(
    {
        "action",
        "active_loop",
        "session_started",
        "restart",
        "rewind",
        "undo",
        "pause",
        "resume",
        "loop_interrupted",
        "action_execution_rejected",
        "followup",
        "user_featurization",
        "reset_slots",
        "export",
    }
)


def _narrative_slots() -> frozenset[str]:
    return frozenset(
        {
            *disclosure.RECORD_SLOTS,
            "disclosure_timing",
            "danger_answer",  # the worker's typed answers to the first two questions
            "timing_answer",
            "categories",  # may be free text the worker typed
            "suggested_categories",
            "language_pending",  # holds the worker's unaccepted wording
            "language_choices",
            "language_review",
        }
    )


NARRATIVE_SLOTS = _narrative_slots()

# Parse-data keys kept on redaction: what the classifier decided, never what was typed.
KEPT_PARSE_KEYS = ("intent", "intent_ranking", "message_id")
KEPT_TRIAGE_KEYS = ("urgency", "detected", "classified")
KEPT_BOT_METADATA = ("utter_action",)
KEPT_USER_METADATA = ("model_id", "assistant_id")

PURGE_INTERVAL_S = 3600.0


class TrackerStoreError(RuntimeError):
    """A stored conversation cannot be read (one plain line). Deliberately not a
    ValueError: Rasa's `session_scope` turns any ValueError into "schema not found" and
    exits the server."""


def _redacted_value(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, list):
        return [REDACTED] if value else []
    return REDACTED


def redact_event(event: dict[str, Any]) -> dict[str, Any]:
    """The event with everything anyone typed or was shown replaced by `REDACTED`.

    Slot events of slots that are not narrative come back unchanged (the caller keeps them
    sealed)."""
    kind = event.get("event")
    out = dict(event)
    if kind == "user":
        parse = event.get("parse_data") or {}
        kept = {key: parse[key] for key in KEPT_PARSE_KEYS if key in parse}
        triage = parse.get("triage")
        if isinstance(triage, dict):
            kept["triage"] = {k: triage[k] for k in KEPT_TRIAGE_KEYS if k in triage}
        kept.update(text=REDACTED, entities=[])
        out.update(
            text=REDACTED,
            parse_data=kept,
            metadata={
                k: v for k, v in (event.get("metadata") or {}).items() if k in KEPT_USER_METADATA
            },
        )
    elif kind == "bot":
        out.update(
            text=REDACTED,
            data={},
            metadata={
                k: v for k, v in (event.get("metadata") or {}).items() if k in KEPT_BOT_METADATA
            },
        )
    elif kind == "entities":
        out["entities"] = []
    elif kind == "slot" and event.get("name") in NARRATIVE_SLOTS:
        out["value"] = _redacted_value(event.get("value"))
    return out


def needs_redaction(event: dict[str, Any]) -> bool:
    kind = event.get("event")
    if kind in ("user", "bot", "entities"):
        return True
    return kind == "slot" and event.get("name") in NARRATIVE_SLOTS


def finishes_disclosure(events: Iterable[dict[str, Any]]) -> bool:
    """True if `events` include the one that marks a disclosure finished."""
    return any(
        event.get("event") == "slot"
        and event.get("name") == disclosure.CLOSED_SLOT
        and event.get("value") is True
        for event in events
    )


def _sqlite_secure_delete(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


class ProtectedSQLTrackerStore(SQLTrackerStore):
    """Rasa's SQLTrackerStore, with conversation text sealed and redacted (module doc)."""

    def __init__(
        self,
        domain: Any = None,
        host: str | None = None,
        *,
        url: str | None = None,
        retention_days: float | int | None = 7,
        key: KeySpec = None,
        **kwargs: Any,
    ) -> None:
        # `_retrieve` below overrides a private method of Rasa's (bot/rasa/patches.py,
        # TRACKER_RETRIEVE): refused, in one line, on a Rasa it was not written for, or one
        # whose SQLTrackerStore lacks it (or what save() uses) or calls it differently.
        # Never silently: Rasa's retrieve() would then read the sealed events unopened.
        patches.TRACKER_RETRIEVE.require()
        # A full URL as `host` (what endpoints.yml's `url:` becomes) is used as is.
        target = url or host
        if target is None and "dialect" not in kwargs:
            raise ValueError(
                "the protected tracker store needs a database url "
                "(endpoints.yml tracker_store: url: postgresql+psycopg2://... or sqlite:///...)"
            )
        self._sealer = Sealer(key)
        try:
            self.retention_days = float(retention_days or 0)
        except (TypeError, ValueError):
            raise ValueError(
                f"tracker store retention_days must be a number of days, not {retention_days!r}"
            ) from None
        if self.retention_days < 0:
            raise ValueError("tracker store retention_days cannot be negative")
        self._last_purge = float("-inf")
        super().__init__(domain=domain, host=target, **kwargs)
        if self.engine.dialect.name == "sqlite":
            # Overwrite freed pages, so a redacted or purged event's sealed token does not
            # linger in the file. (PostgreSQL keeps dead row versions until autovacuum; they
            # hold only sealed tokens, unreadable without the key.)
            sa.event.listen(self.engine, "connect", _sqlite_secure_delete)
            self.engine.dispose()  # connections opened before the listener are not reused

    # ----------------------------------------------------------------- sealing

    def seal_event(self, event: dict[str, Any]) -> dict[str, Any]:
        """What is written in the `data` column for `event`."""
        if event.get("event") in CLEAR_EVENT_TYPES:
            return event
        sealed: dict[str, Any] = {
            "event": event.get("event"),
            "timestamp": event.get("timestamp"),
            "sealed": self._sealer.seal(json.dumps(event, ensure_ascii=False)),
        }
        if event.get("event") == "slot":
            sealed["name"] = event.get("name")
        return sealed

    def open_event(self, stored: dict[str, Any]) -> dict[str, Any]:
        """The event as Rasa wrote it (or its redacted form), from the `data` column."""
        token = stored.get("sealed")
        if token is None:
            return stored
        try:
            return json.loads(self._sealer.open(token))
        except CryptoError as exc:
            raise TrackerStoreError(f"tracker store: {exc}") from None

    # ----------------------------------------------------------------- Rasa's interface

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> DialogueStateTracker | None:
        # Rasa's own, with each stored event opened (patches.TRACKER_RETRIEVE).
        with self.session_scope() as session:
            rows = self._event_query(
                session, sender_id, fetch_events_from_all_sessions=fetch_events_from_all_sessions
            ).all()
            events = [self.open_event(json.loads(row.data)) for row in rows]
        if self.domain and events:
            return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        return None

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Append the new events, sealed; redact the conversation if a disclosure finished."""
        await self.stream_events(tracker)
        with self.session_scope() as session:
            new = [event.as_dict() for event in self._additional_events(session, tracker)]
            for data in new:
                intent = (data.get("parse_data") or {}).get("intent", {}) or {}
                session.add(
                    self.SQLEvent(
                        sender_id=tracker.sender_id,
                        type_name=data.get("event"),
                        timestamp=data.get("timestamp"),
                        intent_name=intent.get(INTENT_NAME_KEY),
                        action_name=data.get("name"),
                        data=json.dumps(self.seal_event(data), ensure_ascii=False),
                    )
                )
            session.flush()
            if finishes_disclosure(new):
                self._redact_conversation(session, tracker.sender_id)
            session.commit()
        self._purge_if_due()

    def _redact_conversation(self, session: Any, sender_id: str) -> int:
        """Redact every stored event of the conversation that can hold text; the count."""
        table = self.SQLEvent
        rows = (
            session.query(table)
            .filter(
                table.sender_id == sender_id,
                table.type_name.in_(("user", "bot", "entities", "slot")),
            )
            .order_by(table.id)
            .all()
        )
        changed = 0
        for row in rows:
            stored = json.loads(row.data)
            if "sealed" not in stored:
                continue  # already redacted
            event = self.open_event(stored)
            if not needs_redaction(event):
                continue
            row.data = json.dumps(redact_event(event), ensure_ascii=False)
            changed += 1
        logger.info("tracker store: redacted %d events of a finished disclosure", changed)
        return changed

    # ----------------------------------------------------------------- retention

    def _purge_if_due(self) -> None:
        if not self.retention_days:
            return
        if time.monotonic() - self._last_purge < PURGE_INTERVAL_S:
            return
        self._last_purge = time.monotonic()
        try:
            self.purge_expired()
        except sa.exc.SQLAlchemyError as exc:
            logger.error("tracker store: retention purge failed (%s)", type(exc).__name__)

    def purge_expired(self, now: float | None = None) -> int:
        """Delete conversations whose newest event is older than the retention window;
        the number of conversations deleted. Does nothing when retention is off."""
        if not self.retention_days:
            return 0
        now = clock.now().timestamp() if now is None else now
        cutoff = now - self.retention_days * 86400
        table = self.SQLEvent
        with self.session_scope() as session:
            newest = (
                session.query(table.sender_id, sa.func.max(table.timestamp).label("last"))
                .group_by(table.sender_id)
                .subquery()
            )
            expired = [
                sender
                for (sender,) in session.query(newest.c.sender_id).filter(newest.c.last < cutoff)
            ]
            if expired:
                session.query(table).filter(table.sender_id.in_(expired)).delete(
                    synchronize_session=False
                )
                session.commit()
        if expired:
            logger.info("tracker store: deleted %d conversations past retention", len(expired))
        return len(expired)
