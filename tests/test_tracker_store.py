"""The production tracker store holds no readable disclosure (bot/rasa/tracker_store.py).

Every test runs on SQLite and on a real PostgreSQL server (`store_url`). "Raw bytes" means
the database files themselves: the SQLite file, and PostgreSQL's whole data directory
(tables and write-ahead log) after a CHECKPOINT, with a positive control proving the scan
finds text that really is stored in clear.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from rasa.core.tracker_store import create_tracker_store
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.utils.endpoints import EndpointConfig

from bot.rasa import tracker_store
from bot.rasa.tracker_store import REDACTED, TYPE, ProtectedSQLTrackerStore, TrackerStoreError
from tests import pg_server
from tests.conftest import ROOT

CHILD = "Mr Quillfeather locks me in the coal shed every Tuesday"
NAME = "Zephyrine Okonkwo-Blyth"
OBSERVED = "bruise shaped like a signet ring on her wrist"


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(ROOT / "domain.yml"))


@pytest.fixture
def key() -> bytes:
    return Fernet.generate_key()


def run(coro):  # noqa: ANN001, ANN201
    return asyncio.run(coro)


def make_store(url: str, domain: Domain, key: bytes, **kwargs) -> ProtectedSQLTrackerStore:  # noqa: ANN003
    return ProtectedSQLTrackerStore(domain=domain, host=url, key=key, **kwargs)


def user(text: str, intent: str = "inform") -> UserUttered:
    return UserUttered(
        text,
        intent={"name": intent, "confidence": 0.9},
        entities=[{"entity": "name", "value": text.split()[0], "start": 0, "end": 3}],
        parse_data={
            "intent": {"name": intent, "confidence": 0.9},
            "intent_ranking": [{"name": intent, "confidence": 0.9}],
            "entities": [],
            "text": text,
            "triage": {
                "urgency": "urgent",
                "detected": "routine",
                "classified": "urgent",
                "signs": [],
            },
        },
        metadata={"raw": text},
    )


def mid_form_events() -> list:
    # As Rasa does it: the session-start action's SessionStarted is made (timestamped)
    # before the ActionExecuted logged ahead of it, so both belong to the session.
    started = SessionStarted()
    return [
        ActionExecuted("action_session_start"),
        started,
        ActionExecuted("action_listen"),
        user("a girl told me something worrying", "start_disclosure"),
        ActionExecuted("disclosure_form"),
        ActiveLoop("disclosure_form"),
        SlotSet("requested_slot", "child_identity"),
        ActionExecuted("action_listen"),
        user(NAME),
        ActionExecuted("disclosure_form"),
        SlotSet("child_identity", NAME),
        SlotSet("requested_slot", "child_words"),
        ActionExecuted("action_listen"),
        user(CHILD),
        ActionExecuted("disclosure_form"),
        SlotSet("child_words", CHILD),
        SlotSet("suggested_categories", ["physical"]),
        SlotSet("requested_slot", "observations"),
        BotUttered(f"What did you see? You said: {CHILD}", metadata={"utter_action": "x"}),
        ActionExecuted("action_listen"),
        user(OBSERVED),
        ActionExecuted("disclosure_form"),
        SlotSet("observations", OBSERVED),
        SlotSet("language_pending", {"text": OBSERVED, "rules": []}),
    ]


def submit_events(how: str = "saved") -> list:
    """The events of the turn that finishes a disclosure, as the actions return them:
    saved by the form as the worker confirms (actions/disclosure_form.save_record), or
    cancelled (action_cancel_disclosure)."""
    from actions.disclosure_form import FORM_STATE_SLOTS

    cleared = [SlotSet(slot, None) for slot in FORM_STATE_SLOTS]
    if how == "saved":
        finish = [
            ActionExecuted("disclosure_form"),
            BotUttered(f"Saved. Your reference is SG-2345-6789. Summary: {CHILD}"),
            *cleared,
            SlotSet("requested_slot", None),
            SlotSet("concern_closed", True),
            SlotSet("concern_ref", "SG-2345-6789"),
            ActiveLoop(None),
        ]
    else:
        finish = [
            ActionExecuted("action_cancel_disclosure"),
            BotUttered(f"Cancelled: nothing was saved. {CHILD}"),
            ActiveLoop(None),
            SlotSet("requested_slot", None),
            *cleared,
            SlotSet("concern_closed", True),
        ]
    return [ActionExecuted("action_listen"), user("/affirm", "affirm"), *finish]


def save_events(store, sender: str, events: list, domain: Domain):  # noqa: ANN001, ANN201
    """Save turn by turn, as Rasa does (the store sees only the new events each time)."""
    tracker = run(store.retrieve(sender)) or store.init_tracker(sender)
    for event in events:
        tracker.update(event, domain)
        if isinstance(event, ActionExecuted) and event.action_name == "action_listen":
            run(store.save(tracker))
    run(store.save(tracker))
    return tracker


def raw_db_bytes(url: str, store) -> bytes:  # noqa: ANN001
    """Every byte the database keeps on disk."""
    if url.startswith("sqlite"):
        path = Path(url.split("sqlite:///", 1)[1])
        store.engine.dispose()
        return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*") if p.is_file())
    store.engine.dispose()
    return pg_server.raw_bytes_on_disk(url)


def all_texts_with_key(store) -> str:  # noqa: ANN001
    """Everything in the events table, with every sealed token opened."""
    out = []
    with store.engine.connect() as connection:
        for (data,) in connection.execute(sa.text("SELECT data FROM events")):
            stored = json.loads(data)
            out.append(data)
            if "sealed" in stored:
                out.append(json.dumps(store.open_event(stored), ensure_ascii=False))
    return "\n".join(out)


def test_endpoint_type_string_builds_this_store(store_url: str, domain: Domain) -> None:
    store = create_tracker_store(EndpointConfig(url=store_url, type=TYPE, retention_days=3), domain)
    assert type(store) is ProtectedSQLTrackerStore
    assert store.retention_days == 3


def test_mid_form_nothing_readable_and_a_restart_loses_nothing(
    store_url: str, domain: Domain, key: bytes
) -> None:
    store = make_store(store_url, domain, key)
    sender = "worker-" + uuid.uuid4().hex[:6]
    save_events(store, sender, mid_form_events(), domain)

    raw = raw_db_bytes(store_url, store)
    for secret in (CHILD, NAME, OBSERVED, "coal shed", "Quillfeather"):
        assert secret.encode() not in raw, secret

    # "Restart Rasa": a new store on the same database, same key.
    again = make_store(store_url, domain, key)
    tracker = run(again.retrieve(sender))
    assert tracker.get_slot("child_words") == CHILD
    assert tracker.get_slot("child_identity") == NAME
    assert tracker.get_slot("observations") == OBSERVED
    assert tracker.active_loop_name == "disclosure_form"
    assert tracker.latest_message.text == OBSERVED
    assert tracker.latest_message.intent["name"] == "inform"

    # ... and the conversation carries on from where it was.
    tracker.update(ActionExecuted("action_listen"))
    tracker.update(user("at the youth club on Friday"))
    tracker.update(SlotSet("when_where", "at the youth club on Friday"))
    run(again.save(tracker))
    third = run(make_store(store_url, domain, key).retrieve(sender))
    assert third.get_slot("when_where") == "at the youth club on Friday"
    assert third.get_slot("child_words") == CHILD
    assert len(third.events) == len(tracker.events)


def test_another_key_cannot_read_the_conversation(
    store_url: str, domain: Domain, key: bytes
) -> None:
    store = make_store(store_url, domain, key)
    sender = "worker-" + uuid.uuid4().hex[:6]
    save_events(store, sender, mid_form_events(), domain)
    stranger = make_store(store_url, domain, Fernet.generate_key())
    with pytest.raises(TrackerStoreError, match="cannot decrypt"):
        run(stranger.retrieve(sender))


def test_clear_control_is_found_by_the_raw_scan(store_url: str, domain: Domain, key: bytes) -> None:
    """The raw scan can fail: text stored in clear in the same database is found."""
    store = make_store(store_url, domain, key)
    control = "control-" + uuid.uuid4().hex
    with store.engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE plain_control (t TEXT)"))
        connection.execute(sa.text("INSERT INTO plain_control VALUES (:t)"), {"t": control})
    assert control.encode() in raw_db_bytes(store_url, store)


@pytest.mark.parametrize("finishing", ["saved", "cancelled"])
def test_finished_disclosure_is_redacted_even_for_the_key_holder(
    store_url: str, domain: Domain, key: bytes, finishing: str
) -> None:
    store = make_store(store_url, domain, key)
    sender = "worker-" + uuid.uuid4().hex[:6]
    saved = save_events(store, sender, mid_form_events() + submit_events(finishing), domain)

    raw = raw_db_bytes(store_url, store)
    readable = all_texts_with_key(store)
    for secret in (CHILD, NAME, OBSERVED, "coal shed", "signet", "Zephyrine"):
        assert secret.encode() not in raw, secret
        assert secret not in readable, secret
    assert REDACTED in readable

    tracker = run(make_store(store_url, domain, key).retrieve(sender))
    users = [e for e in tracker.events if isinstance(e, UserUttered)]
    # Structure and intents kept; every text gone.
    assert [u.intent_name for u in users] == [
        "start_disclosure",
        "inform",
        "inform",
        "inform",
        "affirm",
    ]
    assert {u.text for u in users} == {REDACTED}
    assert all(not u.entities for u in users)
    assert all(
        set(u.parse_data.get("triage", {})) <= {"urgency", "detected", "classified"} for u in users
    )
    assert {b.text for b in tracker.events if isinstance(b, BotUttered)} == {REDACTED}
    if finishing == "saved":
        assert tracker.get_slot("concern_ref") == "SG-2345-6789"
    assert tracker.get_slot("child_words") is None
    assert tracker.active_loop_name is None
    # Every event is still there, in order (only texts changed).
    assert [e.type_name for e in tracker.events] == [e.type_name for e in saved.events]

    # The conversation continues, and new messages are sealed again (until the next finish).
    later = "a second worry about Bartholomew"
    tracker.update(ActionExecuted("action_listen"))
    tracker.update(user(later))
    run(store.save(tracker))
    assert later.encode() not in raw_db_bytes(store_url, store)
    assert run(make_store(store_url, domain, key).retrieve(sender)).latest_message.text == later


def test_failed_save_keeps_the_answers_sealed_not_redacted(
    store_url: str, domain: Domain, key: bytes
) -> None:
    """The save failed (the form asks to confirm again): the answers must still be there."""
    store = make_store(store_url, domain, key)
    sender = "worker-" + uuid.uuid4().hex[:6]
    failed = [
        ActionExecuted("action_listen"),
        user("/affirm", "affirm"),
        ActionExecuted("disclosure_form"),
        BotUttered("I could NOT save this record"),
        SlotSet("confirm_record", None),
        SlotSet("requested_slot", "confirm_record"),
        BotUttered(f"Please check: {CHILD}"),
    ]
    save_events(store, sender, mid_form_events() + failed, domain)
    tracker = run(make_store(store_url, domain, key).retrieve(sender))
    assert tracker.get_slot("child_words") == CHILD
    assert CHILD.encode() not in raw_db_bytes(store_url, store)


def test_other_conversations_are_not_redacted(store_url: str, domain: Domain, key: bytes) -> None:
    store = make_store(store_url, domain, key)
    finished, ongoing = "worker-a-" + uuid.uuid4().hex[:6], "worker-b-" + uuid.uuid4().hex[:6]
    save_events(store, ongoing, mid_form_events(), domain)
    save_events(store, finished, mid_form_events() + submit_events(), domain)
    assert run(store.retrieve(ongoing)).get_slot("child_words") == CHILD


def test_retention_purges_old_conversations_only(
    store_url: str, domain: Domain, key: bytes
) -> None:
    store = make_store(store_url, domain, key, retention_days=7)
    old, recent = "old-" + uuid.uuid4().hex[:6], "recent-" + uuid.uuid4().hex[:6]
    save_events(store, old, mid_form_events(), domain)
    time.sleep(0.01)
    cutoff_point = time.time()
    time.sleep(0.01)
    save_events(store, recent, mid_form_events(), domain)
    # "now" is 7 days after the first conversation ended, but not after the second.
    assert store.purge_expired(now=cutoff_point + 7 * 86400) == 1
    assert run(store.retrieve(old)) is None
    assert run(store.retrieve(recent)).get_slot("child_words") == CHILD


def test_retention_off_keeps_everything(store_url: str, domain: Domain, key: bytes) -> None:
    store = make_store(store_url, domain, key, retention_days=0)
    sender = "w-" + uuid.uuid4().hex[:6]
    save_events(store, sender, mid_form_events(), domain)
    assert store.purge_expired(now=time.time() + 1000 * 86400) == 0
    assert run(store.retrieve(sender)) is not None


@pytest.mark.parametrize("bad", ["-1", "soon"])
def test_bad_retention_is_one_plain_line(
    bad: str, domain: Domain, tmp_path: Path, key: bytes
) -> None:
    with pytest.raises(ValueError, match="retention_days"):
        make_store(f"sqlite:///{tmp_path / 'x.db'}", domain, key, retention_days=bad)


def test_redact_event_keeps_structure() -> None:
    event = user(CHILD).as_dict()
    out = tracker_store.redact_event(event)
    assert out["parse_data"]["intent"]["name"] == "inform"
    assert CHILD not in json.dumps(out)
    slot = SlotSet("concern_ref", "SG-2345-6789").as_dict()
    assert tracker_store.redact_event(slot) == slot
    assert tracker_store.redact_event(SlotSet("categories", ["x"]).as_dict())["value"] == [REDACTED]
    assert tracker_store.redact_event(SlotSet("danger_now", True).as_dict())["value"] is True


def test_finishes_disclosure_signal() -> None:
    for how in ("saved", "cancelled"):
        assert tracker_store.finishes_disclosure([e.as_dict() for e in submit_events(how)])
    assert not tracker_store.finishes_disclosure([SlotSet("concern_closed", None).as_dict()])
    # The form clearing a slot for a correction is not a finish.
    correction = [
        ActionExecuted("action_start_correction").as_dict(),
        SlotSet("child_words", None).as_dict(),
    ]
    assert not tracker_store.finishes_disclosure(correction)
    # Nor is the form refusing an answer (too long, or wording to check), nor the form
    # ending with every answer in, nor a failed save asking again.
    validation = [
        ActionExecuted("disclosure_form").as_dict(),
        SlotSet("observations", None).as_dict(),
        SlotSet("requested_slot", "observations").as_dict(),
    ]
    assert not tracker_store.finishes_disclosure(validation)
    ended = [
        ActionExecuted("disclosure_form").as_dict(),
        SlotSet("requested_slot", None).as_dict(),
        ActiveLoop(None).as_dict(),
    ]
    assert not tracker_store.finishes_disclosure(ended)
    asks_again = [
        ActionExecuted("disclosure_form").as_dict(),
        SlotSet("confirm_record", None).as_dict(),
    ]
    assert not tracker_store.finishes_disclosure(asks_again)


def test_sqlite_overwrites_freed_pages(domain: Domain, key: bytes, tmp_path: Path) -> None:
    store = make_store(f"sqlite:///{tmp_path / 't.db'}", domain, key)
    with store.engine.connect() as connection:
        assert connection.execute(sa.text("PRAGMA secure_delete")).scalar() == 1
