"""Notes per second for the language checker on one core, over the labelled corpus.

Run from the repository root:  .venv/bin/python bench/bench_language.py [--seconds 3]
Prints numbers; it is not a test. Each sentence of tests/data/language_corpus.yml is one
"note"; a second figure uses whole notes of 20 sentences (about 1.5 KB) each.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from timing import pin_to_one_core, rate  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    args = parser.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    pinned = pin_to_one_core()

    import yaml

    from bot.core.language import check, default_rules

    corpus = ROOT / "tests" / "data" / "language_corpus.yml"
    sentences = [s["text"] for s in yaml.safe_load(corpus.read_text("utf-8"))["sentences"]]
    t0 = time.perf_counter()
    default_rules()
    check("warm up")
    load = time.perf_counter() - t0
    notes = [" ".join(sentences[i : i + 20]) for i in range(0, len(sentences), 20)]
    per_sentence, n1 = rate(check, sentences, args.seconds)
    per_note, n2 = rate(check, notes, args.seconds)
    avg = sum(map(len, notes)) / len(notes)
    print(f"language checker benchmark ({pinned}); rules loaded in {load:.2f} s")
    print(f"sentences per second: {per_sentence:,.0f}  ({n1} checked)")
    print(
        f"notes per second (20 sentences, ~{avg:,.0f} chars each): {per_note:,.0f}  ({n2} checked)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
