"""Phone numbers: parsed, checked and written for display with libphonenumber.

Every phone number the assistant reads from a file (a policy pack's contacts, the roster's
people) or is given (a staff record) goes through `check_uk_contact` or `check_person`. They
use the ``phonenumbers`` package, the Python port of Google's libphonenumber, which knows
Ofcom's numbering plan (how many digits each range has, which ranges exist), instead of a
hand-written pattern. A number it refuses raises `PhoneNumberError` (a `ValueError` with one
line), which the data-file loader turns into "packs/x.yml: contacts[3].number: ...".

What is accepted:

- ordinary UK numbers, written nationally ("0116 305 4141", "07700 900123") or
  internationally ("+44 116 305 4141"): mobiles, geographic, 03, 0800 and 0808 free numbers
  (Childline's 0800 1111 too);
- in a policy pack, the short codes 999 and 112 (emergency), 101 (police, not an emergency)
  and 111 (NHS), and the 116 xxx helplines that libphonenumber knows (116 123, 116 000, ...);
- for a person (roster, staff record), numbers of other countries too, written with their
  "+" and country code; never a short code (no one's own phone is 999);
- Ofcom's drama ranges (07700 900000-900999 and the others in `DRAMA`): reserved for
  fiction, so libphonenumber calls some of them invalid (no one answers them), but the
  example roster and the tests use them so that no real person is ever paged by mistake.

Written for display (`display`) the national way for a UK number ("024 7683 3003", "07700
900123", "0800 1111"), "116 123" for a helpline, the international way for any other country.
`international` gives the "+44 808 800 5000" form Telegram links for tapping.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import PhoneNumber, PhoneNumberFormat

REGION = "GB"
UK_COUNTRY_CODE = 44
# Short codes a pack may give (dialled as they are, from any UK phone).
SHORT_CODES: dict[str, str] = {
    "999": "emergency",
    "112": "emergency",
    "101": "police, not an emergency",
    "111": "NHS, not an emergency",
}
HELPLINE = re.compile(r"^116\d{3}$")  # the European harmonised helplines, 116 xxx
# Ofcom's ranges for drama that libphonenumber refuses (national significant numbers,
# after the 0 or +44): mobile 07700 900xxx, "no area" 01632 960xxx, Nottingham
# 0115 496 0xxx. The other drama ranges (020 7946 0xxx, ...) are valid numbers to it.
DRAMA: tuple[str, ...] = ("7700900", "1632960", "1154960")
_WRITTEN = re.compile(r"^\+?[0-9][0-9 ]*$")


class PhoneNumberError(ValueError):
    """A phone number that is not one (one line, quoting what was written)."""


def digits(number: str) -> str:
    """The digits of a phone number: '024 7683 3003' -> '02476833003'."""
    return re.sub(r"\D", "", number or "")


def _parse(text: str) -> PhoneNumber | None:
    try:
        return phonenumbers.parse(text, REGION)
    except phonenumbers.NumberParseException:
        return None


def _is_drama(number: PhoneNumber) -> bool:
    national = str(number.national_number)
    return (
        number.country_code == UK_COUNTRY_CODE
        and national.startswith(DRAMA)
        and (phonenumbers.is_possible_number(number))
    )


def short_code(text: str) -> str | None:
    """'999', '101', '116 123' -> their digits if they are a short code a pack may give."""
    d = digits(text)
    if text.strip().startswith("+") or d != "".join(text.split()):
        return None
    if d in SHORT_CODES:
        return d
    if HELPLINE.match(d):
        parsed = _parse(d)
        if parsed is not None and phonenumbers.is_valid_short_number_for_region(parsed, REGION):
            return d
    return None


def _full_number(text: str, *, any_country: bool) -> PhoneNumber | None:
    parsed = _parse(text)
    if parsed is None:
        return None
    if parsed.country_code != UK_COUNTRY_CODE and not any_country:
        return None
    if phonenumbers.is_valid_number(parsed) or _is_drama(parsed):
        return parsed
    return None


def _written_plainly(value: str) -> None:
    if not _WRITTEN.match(value):
        raise PhoneNumberError(
            f"{value!r} is not a phone number: write digits and spaces only "
            "(a leading + for the country code), like 0116 305 4141 or +44 116 305 4141"
        )


def check_uk_contact(value: str) -> str:
    """A policy pack's contact number: a UK number or a short code; `value` back, tidied.

    Raises `PhoneNumberError` with one line saying what is wrong.
    """
    value = " ".join(str(value).split())
    _written_plainly(value)
    if short_code(value) is not None:
        return value
    parsed = _parse(value)
    if parsed is not None and parsed.country_code != UK_COUNTRY_CODE:
        raise PhoneNumberError(f"{value!r} is not a UK number (a policy pack gives UK numbers)")
    if _full_number(value, any_country=False) is None:
        raise PhoneNumberError(
            f"{value!r} is not a valid UK phone number (like 0116 305 4141, 07700 900123, "
            "0800 1111, or the short codes 999, 112, 101, 111, 116 123)"
        )
    return value


def check_person(value: str) -> str:
    """A person's own phone (roster, staff record), written for display.

    A UK number, or another country's with its + and country code; never a short code.
    Raises `PhoneNumberError` with one line saying what is wrong.
    """
    value = " ".join(str(value).split())
    _written_plainly(value)
    if digits(value) in SHORT_CODES or HELPLINE.match(digits(value)):
        raise PhoneNumberError(f"{value!r} is a service's short code, not a person's phone")
    parsed = _full_number(value, any_country=True)
    if parsed is None:
        raise PhoneNumberError(
            f"{value!r} is not a valid phone number (like 07700 900123, or +353 85 123 4567 "
            "for another country)"
        )
    return _write(parsed)


def _write(number: PhoneNumber) -> str:
    if number.country_code == UK_COUNTRY_CODE:
        return phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)


def display(value: str) -> str:
    """The number as the assistant shows it: '02476 833003' -> '024 7683 3003', '116123' ->
    '116 123', '999' -> '999'. Something that is no number comes back as written (tidied)."""
    tidy = " ".join(str(value).split())
    code = short_code(tidy)
    if code is not None:
        return f"{code[:3]} {code[3:]}" if HELPLINE.match(code) else code
    parsed = _full_number(tidy, any_country=True)
    return _write(parsed) if parsed is not None else tidy


def international(value: str) -> str | None:
    """'0808 800 5000' -> '+44 808 800 5000'; None for short codes and what is no number."""
    if short_code(value) is not None:
        return None
    parsed = _full_number(" ".join(str(value).split()), any_country=True)
    if parsed is None:
        return None
    return phonenumbers.format_number(parsed, PhoneNumberFormat.INTERNATIONAL)
