"""Who sees what (bot.records.concern_access), both ways, on SQLite and PostgreSQL; every read,
write and refusal is audited. Chat actions (actions/leads.py) too."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.core.people import Worker
from bot.records.audit import Actor, AuditTrail
from bot.records.concern_access import (
    AccessDenied,
    ConcernAccess,
    ReasonRequired,
    UnknownPerson,
    actor_for_chat,
    actor_from_roster,
    may_change,
    may_see,
)
from bot.records.concern_log import KIND_CLOSED, KIND_UPDATE, ConcernLog, ConcernNotFound
from tests.audit_helpers import draft, use_roster
from tests.pg_server import postgres_url, store_url  # noqa: F401 - fixtures

KEY = Fernet.generate_key().decode()


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SAFEGUARD_NOW", "2026-11-23T16:00")
    monkeypatch.setenv("SAFEGUARD_ORG", "crasac")
    monkeypatch.setenv("SAFEGUARD_KEY", KEY)
    monkeypatch.delenv("SAFEGUARD_USER", raising=False)
    use_roster(monkeypatch, tmp_path)


@pytest.fixture
def log(store_url: str) -> ConcernLog:  # noqa: F811
    return ConcernLog(store_url, key=KEY)


def who(person_id: str) -> Actor:
    return actor_from_roster(person_id)


def seed(log: ConcernLog) -> dict[str, str]:
    """One concern raised by Wes in chat (his chat id 7101), one by Wyn on the command line
    (his roster id), one by someone not in the roster, one of another organisation."""
    return {
        "wes": log.record(draft(worker_id="7101", worker_name="Wes Worker")).reference,
        "wyn": log.record(draft(worker_id="wyn", worker_name="Wyn Worker")).reference,
        "guest": log.record(draft(worker_id="555", worker_name="worker 555")).reference,
        "other-org": log.record(draft(worker_id="wyn", org="leics-seips")).reference,
    }


def audit_rows(log: ConcernLog) -> list[tuple[str, str, str | None, str]]:
    return [
        (e.person_id, e.action, e.concern_ref, e.detail)
        for e in AuditTrail(engine=log.engine, migrate=False).entries()
        if e.action != "create"
    ]


# --------------------------------------------------------------------------- who is acting


def test_actor_comes_from_the_roster(monkeypatch: pytest.MonkeyPatch) -> None:
    lena = who("lena")
    assert (lena.id, lena.name, lena.role, lena.channel) == ("lena", "Lena Lead", "lead", "cli")
    assert lena.own_ids == {"lena", "7001"}
    monkeypatch.setenv("SAFEGUARD_USER", "wes")
    assert actor_from_roster(None).role == "worker"


def test_unknown_or_missing_person_is_refused_in_one_line() -> None:
    with pytest.raises(UnknownPerson, match="'mallory' is not in the roster") as caught:
        who("mallory")
    assert "\n" not in str(caught.value)
    with pytest.raises(UnknownPerson, match="say who you are: --as PERSON_ID or SAFEGUARD_USER"):
        actor_from_roster("  ")


def test_chat_actor_by_chat_id_or_as_a_worker() -> None:
    lena = actor_for_chat(Worker(id="7001", name="Lena Lead", role="lead"))
    assert (lena.id, lena.role, lena.channel) == ("lena", "lead", "chat")
    wes = actor_for_chat(Worker(id="7101", name="Wes Worker", role="worker"))
    assert (wes.id, wes.role) == ("wes", "worker") and "7101" in wes.own_ids
    stranger = actor_for_chat(Worker(id="555", name="worker 555"))
    assert (stranger.id, stranger.role) == ("555", "worker")
    # Staff approved in chat (not in the roster) keep the role the chat layer gives them.
    approved = actor_for_chat(Worker(id="8800", name="Pat", role="deputy"))
    assert approved.role == "deputy"


# --------------------------------------------------------------------------- the rules, both ways


def test_workers_see_only_their_own_and_leads_see_all_of_the_organisation(
    log: ConcernLog,
) -> None:
    refs = seed(log)
    views = {v.reference: v for v in log.list()}
    expected = {
        "lena": {"wes", "wyn", "guest"},
        "dev": {"wes", "wyn", "guest"},
        "ada": {"wes", "wyn", "guest"},
        "wes": {"wes"},  # raised in chat under his chat id
        "wyn": {"wyn"},  # not his concern in another organisation either
    }
    for person, allowed in expected.items():
        actor = who(person)
        seen = {name for name, ref in refs.items() if may_see(actor, views[ref])}
        assert seen == allowed, person
        listed = ConcernAccess(log, actor).list()
        assert {v.reference for v in listed} == {refs[name] for name in allowed}, person
    guest = actor_for_chat(Worker(id="555", name="worker 555"))
    assert [v.reference for v in ConcernAccess(log, guest).list()] == [refs["guest"]]


def test_who_may_close_reopen_and_add(log: ConcernLog) -> None:
    refs = seed(log)
    mine = log.get(refs["wyn"])
    assert may_change(who("lena"), mine, KIND_CLOSED) and may_change(who("dev"), mine, KIND_CLOSED)
    assert not may_change(who("ada"), mine, KIND_CLOSED)  # admins see, leads decide
    assert not may_change(who("wyn"), mine, KIND_CLOSED)
    assert may_change(who("wyn"), mine, KIND_UPDATE)  # a worker may add to their own
    assert not may_change(who("wes"), mine, KIND_UPDATE)


def test_a_worker_reading_someone_elses_concern_is_refused_and_audited(log: ConcernLog) -> None:
    refs = seed(log)
    wes = ConcernAccess(log, who("wes"))
    with pytest.raises(AccessDenied, match="not among the concerns you can see") as refused:
        wes.show(refs["wyn"], reason="curious")
    # ... and reads exactly like a reference that does not exist: nothing to probe.
    with pytest.raises(AccessDenied) as missing:
        wes.show("SG-2222-2222", reason="curious")
    assert str(missing.value).replace("SG-2222-2222", refs["wyn"]) == str(refused.value)
    view, events = wes.show(refs["wes"], reason="checking what I wrote")
    assert view.reference == refs["wes"] and [e.type for e in events] == ["Concern Raised"]
    assert audit_rows(log) == [
        ("wes", "refused", refs["wyn"], "view"),
        ("wes", "view", refs["wes"], ""),
    ]


def test_leads_read_with_a_reason_and_it_is_kept(log: ConcernLog) -> None:
    refs = seed(log)
    lena = ConcernAccess(log, who("lena"))
    with pytest.raises(ReasonRequired, match="say why you are reading this concern"):
        lena.show(refs["wes"], reason=" ")
    lena.show(refs["wes"], reason="strategy meeting")
    lena.show(refs["wyn"], reason="LADO asked", export=True)
    with pytest.raises(AccessDenied, match="belongs to another organisation"):
        lena.show(refs["other-org"], reason="x")
    with pytest.raises(ConcernNotFound):
        lena.show("SG-2222-2222", reason="x")
    entries = [
        e for e in AuditTrail(engine=log.engine, migrate=False).entries() if e.action != "create"
    ]
    assert [(e.action, e.concern_ref, e.reason) for e in entries] == [
        ("view", refs["wes"], "strategy meeting"),
        ("export", refs["wyn"], "LADO asked"),
        ("refused", refs["other-org"], "x"),
    ]
    assert all((e.person_id, e.role, e.channel) == ("lena", "lead", "cli") for e in entries)


def test_writes_both_ways_and_audited(log: ConcernLog) -> None:
    refs = seed(log)
    wyn = ConcernAccess(log, who("wyn"))
    wyn.add_event(refs["wyn"], "Worker update", "Mum rang me", reason="follow-up")
    with pytest.raises(AccessDenied, match="may not close"):
        wyn.close(refs["wyn"], "sorted")
    with pytest.raises(AccessDenied, match="not among the concerns you can see"):
        wyn.add_event(refs["wes"], "Worker update", "x")
    with pytest.raises(AccessDenied, match="may not close"):
        ConcernAccess(log, who("ada")).close(refs["wyn"], "tidying up")
    dev = ConcernAccess(log, who("dev"))
    dev.close(refs["wyn"], "Held by police")
    dev.reopen(refs["wyn"], "Closed in error")
    chronology = [(e.type, e.by) for e in log.chronology(refs["wyn"])]
    assert chronology[1:] == [
        ("Worker update", "Wyn Worker"),
        ("Concern Closed", "Dev Deputy"),
        ("Concern Reopened", "Dev Deputy"),
    ]
    assert audit_rows(log) == [
        ("wyn", "add-event", refs["wyn"], "Worker update"),
        ("wyn", "refused", refs["wyn"], "close"),
        ("wyn", "refused", refs["wes"], "add-event"),
        ("ada", "refused", refs["wyn"], "close"),
        ("dev", "close", refs["wyn"], "Concern Closed"),
        ("dev", "reopen", refs["wyn"], "Concern Reopened"),
    ]


def test_lists_are_audited_with_the_references_shown(log: ConcernLog) -> None:
    refs = seed(log)
    ConcernAccess(log, who("wes")).list(open_only=True, reason="my concerns")
    (entry,) = [e for e in AuditTrail(engine=log.engine, migrate=False).entries()
                if e.action == "list"]  # fmt: skip
    assert (entry.person_id, entry.reason) == ("wes", "my concerns")
    assert entry.detail == f"1 shown (open only): {refs['wes']}"


# --------------------------------------------------------------------------- chat


def make_tracker(text: str, sender: str) -> Tracker:
    return Tracker.from_dict(
        {
            "sender_id": sender,
            "slots": {},
            "latest_message": {"text": text, "intent": {"name": "x", "confidence": 1.0}},
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        }
    )


def say(action, text: str, sender: str) -> str:  # noqa: ANN001
    dispatcher = CollectingDispatcher()
    assert asyncio.run(action.run(dispatcher, make_tracker(text, sender), {})) == []
    return "\n".join(m.get("text") or "" for m in dispatcher.messages)


@pytest.fixture
def chat_log(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> ConcernLog:
    url = f"sqlite:///{tmp_path / 'chat.sqlite3'}"
    monkeypatch.setenv("SAFEGUARD_DB_URL", url)
    monkeypatch.setenv("SAFEGUARD_VAR", str(tmp_path / "var"))
    return ConcernLog(url, key=KEY)


def test_chat_worker_sees_only_their_own_open_concerns(chat_log: ConcernLog) -> None:
    from actions.leads import ListOpenConcerns

    refs = seed(chat_log)
    reply = say(ListOpenConcerns(), "show open concerns", "7101")
    assert reply.startswith("You raised 1 open concern(s).")
    assert refs["wes"] in reply and refs["wyn"] not in reply and refs["guest"] not in reply
    assert "Wyn" not in reply and "Child B" not in reply
    assert "no open concerns" in say(ListOpenConcerns(), "show open concerns", "999")
    lead_reply = say(ListOpenConcerns(), "show open concerns", "7001")
    assert lead_reply.startswith("3 open concern(s):")
    assert all(refs[n] in lead_reply for n in ("wes", "wyn", "guest"))
    assert refs["other-org"] not in lead_reply
    lists = [
        (e.person_id, e.channel, e.reason)
        for e in AuditTrail(engine=chat_log.engine, migrate=False).entries()
        if e.action == "list"
    ]
    assert lists == [
        ("wes", "chat", "chat: show open concerns"),
        ("999", "chat", "chat: show open concerns"),
        ("lena", "chat", "chat: show open concerns"),
    ]


def test_chat_worker_may_not_add_lead_updates(chat_log: ConcernLog) -> None:
    from actions.leads import RecordLeadUpdate

    refs = seed(chat_log)
    text = f"update {refs['wes']}: spoke to MASH"
    assert "Only Safeguarding Leads can add updates" in say(RecordLeadUpdate(), text, "7101")
    assert [e.type for e in chat_log.chronology(refs["wes"])] == ["Concern Raised"]
    reply = say(RecordLeadUpdate(), text, "7001")
    assert reply.startswith(f"Added to {refs['wes']}: SG update")
    assert [(e.type, e.by, e.text) for e in chat_log.chronology(refs["wes"])][1:] == [
        ("SG update", "Lena Lead", "spoke to MASH")
    ]
    assert audit_rows(chat_log) == [
        ("wes", "refused", refs["wes"], "add-event"),
        ("lena", "add-event", refs["wes"], "SG update"),
    ]
    reply = say(RecordLeadUpdate(), f"update {refs['other-org']}: x", "7001")
    assert reply.startswith("Not recorded:") and "another organisation" in reply
