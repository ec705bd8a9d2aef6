"""The labelled corpus: every immediate danger must be caught (recall 1.0 on immediate).

Prints precision and recall per level and the false-alarm rate (routine or urgent messages
assessed as immediate). A miss is fixed in knowledge/danger_rules.yml, never by deleting or
relabelling the case in tests/data/triage_corpus.yml.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.core.triage import OUTCOMES, URGENCIES, Detector, load_rules

CORPUS = Path(__file__).parent / "data" / "triage_corpus.yml"


def load_cases() -> list[dict]:
    cases = yaml.safe_load(CORPUS.read_text(encoding="utf-8"))["cases"]
    for index, case in enumerate(cases):
        assert set(case) <= {"text", "expect", "note"}, f"case {index}: unknown keys"
        assert isinstance(case["text"], str) and case["text"].strip(), f"case {index}: no text"
        assert case["expect"] in OUTCOMES, f"case {index}: bad expect {case['expect']!r}"
    return cases


@pytest.fixture(scope="module")
def assessed() -> list[tuple[dict, str, str]]:
    """(case, urgency, outcome) for every case; `ask` is an urgent record."""
    detector = Detector(load_rules())
    out = []
    for case in load_cases():
        result = detector.assess(case["text"])
        out.append((case, result.urgency, result.outcome))
    return out


@pytest.fixture(scope="module")
def results(assessed: list[tuple[dict, str, str]]) -> list[tuple[dict, str]]:
    """(case, urgency), with `ask` cases expected as the urgent level they are."""
    return [
        ({**case, "expect": "urgent" if case["expect"] == "ask" else case["expect"]}, urgency)
        for case, urgency, _ in assessed
    ]


def test_harm_with_unknown_timing_asks_and_never_lowers(
    assessed: list[tuple[dict, str, str]],
) -> None:
    """`ask` cases: the reply must carry the 999 line (ask) or go further (immediate)."""
    wrong = [
        f"  expected ask, got {outcome}: {case['text']!r}"
        for case, _, outcome in assessed
        if case["expect"] == "ask" and outcome not in ("ask", "immediate")
    ]
    assert sum(case["expect"] == "ask" for case, _, _ in assessed) >= 10
    assert not wrong, f"{len(wrong)} ask case(s) not asked:\n" + "\n".join(wrong)


def test_corpus_is_big_and_balanced_enough() -> None:
    cases = load_cases()
    assert len(cases) >= 220
    assert sum(case["expect"] == "immediate" for case in cases) >= 90
    assert sum(case["expect"] == "urgent" for case in cases) >= 40
    assert sum(case["expect"] == "routine" for case in cases) >= 40
    texts = [case["text"] for case in cases]
    duplicates = sorted({t for t in texts if texts.count(t) > 1})
    assert not duplicates, f"duplicate cases: {duplicates}"


def test_recall_on_immediate_is_one(results: list[tuple[dict, str]]) -> None:
    misses = [
        f"  expected immediate, got {got}: {case['text']!r}"
        for case, got in results
        if case["expect"] == "immediate" and got != "immediate"
    ]
    assert not misses, f"{len(misses)} immediate danger(s) missed:\n" + "\n".join(misses)


def test_urgent_concerns_are_never_routine(results: list[tuple[dict, str]]) -> None:
    """A safeguarding concern must reach the lead: urgent may be raised, never lowered."""
    lowered = [
        f"  expected urgent, got routine: {case['text']!r}"
        for case, got in results
        if case["expect"] == "urgent" and got == "routine"
    ]
    assert not lowered, f"{len(lowered)} concern(s) assessed routine:\n" + "\n".join(lowered)


def test_report_precision_recall_and_false_alarms(results: list[tuple[dict, str]]) -> None:
    lines = ["", "triage corpus: level      precision  recall   support"]
    for level in URGENCIES:
        predicted = [case for case, got in results if got == level]
        actual = [case for case, _ in results if case["expect"] == level]
        hits = [case for case, got in results if got == level and case["expect"] == level]
        precision = len(hits) / len(predicted) if predicted else 1.0
        recall = len(hits) / len(actual) if actual else 1.0
        lines.append(
            f"triage corpus: {level:<10} {precision:9.3f}  {recall:6.3f}  {len(actual):7d}"
        )
    not_immediate = [(case, got) for case, got in results if case["expect"] != "immediate"]
    alarms = [case for case, got in not_immediate if got == "immediate"]
    rate = len(alarms) / len(not_immediate) if not_immediate else 0.0
    lines.append(
        f"triage corpus: false-alarm rate (routine/urgent assessed immediate) "
        f"{rate:.3f} ({len(alarms)}/{len(not_immediate)})"
    )
    exact = sum(case["expect"] == got for case, got in results) / len(results)
    lines.append(f"triage corpus: exact agreement {exact:.3f} over {len(results)} messages")
    for case, got in results:
        if case["expect"] != got:
            lines.append(f"triage corpus:   expected {case['expect']}, got {got}: {case['text']!r}")
    print("\n".join(lines))
    # The floor leans high on purpose, but a detector that cries wolf on most calm messages
    # would teach workers to ignore it.
    assert rate <= 0.25, "\n".join(lines)


DEV_SET = Path(__file__).parent / "data" / "triage_dev.yml"


def test_the_development_set_never_misses_danger_or_lowers_a_concern() -> None:
    """tests/data/triage_dev.yml: 240 messages written from published case material for
    tuning (not blind). Every immediate item is caught; ask and urgent items are never
    routine; false immediates are reported, and bounded so the floor cannot drift to
    crying wolf."""
    items = yaml.safe_load(DEV_SET.read_text(encoding="utf-8"))["items"]
    detector = Detector(load_rules())
    got = {item["id"]: detector.assess(item["text"]).outcome for item in items}
    missed = [i["id"] for i in items if i["label"] == "immediate" and got[i["id"]] != "immediate"]
    lowered = [
        i["id"] for i in items if i["label"] in ("ask", "urgent") and got[i["id"]] == "routine"
    ]
    calm = [i for i in items if i["label"] in ("urgent", "routine")]
    alarms = [i["id"] for i in calm if got[i["id"]] == "immediate"]
    print(f"\ntriage dev set: false immediate {len(alarms)}/{len(calm)} {alarms}")
    assert not missed, f"immediate missed: {missed}"
    assert not lowered, f"concerns assessed routine: {lowered}"
    assert len(alarms) <= 0.1 * len(calm), f"false immediates: {alarms}"
