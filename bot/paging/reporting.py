"""Raise a concern: write it, then page the Safeguarding Lead, then tell the worker.

The order is the point: the concern (and its pages, in the same transaction) is committed
before anyone is paged, so a crash can never leave a page for a concern that does not
exist, nor a concern nobody is paged about. Rasa-independent; the actions call in here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from bot.config import settings
from bot.core import clock, disclosure, rota
from bot.core.pack import load_pack
from bot.core.people import Worker
from bot.paging import outbox
from bot.paging.chain import freeze_chain
from bot.records import crypto, incidents, spool
from bot.records.audit import Actor
from bot.records.concern_log import (
    ConcernDraft,
    ConcernLog,
    ConcernLogError,
    InvalidConcern,
    validate_draft,
)
from bot.records.incidents import IncidentConflict

# What a page may say about a concern's category when the worker has not chosen one.
DANGER_CATEGORY = "danger now"


@dataclass
class Outcome:
    """What happened when a concern was raised, for the chat to tell the worker."""

    reference: str | None = None
    saved: bool = False
    paged: list[str] = field(default_factory=list)
    first_wait_minutes: float | None = None
    problems: list[str] = field(default_factory=list)
    # True when the database could not be reached and the concern was kept in the local
    # encrypted spool instead (bot.records.spool): it is NOT in the concern log yet and nobody has
    # been paged automatically; it is written (and paged) when the database is back.
    spooled: bool = False
    spool_id: str | None = None
    # One incident, one concern (bot.records.incidents): True when a later danger signal was added
    # to the conversation's existing concern instead of opening a new one ...
    extended: bool = False
    # ... or when the finished record was added to it instead of creating another.
    record_added: bool = False


def page_in_same_transaction(now: datetime, conversation: str | None = None):  # noqa: ANN202
    """Pages for the new concern and, in a conversation, the incident's link to it: both
    commit with the concern or not at all."""

    def add_pages(session, row) -> None:  # noqa: ANN001
        if conversation is not None:
            incidents.open_incident(session, conversation, row, now)
        outbox.page_concern(session, row, now=now)

    return add_pages


def who_is_paged(urgency: str, now: datetime) -> tuple[list[str], float | None]:
    """Names (and phones) of the first people the page goes to, and minutes until it
    escalates: the first step of the same chain the pager freezes for the page."""

    try:
        roster = rota.load_roster(shared=True)
        chain = freeze_chain(roster, urgency, now)
    except (ValueError, KeyError):
        return [], None
    first = next((step for step in chain if step["recipients"]), None)
    if first is None:
        return [], None
    # Their own number too, so the worker can ring them (deployment data, not policy).
    people = [roster.person(r["id"]) for r in first["recipients"]]
    names = [f"{p.name} ({p.phone})" if p.phone else p.name for p in people]
    return names, first["timeout_s"] / 60 or None


def raise_concern(  # noqa: ANN001
    draft,
    now: datetime | None = None,
    worker: Worker | None = None,
    conversation: str | None = None,
) -> Outcome:
    """Record `draft` (a ConcernDraft) and its pages in one transaction.

    The page carries only the reference, urgency, categories and the worker's name and
    contact (`bot.paging.outbox.page_concern` reads nothing else), never the child's details.

    If the concern log cannot take it (the database is down, or anything else but the
    draft itself being incomplete), the draft is kept in the local encrypted spool
    (`bot.records.spool`) and `Outcome.spooled` is True: it is written, and its pages sent, when
    the database is back. Nobody has been paged yet, so the worker must phone the lead.

    `worker` (who raised it in chat, with their roster role) is who the audit trail names;
    without it, the draft's worker is named as a worker.

    `conversation` (the chat's sender id): one incident, one concern. If the conversation
    already raised a concern (an alarm earlier, or a record saved before), the record is
    added to that concern's chronology and its page chain updated (`Outcome.record_added`)
    instead of creating a second concern and a second chain.
    """

    now = now or clock.now()
    outcome = Outcome()
    who = worker or Worker(id=draft.worker_id, name=draft.worker_name)
    key = _conversation_key(conversation)
    try:
        log = concern_log()
        if key is not None and (earlier := _open_incident(log, key, now)) is not None:
            return _add_to_incident(
                log, key, earlier.concern_ref, draft, who, now, record=True
            )
        try:
            view = log.record(
                draft,
                in_same_transaction=page_in_same_transaction(now, key),
                actor=Actor.from_worker(who, channel="chat"),
            )
        except IncidentConflict:
            # Another process opened this conversation's incident a moment ago.
            earlier = _open_incident(log, key, now)
            if earlier is None:
                raise
            return _add_to_incident(
                log, key, earlier.concern_ref, draft, who, now, record=True
            )
    except InvalidConcern as exc:
        outcome.problems.append(str(exc))
        return outcome
    except Exception as exc:  # noqa: BLE001 - whatever failed, the concern must not be lost
        outcome.problems.append(
            str(exc) if isinstance(exc, ConcernLogError) else _plain_failure(exc)
        )
        try:
            validate_draft(draft)
        except InvalidConcern as invalid:
            outcome.problems.append(str(invalid))
            return outcome
        _spool(draft, outcome)
        return outcome
    outcome.reference, outcome.saved = view.reference, True
    outcome.paged, outcome.first_wait_minutes = who_is_paged(draft.urgency, now)
    return outcome


def _plain_failure(exc: BaseException) -> str:
    first = (str(exc).strip().splitlines() or [""])[0][:200]
    return f"could not save the concern ({type(exc).__name__}{': ' + first if first else ''})"


def _spool(draft, outcome: Outcome) -> None:  # noqa: ANN001

    try:
        outcome.spool_id = spool.write(draft, reason=outcome.problems[0])
    except spool.SpoolError as exc:
        outcome.problems.append(str(exc))
        return
    except Exception as exc:  # noqa: BLE001
        outcome.problems.append(f"could not keep the concern in the local spool ({exc})")
        return
    outcome.spooled = True


def _conversation_key(conversation: str | None) -> str | None:

    return None if conversation is None else incidents.conversation_key(str(conversation))


def _open_incident(log, key: str, now: datetime) -> incidents.OpenIncident | None:  # noqa: ANN001
    """The conversation's open incident (its concern's reference, when it began), or None."""
    with log.session("look up the conversation's concern") as session:
        row = incidents.find_open(session, key, now)
        return None if row is None else incidents.describe(row)


def worker_update_type(log) -> str:  # noqa: ANN001
    """What a worker's later entry on their own concern is recorded as: the organisation's
    worker-update type where it has one (CRASAC's "Worker update"), else its update type."""
    if "Worker update" in log.event_types.allowed:
        return "Worker update"
    return lead_update_type(log)


def _add_to_incident(  # noqa: ANN001, PLR0913
    log, key: str, ref: str, draft, who: Worker, now: datetime, *, record: bool
) -> Outcome:
    """Add a later signal to the conversation's concern: a dated event holding it and an
    update on the concern's one page chain, in one transaction."""

    results: list = []

    def update(session, row) -> None:  # noqa: ANN001
        incident = incidents.find_open(session, key, now)
        if incident is not None:
            incidents.touch(session, incident, now)
        reason = outbox.RECORD_ADDED if record else outbox.DANGER_AGAIN
        results.append(
            outbox.update_page(
                session, row, draft.urgency, reason, now,
                categories=draft.categories if record else None,
            )  # fmt: skip
        )

    if record:
        text = "The worker completed the record in the same conversation.\n" + record_text(draft)
    else:
        text = f"Danger reported again in the same conversation at {now:%H:%M}: " + (
            draft.observations or "the worker reported that someone is in danger now."
        )

    try:
        log.add_event(
            ref,
            worker_update_type(log),
            text,
            by=draft.worker_name or who.name,
            # Never ahead of the log's clock (another process's clock may run ahead): the
            # event is refused then, and the signal must not be lost over clock skew.
            happened_at=min(now, clock.now()),
            actor=Actor.from_worker(who, channel="chat"),
            reason="added to the concern raised earlier in this conversation",
            in_same_transaction=update,
        )
    except InvalidConcern as exc:
        # Not the worker's draft at fault: keep it (the caller spools it) rather than drop it.
        raise ConcernLogError(f"could not add to {ref}: {exc}") from None
    done = results[0]
    outcome = Outcome(reference=ref, saved=True, extended=not record, record_added=record)
    if done.reopened:
        outcome.paged, outcome.first_wait_minutes = who_is_paged(done.urgency, now)
    else:
        # Told now, or (the chain's current step not started yet) about to be paged.
        outcome.paged = list(done.told) or who_is_paged(done.urgency, now)[0]
    return outcome


def record_text(draft) -> str:  # noqa: ANN001
    """A draft's record as labelled lines (the same labels as the summary the worker
    confirmed), every answer exactly as given."""
    answers = {
        "child_identity": draft.child,
        "child_age": draft.child_age,
        "child_words": draft.child_words,
        "observations": draft.observations,
        "when_where": draft.happened_when,
        "others_involved": draft.others_involved,
        "actions_taken": draft.actions_taken,
        "worker_view": draft.worker_view,
    }
    lines = []
    if draft.danger_answer:
        lines.append(f"- Asked if anyone was in danger right now: {draft.danger_answer}")
    if draft.timing_answer:
        lines.append(f"- Asked if the child was still there: {draft.timing_answer}")
    lines += [
        f"- {f.label}: {answers.get(f.slot) or disclosure.SKIPPED}" for f in disclosure.FIELDS
    ]
    lines.append(f"- Urgency: {draft.urgency}")
    if draft.categories:
        lines.append(f"- Categories: {', '.join(draft.categories)}")
    for choice in draft.language_choices or []:
        if isinstance(choice, dict):
            lines.append(
                f"- Language check on {choice.get('field')}: {choice.get('choice')} "
                f"({', '.join(map(str, choice.get('rules') or []))})"
            )
    return "\n".join(lines)


def raise_alarm(
    worker: Worker,
    report: str = "",
    now: datetime | None = None,
    conversation: str | None = None,
) -> Outcome:
    """Danger now: an immediate concern holding what the worker reported, so the lead is
    paged at once. The details follow in the disclosure form; the page carries none.

    In a conversation that already raised a concern, the danger is added to that concern
    (a dated event) and its one page chain is paged again or updated (`Outcome.extended`)."""

    now = now or clock.now()
    draft = ConcernDraft(
        urgency="immediate",
        worker_id=worker.id,
        worker_name=worker.name,
        worker_contact=worker.contact,
        child=disclosure.SKIPPED,
        observations=disclosure.clean_answer(report)[: disclosure.MAX_FIELD_CHARS]
        or "The worker reported that someone is in danger now.",
        categories=[DANGER_CATEGORY],
        created_at=now,
    )
    key = _conversation_key(conversation)
    if key is not None:
        try:
            log = concern_log()
            found = _open_incident(log, key, now)
            if found is not None:
                return _add_to_incident(
                    log, key, found.concern_ref, draft, worker, now, record=False
                )
        except Exception as exc:  # noqa: BLE001 - the alarm must still be raised

            logging.getLogger(__name__).error(
                "adding danger to the conversation's concern failed: %s", type(exc).__name__
            )
    return raise_concern(draft, now, worker, conversation)


def draft_from_answers(
    answers: dict[str, object],
    categories: list[str],
    urgency: str,
    worker: Worker,
    language_choices: list | None = None,
    now: datetime | None = None,
):  # noqa: ANN201
    """The form's answers as a ConcernDraft, every text kept exactly as given."""

    def text(slot: str) -> str:
        return disclosure.clean_answer(answers.get(slot))

    return ConcernDraft(
        urgency=urgency,
        worker_id=worker.id,
        worker_name=worker.name,
        worker_contact=worker.contact,
        child=text("child_identity") or disclosure.SKIPPED,
        child_age=text("child_age"),
        child_words=text("child_words"),
        observations=text("observations"),
        happened_when=text("when_where"),
        others_involved=text("others_involved"),
        actions_taken=text("actions_taken"),
        worker_view=text("worker_view"),
        categories=list(categories),
        language_choices=list(language_choices or []),
        danger_answer=text("danger_answer"),
        timing_answer=text("timing_answer"),
        created_at=now or clock.now(),
    )


# The last concern log opened without an engine, and what it was opened with. Opening one
# makes a database engine and runs the migration check: measured 20-30 ms, plus SQL
# compiled afresh for a new engine (~20 ms more per record), on every save and every alarm
# in the action server (README "Performance"). Reused while the database URL, the event
# types and the key settings (the key file's contents and mode included) are unchanged;
# one that could not be opened is never kept, so the next call tries again.
_opened: dict[str, object] = {}


def _key_stamp() -> tuple:

    config = settings.current()
    path = config.key_file or crypto.default_key_path()
    try:
        info = path.stat()
        on_disk: tuple = (info.st_mtime_ns, info.st_ctime_ns, info.st_size, info.st_mode)
    except OSError:
        on_disk = ()
    return (config.text(crypto.KEY_ENV), str(path), on_disk)


def concern_log(url: str | None = None, engine=None):  # noqa: ANN001, ANN201
    """The concern log with this organisation's own event types (from its policy pack);
    on `engine` if given (e.g. the pager's), else on `url` or SAFEGUARD_DB_URL."""

    names = [event.name for event in load_pack().recording.event_types]
    if engine is not None:
        return ConcernLog(url, event_types=names or None, engine=engine)
    stamp = (url or settings.db_url(), tuple(names), _key_stamp())
    if _opened.get("stamp") != stamp:
        _opened.clear()
        log = ConcernLog(url, event_types=names or None)
        _opened.update(stamp=stamp, log=log)
    return _opened["log"]


# What a lead's update from chat is recorded as, first that the organisation uses.
LEAD_UPDATE_TYPES = (
    "SG update",  # CRASAC
    "Case note",  # The Children's Society (Mosaic)
    "Case Record/Chronology entry",  # Leicestershire template
    "Chronology",
    "Update",  # safeguard's own, where a policy names no types
)


def lead_update_type(log) -> str:  # noqa: ANN001
    allowed = log.event_types.allowed
    for name in LEAD_UPDATE_TYPES:
        if name in allowed:
            return name
    ordinary = [n for n in allowed if n not in (log.event_types.raised, log.event_types.closed)]
    return ordinary[0] if ordinary else allowed[0]


def open_concern_for(conversation: str, now: datetime | None = None):  # noqa: ANN201
    """The conversation's open incident (`bot.records.incidents.OpenIncident`: its concern's
    reference and when it began), or None. None too if the log cannot be read: the worker
    is then simply not told, and the next save still finds the incident."""

    now = now or clock.now()
    try:
        return _open_incident(concern_log(), incidents.conversation_key(conversation), now)
    except Exception:  # noqa: BLE001 - a lookup for a courtesy line must not break the form
        return None


def end_incident(conversation: str, now: datetime | None = None) -> str | None:
    """The worker says the next thing is about a different child: end the conversation's
    incident. Returns the reference of the concern it belonged to, or None."""

    now = now or clock.now()
    log = concern_log()
    with log.session("start a new concern") as session:
        return incidents.end(session, incidents.conversation_key(conversation), now)
