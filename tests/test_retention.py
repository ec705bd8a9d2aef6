"""Retention review (bot.records.retention, `safeguard retention due`): per-pack rules with their
source, review dates under the pinned clock, unknown dates of birth said per concern, and
nothing ever deleted. The CLI runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from cryptography.fernet import Fernet

from bot.commands.cli import main
from bot.core.clock import LONDON
from bot.core.pack import load_pack
from bot.records.audit import AuditTrail
from bot.records.concern_log import ConcernLog
from bot.records.retention import (
    NO_DATE_OF_BIRTH,
    add_years,
    date_of_birth,
    dates_in,
    due,
    not_set_text,
    review_items,
)
from tests.audit_helpers import draft, use_roster
from tests.pg_server import postgres_url, store_url  # noqa: F401 - fixtures

KEY = Fernet.generate_key().decode()


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2012-03-04", [date(2012, 3, 4)]),
        ("DOB 04/03/2012", [date(2012, 3, 4)]),  # day first
        ("dob 4.3.2012 (age 12)", [date(2012, 3, 4)]),
        ("born 4th March 2012", [date(2012, 3, 4)]),
        ("4 of Sept 2010", [date(2010, 9, 4)]),
        ("March 4, 2012", [date(2012, 3, 4)]),
        ("2012-03-04 (04/03/2012)", [date(2012, 3, 4)]),  # the same date twice
        ("12", []),
        ("about 12 years old", []),
        ("04/03/12", []),  # a two-digit year is not guessed at
        ("31/02/2012", []),  # not a date
        ("", []),
    ],
)
def test_dates_written_in_the_age_field(text: str, expected: list[date]) -> None:
    assert dates_in(text) == expected


def test_date_of_birth_needs_exactly_one_plausible_date() -> None:
    recorded = date(2026, 11, 23)
    assert date_of_birth("dob 04/03/2012", recorded) == (date(2012, 3, 4), "")
    assert date_of_birth("14", recorded) == (None, NO_DATE_OF_BIRTH)
    day, why = date_of_birth("04/03/2012 or 2013-01-01?", recorded)
    assert day is None and "more than one date" in why
    day, why = date_of_birth("2027-01-01", recorded)
    assert day is None and "not before the concern was recorded" in why


def test_add_years_never_lands_a_day_late() -> None:
    assert add_years(date(2012, 3, 4), 25) == date(2037, 3, 4)
    assert add_years(date(2012, 2, 29), 25) == date(2037, 2, 28)
    assert add_years(date(2012, 2, 29), 8) == date(2020, 2, 29)


# --------------------------------------------------------------------------- rules per pack


def concern(ref: str, recorded: str, child_age: str = "", status: str = "open"):  # noqa: ANN201
    return SimpleNamespace(
        reference=ref,
        created_at=datetime.fromisoformat(recorded).replace(tzinfo=LONDON),
        child_age=child_age,
        status=status,
    )


def test_school_files_are_reviewed_25_years_after_the_date_of_birth() -> None:
    pack = load_pack("chelmsford-chsg")
    (rule,) = pack.retention.rules
    assert (rule.review_after_years, rule.counted_from) == (25, "date_of_birth")
    assert rule.source.seed == "004_ef475b4fe766258f.txt"
    assert "transfer" in rule.note
    concerns = [
        concern("SG-AAAA-AAAA", "2014-05-01T10:00", "dob 01/12/2001", "closed"),
        concern("SG-BBBB-BBBB", "2016-05-01T10:00", "born 2 December 2001"),
        concern("SG-CCCC-CCCC", "2020-05-01T10:00", "9"),
    ]
    items = {i.reference: i for i in review_items(pack, concerns, date(2026, 12, 1))}
    assert (items["SG-AAAA-AAAA"].state, items["SG-AAAA-AAAA"].review_date) == (
        "due",
        date(2026, 12, 1),
    )
    assert items["SG-AAAA-AAAA"].why == (
        "25 years after the date of birth on the record gives 2026-12-01"
    )
    assert (items["SG-BBBB-BBBB"].state, items["SG-BBBB-BBBB"].review_date) == (
        "not yet",
        date(2026, 12, 2),
    )
    assert (items["SG-CCCC-CCCC"].state, items["SG-CCCC-CCCC"].why) == ("unknown", NO_DATE_OF_BIRTH)
    assert [i.reference for i in due(pack, concerns, date(2026, 12, 1))] == [
        "SG-AAAA-AAAA",
        "SG-CCCC-CCCC",
    ]


def test_partnership_records_are_reviewed_eight_years_after_recording() -> None:
    pack = load_pack("leics-seips")
    (rule,) = pack.retention.rules
    assert (rule.review_after_years, rule.counted_from) == (8, "recorded")
    assert rule.source.cite() == (
        "003_9575e7561e5f41db.txt, 44. Confidentiality and Record Keeping"
    )
    assert "does not say from when" in rule.note
    concerns = [
        concern("SG-AAAA-AAAA", "2018-11-23T09:00", "no age given"),
        concern("SG-BBBB-BBBB", "2018-11-24T09:00"),
    ]
    (item,) = due(pack, concerns, date(2026, 11, 23))
    assert (item.reference, item.review_date, item.state) == (
        "SG-AAAA-AAAA",
        date(2026, 11, 23),
        "due",
    )
    assert (
        item.why
        == "recorded 2018-11-23; eight years counted from the date recorded gives 2026-11-23"
    )


@pytest.mark.parametrize(
    ("org", "ask"),
    [
        ("crasac", "a Safeguarding Lead"),
        ("childrens-society", "the records, archives and data protection manager"),
        ("generic", "your organisation's Safeguarding Lead"),
    ],
)
def test_packs_without_a_period_say_so_and_who_to_ask(org: str, ask: str) -> None:
    pack = load_pack(org)
    assert pack.retention.rules == []
    old = [concern("SG-AAAA-AAAA", "1990-01-01T09:00", "dob 01/01/1980")]
    assert due(pack, old, date(2026, 11, 23)) == []  # nothing is invented
    text = not_set_text(pack)
    assert text.startswith(f"No retention period is set for {pack.name}: ")
    assert f"Ask {ask}" in text


def test_rules_need_both_numbers_or_neither() -> None:
    from bot.core.pack import RetentionRule

    source = {"seed": "004_ef475b4fe766258f.txt", "section": "8"}
    with pytest.raises(ValueError, match="together, or neither"):
        RetentionRule(what="x", period="y", source=source, review_after_years=3)
    with pytest.raises(ValueError, match="is not one of: date_of_birth, recorded"):
        RetentionRule(what="x", period="y", source=source, review_after_years=3, counted_from="x")
    RetentionRule(what="x", period="as the policy says", source=source)


# --------------------------------------------------------------------------- the command


@pytest.fixture
def env(store_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:  # noqa: F811
    monkeypatch.setenv("SAFEGUARD_DB_URL", store_url)
    monkeypatch.setenv("SAFEGUARD_KEY", KEY)
    monkeypatch.setenv("SAFEGUARD_VAR", str(tmp_path / "var"))
    monkeypatch.setenv("SAFEGUARD_ORG", "chelmsford-chsg")
    monkeypatch.setenv("SAFEGUARD_USER", "lena")
    use_roster(monkeypatch, tmp_path)
    return store_url


def record(url: str, when: str, child_age: str, **changes: object) -> str:
    created = datetime.fromisoformat(when).replace(tzinfo=LONDON)
    return (
        ConcernLog(url).record(draft(created_at=created, child_age=child_age, **changes)).reference
    )


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_due_lists_reference_rule_date_and_why_never_deletes(
    env: str, capsys, pinned_clock
) -> None:  # noqa: ANN001
    pinned_clock("2026-11-23T16:00")
    old = record(env, "2015-03-01T10:00", "dob 20/11/2001")  # 25th birthday: 2026-11-20
    young = record(env, "2025-01-10T10:00", "born 1 June 2015")
    no_dob = record(env, "2024-06-01T10:00", "about 10")
    elsewhere = record(env, "2010-01-01T10:00", "dob 01/01/1990", org="leics-seips")
    code, out, err = run(capsys, "retention", "due")  # today, from the pinned clock
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == (
        f"Retention review for {load_pack('chelmsford-chsg').name} on 2026-11-23 (nothing is "
        "deleted; a person decides what happens to each file)."
    )
    assert "Rule: Child protection file (separate from the pupil file): 25 years after" in out
    assert "(Source: 004_ef475b4fe766258f.txt, 8. Records and information sharing.)" in out
    rows = [line for line in lines if line.startswith("SG-")]
    assert rows == [
        f"{old}  open   2015-03-01 2026-11-20 DUE     25 years after the date of birth on the "
        "record gives 2026-11-20",
        f"{no_dob}  open   2024-06-01 unknown    UNKNOWN {NO_DATE_OF_BIRTH}",
    ]
    assert young not in out and elsewhere not in out
    assert "about 10" not in out and "20/11/2001" not in out  # the record's words stay in it
    code, out, _ = run(capsys, "retention", "due", "--all", "--json", "--at", "2040-06-01")
    data = json.loads(out)
    assert code == 0 and data["at"] == "2040-06-01" and data["org"] == "chelmsford-chsg"
    assert data["rules"][0]["review_after_years"] == 25
    assert [(i["reference"], i["state"], i["review_date"]) for i in data["items"]] == [
        (old, "due", "2026-11-20"),
        (young, "due", "2040-06-01"),
        (no_dob, "unknown", None),
    ]
    assert len(ConcernLog(env).list()) == 4  # nothing deleted
    reviews = [e for e in AuditTrail(env).entries() if e.action == "retention-review"]
    assert [(e.person_id, e.detail, e.reason) for e in reviews] == [
        ("lena", "at 2026-11-23: 1 due, 1 unknown, 3 concerns", "retention review"),
        ("lena", "at 2040-06-01: 2 due, 1 unknown, 3 concerns", "retention review"),
    ]


def test_nothing_due_on_an_earlier_day(env: str, capsys, pinned_clock) -> None:  # noqa: ANN001
    pinned_clock("2026-11-23T16:00")
    record(env, "2015-03-01T10:00", "dob 20/11/2001")
    code, out, _ = run(capsys, "retention", "due", "--at", "19/11/2026")
    assert code == 0 and out.splitlines()[-1] == "No concerns are due for review on 2026-11-19."


def test_partnership_eight_years_under_the_pinned_clock(
    env: str, capsys, monkeypatch, pinned_clock
) -> None:  # noqa: ANN001
    monkeypatch.setenv("SAFEGUARD_ORG", "leics-seips")
    pinned_clock("2026-11-23T16:00")
    eight = record(env, "2018-11-23T09:00", "")
    seven = record(env, "2019-11-24T09:00", "dob 01/01/2008")
    code, out, _ = run(capsys, "retention", "due", "--json")
    items = json.loads(out)["items"]
    assert code == 0 and [(i["reference"], i["review_date"]) for i in items] == [
        (eight, "2026-11-23")
    ]
    assert seven not in out
    assert "does not say from when" in json.loads(out)["rules"][0]["note"]


def test_organisation_without_a_period(env: str, capsys, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("SAFEGUARD_ORG", "crasac")
    record(env, "2001-01-01T09:00", "dob 01/01/1990")
    code, out, _ = run(capsys, "retention", "due", "--at", "2026-11-23")
    assert code == 0
    assert out.splitlines()[1].startswith("No retention period is set for ")
    assert "Ask a Safeguarding Lead, who can check CRASAC's Data Protection" in out
    code, out, _ = run(capsys, "retention", "due", "--json", "--at", "2026-11-23")
    data = json.loads(out)
    assert data["rules"] == [] and data["items"] == [] and data["ask"].startswith("a Safeguarding")


def test_workers_may_not_run_a_review_and_bad_dates_are_one_line(env: str, capsys) -> None:  # noqa: ANN001
    code, out, err = run(capsys, "retention", "due", "--as", "wes")
    assert (code, out) == (3, "")
    assert err == (
        "safeguard: wes (worker) may not run a retention review: only Safeguarding Leads, "
        "deputies and admins may\n"
    )
    refused = [e for e in AuditTrail(env).entries() if e.action == "refused"]
    assert [(e.person_id, e.detail) for e in refused] == [("wes", "retention-review")]
    code, _, err = run(capsys, "retention", "due", "--at", "next tuesday")
    assert code == 2 and err == (
        "safeguard: --at 'next tuesday' is not a date; use e.g. 2026-11-24\n"
    )
    assert run(capsys, "retention", "due", "--as", "nobody")[0] == 2
    assert run(capsys, "retention")[0] == 2
