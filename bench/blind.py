"""`make blind`: triage, language checker and question figures on the BLIND sets.

    .venv/bin/python bench/blind.py [--no-model] [--model models/safeguard.tar.gz] [--json F]

The blind sets (tests/data/blind/{triage,questions,language}_batchN.yml) were written by
someone who never saw the rules, so they measure what the project's own corpora cannot:
how the rules do on wording nobody tuned them to. They are only MEASURED here; nothing
from them may go into rules, training data or tests.

For each kind the first batch and the latest batch are scored side by side (a later batch
is harder or different; the first shows whether a change helped on wording already seen).
Triage and the language checker need no Rasa; the questions need the trained NLU model
(`rasa.core.agent.Agent`, parse only: no servers), mapped from intent to answer family by
bench/blind_families.yml. Without a model the questions are skipped with a line saying so.

A measurement, not a test: the targets are printed beside the figures, never asserted.
Reports carry item ids, never the blind sentences, so nothing blind leaks into the repo.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
BLIND_DIR = ROOT / "tests" / "data" / "blind"
FAMILIES_FILE = ROOT / "bench" / "blind_families.yml"
MODEL = ROOT / "models" / "safeguard.tar.gz"
KINDS = ("triage", "language", "questions")
# Triage measured again through the trained NLU pipeline (the detector, then the classifier,
# which can only raise): what a worker's message really gets. Needs the model.
PIPELINE = "triage_nlu"
SECTIONS = ("triage", PIPELINE, "language", "questions")
TRIAGE_LABELS = ("immediate", "urgent", "ask", "routine")
LANGUAGE_LABELS = ("flagged", "clean")
URGENCIES = ("immediate", "urgent", "routine")
# What triage may answer: the three urgencies, or `ask` (harm told, timing unknown: the
# reply keeps the 999 line and asks one question; it pages nobody until the answer is yes).
OUTCOMES = ("immediate", "urgent", "ask", "routine")

# The issues' targets. Each: (kind, figure key, comparison, threshold, how it reads).
TARGETS: list[tuple[str, str, str, float, str]] = [
    ("triage", "immediate_recall", ">=", 0.98, ">= 0.98"),
    ("triage", "false_immediate_rate", "<=", 0.05, "<= 5%"),
    (PIPELINE, "immediate_recall", ">=", 0.98, ">= 0.98"),
    (PIPELINE, "false_immediate_rate", "<=", 0.05, "<= 5%"),
    ("language", "term_precision", ">=", 0.95, ">= 0.95"),
    ("language", "term_recall", ">=", 0.90, ">= 0.90"),
    ("questions", "right_family_share", ">=", 0.85, ">= 85%"),
    ("questions", "fallback_share", "<=", 0.05, "<= 5%"),
]


class BlindFileError(ValueError):
    """A blind file that cannot be scored; its message is one plain line naming the file."""


def progress(message: str) -> None:
    # The same shape as bench/harness.progress, without importing the Rasa-side harness.
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# ------------------------------------------------------------------------------ loading


def discover(kind: str, directory: Path = BLIND_DIR) -> list[tuple[int, Path]]:
    """`<kind>_batchN.yml` files in `directory`, ordered by N as a number (10 after 2)."""
    pattern = re.compile(rf"^{re.escape(kind)}_batch(\d+)\.ya?ml$")
    found: dict[int, Path] = {}
    for path in sorted(directory.glob(f"{kind}_batch*")):
        match = pattern.match(path.name)
        if not match:
            continue
        number = int(match.group(1))
        if number in found:
            raise BlindFileError(
                f"{path.name}: batch {number} is also {found[number].name}; keep one"
            )
        found[number] = path
    return sorted(found.items())


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())


def load_items(path: Path, kind: str) -> tuple[dict, list[dict]]:
    """The file's header (everything but `items`) and its items, checked for what scoring
    needs. Any problem raises BlindFileError with one line: file, item, what is wrong."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise BlindFileError(f"{path.name}: not valid YAML{where}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise BlindFileError(f"{path.name}: cannot be read ({_one_line(exc)})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise BlindFileError(f"{path.name}: expected a mapping with an `items` list")
    header = {k: v for k, v in data.items() if k != "items"}
    items = data["items"]
    if not items:
        raise BlindFileError(f"{path.name}: `items` is empty")
    families = header.get("families")
    if kind == "questions" and families is not None and not isinstance(families, list):
        raise BlindFileError(f"{path.name}: `families` must be a list")
    for n, item in enumerate(items, 1):
        where = f"{path.name}: item {n}"
        if not isinstance(item, dict):
            raise BlindFileError(f"{where} is not a mapping")
        where += f" ({item['id']})" if item.get("id") else ""
        if not isinstance(item.get("text"), str) or not item["text"].strip():
            raise BlindFileError(f"{where} has no text")
        if kind == "triage" and item.get("label") not in TRIAGE_LABELS:
            raise BlindFileError(
                f"{where}: label {item.get('label')!r} is not one of {', '.join(TRIAGE_LABELS)}"
            )
        if kind == "language":
            if item.get("label") not in LANGUAGE_LABELS:
                raise BlindFileError(f"{where}: label {item.get('label')!r} is not flagged|clean")
            terms = item.get("terms") or []
            if not isinstance(terms, list) or not all(isinstance(t, str) for t in terms):
                raise BlindFileError(f"{where}: terms must be a list of strings")
            if item["label"] == "flagged" and not terms:
                raise BlindFileError(f"{where}: flagged but no terms")
            if item["label"] == "clean" and terms:
                raise BlindFileError(f"{where}: clean but has terms")
            term_spans(item["text"], terms, where)  # every term must be found in the text
        if kind == "questions":
            family = item.get("family")
            if not isinstance(family, str):
                raise BlindFileError(f"{where} has no family")
            if families is not None and family not in families:
                raise BlindFileError(f"{where}: family {family!r} is not listed at the top")
    return header, items


def term_spans(text: str, terms: Sequence[str], where: str = "") -> list[tuple[int, int]]:
    """Character spans of the labelled terms. A term written twice is its first and second
    occurrence; case is ignored only when the exact spelling is absent."""
    spans: list[tuple[int, int]] = []
    for term in terms:
        starts = [m.start() for m in re.finditer(re.escape(term), text)] or [
            m.start() for m in re.finditer(re.escape(term), text, re.IGNORECASE)
        ]
        used = sum(1 for t in spans if text[t[0] : t[1]].lower() == term.lower())
        if used >= len(starts):
            raise BlindFileError(f"{where}: term {term!r} is not in the text")
        spans.append((starts[used], starts[used] + len(term)))
    return spans


# ------------------------------------------------------------------------------ scoring


def _share(hits: int, n: int) -> float | None:
    return round(hits / n, 4) if n else None


def score_triage(items: Iterable[dict], assess: Callable[[str], str]) -> dict[str, Any]:
    """Triage against the labels. `assess(text)` returns immediate|urgent|ask|routine.

    Recall on immediate counts only `immediate` (999 and a page at once); `ask` on an
    immediate item is a miss, though that reply carries the 999 line (reported apart).
    `ask` items assessed immediate are acceptable: that reply carries 999 anyway."""
    rows = [(item, assess(item["text"])) for item in items]
    confusion: dict[str, Counter] = {label: Counter() for label in TRIAGE_LABELS}
    for item, got in rows:
        if got not in OUTCOMES:
            raise ValueError(f"assess gave {got!r}, not one of {', '.join(OUTCOMES)}")
        confusion[item["label"]][got] += 1

    def ids(pick: Callable[[dict, str], bool]) -> list[str]:
        return [str(item.get("id", "?")) for item, got in rows if pick(item, got)]

    immediate = [got for item, got in rows if item["label"] == "immediate"]
    not_immediate = [got for item, got in rows if item["label"] in ("urgent", "routine")]
    hard_pos = [got for item, got in rows if item.get("hard_positive")]
    hard_neg = [got for item, got in rows if item.get("hard_negative")]
    caught = sum(g == "immediate" for g in immediate)
    false_imm = sum(g == "immediate" for g in not_immediate)
    ask_imm = confusion["ask"]["immediate"]
    return {
        "n": len(rows),
        "n_per_label": {label: sum(confusion[label].values()) for label in TRIAGE_LABELS},
        "immediate_recall": _share(caught, len(immediate)),
        "immediate_caught": caught,
        "false_immediate_rate": _share(false_imm, len(not_immediate)),
        "false_immediate": false_imm,
        "urgent_or_routine": len(not_immediate),
        "ask_assessed_immediate": ask_imm,
        "ask_agreement": _share(confusion["ask"]["ask"], len(_of(rows, "ask"))),
        # The 999 line is in the first reply for immediate and ask alike.
        "immediate_with_999_line": _share(
            sum(g in ("immediate", "ask") for g in immediate), len(immediate)
        ),
        "false_ask": sum(g == "ask" for g in not_immediate),
        "urgent_agreement": _share(confusion["urgent"]["urgent"], len(_of(rows, "urgent"))),
        "routine_agreement": _share(confusion["routine"]["routine"], len(_of(rows, "routine"))),
        # Hard positives are written to be hard to catch; all of batch 1's are immediate.
        "hard_positive_recall": _share(sum(g == "immediate" for g in hard_pos), len(hard_pos)),
        "hard_positive_caught": sum(g == "immediate" for g in hard_pos),
        "hard_positive_n": len(hard_pos),
        "hard_negative_false_immediate_rate": _share(
            sum(g == "immediate" for g in hard_neg), len(hard_neg)
        ),
        "hard_negative_false_immediate": sum(g == "immediate" for g in hard_neg),
        "hard_negative_n": len(hard_neg),
        "confusion": {label: dict(confusion[label]) for label in TRIAGE_LABELS},
        "missed_immediate_ids": ids(lambda i, g: i["label"] == "immediate" and g != "immediate"),
        "false_immediate_ids": ids(
            lambda i, g: i["label"] in ("urgent", "routine") and g == "immediate"
        ),
    }


def _of(rows: list[tuple[dict, str]], label: str) -> list[str]:
    return [got for item, got in rows if item["label"] == label]


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def score_language(
    items: Iterable[dict], find: Callable[[str], list[tuple[int, int]]]
) -> dict[str, Any]:
    """The checker against the labelled spans. `find(text)` returns [start, end) spans.

    Terms: a finding overlapping a labelled span is a true positive; any other finding is a
    false positive (on a clean item, or a stray one on a flagged item); a labelled span no
    finding overlaps is missed. Sentences: an item is predicted flagged when anything is
    found; a flagged item counts as caught only when a finding overlaps one of its spans."""
    true_findings = stray = clean_findings = 0
    spans_total = spans_hit = 0
    flagged_n = flagged_caught = predicted = predicted_right = 0
    by_tricky: dict[str, dict[str, int]] = {}
    missed_ids: list[str] = []
    fp_ids: list[str] = []
    for item in items:
        found = find(item["text"])
        labelled = term_spans(item["text"], item.get("terms") or [], str(item.get("id", "")))
        if found:
            predicted += 1
        if item["label"] == "flagged":
            flagged_n += 1
            predicted_right += bool(found)
            spans_total += len(labelled)
            spans_hit += sum(any(_overlaps(s, f) for f in found) for s in labelled)
            good = sum(any(_overlaps(f, s) for s in labelled) for f in found)
            true_findings += good
            stray += len(found) - good
            if good:
                flagged_caught += 1
            else:
                missed_ids.append(str(item.get("id", "?")))
        else:
            kind = str(item.get("tricky") or "unspecified")
            row = by_tricky.setdefault(kind, {"items": 0, "items_with_findings": 0, "findings": 0})
            row["items"] += 1
            row["items_with_findings"] += bool(found)
            row["findings"] += len(found)
            clean_findings += len(found)
            if found:
                fp_ids.append(str(item.get("id", "?")))
    findings = true_findings + stray + clean_findings
    return {
        "n": flagged_n + sum(r["items"] for r in by_tricky.values()),
        "flagged_items": flagged_n,
        "clean_items": sum(r["items"] for r in by_tricky.values()),
        "labelled_terms": spans_total,
        "findings": findings,
        "true_findings": true_findings,
        "false_findings_clean": clean_findings,
        "false_findings_stray": stray,
        "term_precision": _share(true_findings, findings),
        "term_recall": _share(spans_hit, spans_total),
        "terms_hit": spans_hit,
        "sentence_precision": _share(predicted_right, predicted),
        "sentence_recall": _share(flagged_caught, flagged_n),
        "sentences_caught": flagged_caught,
        "false_positives_by_tricky": dict(sorted(by_tricky.items())),
        "missed_flagged_ids": missed_ids,
        "false_positive_clean_ids": fp_ids,
    }


def load_families(
    path: Path = FAMILIES_FILE,
) -> tuple[dict[str, list[str]], set[str], dict[str, list[str]]]:
    """intent -> families its answer is right for; the intents counted as fallback; and
    the notable landings (label -> intents) counted apart."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        mapping = {str(k): list(v or []) for k, v in data["intents"].items()}
        fallback = set(data.get("fallback") or [])
        notable = {str(k): list(v) for k, v in (data.get("notable") or {}).items()}
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError) as exc:
        raise BlindFileError(f"{path.name}: not a usable intent -> family table") from exc
    return mapping, fallback, notable


def score_questions(
    items: Iterable[dict],
    intent_of: Callable[[str], str],
    mapping: dict[str, list[str]],
    fallback: set[str],
    families: Sequence[str] | None = None,
    notable: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """Share of questions whose predicted intent answers their family, and fallback share.

    An intent missing from the mapping scores wrong and is listed, so a new intent shows
    up instead of passing silently. Families no intent answers today score 0: listed apart,
    with how many items they hold, which caps the right-family share."""
    items = list(items)
    per_family: dict[str, dict[str, int]] = {}
    intents: Counter = Counter()
    unmapped: Counter = Counter()
    right = fell_back = 0
    wrong_ids: list[str] = []
    for item in items:
        intent = intent_of(item["text"])
        intents[intent] += 1
        if intent not in mapping:
            unmapped[intent] += 1
        ok = item["family"] in mapping.get(intent, [])
        right += ok
        fell_back += intent in fallback
        row = per_family.setdefault(item["family"], {"n": 0, "right": 0})
        row["n"] += 1
        row["right"] += ok
        if not ok:
            wrong_ids.append(f"{item.get('id', '?')}:{intent}")
    answered = {family for fams in mapping.values() for family in fams}
    declared = list(families or []) + sorted(per_family)
    no_intent = sorted({f for f in declared if f not in answered})
    return {
        "n": len(items),
        "right_family": right,
        "right_family_share": _share(right, len(items)),
        "fallback": fell_back,
        "fallback_share": _share(fell_back, len(items)),
        "families_without_intent": no_intent,
        "items_in_families_without_intent": sum(
            per_family.get(f, {}).get("n", 0) for f in no_intent
        ),
        "notable": {
            label: sum(intents[i] for i in names) for label, names in (notable or {}).items()
        },
        "per_family": dict(sorted(per_family.items())),
        "intents": dict(intents.most_common()),
        "unmapped_intents": dict(unmapped),
        "wrong_ids": wrong_ids,
    }


# ---------------------------------------------------------------------- the real scorers


def real_triage() -> Callable[[str], str]:
    import bot.core.nlp  # noqa: F401  (spaCy without TensorFlow, before the detector: as bench_triage)
    from bot.core.triage import Detector, load_rules

    detector = Detector(load_rules())
    return lambda text: detector.assess(text).outcome


def real_language() -> Callable[[str], list[tuple[int, int]]]:
    from bot.core.language import check

    return lambda text: [(f.start, f.end) for f in check(text)]


def real_intents(model: Path) -> Callable[[Sequence[str]], list[str]]:
    """Intent names from `real_parses`."""
    parse_all = real_parses(model)
    return lambda texts: [
        ((parsed or {}).get("intent") or {}).get("name") or "none" for parsed in parse_all(texts)
    ]


def real_parses(model: Path) -> Callable[[Sequence[str]], list[dict]]:
    """Parse texts with the trained model, the project's own NLU components included (the
    cue guard and danger detector run inside the model's pipeline). Parse only: no server,
    no action server, no tracker."""
    import asyncio
    import logging
    import warnings

    sys.path.insert(0, str(ROOT))  # the model's custom components import `bot.*`
    # SQLAlchemy's one 2.0 notice on importing Rasa's tracker stores: not about this run.
    os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    # Imported outside catch_warnings: Rasa adds its own ignore filters on import, and
    # leaving the block would drop them again.
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    # Unconfigured, Rasa's structlog prints every parsed text at debug level: the blind
    # sentences would end up in the console and in any saved bench log.
    configure_structlog(logging.WARNING)
    logging.getLogger("rasa").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        # Loading warns about the dependencies' own deprecations by the dozen, which
        # buries the table; none is about this measurement.
        warnings.simplefilter("ignore")
        agent = Agent.load(str(model))

    def parse_all(texts: Sequence[str]) -> list[dict]:
        async def go() -> list[dict]:
            out = []
            for text in texts:
                out.append(await agent.parse_message(text) or {})
            return out

        return asyncio.run(go())

    return parse_all


# ---------------------------------------------------------------------------- the figures


def _batches(kind: str, directory: Path) -> list[tuple[int, Path]]:
    found = discover(kind, directory)
    if found:
        progress(
            f"blind {kind}: {len(found)} batch(es) "
            f"({', '.join(p.name for _, p in found)}); scoring first and latest"
        )
    return found


def _first_latest(found: list[tuple[int, Path]]) -> list[tuple[str, int, Path]]:
    first, latest = found[0], found[-1]
    return [("first", *first)] + ([("latest", *latest)] if latest != first else [])


def blind_figures(
    directory: Path = BLIND_DIR, model: Path | None = MODEL, families_file: Path = FAMILIES_FILE
) -> dict[str, Any]:
    """Every blind figure: {kind: {batches, first, latest} or {skipped}}, plus targets.
    `model=None` skips the questions (said so in the result, never silently)."""
    out: dict[str, Any] = {"dir": _relative(directory)}
    # Every file is read and checked before anything slow is loaded, so a malformed blind
    # file costs a second and one line, not a model load.
    loaded: dict[str, list[tuple[str, int, Path, dict, list[dict]]]] = {}
    for kind in KINDS:
        found = _batches(kind, directory)
        if not found:
            out[kind] = {"skipped": f"no {kind}_batchN.yml in {_relative(directory)}"}
            continue
        out[kind] = {"batches": [n for n, _ in found]}
        loaded[kind] = [
            (role, number, path, *load_items(path, kind))
            for role, number, path in _first_latest(found)
        ]
    scorers: dict[str, Callable[[list[dict], dict], dict]] = {}
    if "triage" in loaded:
        assess = real_triage()
        scorers["triage"] = lambda items, header: score_triage(items, assess)
    if "language" in loaded:
        find = real_language()
        scorers["language"] = lambda items, header: score_language(items, find)
    if "questions" in loaded:
        mapping, fallback, notable = load_families(families_file)
        if model is None:
            out["questions"] = {"skipped": "not measured (--no-model)"}
        elif not model.exists():
            out["questions"] = {
                "skipped": f"not measured: no trained model at {_relative(model)} (make train)"
            }
        else:
            progress(f"blind questions: loading {_relative(model)} (parse only, no servers)")
            parses = real_parses(model)

            def intents(texts: list[str]) -> list[str]:
                return [
                    ((parsed or {}).get("intent") or {}).get("name") or "none"
                    for parsed in parses(texts)
                ]

            def questions(items: list[dict], header: dict) -> dict:
                texts = [item["text"] for item in items]
                intent = dict(zip(texts, intents(texts), strict=True))
                return score_questions(
                    items,
                    intent.__getitem__,
                    mapping,
                    fallback,
                    header.get("families"),
                    notable,
                )

            scorers["questions"] = questions
            out["questions_model"] = {"path": _relative(model), "stale": _stale(model)}
            if "triage" in loaded:

                def pipeline(items: list[dict], header: dict) -> dict:
                    texts = [item["text"] for item in items]
                    outcome = {
                        text: ((parsed or {}).get("triage") or {}).get("outcome") or "routine"
                        for text, parsed in zip(texts, parses(texts), strict=True)
                    }
                    return score_triage(items, outcome.__getitem__)

                out[PIPELINE] = {"batches": out["triage"]["batches"]}
                loaded[PIPELINE] = loaded["triage"]
                scorers[PIPELINE] = pipeline
    for kind, score in scorers.items():
        section = out[kind]
        for role, number, path, header, items in loaded[kind]:
            figures = score(items, header)
            section[role] = {"batch": number, "file": path.name, **figures}
            progress(f"blind {kind} batch {number}: {_headline(kind, figures)}")
        section.setdefault("latest", section["first"])
    out["targets"] = targets(out)
    return out


def _stale(model: Path) -> bool:
    """Whether training inputs changed after the model was trained (make train would retrain)."""
    inputs = [ROOT / "config.yml", ROOT / "domain.yml", *sorted((ROOT / "data").glob("*.yml"))]
    built = model.stat().st_mtime
    return any(p.exists() and p.stat().st_mtime > built for p in inputs)


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def _headline(kind: str, f: dict) -> str:
    if kind in ("triage", PIPELINE):
        return (
            f"immediate recall {_num(f['immediate_recall'])}, "
            f"false immediate {_pct(f['false_immediate_rate'])}"
        )
    if kind == "language":
        return f"term precision {_num(f['term_precision'])}, recall {_num(f['term_recall'])}"
    return f"right family {_pct(f['right_family_share'])}, fallback {_pct(f['fallback_share'])}"


def targets(out: dict) -> list[dict[str, Any]]:
    """Each issue target against the LATEST batch (the one nobody has tuned to yet)."""
    rows = []
    for kind, key, op, threshold, reads in TARGETS:
        latest = out.get(kind, {}).get("latest")
        value = None if latest is None else latest.get(key)
        met = None if value is None else (value >= threshold if op == ">=" else value <= threshold)
        rows.append({"kind": kind, "figure": key, "target": reads, "value": value, "met": met})
    return rows


# ---------------------------------------------------------------------------- the table


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _ratio(hits: int, n: int) -> str:
    return f"{hits}/{n}"


def _rows(kind: str, f: dict) -> list[tuple[str, str, str]]:
    """(figure, cell, target key or '') for one batch's figures."""
    if kind in ("triage", PIPELINE):
        per = f["n_per_label"]
        return [
            (
                "items: immediate / urgent / ask / routine",
                " / ".join(str(per[label]) for label in TRIAGE_LABELS),
                "",
            ),
            (
                "recall on immediate",
                f"{_num(f['immediate_recall'])} "
                f"({_ratio(f['immediate_caught'], per['immediate'])})",
                "immediate_recall",
            ),
            (
                "false immediate (urgent or routine assessed immediate)",
                f"{_pct(f['false_immediate_rate'])} "
                f"({_ratio(f['false_immediate'], f['urgent_or_routine'])})",
                "false_immediate_rate",
            ),
            (
                "immediate items assessed ask / urgent / routine",
                f"{f['confusion']['immediate'].get('ask', 0)} / "
                f"{f['confusion']['immediate'].get('urgent', 0)} / "
                f"{f['confusion']['immediate'].get('routine', 0)}",
                "",
            ),
            (
                "immediate items whose first reply carries 999 (immediate or ask)",
                _num(f.get("immediate_with_999_line")),
                "",
            ),
            (
                "agreement on ask (harm told, timing unknown)",
                f"{_num(f.get('ask_agreement'))} "
                f"({_ratio(f['confusion']['ask'].get('ask', 0), per['ask'])})",
                "",
            ),
            (
                "`ask` items assessed immediate (acceptable: that reply carries 999)",
                _ratio(f["ask_assessed_immediate"], per["ask"]),
                "",
            ),
            (
                "agreement on urgent",
                f"{_num(f['urgent_agreement'])} "
                f"({_ratio(f['confusion']['urgent'].get('urgent', 0), per['urgent'])})",
                "",
            ),
            (
                "agreement on routine",
                f"{_num(f['routine_agreement'])} "
                f"({_ratio(f['confusion']['routine'].get('routine', 0), per['routine'])})",
                "",
            ),
            (
                "recall on hard positives",
                f"{_num(f['hard_positive_recall'])} "
                f"({_ratio(f['hard_positive_caught'], f['hard_positive_n'])})",
                "",
            ),
            (
                "false immediate on hard negatives",
                f"{_pct(f['hard_negative_false_immediate_rate'])} "
                f"({_ratio(f['hard_negative_false_immediate'], f['hard_negative_n'])})",
                "",
            ),
        ]
    if kind == "language":
        tricky = ", ".join(
            f"{k} {v['items_with_findings']}/{v['items']}"
            for k, v in f["false_positives_by_tricky"].items()
        )
        return [
            (
                "items: flagged / clean (labelled terms)",
                f"{f['flagged_items']} / {f['clean_items']} ({f['labelled_terms']})",
                "",
            ),
            (
                "term precision (findings overlapping a labelled term)",
                f"{_num(f['term_precision'])} ({_ratio(f['true_findings'], f['findings'])})",
                "term_precision",
            ),
            (
                "term recall (labelled terms overlapped by a finding)",
                f"{_num(f['term_recall'])} ({_ratio(f['terms_hit'], f['labelled_terms'])})",
                "term_recall",
            ),
            (
                "sentence precision / recall",
                f"{_num(f['sentence_precision'])} / {_num(f['sentence_recall'])}",
                "",
            ),
            ("clean items with a finding, by tricky kind", tricky or "none", ""),
            (
                "stray findings on flagged items (no labelled term under them)",
                str(f["false_findings_stray"]),
                "",
            ),
        ]
    no_intent = f["families_without_intent"]
    return [
        ("questions", str(f["n"]), ""),
        (
            "right answer family",
            f"{_pct(f['right_family_share'])} ({_ratio(f['right_family'], f['n'])})",
            "right_family_share",
        ),
        (
            "fallback share",
            f"{_pct(f['fallback_share'])} ({_ratio(f['fallback'], f['n'])})",
            "fallback_share",
        ),
        (
            f"items in the {len(no_intent)} families no intent answers today (score 0): "
            + ", ".join(no_intent),
            _ratio(f["items_in_families_without_intent"], f["n"]),
            "",
        ),
    ] + [
        (f"questions that {label}", _ratio(count, f["n"]), "")
        for label, count in f.get("notable", {}).items()
    ]


TITLES = {
    "triage": "Triage (bot.core.triage.Detector)",
    PIPELINE: "Triage through the trained NLU pipeline (detector, then the classifier, which "
    "can only raise)",
    "language": "Language checker (bot.core.language.check)",
    "questions": "Questions (trained NLU model -> bench/blind_families.yml)",
}


def markdown(out: dict) -> str:
    """One table, one column per batch (first, latest), the target and whether the latest
    batch meets it."""
    numbers = {
        (s["first"]["batch"], s["latest"]["batch"])
        for s in (out.get(k, {}) for k in SECTIONS)
        if "first" in s
    }
    single = all(first == latest for first, latest in numbers)
    if len(numbers) == 1:
        first, latest = next(iter(numbers))
        heads = (
            [f"batch {first} (first = latest)"]
            if single
            else [f"batch {first} (first)", f"batch {latest} (latest)"]
        )
    else:
        heads = ["first batch"] if single else ["first batch", "latest batch"]
    lines = [
        f"Blind sets ({out['dir']}): labelled by someone who never saw the rules; measured "
        "only. Targets are judged on the latest batch.",
        "",
        "| Figure | " + " | ".join(heads) + " | Target | Met |",
        "|---|" + "---|" * len(heads) + "---|---|",
    ]
    wanted = {(t["kind"], t["figure"]): t for t in out.get("targets", [])}
    blank = " |" * len(heads)
    for kind in SECTIONS:
        if kind == PIPELINE and kind not in out:
            continue  # no model: the questions line says so
        section = out.get(kind, {})
        if "first" not in section:
            lines.append(
                f"| **{TITLES[kind]}**: {section.get('skipped', 'not measured')} |{blank} | |"
            )
            continue
        title = f"**{TITLES[kind]}**"
        if len(numbers) > 1:
            title += f" (batch {section['first']['batch']} / {section['latest']['batch']})"
        lines.append(f"| {title} |{blank} | |")
        first_rows = _rows(kind, section["first"])
        latest_rows = _rows(kind, section["latest"])
        for (label, first_cell, key), (_, latest_cell, _) in zip(
            first_rows, latest_rows, strict=True
        ):
            cells = [first_cell] if single else [first_cell, latest_cell]
            target = wanted.get((kind, key))
            met = "" if target is None else MET[target["met"]]
            lines.append(
                f"| {label} | "
                + " | ".join(cells)
                + f" | {target['target'] if target else ''} | {met} |"
            )
        if kind == "questions" and out.get("questions_model", {}).get("stale"):
            lines.append(f"| (model older than the training data: `make train`) |{blank} | |")
    return "\n".join(lines) + "\n"


MET = {True: "met", False: "**missed**", None: "n/a"}


# ------------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-model", action="store_true", help="skip the questions (no Rasa)")
    parser.add_argument("--model", type=Path, default=MODEL, help="the trained Rasa model")
    parser.add_argument("--dir", type=Path, default=BLIND_DIR, help="where the blind sets are")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    try:
        out = blind_figures(args.dir, None if args.no_model else args.model)
    except BlindFileError as exc:
        print(f"blind: {exc}", file=sys.stderr)
        return 2
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    print()
    print(markdown(out))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
