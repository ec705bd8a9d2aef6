"""bot.records.access: the roster plus staff approved in chat; strangers' /start requests."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import inspect

from bot.core.clock import LONDON
from bot.records.access import (
    MAX_PENDING,
    AccessError,
    Identity,
    StaffDirectory,
    clean_name,
)
from bot.records.db import make_engine
from bot.records.migrate import upgrade
from tests.conftest import ROOT
from tests.pg_server import postgres_url, store_url  # noqa: F401 - fixtures

ROSTER = ROOT / "deploy" / "roster.example.yml"
LEAD_ID, ADMIN_ID, DEPUTY_ID = 910000101, 910000301, 910000201
STRANGER = 555000111
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=LONDON)


@pytest.fixture
def directory(tmp_path: Path) -> StaffDirectory:
    return StaffDirectory(
        f"sqlite:///{tmp_path / 'a.sqlite3'}", roster_path=ROSTER, clock=lambda: NOW
    )


def lead(d: StaffDirectory) -> Identity:
    found = d.identify(LEAD_ID)
    assert found is not None
    return found


def test_roster_people_are_staff_with_their_roster_role(directory: StaffDirectory) -> None:
    alex = directory.identify(LEAD_ID)
    assert alex is not None
    assert (alex.name, alex.role, alex.source, alex.person_id) == (
        "Alex Morgan (example)",
        "lead",
        "roster",
        "alex",
    )
    assert alex.contact == "07700 900101"
    assert alex.sender_id == f"telegram:{LEAD_ID}"
    assert alex.is_lead and alex.can_approve
    deputy = directory.identify(str(DEPUTY_ID))
    assert deputy is not None and deputy.is_lead and not deputy.can_approve
    worker = alex.worker()
    assert (worker.id, worker.name, worker.contact, worker.role) == (
        str(LEAD_ID),
        "Alex Morgan (example)",
        "07700 900101",
        "lead",
    )


def test_a_stranger_is_nobody(directory: StaffDirectory) -> None:
    assert directory.identify(STRANGER) is None
    assert directory.identify("not a number") is None


def test_start_then_approve_makes_a_worker(directory: StaffDirectory) -> None:
    request, new = directory.request_access(STRANGER, STRANGER, "Jo Bloggs", "jo_b")
    assert new and request is not None and request.status == "pending"
    assert request.who == f"Jo Bloggs (@jo_b), Telegram id {STRANGER}"
    assert [r.id for r in directory.pending()] == [request.id]
    # a second /start is the same request, not a new one (the leads are told once)
    again, new_again = directory.request_access(STRANGER, STRANGER, "Jo Bloggs", "jo_b")
    assert again is not None and again.id == request.id and not new_again
    assert directory.identify(STRANGER) is None  # not until approved

    decided = directory.approve(request.id, lead(directory))
    assert decided.status == "approved" and decided.decided_by == "Alex Morgan (example)"
    jo = directory.identify(STRANGER)
    assert jo is not None and (jo.name, jo.role, jo.source) == ("Jo Bloggs", "worker", "approved")
    assert jo.contact == f"Telegram chat {STRANGER}"
    assert directory.pending() == []
    with pytest.raises(AccessError, match="already approved"):
        directory.approve(request.id, lead(directory))


def test_approve_with_a_role(directory: StaffDirectory) -> None:
    request, _ = directory.request_access(STRANGER, STRANGER, "Jo", None)
    assert request is not None
    directory.approve(request.id, lead(directory), role="Deputy")
    jo = directory.identify(STRANGER)
    assert jo is not None and jo.role == "deputy" and jo.is_lead
    with pytest.raises(AccessError, match="role must be one of"):
        other, _ = directory.request_access(STRANGER + 1, STRANGER + 1, "Kim", None)
        assert other is not None
        directory.approve(other.id, lead(directory), role="boss")


def test_refused_stays_refused(directory: StaffDirectory) -> None:
    request, _ = directory.request_access(STRANGER, STRANGER, "Jo", None)
    assert request is not None
    directory.refuse(request.id, lead(directory))
    assert directory.identify(STRANGER) is None
    again, new = directory.request_access(STRANGER, STRANGER, "Jo", None)
    assert again is not None and again.status == "refused" and not new
    assert directory.pending() == []
    # a lead can still add them directly
    directory.add_staff(STRANGER, "Jo", "worker", by=lead(directory))
    assert directory.identify(STRANGER) is not None


def test_only_leads_and_admins_decide(directory: StaffDirectory) -> None:
    request, _ = directory.request_access(STRANGER, STRANGER, "Jo", None)
    assert request is not None
    deputy = directory.identify(DEPUTY_ID)
    assert deputy is not None
    worker = Identity(telegram_user_id=1, name="W", role="worker")
    for who in (deputy, worker):
        with pytest.raises(AccessError, match="only a Safeguarding Lead or an admin"):
            directory.approve(request.id, who)
        with pytest.raises(AccessError, match="only a Safeguarding Lead or an admin"):
            directory.refuse(request.id, who)
        with pytest.raises(AccessError, match="only a Safeguarding Lead or an admin"):
            directory.add_staff(STRANGER, "Jo", "worker", by=who)
    admin = directory.identify(ADMIN_ID)
    assert admin is not None and admin.can_approve
    directory.approve(request.id, admin)
    assert directory.identify(STRANGER) is not None


def test_add_change_and_remove_staff(directory: StaffDirectory) -> None:
    alex = lead(directory)
    added = directory.add_staff(STRANGER, "Kim Lee", "worker", by=alex, phone="07700 900555")
    assert (added.role, added.contact) == ("worker", "07700 900555")
    changed = directory.add_staff(STRANGER, "Kim Lee", "lead", by=alex)
    assert changed.role == "lead" and changed.phone == "07700 900555"
    names = [p.name for p in directory.staff()]
    assert "Kim Lee" in names and "Alex Morgan (example)" in names
    assert STRANGER in {p.telegram_user_id for p in directory.approvers()}
    directory.remove_staff(STRANGER, by=alex)
    assert directory.identify(STRANGER) is None
    with pytest.raises(AccessError, match="no approved staff member"):
        directory.remove_staff(STRANGER, by=alex)
    # re-adding brings them back
    directory.add_staff(STRANGER, "Kim Lee", "worker", by=alex)
    assert directory.identify(STRANGER) is not None


def test_roster_people_cannot_be_changed_in_chat(directory: StaffDirectory) -> None:
    alex = lead(directory)
    with pytest.raises(AccessError, match="in the roster"):
        directory.add_staff(DEPUTY_ID, "Sam", "worker", by=alex)
    with pytest.raises(AccessError, match="in the roster"):
        directory.remove_staff(DEPUTY_ID, by=alex)


def test_bad_input_is_one_plain_line(directory: StaffDirectory) -> None:
    alex = lead(directory)
    for args, pattern in (
        ((STRANGER, "", "worker"), "a name is needed"),
        ((STRANGER, "Kim", "chief"), "role must be one of"),
        (("abc", "Kim", "worker"), "not a Telegram user id"),
        ((-100123, "Group", "worker"), "a person's id is positive"),
    ):
        with pytest.raises(AccessError, match=pattern) as info:
            directory.add_staff(*args, by=alex)
        assert "\n" not in str(info.value)
    with pytest.raises(AccessError, match="not a phone number"):
        directory.add_staff(STRANGER, "Kim", "worker", by=alex, phone="call me")
    with pytest.raises(AccessError, match="no access request #999"):
        directory.approve(999, alex)


def test_a_flood_of_strangers_is_capped(directory: StaffDirectory) -> None:
    for n in range(MAX_PENDING):
        request, new = directory.request_access(1000 + n, 1000 + n, f"spam {n}", None)
        assert new and request is not None
    request, new = directory.request_access(99999, 99999, "one too many", None)
    assert request is None and not new
    assert len(directory.pending()) == MAX_PENDING


def test_names_are_cleaned_for_a_leads_chat() -> None:
    assert clean_name("Jo\u202e\nBloggs\x00") == "Jo Bloggs"
    assert clean_name("   ", "fallback") == "fallback"
    assert len(clean_name("x" * 500)) == 120


def test_roster_edit_applies_without_restart(tmp_path: Path) -> None:
    roster = tmp_path / "roster.yml"
    text = ROSTER.read_text(encoding="utf-8")
    roster.write_text(text, encoding="utf-8")
    directory = StaffDirectory(
        f"sqlite:///{tmp_path / 'b.sqlite3'}", roster_path=roster, clock=lambda: NOW
    )
    assert directory.identify(DEPUTY_ID) is not None
    import os

    roster.write_text(text.replace("telegram_chat_id: 910000201", ""), encoding="utf-8")
    stat = roster.stat()
    os.utime(roster, (stat.st_atime, stat.st_mtime + 5))
    assert directory.identify(DEPUTY_ID) is None


def test_a_broken_roster_still_lets_approved_staff_in(tmp_path: Path) -> None:
    roster = tmp_path / "roster.yml"
    roster.write_text("people: [", encoding="utf-8")
    directory = StaffDirectory(
        f"sqlite:///{tmp_path / 'c.sqlite3'}", roster_path=roster, clock=lambda: NOW
    )
    directory.add_staff(STRANGER, "Kim", "worker", by="test")
    assert directory.identify(STRANGER) is not None
    assert directory.identify(LEAD_ID) is None


def test_tables_come_from_migration_0004(store_url: str) -> None:  # noqa: F811
    upgrade(store_url)
    engine = make_engine(store_url)
    try:
        names = set(inspect(engine).get_table_names())
        assert {"staff_members", "access_requests"} <= names
    finally:
        engine.dispose()
    directory = StaffDirectory(store_url, roster_path=ROSTER, clock=lambda: NOW)
    request, _ = directory.request_access(2**40, 2**40, "Big Id", None)  # ids beyond 32 bits
    assert request is not None
    directory.approve(request.id, lead(directory))
    assert directory.identify(2**40) is not None
    directory.engine.dispose()


# --------------------------------------------------------------------------- worker_from


def tracker(sender: str):  # noqa: ANN201
    from rasa_sdk import Tracker

    return Tracker(sender, {}, {"text": "hi"}, [], False, None, {}, "action_listen")


def test_worker_from_finds_roster_and_chat_approved_staff(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from actions.context import worker_from

    url = f"sqlite:///{tmp_path / 'w.sqlite3'}"
    monkeypatch.setenv("SAFEGUARD_DB_URL", url)
    monkeypatch.setenv("SAFEGUARD_ROSTER", str(ROSTER))
    StaffDirectory(url, roster_path=ROSTER).add_staff(
        STRANGER, "Kim Lee", "worker", by="test", phone="07700 900555"
    )
    lead_worker = worker_from(tracker(f"telegram:{LEAD_ID}"))
    assert (lead_worker.id, lead_worker.name, lead_worker.role, lead_worker.contact) == (
        str(LEAD_ID),
        "Alex Morgan (example)",
        "lead",
        "07700 900101",
    )
    # Identity comes from the channel that authenticated the person, never from a name:
    # a roster id, a bare Telegram id or a dev/terminal sender is a worker known by it.
    for typed in ("alex", str(LEAD_ID), f"dev:{LEAD_ID}", "terminal:alex", "dev:telegram:1"):
        assert worker_from(tracker(typed)).role == "worker", typed
    kim = worker_from(tracker(f"telegram:{STRANGER}"))
    assert (kim.id, kim.name, kim.contact, kim.role) == (
        str(STRANGER),
        "Kim Lee",
        "07700 900555",
        "worker",
    )
    nobody = worker_from(tracker("telegram:123"))
    assert (nobody.name, nobody.role) == ("worker 123", "worker")


def test_worker_from_without_a_database_still_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from actions.context import worker_from

    monkeypatch.setenv("SAFEGUARD_DB_URL", f"sqlite:///{tmp_path / 'missing' / 'x.sqlite3'}")
    monkeypatch.setenv("SAFEGUARD_ROSTER", str(ROSTER))
    assert worker_from(tracker(f"telegram:{LEAD_ID}")).role == "lead"  # roster: no database
    unknown = worker_from(tracker(f"telegram:{STRANGER}"))
    assert unknown.role == "worker" and unknown.name == f"worker {STRANGER}"


# --------------------------------------------------------------------------- safeguard staff


def test_staff_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from bot.commands.cli import main

    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setenv("SAFEGUARD_DB_URL", url)
    monkeypatch.setenv("SAFEGUARD_ROSTER", str(ROSTER))
    directory = StaffDirectory(url, roster_path=ROSTER)
    request, _ = directory.request_access(STRANGER, STRANGER, "Jo Bloggs", "jo_b")
    assert request is not None

    assert main(["staff", "list"]) == 0
    out = capsys.readouterr().out
    assert "Alex Morgan (example)" in out and "#1" in out and "Jo Bloggs (@jo_b)" in out

    assert main(["staff", "approve", "1", "--role", "deputy"]) == 0
    assert "Approved #1: Jo Bloggs" in capsys.readouterr().out
    assert directory.identify(STRANGER).role == "deputy"  # type: ignore[union-attr]

    assert main(["staff", "add", "600000001", "Pat Rowe", "--phone", "07700 900444"]) == 0
    assert "Added Pat Rowe (worker)" in capsys.readouterr().out
    assert main(["staff", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    pat = next(p for p in listed["staff"] if p["telegram_id"] == 600000001)
    assert (pat["role"], pat["phone"], pat["source"]) == ("worker", "07700 900444", "approved")

    assert main(["staff", "remove", "600000001"]) == 0
    assert directory.identify(600000001) is None
    capsys.readouterr()

    for argv, message in (
        (["staff", "add", "abc", "X"], "'abc' is not a Telegram user id"),
        (["staff", "add", "600000002", "X", "--role", "boss"], "role must be one of"),
        (["staff", "remove", str(LEAD_ID)], "in the roster"),
        (["staff", "refuse", "1"], "already approved"),
        (["staff", "approve", "77"], "no access request #77"),
    ):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, (argv, err)


def test_a_request_from_someone_since_put_in_the_roster_is_not_waiting(tmp_path: Path) -> None:
    import os

    roster = tmp_path / "roster.yml"
    text = ROSTER.read_text(encoding="utf-8")
    roster.write_text(text, encoding="utf-8")
    directory = StaffDirectory(
        f"sqlite:///{tmp_path / 'd.sqlite3'}", roster_path=roster, clock=lambda: NOW
    )
    request, _ = directory.request_access(STRANGER, STRANGER, "Jo", None)
    assert request is not None and len(directory.pending()) == 1
    roster.write_text(
        text.replace("telegram_chat_id: 910000102", f"telegram_chat_id: {STRANGER}"),
        encoding="utf-8",
    )
    stat = roster.stat()
    os.utime(roster, (stat.st_atime, stat.st_mtime + 5))
    assert directory.pending() == []
    assert directory.identify(STRANGER).name == "Priya Shah (example)"  # type: ignore[union-attr]
