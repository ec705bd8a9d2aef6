"""bench/blind.py, the blind-set scorer: on small synthetic sets written here.

Nothing here reads a blind sentence or asserts a figure on the real blind sets: those are
measured by `make blind` / `make bench` against the issues' targets, never gated by a test.
The real files are only checked to load, so `make blind` cannot crash on them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import blind  # noqa: E402

# ------------------------------------------------------------------------------ triage

TRIAGE = [
    {"id": "a1", "text": "alpha one", "label": "immediate"},
    {"id": "a2", "text": "alpha two", "label": "immediate", "hard_positive": True},
    {"id": "b1", "text": "bravo one", "label": "urgent", "hard_negative": True},
    {"id": "b2", "text": "bravo two", "label": "urgent"},
    {"id": "c1", "text": "charlie one", "label": "routine", "hard_negative": True},
    {"id": "c2", "text": "charlie two", "label": "routine"},
    {"id": "d1", "text": "delta one", "label": "ask"},
]


def test_triage_perfect_assessor_meets_every_figure() -> None:
    truth = {i["text"]: ("immediate" if i["label"] == "ask" else i["label"]) for i in TRIAGE}
    f = blind.score_triage(TRIAGE, truth.__getitem__)
    assert f["immediate_recall"] == 1.0
    assert f["false_immediate_rate"] == 0.0
    assert f["urgent_agreement"] == f["routine_agreement"] == 1.0
    assert f["hard_positive_recall"] == 1.0
    assert f["hard_negative_false_immediate_rate"] == 0.0
    # An `ask` item assessed immediate is counted apart, not as a false immediate.
    assert f["ask_assessed_immediate"] == 1
    assert f["n_per_label"] == {"immediate": 2, "urgent": 2, "ask": 1, "routine": 2}


def test_triage_poor_assessor_fails_the_figures() -> None:
    guesses = {
        "alpha one": "routine",  # a missed immediate
        "alpha two": "urgent",  # a missed hard positive
        "bravo one": "immediate",  # a false immediate on a hard negative
        "bravo two": "routine",
        "charlie one": "routine",
        "charlie two": "urgent",
        "delta one": "routine",
    }
    f = blind.score_triage(TRIAGE, guesses.__getitem__)
    assert f["immediate_recall"] == 0.0
    assert f["false_immediate_rate"] == 0.25
    assert f["urgent_agreement"] == 0.0
    assert f["routine_agreement"] == 0.5
    assert f["hard_positive_recall"] == 0.0
    assert f["hard_negative_false_immediate_rate"] == 0.5
    assert f["missed_immediate_ids"] == ["a1", "a2"]
    assert f["false_immediate_ids"] == ["b1"]
    targets = {
        t["figure"]: t["met"]
        for t in blind.targets({"triage": {"latest": f}})
        if t["kind"] == "triage"
    }
    assert targets["immediate_recall"] is False
    assert targets["false_immediate_rate"] is False


def test_triage_rejects_an_unknown_urgency() -> None:
    with pytest.raises(ValueError, match="not one of"):
        blind.score_triage(TRIAGE, lambda text: "panic")


# ---------------------------------------------------------------------------- language

LANGUAGE = [
    {
        "id": "f1",
        "text": "the cat was purple and loud",
        "label": "flagged",
        "terms": ["purple", "loud"],
        "tricky": None,
    },
    {
        "id": "f2",
        "text": "a dog barked green",
        "label": "flagged",
        "terms": ["green"],
        "tricky": None,
    },
    {"id": "k1", "text": "not purple at all", "label": "clean", "terms": [], "tricky": "negation"},
    {"id": "k2", "text": "she said 'loud'", "label": "clean", "terms": [], "tricky": "quoted"},
]


def spans_of(words: dict[str, list[str]]):  # noqa: ANN201
    """A fake checker: finds the listed words in each text."""

    def find(text: str) -> list[tuple[int, int]]:
        out = []
        for word in words.get(text, []):
            start = text.index(word)
            out.append((start, start + len(word)))
        return out

    return find


def test_language_perfect_checker() -> None:
    f = blind.score_language(
        LANGUAGE,
        spans_of({LANGUAGE[0]["text"]: ["purple", "loud"], LANGUAGE[1]["text"]: ["green"]}),
    )
    assert f["term_precision"] == f["term_recall"] == 1.0
    assert f["sentence_precision"] == f["sentence_recall"] == 1.0
    assert f["labelled_terms"] == 3
    assert all(v["items_with_findings"] == 0 for v in f["false_positives_by_tricky"].values())


def test_language_overlap_misses_and_false_positives() -> None:
    f = blind.score_language(
        LANGUAGE,
        spans_of(
            {
                # "purp" overlaps "purple": a hit; "cat" overlaps no term: a stray finding.
                LANGUAGE[0]["text"]: ["purp", "cat"],
                # f2: nothing found, a missed sentence.
                LANGUAGE[2]["text"]: ["purple"],  # a finding on a clean (negation) item
            }
        ),
    )
    assert f["true_findings"] == 1
    assert f["false_findings_stray"] == 1
    assert f["false_findings_clean"] == 1
    assert f["term_precision"] == round(1 / 3, 4)
    assert f["term_recall"] == round(1 / 3, 4)
    assert f["sentence_recall"] == 0.5
    assert f["sentence_precision"] == 0.5
    assert f["missed_flagged_ids"] == ["f2"]
    assert f["false_positive_clean_ids"] == ["k1"]
    assert f["false_positives_by_tricky"]["negation"] == {
        "items": 1,
        "items_with_findings": 1,
        "findings": 1,
    }
    assert f["false_positives_by_tricky"]["quoted"]["items_with_findings"] == 0
    met = {t["figure"]: t["met"] for t in blind.targets({"language": {"latest": f}})}
    assert met["term_precision"] is False and met["term_recall"] is False


def test_language_repeated_term_is_its_second_occurrence() -> None:
    assert blind.term_spans("red and red", ["red", "red"]) == [(0, 3), (8, 11)]
    assert blind.term_spans("Red flag", ["red"]) == [(0, 3)]
    with pytest.raises(blind.BlindFileError, match="not in the text"):
        blind.term_spans("red", ["red", "red"])


def test_nothing_found_gives_no_precision_not_a_perfect_one() -> None:
    f = blind.score_language(LANGUAGE, lambda text: [])
    assert f["term_precision"] is None
    assert f["term_recall"] == 0.0


# --------------------------------------------------------------------------- questions

MAPPING = {"ask_x": ["fam_x", "fam_y"], "ask_z": ["fam_z"], "start_form": [], "nlu_fallback": []}
QUESTIONS = [
    {"id": "q1", "text": "one", "family": "fam_x"},
    {"id": "q2", "text": "two", "family": "fam_y"},
    {"id": "q3", "text": "three", "family": "fam_z"},
    {"id": "q4", "text": "four", "family": "fam_orphan"},
]


def test_questions_right_family_and_fallback() -> None:
    intents = {"one": "ask_x", "two": "ask_x", "three": "ask_z", "four": "nlu_fallback"}
    f = blind.score_questions(
        QUESTIONS, intents.__getitem__, MAPPING, {"nlu_fallback"}, ["fam_x", "fam_unused"]
    )
    assert f["right_family"] == 3 and f["right_family_share"] == 0.75
    assert f["fallback"] == 1 and f["fallback_share"] == 0.25
    # Families no intent answers are named, with the items they cap.
    assert f["families_without_intent"] == ["fam_orphan", "fam_unused"]
    assert f["items_in_families_without_intent"] == 1


def test_questions_wrong_and_unmapped_intents_score_wrong() -> None:
    intents = {"one": "start_form", "two": "ask_z", "three": "brand_new", "four": "ask_x"}
    f = blind.score_questions(
        QUESTIONS, intents.__getitem__, MAPPING, {"nlu_fallback"}, notable={"form": ["start_form"]}
    )
    assert f["right_family"] == 0
    assert f["notable"] == {"form": 1}
    assert f["unmapped_intents"] == {"brand_new": 1}
    assert f["wrong_ids"] == ["q1:start_form", "q2:ask_z", "q3:brand_new", "q4:ask_x"]
    met = {t["figure"]: t["met"] for t in blind.targets({"questions": {"latest": f}})}
    assert met["right_family_share"] is False and met["fallback_share"] is True


def test_family_table_lists_every_domain_intent() -> None:
    """A new intent must be placed in bench/blind_families.yml, or it would score wrong
    without anyone deciding so."""
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    mapping, fallback, notable = blind.load_families()
    assert set(domain["intents"]) | {"nlu_fallback"} == set(mapping)
    assert fallback <= set(mapping)
    assert {i for names in notable.values() for i in names} <= set(mapping)


def test_family_table_names_only_declared_families() -> None:
    declared: set[str] = set()
    for _, path in blind.discover("questions"):
        header, _ = blind.load_items(path, "questions")
        declared |= set(header.get("families") or [])
    mapping, _, _ = blind.load_families()
    assert {f for fams in mapping.values() for f in fams} <= declared


# ------------------------------------------------------------------------ files, batches


def write(path: Path, items: list[dict], **header: object) -> Path:
    path.write_text(yaml.safe_dump({"batch": 1, **header, "items": items}), encoding="utf-8")
    return path


def test_batches_are_ordered_numerically(tmp_path: Path) -> None:
    for n in (2, 10, 1):
        write(tmp_path / f"triage_batch{n}.yml", TRIAGE)
    (tmp_path / "triage_batch_notes.txt").write_text("not a batch")
    (tmp_path / "language_batch3.yml").write_text("items: []")
    assert [n for n, _ in blind.discover("triage", tmp_path)] == [1, 2, 10]
    first, latest = blind._first_latest(blind.discover("triage", tmp_path))
    assert (first[0], first[1]) == ("first", 1)
    assert (latest[0], latest[1]) == ("latest", 10)


def test_the_same_batch_number_twice_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "triage_batch1.yml", TRIAGE)
    write(tmp_path / "triage_batch01.yml", TRIAGE)
    with pytest.raises(blind.BlindFileError, match="batch 1"):
        blind.discover("triage", tmp_path)


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("triage_batch1.yml", "items: [unclosed", "not valid YAML at line"),
        ("triage_batch1.yml", "just a string", "expected a mapping with an `items` list"),
        ("triage_batch1.yml", "items:\n  - {id: t9, label: immediate}\n", "(t9) has no text"),
        ("triage_batch1.yml", "items:\n  - {text: hi, label: maybe}\n", "label 'maybe'"),
        (
            "language_batch1.yml",
            "items:\n  - {id: l9, text: hello, label: flagged, terms: [bye]}\n",
            "term 'bye' is not in the text",
        ),
        (
            "questions_batch1.yml",
            "families: [a]\nitems:\n  - {id: q9, text: hi, family: b}\n",
            "family 'b' is not listed",
        ),
    ],
)
def test_a_malformed_file_gives_one_plain_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: str, says: str
) -> None:
    (tmp_path / name).write_text(content, encoding="utf-8")
    assert blind.main(["--dir", str(tmp_path), "--no-model"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"blind: {name}: ") and says in err


def test_first_and_latest_side_by_side(tmp_path: Path) -> None:
    """End to end on synthetic batches 1 and 10, with the real detector and checker: the
    table has a column per batch, the JSON both, and the skipped questions say why."""
    write(tmp_path / "triage_batch1.yml", TRIAGE)
    write(tmp_path / "triage_batch10.yml", TRIAGE[:4])
    write(tmp_path / "language_batch1.yml", LANGUAGE)
    write(tmp_path / "language_batch10.yml", LANGUAGE[:2])
    write(tmp_path / "questions_batch1.yml", QUESTIONS)
    out = blind.blind_figures(tmp_path, model=None)
    assert out["triage"]["batches"] == [1, 10]
    assert out["triage"]["first"]["n"] == 7 and out["triage"]["latest"]["n"] == 4
    assert out["language"]["latest"]["batch"] == 10
    assert out["questions"] == {"skipped": "not measured (--no-model)"}
    table = blind.markdown(out)
    assert "| Figure | batch 1 (first) | batch 10 (latest) | Target | Met |" in table
    assert "not measured (--no-model)" in table
    missing = blind.blind_figures(tmp_path, model=tmp_path / "none.tar.gz")
    assert "no trained model" in missing["questions"]["skipped"]


def test_one_batch_is_one_column(tmp_path: Path) -> None:
    write(tmp_path / "triage_batch1.yml", TRIAGE)
    out = blind.blind_figures(tmp_path, model=None)
    assert out["triage"]["first"] == out["triage"]["latest"]
    table = blind.markdown(out)
    assert "| Figure | batch 1 (first = latest) | Target | Met |" in table
    assert "no language_batchN.yml" in table


def test_the_real_blind_files_load() -> None:
    """Well-formed only: no figure on them is asserted here (targets live in benchmarks)."""
    for kind in blind.KINDS:
        for _, path in blind.discover(kind):
            _, items = blind.load_items(path, kind)
            assert items
