"""The roster: schema and one-line errors, who is on call, DST-safe overnight shifts, gaps,
loud cover warnings, and the `safeguard rota` commands."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.commands import cli
from bot.core.clock import LONDON, parse_local
from bot.core.datafile import DataFileError
from bot.core.rota import (
    DEFAULT_ROSTER,
    WeeklyShift,
    cover_warnings,
    gaps,
    load_roster,
    on_call,
    parse_days,
)

ESCALATION = {
    "immediate": {"steps": [{"target": "on_call_lead", "timeout_minutes": 2}], "repeat": 2},
    "urgent": {"steps": [{"target": "all_on_call", "timeout_minutes": 15}]},
    "routine": {"steps": [{"target": "all_on_call", "timeout_minutes": 60}]},
}


def roster_data(**changes: object) -> dict:
    data = {
        "organisation": "generic",
        "source": "test roster",
        "people": [
            {"id": "lee", "name": "Lee Lead", "role": "lead", "telegram_chat_id": 1},
            {"id": "dee", "name": "Dee Deputy", "role": "deputy", "telegram_chat_id": 2},
            {"id": "nia", "name": "Nia Night", "role": "lead", "telegram_chat_id": 3},
            {"id": "wes", "name": "Wes Worker", "role": "worker"},
        ],
        "shifts": [
            {"person": "dee", "when": "mon-fri 09:00-17:00"},
            {"person": "lee", "when": "mon-fri 09:00-17:00"},
            {"person": "nia", "when": "daily 22:00-08:00"},
        ],
        "overrides": [],
        "fallback": {"purpose": "out_of_hours_social_care"},
        "escalation": ESCALATION,
    }
    data.update(changes)
    return data


def write(tmp_path: Path, data: dict, name: str = "roster.yml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def ids(people: list) -> list[str]:
    return [p.id for p in people]


# --------------------------------------------------------------------------- the example


def test_example_roster_loads_and_is_fictional() -> None:
    roster = load_roster(DEFAULT_ROSTER)
    text = DEFAULT_ROSTER.read_text(encoding="utf-8")
    assert "FICTIONAL" in text
    for person in roster.people:
        if person.phone:
            # Ofcom's drama range only: 07700 900000-900999.
            assert re.fullmatch(r"07700 900\d{3}", person.phone), person.phone
        if person.teams_webhook_url:
            assert ".invalid/" in person.teams_webhook_url
    # Every phone-like digit run in the file is a drama number.
    for number in re.findall(r"\b0\d{4} ?\d{6}\b", text):
        assert number.replace(" ", "").startswith("07700900"), number
    assert roster.fallback.purpose == "out_of_hours_social_care"
    assert set(roster.escalation) == {"immediate", "urgent", "routine"}
    assert roster.escalation["immediate"].steps[0].timeout_minutes == 2
    assert roster.escalation["urgent"].steps[0].timeout_minutes == 15
    assert roster.escalation["routine"].steps[0].timeout_minutes == 60


def test_example_roster_has_no_gap_for_four_weeks() -> None:
    roster = load_roster(DEFAULT_ROSTER)
    assert gaps(roster, parse_local("2026-11-23T00:00"), hours=24 * 28) == []
    assert cover_warnings(roster, parse_local("2026-11-23T00:00")) == []


def test_safeguard_roster_env_picks_the_file(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    path = write(tmp_path, roster_data(organisation="picked"))
    monkeypatch.setenv("SAFEGUARD_ROSTER", str(path))
    assert load_roster().organisation == "picked"
    monkeypatch.delenv("SAFEGUARD_ROSTER")
    assert load_roster().organisation == "crasac"


# --------------------------------------------------------------------------- on call


def test_on_call_orders_leads_before_deputies(tmp_path: Path) -> None:
    roster = load_roster(write(tmp_path, roster_data()))
    assert ids(on_call(roster, parse_local("2026-11-24T10:00"))) == ["lee", "dee"]
    assert ids(on_call(roster, parse_local("2026-11-24T17:00"))) == []  # end is exclusive
    assert ids(on_call(roster, parse_local("2026-11-24T23:30"))) == ["nia"]
    assert ids(on_call(roster, parse_local("2026-11-28T10:00"))) == []  # Saturday daytime


def test_overnight_shift_belongs_to_the_day_it_starts(tmp_path: Path) -> None:
    data = roster_data(shifts=[{"person": "nia", "when": "fri 22:00-08:00"}])
    roster = load_roster(write(tmp_path, data))
    assert ids(on_call(roster, parse_local("2026-11-28T07:59"))) == ["nia"]  # Saturday morning
    assert ids(on_call(roster, parse_local("2026-11-28T08:00"))) == []
    assert ids(on_call(roster, parse_local("2026-11-27T07:00"))) == []  # Friday morning


@pytest.mark.parametrize(
    ("night", "real_hours"),
    [
        ("2026-10-24", 11),  # clocks go back at 02:00 BST on Sun 25 Oct 2026
        ("2027-03-27", 9),  # clocks go forward at 01:00 GMT on Sun 28 Mar 2027
        ("2026-11-07", 10),  # an ordinary night
    ],
)
def test_overnight_shift_is_right_in_local_time_across_dst(
    tmp_path: Path, night: str, real_hours: int
) -> None:
    roster = load_roster(write(tmp_path, roster_data()))
    day = datetime.fromisoformat(night).date()
    morning = day + timedelta(days=1)
    assert ids(on_call(roster, parse_local(f"{night}T21:59"))) == []
    assert ids(on_call(roster, parse_local(f"{night}T22:00"))) == ["nia"]
    assert ids(on_call(roster, parse_local(f"{morning}T07:59"))) == ["nia"]
    assert ids(on_call(roster, parse_local(f"{morning}T08:00"))) == []
    # The real length changes with the clocks, the local end does not.
    shift = WeeklyShift.parse("daily 22:00-08:00")
    start = datetime.combine(day, datetime.min.time(), tzinfo=LONDON).astimezone(timezone.utc)
    occ = [o for o in shift.occurrences(start, start + timedelta(days=1)) if o[0] > start]
    assert (occ[0][1] - occ[0][0]) == timedelta(hours=real_hours)
    assert occ[0][1].astimezone(LONDON).strftime("%H:%M") == "08:00"


def test_overrides_add_replace_and_stand_everyone_down(tmp_path: Path) -> None:
    data = roster_data(
        overrides=[
            {
                "start": "2026-11-24T12:00",
                "end": "2026-11-24T14:00",
                "person": "nia",
                "replaces": ["lee"],
            },
            {"start": "2026-11-25T12:00", "end": "2026-11-25T13:00", "replaces": ["all"]},
            {"start": "2026-11-28T10:00", "end": "2026-11-28T12:00", "person": "dee"},
        ]
    )
    roster = load_roster(write(tmp_path, data))
    assert ids(on_call(roster, parse_local("2026-11-24T12:30"))) == ["nia", "dee"]
    assert ids(on_call(roster, parse_local("2026-11-24T14:00"))) == ["lee", "dee"]
    assert ids(on_call(roster, parse_local("2026-11-25T12:30"))) == []
    assert ids(on_call(roster, parse_local("2026-11-28T11:00"))) == ["dee"]
    found = gaps(roster, parse_local("2026-11-25T09:00"), hours=8)
    assert found == [(parse_local("2026-11-25T12:00"), parse_local("2026-11-25T13:00"))]


def test_parse_days() -> None:
    assert parse_days("mon-fri") == frozenset(range(5))
    assert parse_days("daily") == frozenset(range(7))
    assert parse_days("fri-mon") == frozenset({4, 5, 6, 0})
    assert parse_days("sat, sun") == frozenset({5, 6})
    with pytest.raises(ValueError):
        parse_days("funday")
    full = WeeklyShift.parse("sat 09:00-09:00")
    assert full.overnight  # equal times mean 24 hours


# --------------------------------------------------------------------------- gaps


def test_gaps_and_loud_warnings(tmp_path: Path) -> None:
    roster = load_roster(write(tmp_path, roster_data()))
    start = parse_local("2026-11-27T12:00")  # Friday noon
    found = gaps(roster, start, hours=48)
    assert found[0] == (parse_local("2026-11-27T17:00"), parse_local("2026-11-27T22:00"))
    assert found[1] == (parse_local("2026-11-28T08:00"), parse_local("2026-11-28T22:00"))
    assert all(a.tzinfo is not None and a.utcoffset() == timedelta(0) for a, _ in found)
    warnings = cover_warnings(roster, start, hours=48)
    assert len(warnings) == len(found)
    assert warnings[0].startswith("NO SAFEGUARDING LEAD ON CALL from Fri 27 Nov 17:00")
    assert "(5 h)" in warnings[0]
    assert "out_of_hours_social_care" in warnings[0]
    now_gap = cover_warnings(roster, parse_local("2026-11-28T09:00"), hours=2)
    assert now_gap and "ON CALL NOW" in now_gap[0]


def test_a_roster_without_leads_is_a_warning(tmp_path: Path) -> None:
    data = roster_data(
        people=[{"id": "dee", "name": "Dee", "role": "deputy"}],
        shifts=[{"person": "dee", "when": "daily 00:00-00:00"}],
    )
    roster = load_roster(write(tmp_path, data))
    assert gaps(roster, parse_local("2026-11-23T00:00"), 72) == []
    assert cover_warnings(roster, parse_local("2026-11-23T00:00")) == [
        "THE ROSTER HAS NO SAFEGUARDING LEAD (role: lead) AT ALL."
    ]


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"shifts": [{"person": "zed", "when": "mon 09:00-17:00"}]}, "'zed' is not in people"),
        ({"shifts": [{"person": "lee", "when": "weekdays 9-5"}]}, "shifts[0].when"),
        ({"shifts": [{"person": "wes", "when": "mon 09:00-17:00"}]}, "only leads and deputies"),
        (
            {"escalation": {"urgent": ESCALATION["urgent"], "routine": ESCALATION["routine"]}},
            "no chain for urgency 'immediate'",
        ),
        ({"fallback": {"purpose": "Call 0300 123"}}, "fallback.purpose"),
        (
            {
                "overrides": [
                    {"start": "2026-11-24T12:00", "end": "2026-11-24T11:00", "person": "lee"}
                ]
            },
            "end must be after start",
        ),
        (
            {"escalation": dict(ESCALATION, urgent={"steps": [{"target": "person"}]})},
            "target 'person' needs person",
        ),
        (
            {"escalation": dict(ESCALATION, urgent={"steps": [{"target": "deputies"}]})},
            "timeout_minutes greater than 0",
        ),
        ({"surprise": 1}, "surprise: extra fields not permitted"),
    ],
)
def test_bad_rosters_fail_with_one_line(tmp_path: Path, change: dict, expected: str) -> None:
    path = write(tmp_path, roster_data(**change))
    with pytest.raises(DataFileError) as error:
        load_roster(path)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    assert expected in message


def test_bad_phone_is_named_with_its_path(tmp_path: Path) -> None:
    data = roster_data()
    data["people"][1]["phone"] = "ring me"
    with pytest.raises(DataFileError, match=r"people\[1\]\.phone: 'ring me' is not a phone"):
        load_roster(write(tmp_path, data))


# --------------------------------------------------------------------------- CLI


def test_cli_rota_now_and_gaps(tmp_path: Path, monkeypatch, capsys) -> None:  # noqa: ANN001
    full = roster_data()
    full["shifts"][2] = {"person": "nia", "when": "daily 00:00-24:00"}
    monkeypatch.setenv("SAFEGUARD_ROSTER", str(write(tmp_path, full, "full.yml")))
    assert cli.main(["rota", "now", "--at", "2026-11-24T10:00"]) == 0
    captured = capsys.readouterr()
    assert captured.out.index("Lee Lead") < captured.out.index("Nia Night")
    assert captured.out.index("Nia Night") < captured.out.index("Dee Deputy")
    assert captured.err == ""

    monkeypatch.setenv("SAFEGUARD_ROSTER", str(write(tmp_path, roster_data())))
    assert cli.main(["rota", "now", "--at", "2026-11-24T10:00"]) == 1  # gaps later today
    captured = capsys.readouterr()
    assert "Lee Lead" in captured.out
    assert "!! NO SAFEGUARDING LEAD ON CALL from Tue 24 Nov 17:00" in captured.err

    assert cli.main(["rota", "now", "--at", "2026-11-28T10:00"]) == 1
    captured = capsys.readouterr()
    assert "NOBODY" in captured.out
    assert "!! NO SAFEGUARDING LEAD ON CALL NOW" in captured.err

    assert cli.main(["rota", "gaps", "--at", "2026-11-24T10:00", "--hours", "6"]) == 0
    assert "Someone is on call" in capsys.readouterr().out
    assert cli.main(["rota", "gaps", "--at", "2026-11-27T12:00", "--hours", "24"]) == 1
    assert "!! NO SAFEGUARDING LEAD ON CALL from Fri 27 Nov 17:00" in capsys.readouterr().out

    assert cli.main(["rota", "gaps", "--json", "--at", "2026-11-27T12:00", "--hours", "24"]) == 1
    import json

    report = json.loads(capsys.readouterr().out)
    assert report["gaps"][0]["start"].startswith("2026-11-27T17:00")


def test_cli_rota_errors_are_one_line(tmp_path: Path, monkeypatch, capsys) -> None:  # noqa: ANN001
    monkeypatch.setenv("SAFEGUARD_ROSTER", str(tmp_path / "missing.yml"))
    assert cli.main(["rota", "now"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "missing.yml: file not found" in err
    monkeypatch.setenv("SAFEGUARD_ROSTER", str(write(tmp_path, roster_data())))
    assert cli.main(["rota", "now", "--at", "soon"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--at 'soon'" in err


# --------------------------------------------------------------------------- property


DAYS = st.sampled_from(["mon", "tue-thu", "fri-mon", "sat,sun", "daily", "wed"])
TIMES = st.sampled_from(["00:00", "01:30", "08:00", "09:00", "17:00", "22:00", "23:45"])


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,  # the same examples every run
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    shifts=st.lists(
        st.tuples(st.sampled_from(["lee", "dee", "nia"]), DAYS, TIMES, TIMES), max_size=4
    ),
    start_day=st.integers(min_value=0, max_value=400),
    probes=st.lists(st.integers(min_value=0, max_value=72 * 4 - 1), min_size=1, max_size=12),
)
def test_gaps_agree_with_on_call(shifts: list, start_day: int, probes: list[int]) -> None:
    """Any moment is inside a reported gap exactly when nobody is on call (DST days too:
    the start days span both clock changes of 2026 and 2027)."""
    data = roster_data(shifts=[{"person": p, "when": f"{d} {a}-{b}"} for p, d, a, b in shifts])
    roster = load_roster_from(data)
    start = parse_local("2026-03-01T00:00") + timedelta(days=start_day)
    found = gaps(roster, start, hours=72)
    for quarter in probes:
        moment = (start.astimezone(timezone.utc) + timedelta(minutes=15 * quarter)).astimezone(
            LONDON
        )
        in_gap = any(a <= moment < b for a, b in found)
        assert in_gap == (on_call(roster, moment) == []), moment


def load_roster_from(data: dict):  # noqa: ANN201
    from bot.core.rota import Roster

    return Roster.parse_obj(data)
