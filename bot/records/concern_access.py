"""Who may see and change which concern, with every read and write audited.

The rules (issue 9, item 3):

* a **worker** sees only the concerns they raised (recorded under their roster id or their
  chat id), may add events to those, and may not close or reopen them;
* **leads, deputies and admins** see every concern of their organisation
  (SAFEGUARD_ORG); leads and deputies may close and reopen them, admins may not (closing
  is the Safeguarding Lead's decision, e.g. CRASAC's policy, seed 000 "Recording
  Concerns": "Once the Safeguarding Lead and the worker are confident ... it can be
  closed");
* nobody sees another organisation's concerns.

Who is acting comes from the roster (`bot.core.rota.load_roster`): on the command line the
person id given with ``--as`` or SAFEGUARD_USER (someone not in the roster is refused with
one line), in chat the roster person behind the chat id (someone the roster does not know
is a worker). `ConcernAccess` wraps a `ConcernLog` for one person: each read is audited
(action view/export/list, with the reason), each write is audited in the write's own
transaction, and each refusal is audited as "refused".

To a worker, "not yours" and "no such reference" read the same, so references cannot be
probed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from bot.config import settings
from bot.core import rota
from bot.core.datafile import DataFileError
from bot.records.audit import TEXT_LIMIT, Actor, AuditError, AuditTrail
from bot.records.concern_log import (
    KIND_CLOSED,
    KIND_REOPENED,
    ConcernLog,
    ConcernLogError,
    ConcernNotFound,
    ConcernView,
    EventView,
    InvalidConcern,
    normalise_reference,
)

READ_ALL_ROLES = frozenset({"lead", "deputy", "admin"})
"""Roles that see every concern in their organisation."""
STATUS_ROLES = frozenset({"lead", "deputy"})
"""Roles that may close and reopen a concern."""
AUDIT_ROLES = READ_ALL_ROLES
"""Roles that may read the audit trail."""

USER_ENV = "SAFEGUARD_USER"

_PLURAL = {
    "lead": "Safeguarding Leads",
    "deputy": "deputies",
    "admin": "admins",
    "worker": "workers",
}


class AccessDenied(ConcernLogError):
    """The person may not do this (one plain line)."""


class UnknownPerson(AccessDenied):
    """Nobody with that id is in the roster (or no id was given)."""


class RosterUnavailable(ConcernLogError):
    """The roster cannot be read, so nobody's role can be checked (nothing is shown)."""


class ReasonRequired(InvalidConcern):
    """Reading a concern needs a reason."""


# --------------------------------------------------------------------------- who is acting


def actor_from_roster(
    person_id: str | None,
    *,
    roster=None,
    channel: str = "cli",  # noqa: ANN001
) -> Actor:
    """The roster person `person_id` (default: $SAFEGUARD_USER) as an Actor.

    Raises UnknownPerson if no id is given or the roster has nobody with it,
    RosterUnavailable if the roster cannot be read.
    """

    wanted = (person_id or settings.current().user).strip()
    if not wanted:
        raise UnknownPerson(
            f"say who you are: --as PERSON_ID or {USER_ENV} (your id in the roster)"
        )
    if roster is None:
        try:
            roster = rota.load_roster()
        except (DataFileError, ValueError, OSError) as exc:
            raise RosterUnavailable(f"cannot check who you are: {exc}") from None
    for person in roster.people:
        if person.id == wanted:
            return Actor.from_person(person, channel=channel)
    raise UnknownPerson(
        f"{wanted!r} is not in the roster ({rota.roster_path()}): only people in the roster "
        "may read or change concerns; ask an administrator to add you"
    )


def actor_for_chat(worker, *, roster=None) -> Actor:  # noqa: ANN001
    """The person behind a chat (`bot.core.people.Worker`): their roster entry when the
    authenticated chat identity is in the roster, else who the chat layer says they are
    (`Worker.role`), known by the chat id."""

    if roster is None:
        try:
            roster = rota.load_roster()
        except Exception:  # noqa: BLE001 - an unreadable roster means: nobody is a lead
            roster = None
    sender = str(worker.id)
    for person in roster.people if roster is not None else ():
        # Matched by what an authenticated channel proved (bot.records.access.worker_for: a bare
        # Telegram id, "teams:<Entra id>"), never by a roster id typed as the sender.
        if str(person.telegram_chat_id or "") == sender or (
            person.teams_aad_id and sender == f"teams:{person.teams_aad_id}"
        ):
            actor = Actor.from_person(person, channel="chat")
            return Actor(
                id=actor.id,
                name=actor.name,
                role=actor.role,
                channel="chat",
                aliases=tuple(dict.fromkeys((*actor.aliases, sender))),
            )
    # Not in the roster: the role the chat layer gave them (staff approved in chat,
    # bot.records.access), and "worker" for anyone else.
    role = getattr(worker, "role", "") or "worker"
    return Actor(id=sender, name=worker.name, role=role, channel="chat")


# --------------------------------------------------------------------------- the rules


def sees_all(actor: Actor) -> bool:
    return actor.role in READ_ALL_ROLES


def may_see(actor: Actor, concern: ConcernView, org: str | None = None) -> bool:
    """True if `actor` may read `concern`."""
    if concern.org != (org or settings.org()):
        return False
    return sees_all(actor) or concern.worker_id in actor.own_ids


def may_change(actor: Actor, concern: ConcernView, kind: str, org: str | None = None) -> bool:
    """True if `actor` may add an event of this kind (update/closed/reopened)."""
    if not may_see(actor, concern, org):
        return False
    if kind in (KIND_CLOSED, KIND_REOPENED):
        return actor.role in STATUS_ROLES
    return True


def visible(actor: Actor, concerns: Iterable[ConcernView], org: str | None = None) -> list:
    return [c for c in concerns if may_see(actor, c, org)]


def require_role(actor: Actor, roles: Iterable[str], doing: str) -> None:
    """Raise AccessDenied unless the actor has one of `roles`."""
    order = ("lead", "deputy", "admin", "worker")
    roles = sorted(set(roles), key=lambda r: order.index(r) if r in order else len(order))
    if actor.role not in roles:
        names = [_PLURAL.get(r, r + "s") for r in roles]
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        raise AccessDenied(f"{actor.id} ({actor.role}) may not {doing}: only {listed} may")


# --------------------------------------------------------------------------- one person's log


class ConcernAccess:
    """A `ConcernLog` as one person may use it: checked, and audited."""

    def __init__(self, log: ConcernLog, actor: Actor, *, org: str | None = None) -> None:
        self.log = log
        self.actor = actor
        self.org = org or settings.org()
        try:
            self.trail = AuditTrail(engine=log.engine, migrate=False)
        except AuditError as exc:
            raise ConcernLogError(str(exc)) from None

    # ----------------------------------------------------------------- auditing

    def audit(
        self, action: str, ref: str | None = None, detail: str = "", reason: str = ""
    ) -> None:
        """One audit entry by this person (a read, a refusal, a review); raises
        ConcernLogError if it cannot be written, and the caller then shows nothing."""
        try:
            self.trail.record(
                self.actor, action, concern_ref=ref, detail=detail, reason=reason, org=self.org
            )
        except AuditError as exc:
            # Unaudited reads are not allowed: nothing is shown.
            raise ConcernLogError(f"{exc}; nothing was shown") from None

    def _not_visible(self, ref: str) -> AccessDenied:
        if sees_all(self.actor):
            return AccessDenied(f"{ref} belongs to another organisation")
        return AccessDenied(
            f"{ref}: not among the concerns you can see (workers see only the concerns they raised)"
        )

    def _concern(self, ref: str, doing: str, reason: str) -> ConcernView:
        """The concern if the actor may see it; else AccessDenied (audited as refused)."""
        reference = normalise_reference(ref)
        try:
            concern = self.log.get(reference)
        except ConcernNotFound:
            if sees_all(self.actor):
                raise
            raise self._not_visible(reference) from None
        if not may_see(self.actor, concern, self.org):
            self.audit("refused", reference, detail=doing, reason=reason)
            raise self._not_visible(reference)
        return concern

    # ----------------------------------------------------------------- reading

    def list(
        self, open_only: bool = False, worker_id: str | None = None, reason: str = ""
    ) -> list[ConcernView]:
        """The concerns this person may see, newest first (audited as "list", with the
        references shown)."""
        shown = visible(
            self.actor, self.log.list(open_only=open_only, worker_id=worker_id), self.org
        )
        refs = ", ".join(c.reference for c in shown)
        detail = f"{len(shown)} shown" + (" (open only)" if open_only else "")
        if worker_id:
            detail += f" (worker {worker_id})"
        if refs:
            room = TEXT_LIMIT - len(detail) - 2
            detail += ": " + (refs if len(refs) <= room else refs[: room - 12] + " (and more)")
        self.audit("list", detail=detail, reason=reason or "list concerns")
        return shown

    def show(
        self, ref: str, reason: str, *, export: bool = False
    ) -> tuple[ConcernView, list[EventView]]:
        """The concern and its chronology, audited as "view" (or "export") with `reason`,
        which is required."""
        if not (reason or "").strip():
            raise ReasonRequired("say why you are reading this concern (--reason)")
        concern = self._concern(ref, "export" if export else "view", reason)
        events = self.log.chronology(concern.reference)
        self.audit("export" if export else "view", concern.reference, reason=reason)
        return concern, events

    # ----------------------------------------------------------------- writing

    def add_event(
        self,
        ref: str,
        type: str,
        text: str,
        happened_at: datetime | None = None,
        reason: str = "",
    ) -> EventView:
        """Append an event, recorded as by this person (their roster name), if they may."""
        event_type = self.log.event_types.resolve(type)
        kind = self.log.event_types.kind(event_type)
        action = {KIND_CLOSED: "close", KIND_REOPENED: "reopen"}.get(kind, "add-event")
        concern = self._concern(ref, action, reason)
        if not may_change(self.actor, concern, kind, self.org):
            self.audit("refused", concern.reference, detail=action, reason=reason)
            raise AccessDenied(
                f"{self.actor.id} ({self.actor.role}) may not {action} {concern.reference}: "
                "only a Safeguarding Lead or deputy may close or reopen a concern"
            )
        return self.log.add_event(
            concern.reference,
            event_type,
            text,
            self.actor.name,
            happened_at,
            actor=self.actor,
            reason=reason or f"{action} ({self.actor.channel})",
        )

    def close(
        self, ref: str, text: str, happened_at: datetime | None = None, reason: str = ""
    ) -> EventView:
        return self.add_event(ref, self.log.event_types.closed, text, happened_at, reason)

    def reopen(
        self, ref: str, text: str, happened_at: datetime | None = None, reason: str = ""
    ) -> EventView:
        return self.add_event(ref, self.log.event_types.reopened, text, happened_at, reason)
