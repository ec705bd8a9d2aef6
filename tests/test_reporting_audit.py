"""A concern raised in chat names, in the audit trail, the person who raised it and their role."""

from __future__ import annotations

from bot.core.people import Worker
from bot.paging.reporting import raise_alarm
from bot.records.audit import AuditTrail


def test_alarm_raised_in_chat_is_audited_with_the_workers_role() -> None:
    lead = Worker(id="910000101", name="Alex Morgan (example)", contact="07700 900101", role="lead")
    outcome = raise_alarm(lead, "he has a knife and is at the door now")
    assert outcome.saved, outcome.problems
    created = [
        e for e in AuditTrail().entries(concern_ref=outcome.reference) if e.action == "create"
    ]
    assert [(e.person_id, e.role, e.channel) for e in created] == [("910000101", "lead", "chat")]


def test_an_unknown_sender_is_audited_as_a_worker() -> None:
    someone = Worker(id="555", name="worker 555", contact="chat id 555")
    outcome = raise_alarm(someone, "she is locked in and cannot get out right now")
    assert outcome.saved, outcome.problems
    created = [
        e for e in AuditTrail().entries(concern_ref=outcome.reference) if e.action == "create"
    ]
    assert [(e.person_id, e.role) for e in created] == [("555", "worker")]
