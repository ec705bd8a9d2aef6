"""Contact routing by purpose and time, purpose_from_text, and `safeguard contacts`.

The table pins the clock across office hours, evening, weekend, the 28 Dec 2026 substitute
bank holiday, GMT and BST, and the Leicestershire LADO Friday 16:30 edge, for every pack in
packs/ (including the ones packs B writes) and every purpose.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from bot.commands import cli
from bot.core import phones
from bot.core.clock import parse_local
from bot.core.contacts import PURPOSES, Route, purpose_from_text, route
from bot.core.pack import available_orgs, load_pack, load_pack_file

TIMES = {
    "monday-office-gmt": "2026-11-23T10:00",
    "monday-evening-gmt": "2026-11-23T21:30",
    "saturday-afternoon": "2026-11-28T14:00",
    "sunday-night": "2026-11-29T23:45",
    "bank-holiday-28-dec": "2026-12-28T11:00",
    "bank-holiday-evening": "2026-12-28T19:30",
    "wednesday-office-bst": "2026-07-01T10:00",
    "wednesday-night-bst": "2026-07-01T23:00",
    "friday-16-29": "2026-11-27T16:29",
    "friday-16-31": "2026-11-27T16:31",
    "friday-16-45-bst": "2026-07-03T16:45",
    "early-morning": "2026-11-24T06:00",
}

ORGS = available_orgs()


def at(text: str):
    return parse_local(text)


@pytest.mark.parametrize("org", ORGS)
@pytest.mark.parametrize("moment", TIMES.values(), ids=list(TIMES))
@pytest.mark.parametrize("purpose", PURPOSES)
def test_every_pack_every_purpose_every_time(org: str, moment: str, purpose: str) -> None:
    pack = load_pack(org)
    found = route(pack, purpose, at(moment))
    assert found, "route() must never return nothing"
    for item in found:
        assert isinstance(item, Route) and item.purpose == purpose
        assert item.reason.strip() and "\n" not in item.reason
        assert item.source
        if item.contact is None:
            assert item.reason.startswith("Not set for this deployment")
            assert "Ask " in item.reason
        else:
            assert item.contact.number or item.contact.email or item.contact.not_set
            if item.number:
                assert phones.check_uk_contact(item.number) == item.number
    # Anything open now must be listed before anything closed.
    ranks = [{True: 0, None: 1, False: 2}[item.open_now] for item in found]
    assert ranks == sorted(ranks)
    # No contact twice.
    ids = [item.contact.id for item in found if item.contact]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("org", ORGS)
@pytest.mark.parametrize("moment", TIMES.values(), ids=list(TIMES))
def test_emergency_is_999_first_at_every_time(org: str, moment: str) -> None:
    first = route(load_pack(org), "emergency", at(moment))[0]
    assert first.number == "999" and first.open_now is True


def test_unknown_purpose_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown purpose 'pizza'"):
        route(load_pack("crasac"), "pizza", at(TIMES["monday-office-gmt"]))


def test_safeguard_now_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    pack = load_pack("chelmsford-chsg")
    monkeypatch.setenv("SAFEGUARD_NOW", "2026-11-28T14:00")
    pinned = route(pack, "whistleblowing")
    assert pinned == route(pack, "whistleblowing", at("2026-11-28T14:00"))
    assert pinned[0].open_now is False
    monkeypatch.setenv("SAFEGUARD_NOW", "2026-11-23T10:00")
    assert route(pack, "whistleblowing")[0].open_now is True


@pytest.mark.parametrize(
    ("moment", "open_now", "words"),
    [
        ("2026-11-23T10:00", True, "is open now (Mon–Fri 08:00–20:00)"),
        (
            "2026-11-23T21:30",
            False,
            "closed on Monday after 20:00. It opens tomorrow (Tue) at 08:00",
        ),
        ("2026-11-28T14:00", False, "closed on Saturdays. It opens Monday 30 November at 08:00"),
        ("2026-11-24T06:00", False, "does not open until 08:00 on Tuesday"),
        ("2026-07-01T19:59", True, "open now"),  # BST wall clock
        ("2026-07-01T20:00", False, "closed on Wednesday after 20:00"),
    ],
)
def test_chelmsford_whistleblowing_hours(moment: str, open_now: bool, words: str) -> None:
    first = route(load_pack("chelmsford-chsg"), "whistleblowing", at(moment))[0]
    assert first.number == "0800 028 0285"
    assert first.open_now is open_now
    assert words in first.reason


@pytest.mark.parametrize(
    ("moment", "first_number", "words"),
    [
        ("2026-11-28T14:00", "024 7683 2222", "It is Saturday, so use Coventry MASH out of hours"),
        ("2026-12-28T11:00", "024 7683 2222", "bank holiday (Boxing Day (observed))"),
        ("2026-11-23T10:00", "024 7678 8555", "hours are not stated"),
    ],
)
def test_crasac_mash_referral_by_time(moment: str, first_number: str, words: str) -> None:
    found = route(load_pack("crasac"), "child_social_care_referral", at(moment))
    assert found[0].number == first_number
    assert words in found[0].reason
    # Both lines are always offered: the policy does not state MASH's hours.
    assert {item.number for item in found} == {"024 7678 8555", "024 7683 2222"}


def test_purpose_the_pack_lacks_is_not_set_with_who_to_ask() -> None:
    found = route(load_pack("crasac"), "lado", at(TIMES["friday-16-31"]))
    assert len(found) == 1 and found[0].contact is None
    assert found[0].reason.startswith("Not set for this deployment: CRASAC's policy gives no LADO")
    assert found[0].reason.endswith("Ask a Safeguarding Lead.")
    generic = route(load_pack("generic"), "out_of_hours_social_care", at(TIMES["sunday-night"]))
    assert "in an emergency call 999" in generic[0].reason


# -- the Leicestershire Friday 16:30 edge, on a pack shaped like packs B's -------------------------

LEICS_LIKE = {
    "org": "leics-like",
    "name": "Leicestershire-style test pack",
    "short_name": "Leics test",
    "seeds": ["003_9575e7561e5f41db.txt"],
    "covers": "test",
    "ask_first": "the DSL",
    "child_definition": {
        "text": "Everyone under 18.",
        "up_to_age": 17,
        "source": {"seed": "003_9575e7561e5f41db.txt", "section": "11"},
    },
    "roles": [
        {
            "id": "dsl",
            "title": "DSL",
            "duties": "Lead",
            "source": {"seed": "003_9575e7561e5f41db.txt", "section": "Key contacts"},
        }
    ],
    "contacts": [
        {
            "id": "emergency",
            "name": "Emergency services",
            "number": "999",
            "purposes": ["emergency"],
            "available": "always",
            "source": {"seed": "003_9575e7561e5f41db.txt", "section": "Key contacts"},
        },
        {
            "id": "lado",
            "name": "Leicestershire LADO",
            "number": "0116 305 4141",
            "email": "CFS-LADO@leics.gov.uk",
            "purposes": ["lado"],
            "available": "mon-thu 08:30-17:00; fri 08:30-16:30",
            "when_closed": "first-response",
            "source": {"seed": "003_9575e7561e5f41db.txt", "section": "Key contacts"},
        },
        {
            "id": "first-response",
            "name": "First Response Children's Duty Team",
            "number": "0116 305 0005",
            "purposes": ["child_social_care_referral", "out_of_hours_social_care"],
            "available": "always",
            "source": {"seed": "003_9575e7561e5f41db.txt", "section": "Key contacts"},
        },
    ],
    "office_hours": {
        "rule": "mon-fri 09:00-17:00; closed bank holidays",
        "source": {"seed": "003_9575e7561e5f41db.txt", "section": "test only"},
    },
    "timescales": [
        {
            "id": "manager",
            "what": "Consult your line manager",
            "within": "2 hours",
            "source": {"seed": "003_9575e7561e5f41db.txt", "section": "test only"},
        }
    ],
    "recording": {
        "system": "Test system",
        "where": "Here",
        "source": {"seed": "003_9575e7561e5f41db.txt", "section": "test only"},
    },
    "retention": {"not_set": "none"},
    "training": {"not_set": "none"},
    "after_report": [
        {"text": "DSL decides.", "source": {"seed": "003_9575e7561e5f41db.txt", "section": "x"}}
    ],
}


@pytest.fixture
def leics(tmp_path: Path):
    path = tmp_path / "leics-like.yml"
    path.write_text(yaml.safe_dump(LEICS_LIKE), encoding="utf-8")
    return load_pack_file(path)


@pytest.mark.parametrize(
    ("moment", "first", "words"),
    [
        ("2026-11-27T16:29", "0116 305 4141", "Leicestershire LADO is open now"),
        (
            "2026-11-27T16:31",
            "0116 305 0005",
            "Leicestershire LADO is closed on Friday after 16:30, so call First Response",
        ),
        ("2026-11-26T16:45", "0116 305 4141", "open now"),  # Thursday: open until 17:00
        ("2026-07-03T16:45", "0116 305 0005", "closed on Friday after 16:30"),  # BST
        ("2026-11-28T10:00", "0116 305 0005", "closed on Saturdays, so call First Response"),
        ("2026-11-24T07:00", "0116 305 0005", "does not open until 08:30 on Tuesday"),
    ],
)
def test_lado_friday_edge_falls_back_to_first_response(leics, moment, first, words) -> None:
    found = route(leics, "lado", at(moment))
    assert found[0].number == first
    assert words in found[0].reason
    if first == "0116 305 0005":
        assert found[0].fallback_for == "lado"
        # The LADO line is still listed (after), with when it opens again.
        assert found[1].number == "0116 305 4141" and "It opens" in found[1].reason


def test_out_of_hours_asked_in_office_hours_gets_the_front_door_first(leics) -> None:
    found = route(leics, "out_of_hours_social_care", at("2026-11-23T10:00"))
    assert found[0].number == "0116 305 0005"


# -- purpose_from_text -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "purpose"),
    [
        ("it's late, who do I call?", "out_of_hours_social_care"),
        ("what's the MASH number?", "child_social_care_referral"),
        ("who's the LADO?", "lado"),
        ("Who’s the LADO?", "lado"),
        ("is there a whistleblowing line?", "whistleblowing"),
        ("it's a bank holiday", "out_of_hours_social_care"),
        ("number for children's services", "child_social_care_referral"),
        ("MASH out of hours number", "out_of_hours_social_care"),
        ("emergency out of hours number", "out_of_hours_social_care"),
        ("it's an emergency", "emergency"),
        ("police non-emergency number", "police_non_emergency"),
        ("call 101?", "police_non_emergency"),
        ("I think she may have had FGM", "fgm"),
        ("worried about radicalisation", "prevent"),
        ("who is the DSL", "safeguarding_lead"),
        ("NSPCC number", "nspcc_helpline"),
        ("crisis team for suicidal thoughts", "mental_health_crisis"),
        ("allegation against a member of staff", "lado"),
        ("how do I make a referral", "child_social_care_referral"),
        ("it's the weekend", "out_of_hours_social_care"),
        ("hello", None),
        ("", None),
        ("   ", None),
        ("I prevented nothing", None),  # 'prevent' alone is not the Prevent duty
    ],
)
def test_purpose_from_text(text: str, purpose: str | None) -> None:
    assert purpose_from_text(text) == purpose


# -- safeguard contacts ------------------------------------------------------------------


def test_contacts_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(
        [
            "contacts",
            "--org",
            "crasac",
            "--purpose",
            "child_social_care_referral",
            "--at",
            "2026-12-28T19:30",
            "--json",
        ]
    )
    assert code == 0
    payload = json.loads(capsys.readouterr().out)
    first = payload["routes"]["child_social_care_referral"][0]
    assert first["number"] == "024 7683 2222"
    assert payload["at"].startswith("2026-12-28T19:30")


def test_contacts_cli_text_default_purposes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SAFEGUARD_NOW", "2026-11-28T14:00")
    monkeypatch.setenv("SAFEGUARD_ORG", "generic")
    assert cli.main(["contacts"]) == 0
    out = capsys.readouterr().out
    assert "safeguarding_lead:" in out and "999" in out and "Not set for this deployment" in out


@pytest.mark.parametrize(
    ("argv", "code", "words"),
    [
        (["contacts", "--purpose", "pizza"], 2, "unknown purpose 'pizza'"),
        (["contacts", "--at", "teatime"], 2, "is not an ISO time"),
        (["contacts", "--org", "nowhere"], 1, "no pack for organisation 'nowhere'"),
    ],
)
def test_contacts_cli_errors(argv, code, words, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(argv) == code
    err = capsys.readouterr().err.strip()
    assert words in err and "\n" not in err and "Traceback" not in err


def test_office_hours_never_include_bank_holidays(tmp_path: Path) -> None:
    # The Children's Society: "between 5pm and 9am on weekdays, or on weekends and
    # statutory holidays" is out of hours; a pack may write just "mon-fri 09:00-17:00".
    data = dict(LEICS_LIKE)
    data["office_hours"] = dict(LEICS_LIKE["office_hours"], rule="mon-fri 09:00-17:00")
    data["contacts"] = LEICS_LIKE["contacts"] + [
        {
            "id": "ooh-manager",
            "name": "Out of hours manager",
            "purposes": ["safeguarding_lead"],
            "available": "outside office hours",
            "not_set": "redacted in the published policy; staff find it on the intranet",
            "source": {"seed": "003_9575e7561e5f41db.txt", "section": "test only"},
        }
    ]
    path = tmp_path / "leics-like.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    pack = load_pack_file(path)
    assert route(pack, "safeguarding_lead", at("2026-12-28T11:00"))[0].open_now is True
    assert route(pack, "safeguarding_lead", at("2026-12-29T11:00"))[0].open_now is False
    assert route(pack, "safeguarding_lead", at("2026-12-29T17:00"))[0].open_now is True
    found = route(pack, "safeguarding_lead", at("2026-12-29T11:00"))[0]
    assert "for outside office hours and it is office hours now" in found.reason
    assert "Number not set for this deployment: redacted" in found.reason


@pytest.mark.parametrize("org", ORGS)
@pytest.mark.parametrize("moment", TIMES.values(), ids=list(TIMES))
@pytest.mark.parametrize("purpose", PURPOSES)
def test_every_numberless_contact_says_why(org: str, moment: str, purpose: str) -> None:
    # Including fallbacks and the other side of office hours, which are added by routing.
    for item in route(load_pack(org), purpose, at(moment)):
        if item.contact is not None and not (item.contact.number or item.contact.email):
            assert "Number not set for this deployment: " in item.reason, item.reason


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("purposes:\n  - purpose: pizza\n    phrases: [pizza]\n", "purposes[0].purpose: 'pizza'"),
        ("purposes:\n  - purpose: lado\n    phrases: []\n", "purposes[0].phrases:"),
        ("purposes:\n  - purpose: lado\n    phrases: [x]\n    words: [x]\n", "words: extra fields"),
        ("purposes: [\n", "line"),
        ("", "expected a mapping"),
    ],
)
def test_broken_purposes_file_is_one_line(tmp_path: Path, text: str, problem: str) -> None:
    from bot.core.contacts import load_purpose_phrases
    from bot.core.datafile import DataFileError

    path = tmp_path / "purposes.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataFileError) as caught:
        load_purpose_phrases(path)
    message = str(caught.value)
    assert message.startswith(str(path)) and problem in message and "\n" not in message


def test_the_real_purposes_file_covers_every_purpose_it_can() -> None:
    from bot.core.contacts import load_purpose_phrases

    named = {purpose for purpose, _ in load_purpose_phrases()}
    assert named == set(PURPOSES)


@pytest.mark.parametrize(
    ("number", "shown"),
    [
        ("02476 833003", "024 7683 3003"),
        ("0116 305 4141", "0116 305 4141"),
        ("03330 139 797", "0333 013 9797"),
        ("0800 616 171", "0800 616171"),  # libphonenumber's grouping of 9-digit 0800
        ("0808 800 5000", "0808 800 5000"),
        ("0800 1111", "0800 1111"),
        ("07700 900123", "07700 900123"),  # Ofcom drama range, not a real line
        ("01245 123456", "01245 123456"),
        ("999", "999"),
        ("101", "101"),
        ("116 123", "116 123"),
    ],
)
def test_numbers_are_written_for_tap_to_call(number: str, shown: str) -> None:
    from bot.core.pack import format_number

    assert format_number(number) == shown
