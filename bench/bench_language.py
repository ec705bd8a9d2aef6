"""Notes per second for the language checker on one core, over the labelled corpus.

Run from the repository root:  .venv/bin/python bench/bench_language.py [--seconds 3] [--first N]
Prints numbers; it is not a test. Each sentence of tests/data/language_corpus.yml is one
"note"; a second figure uses whole notes of 20 sentences (about 1.5 KB) each. `--first N`
measures on the first N sentences only (323 is the corpus before issue #19, for a
like-for-like comparison). The CPU-time rate (this process's CPU time, best pass) is printed
too: on a shared machine it moves far less than the wall-clock rate. The last figure is one
chat message's worth of note (4,096 characters, Telegram's longest message): the time the
in-chat check adds to a turn.
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

CHAT_CHARS = 4_096


def cpu_rate(fn: object, texts: list[str], passes: int = 5) -> float:
    """Calls per second of CPU time, the best of `passes` passes over `texts`."""
    best = 0.0
    for _ in range(passes):
        start = time.process_time()
        for text in texts:
            fn(text)  # type: ignore[operator]
        used = time.process_time() - start
        if used > 0:
            best = max(best, len(texts) / used)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    parser.add_argument("--first", type=int, default=0, help="use only the first N sentences")
    args = parser.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    pinned = pin_to_one_core()

    import yaml

    from bot.core.language import check, default_rules

    corpus = ROOT / "tests" / "data" / "language_corpus.yml"
    sentences = [s["text"] for s in yaml.safe_load(corpus.read_text("utf-8"))["sentences"]]
    if args.first:
        sentences = sentences[: args.first]
    t0 = time.perf_counter()
    default_rules()
    check("warm up")
    load = time.perf_counter() - t0
    notes = [" ".join(sentences[i : i + 20]) for i in range(0, len(sentences), 20)]
    per_sentence, n1 = rate(check, sentences, args.seconds)
    per_note, n2 = rate(check, notes, args.seconds)
    cpu_sentence = cpu_rate(check, sentences)
    avg = sum(map(len, notes)) / len(notes)
    chat = " ".join(sentences)
    chat = chat[: chat.rfind(" ", 0, CHAT_CHARS)]
    start = time.perf_counter()
    for _ in range(20):
        check(chat)
    chat_ms = (time.perf_counter() - start) / 20 * 1000
    print(f"language checker benchmark ({pinned}); rules loaded in {load:.2f} s")
    print(f"corpus: {len(sentences)} sentences")
    print(f"sentences per second: {per_sentence:,.0f}  ({n1} checked)")
    print(
        f"notes per second (20 sentences, ~{avg:,.0f} chars each): {per_note:,.0f}  ({n2} checked)"
    )
    print(f"sentences per second of CPU time (best of 5 passes): {cpu_sentence:,.0f}")
    print(f"one chat message of {len(chat):,} characters: {chat_ms:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
