"""Messages per second for the immediate-harm detector on one core.

Run from the repository root:  .venv/bin/python bench/bench_triage.py [--seconds 3]
Prints numbers; it is not a test. Three figures: the labelled chat messages of
tests/data/triage_corpus.yml one at a time (what the Rasa pipeline sees), a long pasted note
(about 8 KB), and a full scan-limit text (16 KiB, the most `assess` ever reads), plus the
one-off cost of compiling the rules.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from timing import pin_to_one_core, rate  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description="Benchmark bot.core.triage.assess (not a test).")
    parser.add_argument("--seconds", type=float, default=3.0, help="time per figure")
    args = parser.parse_args()
    print(f"bench_triage: {pin_to_one_core()}")

    import yaml

    import bot.core.nlp  # noqa: F401  (imports spaCy without TensorFlow before the detector)
    from bot.core.triage import SCAN_LIMIT_CHARS, Detector, load_rules

    started = time.perf_counter()
    detector = Detector(load_rules())
    print(f"bench_triage: compile rules {time.perf_counter() - started:.2f} s (once per process)")

    corpus = ROOT / "tests" / "data" / "triage_corpus.yml"
    messages = [case["text"] for case in yaml.safe_load(corpus.read_text("utf-8"))["cases"]]
    detector.assess(messages[0])  # warm caches

    per_second, done = rate(detector.assess, messages, args.seconds)
    print(
        f"bench_triage: chat messages  {per_second:8.0f} messages/s "
        f"({done} messages, mean {sum(map(len, messages)) / len(messages):.0f} chars)"
    )

    note = " ".join(messages)
    note = (note * (8192 // len(note) + 1))[:8192]
    per_second, done = rate(detector.assess, [note], args.seconds)
    print(f"bench_triage: 8 KB notes     {per_second:8.1f} notes/s ({done} notes)")

    huge = (note * (SCAN_LIMIT_CHARS // len(note) + 2))[: SCAN_LIMIT_CHARS + 1000]
    per_second, done = rate(detector.assess, [huge], args.seconds)
    print(
        f"bench_triage: 16 KiB texts   {per_second:8.2f} texts/s ({done} texts, "
        f"{1 / per_second:.2f} s each; the rest past {SCAN_LIMIT_CHARS:,} chars is not read)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
