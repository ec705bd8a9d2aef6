"""NLU evaluation for `make test`: the shipped model on a held-out set, macro-F1, a gate.

Why held-out: `tests/data/nlu_holdout.yml` was written apart from the training data and is
never trained on, so it measures the model workers will actually use (the one `make test`
just trained, danger detector included), at no extra training time. Cross-validation
(`--cross-validation`) is kept for experiments on the training data.

Why MIN_MACRO_F1 = 0.88: macro-F1 weighs every intent equally, so one intent the model
cannot learn drags it down. Measured on this 2-core machine, the shipped model scored
0.925-0.932 across three random seeds (NLU review), and 0.897-0.921 across the small
training-data edits made since, with the danger detector's changes folded in (it can turn
a question into report_danger). 0.88 sits below every one of those runs, so the gate does
not fail at random, and above the data and config before the review (0.877), so losing
that review's gains fails it. Misrecognition is not what keeps a child safe (the danger
detector is deterministic and runs on every message, and the fallback always shows 999 and
the menu), but a model below this line would send workers round in circles. 3-fold
cross-validation of the training data scores lower (0.82) because each fold trains on two
thirds of the examples; it is printed on request, never gated.

With the question families of issue #17 (43 intents; ten held-out items for each new
family) the shipped model scored 0.90-0.92, and 0.925-0.93 with more training examples
(bench/results/questions.md): above this gate, below the issue's 0.95.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
HOLDOUT = ROOT / "tests" / "data" / "nlu_holdout.yml"
MODEL = ROOT / "models" / "safeguard.tar.gz"
OUT = ROOT / "results" / "nlu"
MIN_MACRO_F1 = 0.88
FOLDS = 3


def rasa(*args: str) -> None:
    """Rasa's command line through safeguard's launcher (bot/rasa/server.py), so the model
    loads as the server loads it: the same predictions, without Rasa's training step."""
    env = dict(os.environ, RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="2")
    command = [sys.executable, "-m", "bot.rasa.server", *args]
    subprocess.run(command, cwd=ROOT, env=env, check=True)


def cross_validation_config() -> Path:
    """config.yml without the FallbackClassifier, which would score the classifier on a
    label (nlu_fallback) it never predicts by itself."""
    config = yaml.safe_load((ROOT / "config.yml").read_text())
    config["pipeline"] = [c for c in config["pipeline"] if c["name"] != "FallbackClassifier"]
    path = ROOT / "results" / "nlu_eval_config.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def report(out: Path) -> float:
    data = json.loads((out / "intent_report.json").read_text())
    macro = data["macro avg"]["f1-score"]
    per_intent = {
        name: scores["f1-score"]
        for name, scores in data.items()
        if isinstance(scores, dict)
        and "support" in scores
        and name not in ("macro avg", "weighted avg", "micro avg")
    }
    print("[nlu-eval] weakest intents:")
    for name, f1 in sorted(per_intent.items(), key=lambda kv: kv[1])[:6]:
        print(f"    {name:<28} F1 {f1:.3f}")
    return macro


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cross-validation",
        action="store_true",
        help=f"{FOLDS}-fold cross-validation of data/nlu.yml instead (trains {FOLDS} models)",
    )
    args = parser.parse_args(argv)
    if args.cross_validation:
        print(f"[nlu-eval] {FOLDS}-fold cross-validation of data/nlu.yml")
        out = OUT / "cv"
        rasa(
            "test",
            "nlu",
            "--cross-validation",
            "--folds",
            str(FOLDS),
            "--config",
            str(cross_validation_config()),
            "--nlu",
            "data/nlu.yml",
            "--out",
            str(out),
            "--no-plot",
            "--quiet",
        )
    else:
        if not MODEL.exists():
            print(f"[nlu-eval] no trained model at {MODEL}: run 'make train'", file=sys.stderr)
            return 1
        print(f"[nlu-eval] the shipped model on the held-out set {HOLDOUT.relative_to(ROOT)}")
        out = OUT / "holdout"
        rasa(
            "test",
            "nlu",
            "--model",
            str(MODEL),
            "--nlu",
            str(HOLDOUT),
            "--out",
            str(out),
            "--no-plot",
            "--quiet",
        )
    macro = report(out)
    print(f"[nlu-eval] macro-F1 {macro:.3f} (threshold {MIN_MACRO_F1})")
    if not args.cross_validation and macro < MIN_MACRO_F1:
        print(f"[nlu-eval] FAIL: macro-F1 {macro:.3f} is below {MIN_MACRO_F1}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
