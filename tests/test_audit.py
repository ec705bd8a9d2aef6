"""The audit trail (bot.records.audit): hash chain, append-only, tamper detection, one chain under
concurrent appenders, and the hooks in the concern log. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bot.records.audit import (
    GENESIS,
    Actor,
    AuditError,
    AuditTrail,
    append,
    canonical,
    chain_hash,
)
from bot.records.concern_log import ConcernLog, ConcernLogError
from bot.records.db import transaction
from tests.audit_helpers import WORDS, draft
from tests.pg_server import postgres_url, store_url  # noqa: F401 - fixtures

ROOT = Path(__file__).resolve().parent.parent
KEY = Fernet.generate_key().decode()
LEAD = Actor("lena", "Lena Lead", "lead")
WORKER = Actor("wes", "Wes Worker", "worker", channel="chat")


@pytest.fixture(autouse=True)
def _clock(pinned_clock) -> None:  # noqa: ANN001
    pinned_clock("2026-11-23T16:00:00.123456")


def _fill(trail: AuditTrail, n: int) -> None:
    for i in range(n):
        trail.record(LEAD if i % 2 else WORKER, "view", concern_ref=f"SG-2222-222{i % 8 + 2}",
                     reason=f"reason {i}")  # fmt: skip


def _raw(trail: AuditTrail, *statements: str) -> None:
    with trail.engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))


def _drop_triggers(trail: AuditTrail) -> None:
    """What someone with database owner rights could do."""
    if trail.engine.dialect.name == "postgresql":
        _raw(trail, "DROP TRIGGER audit_entries_append_only ON audit_entries")
    else:
        _raw(
            trail,
            "DROP TRIGGER audit_entries_no_update",
            "DROP TRIGGER audit_entries_no_delete",
        )


# --------------------------------------------------------------------------- the chain


def test_entries_chain_from_genesis_with_sha256_of_canonical_json(store_url: str) -> None:  # noqa: F811
    trail = AuditTrail(store_url)
    _fill(trail, 3)
    entries = trail.entries()
    assert [e.position for e in entries] == [1, 2, 3]
    first = entries[0]
    fields = {k: v for k, v in first.__dict__.items() if k != "entry_hash"}
    body = canonical(fields)
    assert json.loads(body) == {
        "action": "view",
        "channel": "chat",
        "concern_ref": "SG-2222-2222",
        "detail": "",
        "org": "generic",
        "person_id": "wes",
        "person_name": "Wes Worker",
        "position": 1,
        "reason": "reason 0",
        "recorded_at": "2026-11-23T16:00:00.123456Z",
        "role": "worker",
    }
    assert first.entry_hash == hashlib.sha256((GENESIS + body).encode()).hexdigest()
    second = entries[1]
    expected = chain_hash(first.entry_hash, {k: v for k, v in second.__dict__.items()})
    assert second.entry_hash == expected
    result = trail.verify(anchor=None)
    assert (result.ok, result.count, result.head) == (True, 3, entries[-1].entry_hash)


def test_shown_in_london_time_and_utc(store_url: str, pinned_clock) -> None:  # noqa: F811, ANN001
    pinned_clock("2026-07-01T10:00")  # BST: 09:00 UTC
    trail = AuditTrail(store_url)
    entry = trail.record(LEAD, "list")
    data = entry.to_dict()
    assert data["recorded_at"] == "2026-07-01T10:00:00+01:00"
    assert data["recorded_at_utc"] == "2026-07-01T09:00:00.000000Z"
    assert trail.entries()[0].recorded_at == entry.recorded_at


def test_database_refuses_update_and_delete(store_url: str) -> None:  # noqa: F811
    trail = AuditTrail(store_url)
    _fill(trail, 2)
    for statement in (
        "UPDATE audit_entries SET reason = 'nothing to see' WHERE position = 1",
        "DELETE FROM audit_entries WHERE position = 2",
    ):
        with pytest.raises(SQLAlchemyError, match="append-only"):
            _raw(trail, statement)
    if trail.engine.dialect.name == "postgresql":
        with pytest.raises(SQLAlchemyError, match="append-only"):
            _raw(trail, "TRUNCATE audit_entries")
    assert trail.verify(anchor=None).ok and len(trail.entries()) == 2


def test_unknown_action_or_channel_or_overlong_reason_is_refused(store_url: str) -> None:  # noqa: F811
    trail = AuditTrail(store_url)
    with pytest.raises(AuditError, match="unknown audit action 'delete'"):
        trail.record(LEAD, "delete")
    with pytest.raises(AuditError, match="unknown channel 'fax'"):
        trail.record(Actor("x", "X", "lead", channel="fax"), "view")
    with pytest.raises(AuditError, match="reason is longer than 500"):
        trail.record(LEAD, "view", reason="x" * 501)
    assert trail.entries() == []
    # Control characters cannot forge a second line in a listing.
    entry = trail.record(LEAD, "view", reason="first\nsecond\x1b[31m")
    assert entry.reason == "first second [31m"


# --------------------------------------------------------------------------- tampering


def test_changed_entry_is_named(store_url: str) -> None:  # noqa: F811
    trail = AuditTrail(store_url)
    _fill(trail, 6)
    _drop_triggers(trail)
    _raw(trail, "UPDATE audit_entries SET person_id = 'someone' WHERE position = 4")
    result = trail.verify(anchor=None)
    assert not result.ok and result.bad_position == 4 and result.count == 3
    assert "#4 " in result.problem and "was changed after it was written" in result.problem
    assert result.message().startswith("Audit trail NOT intact: entry #4 ")


def test_rehashing_a_changed_entry_breaks_the_next_link(store_url: str) -> None:  # noqa: F811
    trail = AuditTrail(store_url)
    _fill(trail, 5)
    _drop_triggers(trail)
    entries = trail.entries()
    forged = {k: v for k, v in entries[1].__dict__.items()}
    forged["reason"] = "routine check"
    new_hash = chain_hash(entries[0].entry_hash, forged)
    _raw(
        trail,
        f"UPDATE audit_entries SET reason = 'routine check', entry_hash = '{new_hash}' "
        "WHERE position = 2",
    )
    result = trail.verify(anchor=None)
    assert not result.ok and result.bad_position == 3
    assert "does not follow the entry before it" in result.problem


def test_deleted_entry_is_detected(store_url: str) -> None:  # noqa: F811
    trail = AuditTrail(store_url)
    _fill(trail, 6)
    _drop_triggers(trail)
    _raw(trail, "DELETE FROM audit_entries WHERE position = 3")
    result = trail.verify(anchor=None)
    assert not result.ok and result.bad_position == 3
    assert "entry #3 is missing" in result.problem


def test_swapped_order_is_detected(store_url: str) -> None:  # noqa: F811
    trail = AuditTrail(store_url)
    _fill(trail, 6)
    _drop_triggers(trail)
    _raw(
        trail,
        "UPDATE audit_entries SET position = -1 WHERE position = 2",
        "UPDATE audit_entries SET position = 2 WHERE position = 3",
        "UPDATE audit_entries SET position = 3 WHERE position = -1",
    )
    result = trail.verify(anchor=None)
    assert not result.ok and result.bad_position == 2


def test_entries_cut_off_the_end_are_caught_by_the_anchor(store_url: str, tmp_path: Path) -> None:  # noqa: F811
    trail = AuditTrail(store_url)
    anchor = tmp_path / "anchor.json"
    _fill(trail, 5)
    assert trail.verify(anchor=anchor).ok
    assert oct(anchor.stat().st_mode & 0o777) == "0o600"
    _fill(trail, 2)
    assert trail.verify(anchor=anchor).count == 7  # the anchor moves on
    _drop_triggers(trail)
    _raw(trail, "DELETE FROM audit_entries WHERE position >= 6")
    result = trail.verify(anchor=anchor)
    assert not result.ok and result.bad_position == 6
    assert "entries #6 to #7 are missing" in result.problem
    assert "deleted from the end" in result.problem


def test_a_rewritten_tail_is_caught_by_the_anchor(store_url: str, tmp_path: Path) -> None:  # noqa: F811
    """Someone deletes the last entries and appends look-alikes with a valid chain."""
    trail = AuditTrail(store_url)
    anchor = tmp_path / "anchor.json"
    _fill(trail, 4)
    assert trail.verify(anchor=anchor).ok
    _drop_triggers(trail)
    _raw(trail, "DELETE FROM audit_entries WHERE position = 4")
    trail.record(LEAD, "list", reason="nothing happened here")  # a fresh, valid #4
    result = trail.verify(anchor=anchor)
    assert not result.ok and result.bad_position == 4
    assert "not the entry verified" in result.problem


# --------------------------------------------------------------------------- concurrency

APPENDER = r"""
import sys
from bot.records.audit import Actor, AuditTrail
from bot.records.concern_log import ConcernLog
from tests.audit_helpers import draft

url, who, mode, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
if mode == "audit":
    trail = AuditTrail(url, migrate=False)
    for i in range(count):
        trail.record(Actor(who, who, "lead"), "view", reason=f"{who} {i}")
else:
    log = ConcernLog(url, migrate=False)
    for i in range(count):
        log.record(draft(worker_id=who, worker_name=who))
"""


def test_concurrent_appenders_keep_one_chain(store_url: str, tmp_path: Path) -> None:  # noqa: F811
    """Four processes at once, two appending reads and two recording concerns (each
    recording writes its "create" entry in the concern's transaction)."""
    trail = AuditTrail(store_url)
    ConcernLog(store_url, key=KEY)  # schema ready before the race
    env = dict(os.environ, SAFEGUARD_KEY=KEY, SAFEGUARD_NOW="2026-11-23T16:00")
    per_process = 15
    jobs = [("a1", "audit"), ("a2", "audit"), ("c1", "concern"), ("c2", "concern")]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", APPENDER, store_url, who, mode, str(per_process)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for who, mode in jobs
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    entries = trail.entries()
    assert [e.position for e in entries] == list(range(1, 4 * per_process + 1))
    by = {who: sum(e.person_id == who for e in entries) for who, _ in jobs}
    assert by == {who: per_process for who, _ in jobs}
    result = trail.verify(anchor=None)
    assert result.ok and result.count == 4 * per_process
    assert len(ConcernLog(store_url, key=KEY).list()) == 2 * per_process


# --------------------------------------------------------------------------- concern-log hooks


def test_recording_a_concern_writes_create_in_the_same_transaction(store_url: str) -> None:  # noqa: F811
    log = ConcernLog(store_url, key=KEY)
    view = log.record(draft(), actor=WORKER, reason="raised in chat")
    (entry,) = AuditTrail(store_url).entries()
    assert (entry.person_id, entry.role, entry.channel, entry.action, entry.concern_ref) == (
        "wes",
        "worker",
        "chat",
        "create",
        view.reference,
    )
    assert (entry.detail, entry.reason) == ("urgency urgent", "raised in chat")

    def fails(session, row) -> None:  # noqa: ANN001
        raise RuntimeError("pager down")

    with pytest.raises(ConcernLogError, match="nothing was saved"):
        log.record(draft(), in_same_transaction=fails)
    assert len(AuditTrail(store_url).entries()) == 1  # no entry for a concern not saved
    assert len(log.list()) == 1


def test_without_an_actor_the_draft_worker_is_recorded(store_url: str) -> None:  # noqa: F811
    log = ConcernLog(store_url, key=KEY)
    view = log.record(draft(worker_id="w-9", worker_name="Sam"))
    (entry,) = AuditTrail(store_url).entries()
    assert (entry.person_id, entry.person_name, entry.role, entry.channel) == (
        "w-9",
        "Sam",
        "unknown",
        "system",
    )
    assert (entry.action, entry.concern_ref, entry.reason) == (
        "create",
        view.reference,
        "raised a concern",
    )


def test_events_are_audited_by_type_never_by_text(store_url: str) -> None:  # noqa: F811
    log = ConcernLog(store_url, key=KEY)
    ref = log.record(draft()).reference
    log.add_event(ref, "SG update", "Child B told me: " + WORDS, "Lena", actor=LEAD, reason="x")
    log.close(ref, "Lena", "Held by police; Child B safe", actor=LEAD, purpose="closing")
    log.reopen(ref, "Lena", "closed in error", actor=LEAD)
    entries = AuditTrail(store_url).entries()
    assert [(e.action, e.detail) for e in entries] == [
        ("create", "urgency urgent"),
        ("add-event", "SG update"),
        ("close", "Concern Closed"),
        ("reopen", "Concern Reopened"),
    ]
    assert entries[2].reason == "closing"
    everything = json.dumps([e.to_dict() for e in entries])
    for secret in ("Child B", "taken away", "police", "in error"):
        assert secret not in everything


def test_an_event_and_its_audit_entry_commit_together(store_url: str) -> None:  # noqa: F811
    log = ConcernLog(store_url, key=KEY)
    ref = log.record(draft()).reference
    with pytest.raises(ConcernLogError, match="reason is longer than 500"):
        log.add_event(ref, "SG update", "rang MASH", "Lena", actor=LEAD, reason="r" * 600)
    assert [e.type for e in log.chronology(ref)] == ["Concern Raised"]  # event rolled back
    assert len(AuditTrail(store_url).entries()) == 1


def test_append_joins_the_callers_transaction(store_url: str) -> None:  # noqa: F811
    trail = AuditTrail(store_url)
    with pytest.raises(RuntimeError):
        with transaction(trail.sessions) as session:
            append(session, LEAD, "view", concern_ref="SG-2222-2222")
            raise RuntimeError("the caller's work failed")
    assert trail.entries() == []


def test_a_concern_whose_audit_entry_fails_is_not_saved_and_not_called_incomplete(
    store_url: str,  # noqa: F811
) -> None:
    """InvalidConcern would tell reporting.raise_concern the draft is incomplete and must not
    be spooled; an audit failure is a plain ConcernLogError so the concern is kept."""
    from bot.records.concern_log import InvalidConcern

    log = ConcernLog(store_url, key=KEY)
    with pytest.raises(ConcernLogError, match="could not write the audit trail") as caught:
        log.record(draft(), actor=LEAD, reason="r" * 501)
    assert not isinstance(caught.value, InvalidConcern)
    assert log.list() == [] and AuditTrail(store_url).entries() == []
