"""One incident, one concern (bot.records.incidents, bot.paging.reporting): the first signal of a
conversation raises a concern and its page chain; later danger and the finished record are
dated events on that concern; a different conversation, a quiet window or the worker saying
"new concern" starts another."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.core import clock
from bot.core.people import Worker
from bot.paging import reporting
from bot.paging.models import Page
from bot.records import incidents
from bot.records.concern_log import ConcernLog
from bot.records.db import make_engine, session_factory, transaction

WORKER = Worker(id="worker-1", name="Jo Worker", contact="07700 900555")


@pytest.fixture(autouse=True)
def fresh_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SAFEGUARD_VAR", str(tmp_path))
    monkeypatch.setenv("SAFEGUARD_DB_URL", f"sqlite:///{tmp_path / 'concerns.sqlite3'}")
    monkeypatch.setenv("SAFEGUARD_NOW", "2026-12-04T21:40")
    monkeypatch.setenv("SAFEGUARD_ORG", "childrens-society")
    monkeypatch.delenv(incidents.WINDOW_ENV, raising=False)
    return tmp_path


def pages() -> list[Page]:
    with session_factory(make_engine())() as session:
        return list(session.scalars(select(Page)))


def draft(**answers: str):  # noqa: ANN201
    values = {
        "child_identity": "Ellie (ref TCS-4471)",
        "child_age": "13",
        "child_words": "he comes in my room and said he'd hurt my brother if I told",
        "observations": "shaking, kept looking at the door",
        "when_where": "youth club, 20:30 tonight",
        "others_involved": "mum's partner",
        "actions_taken": "rang the on-call manager",
        "worker_view": "she is frightened of going home",
        "danger_answer": "she's going home tonight and he'll be there",
        **answers,
    }
    return reporting.draft_from_answers(values, ["sexual"], "immediate", WORKER)


def test_a_second_danger_signal_is_an_event_on_the_first_concern() -> None:
    first = reporting.raise_alarm(WORKER, "he's outside with a knife", conversation="chat-1")
    second = reporting.raise_alarm(WORKER, "he's come back, shouting", conversation="chat-1")
    assert first.saved and not first.extended
    assert second.saved and second.extended and second.reference == first.reference
    [concern] = ConcernLog().list()
    texts = [e.text for e in ConcernLog().chronology(concern.reference)]
    assert any("he's come back, shouting" in t for t in texts)
    assert len(pages()) == 1


def test_the_finished_record_is_added_to_the_alarms_concern_verbatim() -> None:
    alarm = reporting.raise_alarm(WORKER, "she's going home tonight", conversation="chat-1")
    record = draft()
    saved = reporting.raise_concern(record, worker=WORKER, conversation="chat-1")
    assert saved.saved and saved.record_added and saved.reference == alarm.reference
    [concern] = ConcernLog().list()
    [added] = [e for e in ConcernLog().chronology(concern.reference) if "completed" in e.text]
    for value in (
        record.child,
        record.child_age,
        record.child_words,
        record.observations,
        record.happened_when,
        record.others_involved,
        record.actions_taken,
        record.worker_view,
        record.danger_answer,
    ):
        assert value in added.text
    [page] = pages()
    # The alarm knew no category ("other"); the finished record's ride on its updates.
    assert page.category == "sexual"


def test_a_record_first_then_danger_extends_the_records_concern() -> None:
    saved = reporting.raise_concern(draft(), worker=WORKER, conversation="chat-1")
    later = reporting.raise_alarm(WORKER, "he's turned up outside", conversation="chat-1")
    assert later.extended and later.reference == saved.reference
    assert len(ConcernLog().list()) == 1 and len(pages()) == 1


def test_two_conversations_are_two_concerns() -> None:
    reporting.raise_alarm(WORKER, "danger now", conversation="chat-1")
    reporting.raise_alarm(WORKER, "danger now", conversation="chat-2")
    assert len(ConcernLog().list()) == 2 and len(pages()) == 2


def test_without_a_conversation_every_alarm_is_its_own_concern() -> None:
    """Callers that cannot say which conversation (the CLI, old spool files) keep the old
    behaviour: a page too many is better than none."""
    reporting.raise_alarm(WORKER, "danger now")
    reporting.raise_alarm(WORKER, "danger now")
    assert len(ConcernLog().list()) == 2


def test_the_worker_saying_new_concern_ends_the_incident() -> None:
    first = reporting.raise_alarm(WORKER, "danger now", conversation="chat-1")
    assert reporting.open_concern_for("chat-1").concern_ref == first.reference
    assert reporting.end_incident("chat-1") == first.reference
    assert reporting.open_concern_for("chat-1") is None
    second = reporting.raise_alarm(WORKER, "a different child, danger now", conversation="chat-1")
    assert second.reference != first.reference and not second.extended
    assert reporting.end_incident("nobody") is None


def test_a_quiet_conversation_starts_a_new_incident(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(incidents.WINDOW_ENV, "2")
    first = reporting.raise_alarm(WORKER, "danger now", conversation="chat-1")
    monkeypatch.setenv("SAFEGUARD_NOW", "2026-12-05T00:41")  # 3 hours later
    second = reporting.raise_alarm(WORKER, "danger again", conversation="chat-1")
    assert second.reference != first.reference
    # Within the window, a signal keeps the incident open for another window.
    monkeypatch.setenv("SAFEGUARD_NOW", "2026-12-05T02:30")
    third = reporting.raise_alarm(WORKER, "more", conversation="chat-1")
    assert third.reference == second.reference and third.extended


def test_a_signal_timed_ahead_of_the_logs_clock_is_still_recorded() -> None:
    first = reporting.raise_alarm(WORKER, "danger now", conversation="chat-1")
    ahead = clock.now() + timedelta(minutes=5)
    second = reporting.raise_alarm(WORKER, "danger again", now=ahead, conversation="chat-1")
    assert second.saved and second.reference == first.reference


def test_one_open_incident_per_conversation_is_enforced_by_the_database() -> None:
    reporting.raise_alarm(WORKER, "danger now", conversation="chat-1")
    log = reporting.concern_log()
    key = incidents.conversation_key("chat-1")
    with transaction(log.sessions) as session:
        row = incidents.find_open(session, key, clock.now())
        concern = session.get(incidents.Incident, row.id)
        with pytest.raises(incidents.IncidentConflict):
            incidents.open_incident(session, key, concern, clock.now())
    with pytest.raises(Exception, match="UNIQUE|unique"):
        with transaction(log.sessions) as session:
            session.add(
                incidents.Incident(
                    conversation=key,
                    concern_id=row.concern_id,
                    concern_ref=row.concern_ref,
                    opened_at=row.opened_at,
                    last_signal_at=row.last_signal_at,
                )
            )


def test_the_table_holds_no_sender_id() -> None:
    reporting.raise_alarm(WORKER, "danger now", conversation="telegram-5551234")
    log = reporting.concern_log()
    with session_factory(log.engine)() as session:
        [row] = session.scalars(select(incidents.Incident)).all()
    assert "5551234" not in row.conversation and len(row.conversation) == 64


def test_with_the_database_down_the_danger_is_kept_in_the_spool(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    reporting.raise_alarm(WORKER, "danger now", conversation="chat-1")
    monkeypatch.setenv("SAFEGUARD_DB_URL", f"sqlite:///{tmp_path}/missing-dir/x.sqlite3")
    later = reporting.raise_alarm(WORKER, "danger again", conversation="chat-1")
    assert later.spooled and not later.saved
