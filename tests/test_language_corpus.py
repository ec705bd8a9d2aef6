"""Precision and recall of the language checker over a labelled corpus of case-note sentences.

Scored over (sentence, rule) pairs: a true positive is a rule the label expects and the
checker reports for that sentence; a false positive is a reported rule the label does not
expect; a false negative is an expected rule not reported. Both must be at least 0.95.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from bot.core.language import check, default_rules

CORPUS = Path(__file__).parent / "data" / "language_corpus.yml"
THRESHOLD = 0.95
KINDS = {"flagged", "clean", "quoted", "near-miss"}


def load_corpus() -> list[dict]:
    return yaml.safe_load(CORPUS.read_text(encoding="utf-8"))["sentences"]


def score(corpus: list[dict]) -> tuple[Counter, list[str]]:
    counts: Counter = Counter()
    mistakes: list[str] = []
    for item in corpus:
        expected = set(item["rules"])
        found = {f.rule for f in check(item["text"])}
        counts["tp"] += len(expected & found)
        counts["fp"] += len(found - expected)
        counts["fn"] += len(expected - found)
        for rule in sorted(found - expected):
            mistakes.append(f"false positive {rule}: {item['text']!r}")
        for rule in sorted(expected - found):
            mistakes.append(f"missed {rule}: {item['text']!r}")
    return counts, mistakes


def test_corpus_is_well_formed() -> None:
    corpus = load_corpus()
    assert len(corpus) >= 150
    rule_ids = {c.rule.id for c in default_rules().rules}
    texts = [item["text"] for item in corpus]
    assert len(texts) == len(set(texts)), "duplicate sentences"
    kinds = Counter(item["kind"] for item in corpus)
    assert set(kinds) == KINDS
    for item in corpus:
        assert set(item) == {"kind", "rules", "text"}
        assert set(item["rules"]) <= rule_ids, item
        assert bool(item["rules"]) == (item["kind"] == "flagged") or item["kind"] == "quoted"
    flagged_rules = {rule for item in corpus for rule in item["rules"]}
    assert flagged_rules == rule_ids, "every rule needs sentences that should fire it"
    assert kinds["clean"] + kinds["near-miss"] >= 50
    assert kinds["quoted"] >= 20


def test_precision_and_recall(capsys: pytest.CaptureFixture[str]) -> None:
    corpus = load_corpus()
    counts, mistakes = score(corpus)
    precision = counts["tp"] / ((counts["tp"] + counts["fp"]) or 1)
    recall = counts["tp"] / ((counts["tp"] + counts["fn"]) or 1)
    with capsys.disabled():
        print(
            f"\nlanguage corpus: {len(corpus)} sentences, tp={counts['tp']} fp={counts['fp']} "
            f"fn={counts['fn']}, precision={precision:.3f} recall={recall:.3f}"
        )
        for line in mistakes:
            print(f"  {line}")
    assert precision >= THRESHOLD, mistakes
    assert recall >= THRESHOLD, mistakes


@pytest.mark.parametrize("kind", sorted(KINDS - {"flagged"}))
def test_no_false_positives_by_kind(kind: str) -> None:
    """Reported separately so a regression in quote handling or near-misses is named."""
    corpus = [item for item in load_corpus() if item["kind"] == kind]
    counts, mistakes = score(corpus)
    assert counts["fp"] <= max(1, len(corpus) // 20), mistakes
