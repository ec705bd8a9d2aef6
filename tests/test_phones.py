"""Phone numbers through libphonenumber (bot/core/phones.py), both ways, and in every file.

A number in a policy pack, the roster or a staff record is checked by the `phonenumbers`
package; a malformed one stops start-up with ONE line naming the file and the field.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from bot.core import phones
from bot.core.datafile import DataFileError
from bot.core.pack import PACKS_DIR, PackError, available_orgs, load_pack, load_pack_file
from bot.core.rota import load_roster
from bot.records.access import AccessError, StaffDirectory

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_ROSTER = ROOT / "deploy" / "roster.example.yml"

# (as written, as shown)
UK_CONTACTS = [
    ("07700 900123", "07700 900123"),  # mobile, Ofcom's drama range
    ("07911 123456", "07911 123456"),  # mobile
    ("0116 305 4141", "0116 305 4141"),  # landline, Leicester
    ("02476 833003", "024 7683 3003"),  # landline, Coventry, grouped the usual way
    ("020 7946 0000", "020 7946 0000"),  # London
    ("+44 116 305 4141", "0116 305 4141"),  # international form of a UK number
    ("+447700900123", "07700 900123"),
    ("0300 200 0011", "0300 200 0011"),  # 03, UK-wide
    ("0800 1111", "0800 1111"),  # Childline: a 7-digit free number
    ("0808 800 5000", "0808 800 5000"),  # NSPCC: free
    ("0800 028 0285", "0800 028 0285"),
    ("999", "999"),
    ("112", "112"),
    ("101", "101"),
    ("111", "111"),
    ("116 123", "116 123"),  # Samaritans
    ("116123", "116 123"),
    ("116 000", "116 000"),  # missing children
]

NOT_NUMBERS = [
    "0207 946 000",  # London needs 8 digits after 020
    "999999",
    "12345",
    "call me",
    "07700 9OO123",  # letter O for zero
    "0800 11111",
    "116 999",  # not a helpline
    "105",  # a short code a pack has no use for
    "0116-305-4141",  # hyphens: write digits and spaces only
]


@pytest.mark.parametrize(("written", "shown"), UK_CONTACTS)
def test_uk_numbers_and_short_codes_are_accepted_and_shown_one_way(
    written: str, shown: str
) -> None:
    assert phones.check_uk_contact(written) == written
    assert phones.display(written) == shown


@pytest.mark.parametrize("written", NOT_NUMBERS)
def test_malformed_numbers_are_refused_with_one_line(written: str) -> None:
    with pytest.raises(phones.PhoneNumberError) as caught:
        phones.check_uk_contact(written)
    message = str(caught.value)
    assert "\n" not in message and repr(written) in message


def test_a_pack_gives_uk_numbers_only() -> None:
    with pytest.raises(phones.PhoneNumberError, match="not a UK number"):
        phones.check_uk_contact("+353 1 234 5678")


def test_a_person_may_have_another_countrys_number_but_not_a_short_code() -> None:
    assert phones.check_person("+353 1 234 5678") == "+353 1 234 5678"
    assert phones.check_person("+44 7700 900123") == "07700 900123"  # written one way
    assert phones.check_person(" 07700   900123 ") == "07700 900123"
    for code in ("999", "101", "116 123"):
        with pytest.raises(phones.PhoneNumberError, match="short code"):
            phones.check_person(code)
    for bad in ("0207 946 000", "999999", "ring reception"):
        with pytest.raises(phones.PhoneNumberError):
            phones.check_person(bad)


def test_international_form_for_tap_to_call() -> None:
    assert phones.international("0808 800 5000") == "+44 808 800 5000"
    assert phones.international("024 7683 3003") == "+44 24 7683 3003"
    assert phones.international("999") is None
    assert phones.international("116 123") is None
    assert phones.international("not a number") is None


def test_display_leaves_what_is_no_number_as_written() -> None:
    assert phones.display("ask   reception") == "ask reception"


@pytest.mark.parametrize("org", available_orgs())
def test_every_shipped_pack_still_loads_and_its_numbers_pass(org: str) -> None:
    pack = load_pack(org)
    numbers = [c.number for c in pack.contacts if c.number]
    assert numbers, org
    for number in numbers:
        assert phones.check_uk_contact(number) == number


def test_the_example_roster_still_loads() -> None:
    roster = load_roster(EXAMPLE_ROSTER)
    assert [p.phone for p in roster.people if p.phone]


# ----------------------------------------------------------- one line, file and field


def test_a_pack_with_a_malformed_number_names_the_file_and_field(tmp_path: Path) -> None:
    data = yaml.safe_load((PACKS_DIR / "generic.yml").read_text())
    index = next(n for n, c in enumerate(data["contacts"]) if c.get("number"))
    data["contacts"][index]["number"] = "0207 946 000"
    path = tmp_path / "generic.yml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(PackError) as caught:
        load_pack_file(path)
    message = str(caught.value)
    assert "\n" not in message
    assert "generic.yml" in message
    assert f"contacts[{index}].number: '0207 946 000' is not a valid UK phone number" in message


@pytest.mark.parametrize("bad", ["999999", "0207 946 000", "O77OO 9OO1O1", "999"])
def test_a_roster_with_a_malformed_phone_stops_start_up_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bad: str
) -> None:
    data = yaml.safe_load(EXAMPLE_ROSTER.read_text())
    data = copy.deepcopy(data)
    index = next(n for n, p in enumerate(data["people"]) if p.get("phone"))
    data["people"][index]["phone"] = bad
    path = tmp_path / "roster.yml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(DataFileError) as caught:
        load_roster(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: people[{index}].phone: {bad!r}")

    # The start-up check (safeguard serve / chat) reports it as one plain line.
    from bot.commands import startup

    monkeypatch.setenv("SAFEGUARD_ROSTER", str(path))
    found = [p for p in startup.problems() if p.startswith("on-call roster:")]
    assert len(found) == 1 and "\n" not in found[0]
    assert f"people[{index}].phone" in found[0] and str(path) in found[0]


def test_roster_phones_are_kept_written_one_way(tmp_path: Path) -> None:
    data = yaml.safe_load(EXAMPLE_ROSTER.read_text())
    index = next(n for n, p in enumerate(data["people"]) if p.get("phone"))
    data["people"][index]["phone"] = "+447700900101"
    path = tmp_path / "roster.yml"
    path.write_text(yaml.safe_dump(data))
    assert load_roster(path).people[index].phone == "07700 900101"


def test_staff_records_check_phones_the_same_way(tmp_path: Path) -> None:
    directory = StaffDirectory(
        f"sqlite:///{tmp_path / 'staff.sqlite3'}", roster_path=EXAMPLE_ROSTER
    )
    with pytest.raises(AccessError, match="'999999' is not a valid phone number"):
        directory.add_staff(600000001, "Kim Lee", "worker", by="test", phone="999999")
    added = directory.add_staff(600000001, "Kim Lee", "worker", by="test", phone="+447700900555")
    assert added.phone == "07700 900555"
