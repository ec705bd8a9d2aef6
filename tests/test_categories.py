"""Categories of abuse: the data file, matching questions and disclosures, and the answers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bot.core.categories import (
    CATEGORIES_FILE,
    CategoryBook,
    explain,
    find_category,
    load_categories,
    menu_text,
    suggest_categories,
)
from bot.core.datafile import DataFileError
from tests.conftest import SEEDS_DIR

ROOT = Path(__file__).resolve().parent.parent

# Every category the seed appendices list must be in the file.
REQUIRED = {
    "physical",
    "sexual",
    "neglect",
    "emotional",
    "financial",
    "cse",
    "grooming",
    "trafficking",
    "cce",
    "radicalisation",
    "online",
    "fgm",
    "domestic_abuse",
    "child_on_child",
    "forced_marriage",
}


@pytest.fixture(scope="module")
def book() -> CategoryBook:
    return load_categories()


def raw() -> dict:
    return yaml.safe_load(CATEGORIES_FILE.read_text(encoding="utf-8"))


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "categories.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


# --- the data file ----------------------------------------------------------------------


def test_every_seed_category_is_present(book: CategoryBook) -> None:
    assert REQUIRED <= {c.id for c in book.categories}


def test_every_category_has_definition_indicators_keywords_and_source(
    book: CategoryBook,
) -> None:
    for category in book.categories:
        assert len(category.definition) >= 40, category.id
        assert len(category.indicators) >= 2, category.id
        assert category.keywords, category.id
        assert category.sources, category.id
        for sign in category.indicators:
            assert len(sign) <= 90, f"{category.id}: indicator too long for a phone: {sign!r}"


SECTION = re.compile(r"^(?P<ref>Appendix \w+|\d+(?:\.\d+)*)(?: \((?P<heading>[^)]+)\))?$")


def all_sources(book: CategoryBook):  # noqa: ANN201
    yield from book.menu_sources
    for step in (*book.first_steps, *book.last_steps):
        yield step.source
    for category in book.categories:
        yield from category.cited_sources()


def test_every_source_is_a_section_form_we_can_check(book: CategoryBook) -> None:
    for source in all_sources(book):
        assert SECTION.match(source.section), f"{source.seed}: {source.section!r}"


def test_every_cited_section_exists_in_its_seed(book: CategoryBook) -> None:
    texts: dict[str, str] = {}
    for source in all_sources(book):
        if source.seed not in texts:
            texts[source.seed] = (SEEDS_DIR / source.seed).read_text(encoding="utf-8")
        text = texts[source.seed]
        match = SECTION.match(source.section)
        assert match
        ref, heading = match["ref"], match["heading"]
        if ref.startswith("Appendix"):
            assert ref in text, f"{source.seed}: no {ref!r}"
        else:
            numbered = re.compile(rf"(?m)^[\s\-]*{re.escape(ref)}(\.|\s)")
            assert numbered.search(text), f"{source.seed}: no section {ref}"
        if heading:
            assert heading.lower() in text.lower(), f"{source.seed}: no heading {heading!r}"


def test_seed_names_are_readable_and_never_shown_as_file_names(book: CategoryBook) -> None:
    for category in book.categories:
        text = explain(category, book)
        assert ".txt" not in text
        assert not re.search(r"\b\d{3}_[0-9a-f]{6,}", text)


def test_no_contact_numbers_in_category_data() -> None:
    # Numbers are organisation facts that live in packs/, never here (999 is the floor).
    text = CATEGORIES_FILE.read_text(encoding="utf-8")
    numbers = {n for n in re.findall(r"\b\d[\d ]{5,}\d\b", text)}
    assert numbers == set()


def test_loads_through_the_data_file_loader_and_is_cached() -> None:
    assert load_categories() is load_categories()
    assert load_categories(CATEGORIES_FILE) is load_categories()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["categories"][1].update(id="physical"), "is used twice"),
        (
            lambda d: d["categories"][1]["keywords"].append("bruise"),
            "keyword 'bruise' is in both 'physical' and 'sexual'",
        ),
        (
            lambda d: d["categories"][0]["sources"].append(
                {"seed": "009_abcdef.txt", "section": "1"}
            ),
            "not listed under seeds",
        ),
        (lambda d: d["categories"][0]["keywords"].append("Hit Hard"), "must be lower case"),
        (lambda d: d["categories"][0].update(indicators=[]), "categories[0].indicators"),
        (lambda d: d["categories"][0].pop("sources"), "categories[0].sources: field required"),
        (lambda d: d["categories"][0].update(colour="red"), "extra fields not permitted"),
        (lambda d: d.update(schema_version=2), "schema_version: must be 1"),
        (
            lambda d: d["categories"][0]["sources"][0].update(seed="crasac.txt"),
            "is not a seed file name",
        ),
    ],
)
def test_a_broken_file_fails_with_one_plain_line(tmp_path: Path, change, expected: str) -> None:  # noqa: ANN001
    data = raw()
    change(data)
    with pytest.raises(DataFileError) as error:
        load_categories(write(tmp_path, data))
    message = str(error.value)
    assert expected in message
    assert "\n" not in message
    assert message.startswith(str(tmp_path))


def test_a_missing_file_is_a_plain_error(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="file not found"):
        load_categories(tmp_path / "nope.yml")


# --- finding the category a question is about --------------------------------------------


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("what are the signs of grooming", "grooming"),
        ("what is county lines", "cce"),
        ("signs of neglect", "neglect"),
        ("SIGNS OF NEGLECT??", "neglect"),
        ("what are county lines", "cce"),
        ("what's cuckooing", "cce"),
        ("what is CSE", "cse"),
        ("signs of child sexual exploitation", "cse"),
        ("signs of sexual abuse", "sexual"),
        ("what counts as emotional abuse", "emotional"),
        ("what is physical abuse", "physical"),
        ("explain fabricated or induced illness", "physical"),
        ("how do i know if a child is being groomed", "grooming"),
        ("signs of online grooming", "grooming"),
        ("is sexting abuse", "online"),
        ("what is sextortion", "online"),
        ("What is FGM?", "fgm"),
        ("what's female genital mutilation", "fgm"),
        ("what is modern slavery", "trafficking"),
        ("signs a child has been trafficked", "trafficking"),
        ("what is honour-based abuse", "forced_marriage"),
        ("signs of forced marriage", "forced_marriage"),
        ("what is coercive control", "domestic_abuse"),
        ("what counts as domestic violence", "domestic_abuse"),
        ("what's peer-on-peer abuse", "child_on_child"),
        ("what is child on child abuse", "child_on_child"),
        ("what is upskirting", "child_on_child"),
        ("what does radicalisation look like in a teenager", "radicalisation"),
        ("what is prevent", "radicalisation"),
        ("signs of gang involvement", "cce"),
        ("what is drug running", "cce"),
        ("what is financial abuse", "financial"),
        ("signs of knife crime", "serious_violence"),
        ("what if a child keeps going missing", "missing"),
        ("what is organised abuse", "organised"),
    ],
)
def test_typical_questions_find_their_category(question: str, expected: str) -> None:
    category = find_category(question)
    assert category is not None, question
    assert category.id == expected


def test_the_longest_keyword_wins() -> None:
    # "hits her mum" (domestic abuse) is longer than "hit" (physical abuse).
    assert find_category("dad hits her mum").id == "domestic_abuse"
    # Same length: the one mentioned first.
    assert find_category("signs of grooming or cse").id == "grooming"


def test_every_keyword_finds_its_own_category(book: CategoryBook) -> None:
    for category in book.categories:
        for keyword in category.keywords:
            found = find_category(keyword, book)
            assert found is not None and found.id == category.id, (category.id, keyword)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("she was slapped", "physical"),
        ("he kicks her", "physical"),
        ("bruises on his back", "physical"),
        ("she's being trafficked", "trafficking"),
        ("he got radicalised online", "radicalisation"),
        ("he was groomed", "grooming"),
        ("they cuckooed her flat", "cce"),
        ("she has been Sexually Exploited", "cse"),
        ("they forced her to marry", "forced_marriage"),
        ("he is neglected", "neglect"),
    ],
)
def test_matching_ignores_case_and_follows_inflections(text: str, expected: str) -> None:
    assert find_category(text).id == expected


@pytest.mark.parametrize(
    "text",
    [
        "what are the types of abuse",
        "signs of abuse",
        "/ask_abuse_signs",
        "",
        "   ",
        "the county council sent a letter",
        "my line manager is on leave",
        "her sister's wedding, the groom was lovely",
        "she had her hair cut short",
        "the fire brigade made a forced entry",
        "it's the end of the financial year",
        "he goes to running club on tuesdays",
        "she's settled well in her new placement",
        "we want to prevention-proof the trip",
        "a bruiser of a rugby player",
        "the radiator in the hall is broken",
        "she was a bit upset about her maths test",
    ],
)
def test_no_category_for_general_questions_or_near_misses(text: str) -> None:
    assert find_category(text) is None
    assert suggest_categories(text) == []


# --- suggesting categories for a disclosure ----------------------------------------------


@pytest.mark.parametrize(
    ("disclosure", "expected"),
    [
        (
            "She said her stepdad hits her with a belt when he's drunk and she showed me "
            "bruises on her arm",
            {"physical"},
        ),
        (
            "He told me the older lads make him carry drugs to Leicester on the train and say "
            "he owes them a drug debt",
            {"cce"},
        ),
        (
            "A man she met online keeps asking her for nudes and says he'll share them if she "
            "stops replying",
            {"online"},
        ),
        (
            "She said her auntie is coming from abroad in the summer for a ceremony so she can "
            "become a woman",
            {"fgm"},
        ),
        (
            "He says there's never any food at home and he's left on his own most nights",
            {"neglect"},
        ),
        (
            "She told me her dad hits her mum and she hides in her room till it stops",
            {"domestic_abuse", "physical"},
        ),
        (
            "She's being bullied by other girls and they upskirted her in the corridor",
            {"child_on_child"},
        ),
        (
            "Her parents are planning for her to be married off to a cousin when she turns 16",
            {"forced_marriage"},
        ),
        (
            "He keeps watching far right videos and says the terrorist attack was justified",
            {"radicalisation"},
        ),
        (
            "Her mum's boyfriend touched her private parts and said it was their special secret",
            {"sexual"},
        ),
        (
            "She has an older boyfriend who gives her vodka and takes her to parties with "
            "older men",
            {"cse"},
        ),
        (
            "They took his passport and he works in a car wash, they beat him if he complains",
            {"trafficking", "physical"},
        ),
        (
            "He said he's being groomed by a man on his xbox who sent him sexual pictures and "
            "asked him to send pics back",
            {"grooming", "online"},
        ),
    ],
)
def test_suggestions_on_realistic_disclosures(disclosure: str, expected: set[str]) -> None:
    assert set(suggest_categories(disclosure)) == expected


def test_suggestions_come_in_the_order_they_are_mentioned() -> None:
    text = "she went missing last week, and now says an older boyfriend gives her gifts"
    assert suggest_categories(text) == ["missing", "cse"]


def test_suggestions_are_unique() -> None:
    assert suggest_categories("he hit her, then hit her again and kicked her") == ["physical"]


# --- the answers --------------------------------------------------------------------------


def test_explain_is_complete_plain_text_for_a_phone(book: CategoryBook) -> None:
    for category in book.categories:
        text = explain(category, book)
        assert text.startswith(category.name)
        assert category.definition in text
        for sign in category.indicators:
            assert f"• {sign}" in text
        for step in category.what_to_do:
            assert step.text in text
        assert len(text) <= 1500, f"{category.id}: {len(text)} characters"
        assert "<" not in text and "**" not in text


def test_explain_puts_999_first_and_the_safeguarding_lead_last(book: CategoryBook) -> None:
    for category in book.categories:
        todo = explain(category, book).split("What to do:\n", 1)[1].splitlines()
        assert "call 999" in todo[0]
        steps = [line for line in todo if line.startswith("• ")]
        assert "Safeguarding Lead" in steps[-1]


def test_explain_names_its_sources_readably(book: CategoryBook) -> None:
    text = explain(book.get("fgm"), book)
    last = text.splitlines()[-1]
    assert last.startswith("(Source: ") and last.endswith(")")
    assert "Chelmsford CHSG policy s.4 (Female Genital Mutilation)" in last
    assert "CRASAC policy, Appendix Two" in last
    assert "The Children's Society policy s.3.6, s.3.5" in last


def test_fgm_explains_the_mandatory_reporting_duty(book: CategoryBook) -> None:
    text = explain(book.get("fgm"), book)
    assert "legal duty to report" in text and "under 18" in text


def test_menu_lists_every_category_with_999_and_sources(book: CategoryBook) -> None:
    text = menu_text(book)
    for category in book.categories:
        assert f"• {category.name}" in text
    assert "call 999" in text
    assert text.splitlines()[-1].startswith("(Source: ")
    assert len(text) <= 1200


def test_get_unknown_category_names_the_known_ones(book: CategoryBook) -> None:
    with pytest.raises(KeyError, match="known: physical"):
        book.get("nope")


# --- the category buttons in domain.yml ----------------------------------------------------


def test_every_category_button_in_the_domain_finds_a_distinct_category() -> None:
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    buttons = domain["responses"]["utter_ask_abuse_category"][0]["buttons"]
    found = []
    for button in buttons:
        category = find_category(button["payload"])
        assert category is not None, button
        found.append(category.id)
    assert len(found) == len(set(found))
    assert REQUIRED <= set(found)
