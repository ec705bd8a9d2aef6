"""Never invent a number: every phone number in every pack appears in the seed it cites.

Covers every pack in packs/ (including the ones other engineers write), so a number typed
from memory, or copied from the wrong policy, fails here.
"""

from __future__ import annotations

import re
from functools import cache

import pytest

from bot.core.pack import PACKS_DIR, available_orgs, digits, load_pack
from tests.conftest import SEEDS_DIR

# The emergency number is the project's floor (principle 1). It must still appear in a seed
# policy, but a pack may carry it even if its own seed does not print it (the school policy
# says "refer to the Police" without the digits).
EMERGENCY = "999"
# Phone-like text anywhere in a pack file: 0 then 8+ more digits, spaces allowed between.
PHONE_LIKE = re.compile(r"(?<![\d.])0\d(?:[ \u00a0]?\d){7,10}(?!\d)")

ORGS = available_orgs()


@cache
def seed_digits(name: str) -> str:
    """The seed text with spaces/dashes between digits removed: '02476 788555' ->
    '02476788555', so numbers can be found digits-only, whole-number matches."""
    text = (SEEDS_DIR / name).read_text(encoding="utf-8", errors="replace")
    return re.sub(r"(?<=\d)[ \t\u00a0\-](?=\d)", "", text)


def in_seed(number: str, seed: str) -> bool:
    return re.search(rf"(?<!\d){re.escape(digits(number))}(?!\d)", seed_digits(seed)) is not None


@pytest.fixture(autouse=True)
def _need_seeds() -> None:
    assert SEEDS_DIR.is_dir(), f"seed policies not found in {SEEDS_DIR} (set SAFEGUARD_SEEDS)"


def test_there_are_packs_to_check() -> None:
    assert {"crasac", "chelmsford-chsg", "generic"} <= set(ORGS)


@pytest.mark.parametrize("org", ORGS)
def test_every_cited_seed_exists(org: str) -> None:
    pack = load_pack(org)
    for seed in pack.seeds:
        assert (SEEDS_DIR / seed).is_file(), f"{org}: seeds lists missing file {seed}"
    for contact in pack.contacts:
        assert (SEEDS_DIR / contact.source.seed).is_file(), (
            f"{org}: {contact.id} cites missing seed"
        )


@pytest.mark.parametrize("org", ORGS)
def test_every_contact_number_is_in_the_seed_it_cites(org: str) -> None:
    pack = load_pack(org)
    checked = 0
    for contact in pack.contacts:
        if contact.number is None:
            assert contact.not_set, f"{org}: {contact.id} has no number and no not_set"
            continue
        checked += 1
        if digits(contact.number) == EMERGENCY:
            assert any(in_seed(EMERGENCY, p.name) for p in SEEDS_DIR.glob("*.txt"))
            continue
        assert in_seed(contact.number, contact.source.seed), (
            f"{org}: contact {contact.id} number {contact.number} is not in "
            f"{contact.source.seed} (digits only)"
        )
    assert checked >= 1


@pytest.mark.parametrize("org", ORGS)
def test_no_phone_like_text_anywhere_in_the_pack_that_is_not_in_its_seeds(org: str) -> None:
    text = (PACKS_DIR / f"{org}.yml").read_text(encoding="utf-8")
    pack = load_pack(org)
    for match in PHONE_LIKE.finditer(text):
        found = match.group(0)
        assert any(in_seed(found, seed) for seed in pack.seeds), (
            f"{org}: {found!r} appears in the pack but in none of its seeds"
        )


@pytest.mark.parametrize("org", ORGS)
def test_every_email_is_in_the_seed_it_cites(org: str) -> None:
    pack = load_pack(org)
    for contact in pack.contacts:
        if contact.email:
            seed_text = (SEEDS_DIR / contact.source.seed).read_text(encoding="utf-8").lower()
            assert contact.email.lower() in seed_text, f"{org}: {contact.email} not in seed"


def test_checker_catches_an_invented_number() -> None:
    # The test above must be able to fail: a made-up number is not in the CRASAC seed,
    # and a real number is only found whole (not as part of a longer one).
    assert in_seed("024 7678 8555", "000_49172c100f0fd48e.txt")
    assert not in_seed("024 7678 8556", "000_49172c100f0fd48e.txt")
    assert not in_seed("0800 1111", "000_49172c100f0fd48e.txt")
    assert not in_seed("7678 8555", "000_49172c100f0fd48e.txt")
