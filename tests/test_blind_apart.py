"""The blind sets stay blind: no rule, training example or test shares their words.

DEVELOPERS.md, "Blind sets": a blind sentence, or its distinctive words, never goes into
rules or training data. A round fixes the general cause behind a miss in our own words; if
those words come out as a copy (an 8-word run, or a whole sentence of four words or more,
the same as a blind item's), the batch no longer measures wording nobody here wrote. This
test finds such copies in the project's data, rules and tests. The hold-out set is kept
apart from training by tests/test_holdout_apart.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import yaml

from tests.conftest import ROOT

BLIND = ROOT / "tests" / "data" / "blind"
RUN = 8
_WORDS = re.compile(r"[a-z0-9']+")

# Written before blind batch 1 existed: the published guides' own example sentences, which
# the project's first language rules and tests quoted and the batch-1 writer then wrote
# from too (file, blind item). Nothing may be added here.
BEFORE_THE_BLIND_SETS = {
    ("knowledge/language_rules.yml", "l055"),
    ("knowledge/language_rules.yml", "l075"),
    ("tests/test_language.py", "l028"),
    ("tests/test_language.py", "l055"),
    ("tests/test_language_context.py", "l007"),
    ("tests/data/language_corpus.yml", "l046"),
    ("tests/data/language_corpus.yml", "l115"),
    ("tests/data/language_corpus.yml", "l055"),
    ("tests/data/language_corpus.yml", "l028"),
    ("tests/data/language_corpus.yml", "l100"),
}


def _words(text: str) -> list[str]:
    return _WORDS.findall(text.lower().replace("\u2019", "'"))


def _keys(words: list[str]) -> Iterator[tuple[str, ...]]:
    for i in range(len(words) - RUN + 1):
        yield tuple(words[i : i + RUN])
    if len(words) >= 4:
        yield ("<whole>", *words)


def blind_keys() -> dict[tuple[str, ...], str]:
    """Every 8-word run and every whole item of the blind sets -> a blind item's id."""
    keys: dict[tuple[str, ...], str] = {}
    for path in sorted(BLIND.glob("*.yml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8"))["items"]:
            for key in _keys(_words(item["text"])):
                keys.setdefault(key, str(item["id"]))
    return keys


def project_files() -> list[Path]:
    found = [ROOT / "domain.yml", *ROOT.glob("data/*.yml"), *ROOT.glob("knowledge/*.yml")]
    for path in ROOT.glob("tests/**/*"):
        if path.is_file() and path.suffix in (".yml", ".py") and BLIND not in path.parents:
            found.append(path)
    return sorted(found)


def copies(
    files: list[Path], keys: dict[tuple[str, ...], str], root: Path = ROOT
) -> set[tuple[str, str]]:
    """(file under `root`, blind id) for each line of `files` holding a blind item's words."""
    found = set()
    for path in files:
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            for key in _keys(_words(line)):
                if key in keys:
                    found.add((path.relative_to(root).as_posix(), keys[key]))
                    break
    return found


def test_no_rule_training_example_or_test_copies_a_blind_item() -> None:
    found = copies(project_files(), blind_keys())
    assert sorted(found - BEFORE_THE_BLIND_SETS) == []


def test_a_copy_is_found(tmp_path: Path) -> None:
    item = "he says the man in the blue van will be waiting for her after school"
    keys = {key: "t9999" for key in _keys(_words(item))}
    data = tmp_path / "nlu.yml"
    data.write_text("- the man in the blue van will be waiting for her\n- hello there\n")
    short = tmp_path / "short.yml"
    short.write_text(f"- {item.title()}\n")
    apart = tmp_path / "apart.yml"
    apart.write_text("- a man in a van waits for her\n")
    found = copies([data, short, apart], keys, root=tmp_path)
    assert found == {("nlu.yml", "t9999"), ("short.yml", "t9999")}
