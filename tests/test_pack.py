"""Policy pack schema, loading, one-line errors, `safeguard packs`, and hours rules."""

from __future__ import annotations

import copy
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.commands import cli
from bot.core.clock import LONDON, parse_local
from bot.core.datafile import DataFileError
from bot.core.hours import (
    add_working_days,
    is_bank_holiday,
    is_working_day,
    is_working_time,
    parse_duration,
    parse_rule,
)
from bot.core.pack import (
    PACKS_DIR,
    PackError,
    available_orgs,
    clear_cache,
    format_number,
    load_pack,
    load_pack_file,
)

CRASAC = PACKS_DIR / "crasac.yml"


def at(text: str) -> datetime:
    return parse_local(text)


def crasac_data() -> dict:
    return yaml.safe_load(CRASAC.read_text(encoding="utf-8"))


def write_pack(tmp_path: Path, data: dict | str, name: str = "crasac.yml") -> Path:
    path = tmp_path / name
    text = data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


def error_for(tmp_path: Path, data: dict | str, name: str = "crasac.yml") -> str:
    path = write_pack(tmp_path, data, name)
    with pytest.raises(PackError) as caught:
        load_pack_file(path)
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message
    assert message.startswith(str(path)), message
    return message[len(str(path)) :]


# -- the packs in the repo -------------------------------------------------------------------


@pytest.mark.parametrize("org", available_orgs())
def test_every_pack_validates(org: str) -> None:
    pack = load_pack(org)
    assert pack.org == org
    assert pack.contacts_for("emergency")[0].number == "999"
    for contact in pack.contacts:
        assert contact.source.seed in pack.seeds and contact.source.section
        assert contact.number or contact.email or contact.not_set


def test_my_packs_exist_and_generic_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert {"crasac", "chelmsford-chsg", "generic"} <= set(available_orgs())
    monkeypatch.delenv("SAFEGUARD_ORG", raising=False)
    assert load_pack().org == "generic"
    monkeypatch.setenv("SAFEGUARD_ORG", "crasac")
    assert load_pack().org == "crasac"
    assert load_pack() is load_pack("crasac")  # cached per org


def test_unknown_org_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFEGUARD_ORG", "nowhere")
    with pytest.raises(PackError, match=r"packs/nowhere.yml: no pack for organisation 'nowhere'"):
        load_pack()
    with pytest.raises(PackError, match="not an organisation name"):
        load_pack("../etc/passwd")
    assert issubclass(PackError, DataFileError)


def test_crasac_facts_from_the_seed() -> None:
    pack = load_pack("crasac")
    assert pack.child_definition.up_to_age == 18
    assert pack.child_definition.looked_after_up_to_age == 21
    assert pack.recording.system.startswith("LUNA")
    names = [e.name for e in pack.recording.event_types]
    assert names[:2] == ["Concern Raised", "Consultation with SGL"]
    assert "Manager Sign off (concern closed)" in names and len(names) == 10
    assert pack.retention.rules == [] and pack.retention.not_set
    assert pack.route("cse_risk_assessment") is not None
    assert format_number(pack.contact("adult-social-care").number) == "024 7683 3003"


def test_chelmsford_facts_from_the_seed() -> None:
    pack = load_pack("chelmsford-chsg")
    assert pack.child_definition.up_to_age == 17
    assert "25 years" in pack.retention.rules[0].period
    assert pack.contact("lado").number == "03330 139 797"
    assert pack.timescale("lado-one-working-day").within == "1 working day"
    assert pack.contact("nspcc-whistleblowing").available == "mon-fri 08:00-20:00"


# -- broken packs: one line, file, field, problem ---------------------------------------------


def test_bad_hours_rule(tmp_path: Path) -> None:
    data = crasac_data()
    data["contacts"][3]["available"] = "mon-fri 9-5pm"
    assert error_for(tmp_path, data) == (
        ": contacts[3].available: 'mon-fri 9-5pm' is not a valid hours rule"
    )


def test_unknown_field(tmp_path: Path) -> None:
    data = crasac_data()
    data["contacts"][0]["phone"] = "999"
    assert error_for(tmp_path, data) == ": contacts[0].phone: extra fields not permitted"


def test_missing_source(tmp_path: Path) -> None:
    data = crasac_data()
    del data["contacts"][2]["source"]
    assert error_for(tmp_path, data) == ": contacts[2].source: field required"


def test_dangling_contact_id_in_a_route(tmp_path: Path) -> None:
    data = crasac_data()
    data["routes"][1]["contacts"].append("nobody")
    assert error_for(tmp_path, data) == ": routes[1].contacts[1]: unknown contact id 'nobody'"


def test_dangling_timescale_and_fallback_ids(tmp_path: Path) -> None:
    data = crasac_data()
    data["routes"][0]["timescales"] = ["never"]
    assert "routes[0].timescales[0]: unknown timescale id 'never'" in error_for(tmp_path, data)
    data = crasac_data()
    data["contacts"][2]["when_closed"] = "ghost"
    assert "contacts[2].when_closed: unknown contact id 'ghost'" in error_for(tmp_path, data)


def test_malformed_yaml(tmp_path: Path) -> None:
    text = CRASAC.read_text(encoding="utf-8").replace("org: crasac", "org: [crasac", 1)
    message = error_for(tmp_path, text)
    assert message.startswith(":") and "line" in message


@pytest.mark.parametrize("text", ["", "   \n\n", "# only a comment\n"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    assert error_for(tmp_path, text) == ": file is empty"


def test_not_a_mapping(tmp_path: Path) -> None:
    assert "expected a mapping" in error_for(tmp_path, "- a\n- b\n")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["contacts"][2].update(number="12345"), "is not a valid UK phone number"),
        (lambda d: d["contacts"][2].update(number="024-7678-8555"), "digits and spaces only"),
        (lambda d: d["contacts"][2].update(purposes=["tea"]), "'tea' is not a purpose"),
        (lambda d: d["contacts"][2].update(email="nope"), "is not an email address"),
        (lambda d: d["contacts"][1].pop("not_set"), "needs not_set"),
        (lambda d: d["contacts"].append(copy.deepcopy(d["contacts"][0])), "duplicate id"),
        (lambda d: d["contacts"][0].update(purposes=["police_non_emergency"]), "'emergency'"),
        (lambda d: d["contacts"][2]["source"].update(seed="policy.pdf"), "not a seed file"),
        (lambda d: d["contacts"][2]["source"].update(seed="004_ef475b4fe766258f.txt"), "not in"),
        (lambda d: d.update(org="other"), "does not match the file name"),
        (lambda d: d.update(schema_version=2), "schema_version 2 is not supported"),
        (lambda d: d["timescales"][0].update(within="soonish"), "not a valid timescale"),
        (lambda d: d["routes"][0].update(id="teatime"), "not a route id"),
        (lambda d: d["retention"].pop("not_set"), "retention: give rules"),
        (lambda d: d["office_hours"].update(rule="always"), "must list days and times"),
        (
            lambda d: d["unset_purposes"].append(d["unset_purposes"][0] | {"purpose": "emergency"}),
            "cannot also be not set",
        ),
        (lambda d: d["child_definition"].pop("source"), "child_definition.source: field required"),
    ],
)
def test_other_breakages(tmp_path: Path, change, expected: str) -> None:
    data = crasac_data()
    change(data)
    assert expected in error_for(tmp_path, data)


# -- safeguard packs -----------------------------------------------------------------------------


def test_packs_check_all_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["packs", "check"]) == 0
    out = capsys.readouterr().out
    assert "packs/crasac.yml: ok" in out and "packs/generic.yml: ok" in out


def test_packs_check_one_good_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["packs", "check", str(CRASAC)]) == 0


def test_packs_check_broken_file_exit_1_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = crasac_data()
    data["contacts"][3]["available"] = "mon-fri 9-5pm"
    path = write_pack(tmp_path, data)
    assert cli.main(["packs", "check", str(path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err == f"{path}: contacts[3].available: 'mon-fri 9-5pm' is not a valid hours rule"


def test_packs_check_missing_file_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["packs", "check", str(tmp_path / "none.yml")]) == 1
    assert "file not found" in capsys.readouterr().err


def test_packs_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["packs"]) == 2
    with pytest.raises(SystemExit) as caught:
        cli.main(["packs", "check", "a.yml", "b.yml"])
    assert caught.value.code == 2
    with pytest.raises(SystemExit) as caught:
        cli.main(["packs", "frobnicate"])
    assert caught.value.code == 2


def test_packs_list(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SAFEGUARD_ORG", "crasac")
    assert cli.main(["packs", "list"]) == 0
    out = capsys.readouterr().out
    assert "* crasac" in out and "chelmsford-chsg" in out


# -- hours rules ---------------------------------------------------------------------------------


LEICS_LADO = "mon-thu 08:30-17:00; fri 08:30-16:30"


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        ("2026-11-26T16:59", True),  # Thursday
        ("2026-11-26T17:00", False),
        ("2026-11-27T16:29", True),  # Friday edge
        ("2026-11-27T16:30", False),
        ("2026-11-27T08:29", False),
        ("2026-11-27T08:30", True),
        ("2026-11-28T10:00", False),  # Saturday
        ("2026-07-03T16:29", True),  # Friday in BST: local wall-clock time
        ("2026-07-03T16:31", False),
        ("2026-12-28T10:00", True),  # bank holiday: the rule does not say it closes
    ],
)
def test_leicestershire_lado_hours(moment: str, expected: bool) -> None:
    assert parse_rule(LEICS_LADO).is_open(at(moment)) is expected


def test_bank_holiday_closure_only_when_the_rule_says_so() -> None:
    rule = parse_rule("mon-fri 09:00-17:00; closed bank holidays")
    assert rule.is_open(at("2026-12-28T10:00")) is False
    assert rule.is_open(at("2026-12-29T10:00")) is True


def test_aware_utc_time_is_read_as_london() -> None:
    # 15:45 UTC on 3 July is 16:45 BST: after the Friday 16:30 close.
    utc = datetime(2026, 7, 3, 15, 45, tzinfo=timezone.utc)
    assert parse_rule(LEICS_LADO).is_open(utc) is False


@pytest.mark.parametrize(
    "text",
    [
        "mon-fri 9-5pm",
        "",
        "sometimes",
        "mon-fri 17:00-09:00",
        "fri-mon 09:00-17:00",
        "mon-fri 09:00-25:00",
        "closed bank holidays",
        "mon 09:00-17:00;; tue",
    ],
)
def test_invalid_hours_rules(text: str) -> None:
    with pytest.raises(ValueError, match="is not a valid hours rule"):
        parse_rule(text)


def test_relative_rules_and_unknowns() -> None:
    office = parse_rule("mon-fri 09:00-17:00")
    outside = parse_rule("outside office hours")
    assert outside.is_open(at("2026-11-23T18:00"), office) is True
    assert outside.is_open(at("2026-11-23T10:00"), office) is False
    assert outside.is_open(at("2026-11-23T10:00"), None) is None
    assert parse_rule("not stated").is_open(at("2026-11-23T10:00")) is None
    assert parse_rule("always").describe() == "24 hours, every day"
    assert parse_rule(LEICS_LADO).describe() == "Mon–Thu 08:30–17:00; Fri 08:30–16:30"


def test_bank_holidays_england() -> None:
    assert is_bank_holiday(date(2026, 12, 28))  # substitute Boxing Day
    assert is_bank_holiday(date(2026, 12, 25))
    assert not is_bank_holiday(date(2026, 12, 29))
    assert not is_bank_holiday(date(2026, 3, 17))  # St Patrick's Day: Northern Ireland only
    assert not is_working_day(date(2026, 12, 28)) and is_working_day(date(2026, 12, 29))


def test_is_working_time() -> None:
    pack = load_pack("crasac")  # office hours not stated
    assert is_working_time(pack, at("2026-11-28T10:00")) is False  # Saturday
    assert is_working_time(pack, at("2026-12-28T10:00")) is False  # bank holiday
    assert is_working_time(pack, at("2026-11-23T10:00")) is None  # unknown: no guess
    assert is_working_time("mon-fri 09:00-17:00", at("2026-11-23T10:00")) is True
    assert is_working_time("mon-fri 09:00-17:00", at("2026-11-23T17:00")) is False


OFFICE = "mon-fri 09:00-17:00"


@pytest.mark.parametrize(
    ("start", "days", "office", "expected"),
    [
        ("2026-11-23T10:00", 1, OFFICE, "2026-11-24T10:00"),  # in hours: same time next day
        ("2026-11-23T19:30", 1, OFFICE, "2026-11-24T17:00"),  # evening: close next day
        ("2026-11-23T07:00", 1, OFFICE, "2026-11-23T17:00"),  # before opening: that day
        ("2026-11-28T14:00", 1, OFFICE, "2026-11-30T17:00"),  # Saturday -> Monday close
        ("2026-12-24T19:30", 1, OFFICE, "2026-12-29T17:00"),  # over Christmas + 28 Dec
        ("2026-11-27T16:00", 3, OFFICE, "2026-12-02T16:00"),  # Fri + 3 -> Wed
        ("2026-11-23T10:00", 0, OFFICE, "2026-11-23T17:00"),  # same working day
        ("2026-11-23T19:30", 0, OFFICE, "2026-11-24T17:00"),
        ("2026-11-23T19:30", 1, None, "2026-11-24T19:30"),  # hours unknown: same clock
        ("2026-11-28T14:00", 1, None, "2026-11-30T14:00"),
        ("2026-11-28T14:00", 0, None, "2026-11-30T23:59"),
        ("2026-03-27T19:30", 1, OFFICE, "2026-03-30T17:00"),  # across the change to BST
    ],
)
def test_add_working_days(start: str, days: int, office: str | None, expected: str) -> None:
    assert add_working_days(at(start), days, office) == at(expected)


def test_two_hours_is_elapsed_time_across_clock_change() -> None:
    # 00:30 GMT on 29 March 2026 + 2 real hours = 03:30 BST (01:00-02:00 does not exist).
    assert parse_duration("2 hours").deadline(at("2026-03-29T00:30")) == at("2026-03-29T03:30")
    assert parse_duration("two hours").count == 2
    assert parse_duration("immediately").deadline(at("2026-03-29T00:30")) == at("2026-03-29T00:30")
    assert parse_duration("not stated").deadline(at("2026-03-29T00:30")) is None


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 1)),
    st.integers(min_value=0, max_value=10),
    st.sampled_from([OFFICE, LEICS_LADO, None]),
)
def test_working_day_deadline_properties(start: datetime, days: int, office: str | None) -> None:
    begin = start.replace(tzinfo=LONDON)
    deadline = add_working_days(begin, days, office)
    assert deadline >= begin.replace(second=0, microsecond=0) or deadline.date() > begin.date()
    assert is_working_day(deadline.date())
    assert (deadline.date() - begin.date()).days <= days * 2 + 7


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    clear_cache()


def test_check_packs_for_start_up(tmp_path: Path) -> None:
    from bot.core.pack import check_packs

    assert check_packs() == []
    data = crasac_data()
    data["routes"][0]["contacts"] = ["nobody"]
    bad = write_pack(tmp_path, data)
    assert check_packs([CRASAC, bad]) == [
        f"{bad}: routes[0].contacts[0]: unknown contact id 'nobody'"
    ]
