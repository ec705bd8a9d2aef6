"""The concern log store, run on SQLite and on a real PostgreSQL server (same suite)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from itertools import pairwise

import pytest
from cryptography.fernet import Fernet, MultiFernet
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from bot.core.clock import LONDON
from bot.records.concern_log import (
    CRASAC_EVENT_TYPES,
    DEFAULT_EVENT_TYPES,
    REFERENCE_PATTERN,
    ConcernDraft,
    ConcernEvent,
    ConcernLog,
    ConcernLogError,
    ConcernNotFound,
    ConcernRecord,
    EventTypes,
    InvalidConcern,
    UnknownEventType,
    normalise_reference,
)
from tests.pg_server import postgres_url, store_url  # noqa: F401 - fixtures

KEY = Fernet.generate_key()
WORDS = (
    "  He said \"don't tell mum\" — and that it happens when she's at work.\n\n"
    "I promised nothing. 🙁 "
)


def draft(**changes: object) -> ConcernDraft:
    base: dict[str, object] = dict(
        urgency="urgent",
        worker_id="w-017",
        worker_name="Sam Patel",
        worker_contact="07700 900123",
        child="Child A (ref CH-22)",
        child_age="14",
        child_words=WORDS,
        observations="Bruise on left forearm, about 3 cm.",
        categories=["physical abuse", "neglect"],
        happened_when="Most weekends",
        happened_where="At home",
        disclosed_at=datetime(2026, 11, 23, 15, 40, tzinfo=LONDON),
        others_involved="Mum's partner named",
        actions_taken="Listened, did not question further",
        told="Safeguarding Lead (Jo)",
        worker_view="I think she was frightened.",
        language_choices=[{"rule": "promiscuous", "chosen": "kept wording"}],
        org="crasac",
    )
    base.update(changes)
    return ConcernDraft(**base)  # type: ignore[arg-type]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    def pin(iso: str) -> None:
        monkeypatch.setenv("SAFEGUARD_NOW", iso)

    pin("2026-11-23T16:00")
    return pin


@pytest.fixture
def log(store_url: str, clock) -> Iterator[ConcernLog]:  # noqa: ANN001, F811
    concern_log = ConcernLog(store_url, key=KEY)
    yield concern_log
    concern_log.close_connections()


# --------------------------------------------------------------------------- record/get


def test_record_round_trips_every_field_verbatim(log: ConcernLog) -> None:
    saved = log.record(draft())
    got = log.get(saved.reference)
    assert got == saved
    assert got.child_words == WORDS  # not trimmed, not normalised
    assert got.child == "Child A (ref CH-22)"
    assert got.observations == "Bruise on left forearm, about 3 cm."
    assert got.worker_view == "I think she was frightened."
    assert got.categories == ("physical abuse", "neglect")
    assert got.language_choices == [{"rule": "promiscuous", "chosen": "kept wording"}]
    assert got.created_at == datetime(2026, 11, 23, 16, 0, tzinfo=LONDON)
    assert got.disclosed_at == datetime(2026, 11, 23, 15, 40, tzinfo=LONDON)
    assert got.org == "crasac"
    assert got.status == "open" and got.is_open


def test_times_keep_their_instant_across_summer_time(log: ConcernLog, clock) -> None:  # noqa: ANN001
    clock("2026-07-01T09:30")  # BST, UTC+1
    saved = log.record(draft(disclosed_at=None))
    got = log.get(saved.reference)
    assert got.created_at == datetime(2026, 7, 1, 9, 30, tzinfo=LONDON)
    assert got.created_at.utcoffset() == timedelta(hours=1)
    assert got.disclosed_at is None


def test_reference_is_short_random_and_unique(log: ConcernLog) -> None:
    refs = [log.record(draft()).reference for _ in range(25)]
    assert all(REFERENCE_PATTERN.match(ref) for ref in refs)
    assert len(set(refs)) == 25
    # Not a counter: no two consecutive references share their whole first block.
    assert len({ref[:7] for ref in refs}) > 20


def test_reference_typed_loosely_is_found(log: ConcernLog) -> None:
    ref = log.record(draft()).reference
    assert log.get(ref.lower()).reference == ref
    assert log.get(ref.replace("-", "")).reference == ref
    assert normalise_reference(f"  {ref.lower()} ") == ref


@pytest.mark.parametrize("bad", ["", "nope", "SG-1234-5678", "SG-ABCD-EFG", "SG-ABCD-EFGHI"])
def test_not_a_reference_is_a_plain_error(log: ConcernLog, bad: str) -> None:
    with pytest.raises(ConcernNotFound, match="not a concern reference"):
        log.get(bad)


def test_unknown_reference(log: ConcernLog) -> None:
    with pytest.raises(ConcernNotFound, match="no concern with reference SG-2222-2222"):
        log.get("SG-2222-2222")
    with pytest.raises(ConcernNotFound):
        log.add_event("SG-2222-2222", "SG update", "x", "Jo")
    with pytest.raises(ConcernNotFound):
        log.chronology("SG-2222-2222")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"urgency": "soon"}, "urgency 'soon' is not one of: immediate, urgent, routine"),
        ({"child": "  "}, "say who the child is"),
        ({"child_words": "", "observations": " "}, "what the child said"),
        ({"worker_id": ""}, "worker id and name"),
        ({"categories": ["ok", ""]}, "categories"),
        ({"language_choices": [object()]}, "JSON values"),
        ({"language_choices": "kept"}, "language_choices must be a list"),
        ({"child_age": 14}, "child_age must be text"),
        ({"created_at": "yesterday"}, "created_at must be a date and time"),
        ({"worker_name": "x" * 201}, "worker_name is longer than 200 characters"),
        ({"worker_id": "w" * 129}, "worker_id is longer than 128 characters"),
        ({"worker_contact": "0" * 201}, "worker_contact is longer than 200 characters"),
        ({"org": "o" * 65}, "org is longer than 64 characters"),
    ],
)
def test_incomplete_draft_is_refused_and_nothing_saved(
    log: ConcernLog, changes: dict, message: str
) -> None:
    with pytest.raises(InvalidConcern, match=re.escape(message)):
        log.record(draft(**changes))
    assert log.list() == []


def test_clock_skew_never_stops_a_concern_being_recorded(log: ConcernLog) -> None:
    ahead = datetime(2026, 11, 23, 16, 5, tzinfo=LONDON)  # the caller's clock is 5 min fast
    saved = log.record(draft(created_at=ahead))
    assert log.get(saved.reference).created_at == ahead
    assert log.chronology(saved.reference)[0].recorded_at == datetime(
        2026, 11, 23, 16, 0, tzinfo=LONDON
    )


def test_observations_alone_are_enough(log: ConcernLog) -> None:
    saved = log.record(draft(child_words="", observations="Child flinched when touched."))
    assert log.get(saved.reference).child_words == ""


def test_recording_writes_the_raised_event(log: ConcernLog) -> None:
    saved = log.record(draft())
    [raised] = log.chronology(saved.reference)
    assert raised.type == "Concern Raised" and raised.kind == "raised"
    assert raised.by == "Sam Patel"
    assert raised.happened_at == saved.created_at == raised.recorded_at


# --------------------------------------------------------------------------- chronology


def test_backdated_event_sorts_by_when_it_happened(log: ConcernLog, clock) -> None:  # noqa: ANN001
    ref = log.record(draft()).reference
    clock("2026-11-23T17:00")
    log.add_event(ref, "SG update", "Rang MASH, left message", "Sam Patel")
    clock("2026-11-23T18:00")
    early = datetime(2026, 11, 23, 15, 50, tzinfo=LONDON)
    event = log.add_event(ref, "Consultation with SGL", "Talked it through with Jo", "Sam", early)
    assert event.happened_at == early
    assert event.recorded_at == datetime(2026, 11, 23, 18, 0, tzinfo=LONDON)
    types = [e.type for e in log.chronology(ref)]
    assert types == ["Consultation with SGL", "Concern Raised", "SG update"]


def test_naive_backdate_is_london_time(log: ConcernLog) -> None:
    ref = log.record(draft()).reference
    event = log.add_event(ref, "SG update", "x", "Jo", datetime(2026, 11, 23, 10, 0))
    assert event.happened_at == datetime(2026, 11, 23, 10, 0, tzinfo=LONDON)


def test_future_event_is_refused(log: ConcernLog) -> None:
    ref = log.record(draft()).reference
    with pytest.raises(InvalidConcern, match="in the future"):
        log.add_event(ref, "SG update", "x", "Jo", datetime(2026, 11, 23, 16, 1, tzinfo=LONDON))
    assert len(log.chronology(ref)) == 1


def test_event_text_is_kept_verbatim(log: ConcernLog) -> None:
    ref = log.record(draft()).reference
    log.add_event(ref, "Worker update", "  line one\n\tline two  ", "Jo")
    assert log.chronology(ref)[-1].text == "  line one\n\tline two  "


def test_unknown_event_type_lists_the_allowed_ones(log: ConcernLog) -> None:
    ref = log.record(draft()).reference
    with pytest.raises(UnknownEventType) as info:
        log.add_event(ref, "Phoned mum", "x", "Jo")
    message = str(info.value)
    assert "\n" not in message
    assert "unknown event type 'Phoned mum'" in message
    for name in CRASAC_EVENT_TYPES[1:]:
        assert name in message
    assert "Concern Raised" not in message  # only `record` writes it


def test_event_type_matching_forgives_case_and_spacing(log: ConcernLog) -> None:
    ref = log.record(draft()).reference
    event = log.add_event(ref, "  consultation   with sgl ", "x", "Jo")
    assert event.type == "Consultation with SGL"


def test_raised_cannot_be_added_by_hand(log: ConcernLog) -> None:
    ref = log.record(draft()).reference
    with pytest.raises(InvalidConcern, match="written when the concern is recorded"):
        log.add_event(ref, "Concern Raised", "again", "Jo")


@pytest.mark.parametrize(("text_", "by"), [("", "Jo"), ("  ", "Jo"), ("x", " "), ("x", "J" * 201)])
def test_event_needs_text_and_author(log: ConcernLog, text_: str, by: str) -> None:
    ref = log.record(draft()).reference
    with pytest.raises(InvalidConcern):
        log.add_event(ref, "SG update", text_, by)


# --------------------------------------------------------------------------- status


def test_status_is_derived_from_close_and_reopen_events(log: ConcernLog, clock) -> None:  # noqa: ANN001
    ref = log.record(draft()).reference
    clock("2026-11-24T10:00")
    closed = log.close(ref, "Jo (SGL)", "Held by children's social care")
    assert closed.type == "Concern Closed" and closed.kind == "closed"
    view = log.get(ref)
    assert view.status == "closed"
    assert view.status_changed_at == datetime(2026, 11, 24, 10, 0, tzinfo=LONDON)
    with pytest.raises(InvalidConcern, match="already closed"):
        log.close(ref, "Jo", "again")
    # Signing off after the close is an ordinary event; the concern stays closed.
    log.add_event(ref, "Manager Sign off (concern closed)", "Signed off", "Jo")
    assert log.get(ref).status == "closed"
    clock("2026-11-25T09:00")
    reopened = log.reopen(ref, "Jo", "Closed by mistake: social care not yet involved")
    assert reopened.type == "Concern Reopened"
    assert log.get(ref).status == "open"
    with pytest.raises(InvalidConcern, match="only a closed concern can be reopened"):
        log.reopen(ref, "Jo", "again")
    types = [e.type for e in log.chronology(ref)]
    assert types == [
        "Concern Raised",
        "Concern Closed",
        "Manager Sign off (concern closed)",
        "Concern Reopened",
    ]


def test_closing_through_add_event_is_the_same_as_close(log: ConcernLog) -> None:
    ref = log.record(draft()).reference
    log.add_event(ref, "concern closed", "Held by police", "Jo")
    assert log.get(ref).status == "closed"


def test_status_change_cannot_be_backdated_before_the_last_one(log: ConcernLog, clock) -> None:  # noqa: ANN001
    ref = log.record(draft()).reference  # raised 16:00
    with pytest.raises(InvalidConcern, match="cannot be dated before"):
        log.close(ref, "Jo", "x", happened_at=datetime(2026, 11, 23, 15, 0, tzinfo=LONDON))
    clock("2026-11-23T18:00")
    log.close(ref, "Jo", "x", happened_at=datetime(2026, 11, 23, 17, 0, tzinfo=LONDON))
    assert log.get(ref).status_changed_at == datetime(2026, 11, 23, 17, 0, tzinfo=LONDON)


def test_list_filters_and_orders_newest_first(log: ConcernLog, clock) -> None:  # noqa: ANN001
    first = log.record(draft(worker_id="w-1")).reference
    clock("2026-11-23T17:00")
    second = log.record(draft(worker_id="w-2")).reference
    clock("2026-11-23T18:00")
    third = log.record(draft(worker_id="w-1")).reference
    log.close(second, "Jo", "held")
    assert [v.reference for v in log.list()] == [third, second, first]
    assert [v.reference for v in log.list(open_only=True)] == [third, first]
    assert [v.reference for v in log.list(worker_id="w-1")] == [third, first]
    assert [v.reference for v in log.list(open_only=True, worker_id="w-2")] == []


def test_other_organisations_event_types(store_url: str, clock) -> None:  # noqa: ANN001, F811
    types = EventTypes(
        allowed=("Logged", "Discussed with DSL", "Referral made", "Resolved"),
        raised="Logged",
        closed="Resolved",
    )
    log = ConcernLog(store_url, key=KEY, event_types=types)
    ref = log.record(draft()).reference
    assert [e.type for e in log.chronology(ref)] == ["Logged"]
    log.add_event(ref, "Referral made", "To MASH", "Jo")
    with pytest.raises(UnknownEventType, match="Discussed with DSL"):
        log.add_event(ref, "SG update", "x", "Jo")
    log.close(ref, "Jo", "done")
    assert log.get(ref).status == "closed"
    assert log.chronology(ref)[-1].type == "Resolved"


def test_event_types_must_name_their_raised_and_closed_types() -> None:
    with pytest.raises(ValueError, match="closed type 'Concern Closed'"):
        EventTypes(allowed=("Concern Raised", "SG update"))
    assert DEFAULT_EVENT_TYPES.allowed[-1] == "Concern Reopened"
    assert DEFAULT_EVENT_TYPES.allowed[:10] == CRASAC_EVENT_TYPES


def test_plain_list_of_event_types_is_accepted(store_url: str, clock) -> None:  # noqa: ANN001, F811
    log = ConcernLog(store_url, key=KEY, event_types=["Concern Raised", "Concern Closed", "Note"])
    ref = log.record(draft()).reference
    log.add_event(ref, "Note", "x", "Jo")
    assert log.event_types.allowed == (
        "Concern Raised",
        "Concern Closed",
        "Note",
        "Concern Reopened",
    )


def test_a_pack_without_lifecycle_types_still_records_and_closes(store_url: str, clock) -> None:  # noqa: ANN001, F811
    # The Children's Society pack names its own Mosaic steps and no raise/close types.
    names = ["Safeguarding workflow", "Case note", "Chronology"]
    log = ConcernLog(store_url, key=KEY, event_types=names)
    ref = log.record(draft()).reference
    log.add_event(ref, "case note", "Referral discussed with service manager", "Jo")
    log.close(ref, "Jo", "Held by social care")
    assert [e.type for e in log.chronology(ref)] == [
        "Concern Raised",
        "Case note",
        "Concern Closed",
    ]
    assert log.event_types.allowed == (
        *names,
        "Concern Raised",
        "Concern Closed",
        "Concern Reopened",
    )


def test_no_event_types_at_all_gets_a_plain_update_type() -> None:
    assert EventTypes.from_names([]).allowed == (
        "Update",
        "Concern Raised",
        "Concern Closed",
        "Concern Reopened",
    )
    assert EventTypes.from_names(["Concern Closed", " "]).allowed == (
        "Concern Closed",
        "Update",
        "Concern Raised",
        "Concern Reopened",
    )


# --------------------------------------------------------------------------- durability


def test_same_transaction_callback_commits_with_the_concern(log: ConcernLog) -> None:
    seen: dict[str, object] = {}

    def add_outbox_row(session, row: ConcernRecord) -> None:  # noqa: ANN001
        seen["id"], seen["ref"], seen["urgency"] = row.id, row.reference, row.urgency
        # Stand-in for the pager's outbox row: any write on the same session.
        session.add(
            ConcernEvent(
                concern_id=row.id,
                event_type="Worker update",
                kind="update",
                happened_at=row.created_at,
                recorded_at=row.created_at,
                recorded_by="pager",
                sealed_text=log._sealer.seal("paged"),  # noqa: SLF001
            )
        )

    saved = log.record(draft(), in_same_transaction=add_outbox_row)
    assert seen["ref"] == saved.reference and seen["urgency"] == "urgent"
    assert isinstance(seen["id"], int)
    assert [e.text for e in log.chronology(saved.reference)][-1] == "paged"


def test_failing_callback_saves_nothing(log: ConcernLog) -> None:
    def broken(session, row) -> None:  # noqa: ANN001
        raise RuntimeError("transport table missing")

    with pytest.raises(ConcernLogError) as info:
        log.record(draft(), in_same_transaction=broken)
    assert "nothing was saved" in str(info.value)
    assert "transport table missing" in str(info.value)
    assert isinstance(info.value.__cause__, RuntimeError)
    assert log.list() == []
    with log.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM concern_events")).scalar() == 0


def test_concern_and_its_page_commit_together_with_the_real_pager(log: ConcernLog) -> None:
    from bot.paging import models, outbox

    saved = log.record(draft(), in_same_transaction=outbox.page_concern)
    with log.sessions() as session:
        pages = session.execute(select(models.Page)).scalars().all()
    assert [(p.concern_ref, p.urgency) for p in pages] == [(saved.reference, "urgent")]
    page_text = " ".join(str(v) for v in vars(pages[0]).values())
    for secret in ("Child A", "don't tell", "Bruise", "weekends", "frightened"):
        assert secret not in page_text  # a page never carries anything about the child

    def page_then_fail(session, row) -> None:  # noqa: ANN001
        outbox.page_concern(session, row)
        raise RuntimeError("disk full after paging")

    with pytest.raises(ConcernLogError, match="nothing was saved"):
        log.record(draft(), in_same_transaction=page_then_fail)
    with log.sessions() as session:
        assert len(session.execute(select(models.Page)).scalars().all()) == 1
    assert [v.reference for v in log.list()] == [saved.reference]


def test_database_error_in_callback_saves_nothing(log: ConcernLog) -> None:
    def violates_constraint(session, row) -> None:  # noqa: ANN001
        session.execute(
            text("INSERT INTO concern_events (concern_id) VALUES (:id)"), {"id": row.id}
        )

    with pytest.raises(
        ConcernLogError, match="could not save the concern: the concern log database"
    ):
        log.record(draft(), in_same_transaction=violates_constraint)
    assert log.list() == []


def test_database_error_is_a_plain_concern_log_error(store_url: str, clock) -> None:  # noqa: ANN001, F811
    log = ConcernLog(store_url, key=KEY, migrate=False)  # no tables: every query fails
    with pytest.raises(ConcernLogError) as info:
        log.record(draft())
    message = str(info.value)
    assert message.startswith("could not save the concern: the concern log database")
    assert "\n" not in message
    with pytest.raises(ConcernLogError, match="could not list concerns"):
        log.list()


def test_unreachable_database_is_a_plain_error(tmp_path) -> None:  # noqa: ANN001
    with pytest.raises(ConcernLogError, match="cannot prepare the database") as info:
        ConcernLog(f"sqlite:///{tmp_path / 'missing-dir' / 'x.db'}", key=KEY)
    assert "\n" not in str(info.value)


@pytest.mark.postgres
def test_unreachable_postgres_is_a_plain_error_without_password() -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ConcernLogError) as info:
        ConcernLog(f"postgresql+psycopg2://sg:s3cret@127.0.0.1:{port}/x", key=KEY)
    assert "s3cret" not in str(info.value)
    assert "cannot prepare the database postgresql+psycopg2://sg:***@127.0.0.1" in str(info.value)


@pytest.mark.parametrize("url", ["not a url", "nosuchdb://x/y"])
def test_bad_url_is_a_plain_error(url: str) -> None:
    with pytest.raises(ConcernLogError, match="the URL is not valid"):
        ConcernLog(url, key=KEY)


def test_rows_cannot_be_updated_or_deleted(log: ConcernLog) -> None:
    ref = log.record(draft()).reference
    statements = [
        "UPDATE concerns SET urgency = 'routine'",
        "DELETE FROM concerns",
        "UPDATE concern_events SET kind = 'closed'",
        "DELETE FROM concern_events",
    ]
    for statement in statements:
        with pytest.raises(Exception, match="append-only"):
            with log.engine.begin() as connection:
                connection.execute(text(statement))
    assert log.get(ref).urgency == "urgent"
    assert len(log.chronology(ref)) == 1


# --------------------------------------------------------------------------- encryption


def test_narrative_is_not_stored_in_clear(log: ConcernLog) -> None:
    ref = log.record(draft()).reference
    log.add_event(ref, "SG update", "Police visited the address on Elm Road", "Jo")
    with log.engine.connect() as connection:
        row = connection.execute(select(ConcernRecord.__table__)).mappings().one()
        events = connection.execute(select(ConcernEvent.__table__)).mappings().all()
    stored = " ".join(str(v) for v in row.values()) + " ".join(
        str(v) for e in events for v in e.values()
    )
    for secret in ("don't tell mum", "Child A", "Bruise", "frightened", "Elm Road", "weekends"):
        assert secret not in stored
    assert "urgent" in stored and "w-017" in stored  # the clear fields really are there


def test_wrong_key_is_a_plain_error(log: ConcernLog, store_url: str) -> None:  # noqa: F811
    ref = log.record(draft()).reference
    stranger = ConcernLog(store_url, key=Fernet.generate_key())
    with pytest.raises(ConcernLogError, match="cannot decrypt the concern log with this key"):
        stranger.get(ref)
    with pytest.raises(ConcernLogError, match="cannot decrypt"):
        stranger.chronology(ref)


def test_key_rotation_reads_old_records_and_writes_with_the_new_key(
    log: ConcernLog,
    store_url: str,  # noqa: F811
) -> None:
    old_ref = log.record(draft(child_words="old words")).reference
    new_key = Fernet.generate_key()
    rotated = ConcernLog(store_url, key=MultiFernet([Fernet(new_key), Fernet(KEY)]))
    assert rotated.get(old_ref).child_words == "old words"
    new_ref = rotated.record(draft(child_words="new words")).reference
    assert ConcernLog(store_url, key=new_key).get(new_ref).child_words == "new words"
    with pytest.raises(ConcernLogError, match="cannot decrypt"):
        log.get(new_ref)  # the old key alone cannot read what the new key wrote
    # A comma-separated key list (as in SAFEGUARD_KEY) works the same way.
    listed = ConcernLog(store_url, key=f"{new_key.decode()},{KEY.decode()}")
    assert listed.get(old_ref).child_words == "old words"


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(words=st.text(min_size=1).filter(lambda s: s.strip()))
def test_any_words_round_trip_exactly(log: ConcernLog, words: str) -> None:
    saved = log.record(draft(child_words=words))
    assert log.get(saved.reference).child_words == words


def test_printing_a_concern_never_shows_the_childs_story(log: ConcernLog) -> None:
    concern_draft = draft()
    saved = log.record(concern_draft)
    log.add_event(saved.reference, "SG update", "Police visited Elm Road", "Jo")
    [_, event] = log.chronology(saved.reference)
    printed = " ".join(
        [repr(concern_draft), repr(saved), str(saved), repr(event), repr([saved, event])]
    )
    for secret in ("don't tell", "Child A", "Bruise", "frightened", "Elm Road", "14"):
        assert secret not in printed
    assert saved.reference in printed and "urgent" in printed and "<narrative hidden>" in printed


operations = st.lists(
    st.tuples(st.sampled_from(["close", "reopen", "update"]), st.integers(0, 120)),
    min_size=1,
    max_size=8,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=operations)
def test_status_always_follows_the_events(
    log: ConcernLog, monkeypatch: pytest.MonkeyPatch, steps: list[tuple[str, int]]
) -> None:
    """Any mix of closes, reopens and (backdated) updates: the derived status is what a
    person replaying the chronology would say, and refused changes leave no trace."""
    monkeypatch.setenv("SAFEGUARD_NOW", "2026-11-23T16:00")
    ref = log.record(draft(created_at=None)).reference
    now = datetime(2026, 11, 23, 16, 0, tzinfo=LONDON)
    expected_open, expected_events = True, 1
    for number, (operation, backdate_minutes) in enumerate(steps, start=1):
        now += timedelta(hours=3)
        monkeypatch.setenv("SAFEGUARD_NOW", now.isoformat())
        if operation == "update":
            when = now - timedelta(minutes=backdate_minutes * 5)  # may predate the concern
            log.add_event(ref, "SG update", f"update {number}", "Jo", when)
            expected_events += 1
            continue
        change = log.close if operation == "close" else log.reopen
        allowed = expected_open if operation == "close" else not expected_open
        when = now - timedelta(minutes=backdate_minutes)  # after the last change: 3 h apart
        if allowed:
            change(ref, "Jo", f"{operation} {number}", happened_at=when)
            expected_open = not expected_open
            expected_events += 1
        else:
            with pytest.raises(InvalidConcern):
                change(ref, "Jo", f"{operation} {number}", happened_at=when)
    view = log.get(ref)
    assert view.is_open is expected_open
    events = log.chronology(ref)
    assert len(events) == expected_events
    keys = [(e.happened_at, e.recorded_at, e.sequence) for e in events]
    assert keys == sorted(keys)
    lifecycle = [e.kind for e in events if e.kind != "update"]
    assert lifecycle[0] == "raised"
    assert all(a != b for a, b in pairwise(lifecycle[1:]))  # close/reopen strictly alternate
    assert view.is_open is (lifecycle[-1] != "closed")
