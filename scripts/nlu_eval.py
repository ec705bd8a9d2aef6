"""NLU evaluation for `make test`: 3-fold cross-validation, macro-F1, fail below a threshold.

Why cross-validation: every example is tested once by a model that never saw it, and no
held-out file can drift out of date. The FallbackClassifier is removed for the evaluation
(as RasaHQ/rasa-demo does), because it turns low-confidence guesses into `nlu_fallback`
and would score the classifier on a label it never predicts by itself.

Why MIN_MACRO_F1 = 0.85: macro-F1 weighs every intent equally, so one intent the model
cannot learn drags it down; 0.85 is met only when every intent is mostly recognised, while
leaving room for the short, typo-laden fragments staff really send. Misrecognition is not
what keeps a child safe (the danger detector is deterministic and runs on every message,
and the fallback always shows 999 and the menu), but a model below this line would send
workers round in circles.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "results" / "nlu"
MIN_MACRO_F1 = 0.85
FOLDS = 3


def eval_config() -> Path:
    config = yaml.safe_load((ROOT / "config.yml").read_text())
    config["pipeline"] = [c for c in config["pipeline"] if c["name"] != "FallbackClassifier"]
    path = ROOT / "results" / "nlu_eval_config.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def main() -> int:
    config = eval_config()
    env = dict(os.environ, RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="2")
    print(f"[nlu-eval] {FOLDS}-fold cross-validation of data/nlu.yml (trains {FOLDS} models)")
    subprocess.run(
        [str(ROOT / ".venv/bin/rasa"), "test", "nlu", "--cross-validation", "--folds", str(FOLDS),
         "--config", str(config), "--nlu", "data/nlu.yml", "--out", str(OUT), "--no-plot",
         "--quiet"],
        cwd=ROOT, env=env, check=True,
    )
    report = json.loads((OUT / "intent_report.json").read_text())
    macro = report["macro avg"]["f1-score"]
    per_intent = {
        name: scores["f1-score"]
        for name, scores in report.items()
        if isinstance(scores, dict) and "support" in scores and name not in (
            "macro avg", "weighted avg", "micro avg")
    }
    print("[nlu-eval] weakest intents:")
    for name, f1 in sorted(per_intent.items(), key=lambda kv: kv[1])[:6]:
        print(f"    {name:<28} F1 {f1:.3f}")
    print(f"[nlu-eval] macro-F1 {macro:.3f} (threshold {MIN_MACRO_F1})")
    if macro < MIN_MACRO_F1:
        print(f"[nlu-eval] FAIL: macro-F1 {macro:.3f} is below {MIN_MACRO_F1}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
