"""The blind sets stay blind: no rule, training example or test shares their words.

DEVELOPERS.md, "Blind sets": a blind sentence, or its distinctive words, never goes into
rules or training data. A round fixes the general cause behind a miss in our own words; if
those words come out as a copy (an 8-word run, or a whole sentence of four words or more,
the same as a blind item's), the batch no longer measures wording nobody here wrote. This
test finds such copies in the project's data, rules and tests. The hold-out set is kept
apart from training by tests/test_holdout_apart.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))

import blind_apart  # noqa: E402 - bench/ is scripts, not a package

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


def test_no_rule_training_example_test_doc_or_code_copies_a_blind_item() -> None:
    found = blind_apart.copies(blind_apart.project_files(), blind_apart.blind_keys())
    assert sorted(found - BEFORE_THE_BLIND_SETS) == []


def _keys(text: str) -> list[tuple[str, ...]]:
    return list(blind_apart.keys(blind_apart.words(text)))


def test_a_copy_is_found(tmp_path: Path) -> None:
    item = "he says the man in the blue van will be waiting for her after school"
    keys = {key: "t9999" for key in _keys(item)}
    data = tmp_path / "nlu.yml"
    data.write_text("- the man in the blue van will be waiting for her\n- hello there\n")
    short = tmp_path / "short.yml"
    short.write_text(f"- {item.title()}\n")
    apart = tmp_path / "apart.yml"
    apart.write_text("- a man in a van waits for her\n")
    found = blind_apart.copies([data, short, apart], keys, root=tmp_path)
    assert found == {("nlu.yml", "t9999"), ("short.yml", "t9999")}


NEW_BATCH = """# BLIND evaluation set: written from published material only.
batch: 9
labels: [immediate, routine]
items:
  - id: t9001
    text: "the man in the blue van will be waiting for her by the gate"
    label: immediate
    source: "somewhere"
  - id: t9002
    text: "a different sentence nobody here has ever written at all"
    label: routine
    note: >-
      folded over
      two lines
  - id: t9003
    text: "Hello There Friend Again"
    label: routine
"""


def test_admitting_a_batch_drops_only_what_the_project_already_wrote(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "nlu.yml").write_text(
        "- the man in the blue van will be waiting for her\n- hello there friend again\n"
    )
    (tmp_path / "domain.yml").write_text("version: '3.1'\n")
    (tmp_path / "tests" / "data" / "blind").mkdir(parents=True)
    new = tmp_path / "incoming.yml"
    new.write_text(NEW_BATCH)
    out, dropped = blind_apart.admit(new, "triage_batch9.yml", root=tmp_path)
    assert dropped == ["t9001", "t9003"]
    assert out == tmp_path / "tests" / "data" / "blind" / "triage_batch9.yml"
    text = out.read_text()
    assert "# Dropped before any run on them: t9001, t9003" in text.splitlines()[1]
    batch = yaml.safe_load(text)
    assert [item["id"] for item in batch["items"]] == ["t9002"]
    assert batch["items"][0]["note"] == "folded over two lines"
    assert batch["batch"] == 9
