"""The held-out NLU set stays held out: no hold-out sentence is also a training example.

scripts/nlu_eval.py scores the shipped model on tests/data/nlu_holdout.yml as a measure of
wording the model has not seen. A sentence copied (or re-cased, re-punctuated) into
data/nlu.yml would be scored on what the model memorised, so the figure would flatter it.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _sentences(path: Path) -> dict[str, str]:
    """Normalised example -> its intent (lower case, words only, curly quotes straight)."""
    found: dict[str, str] = {}
    for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
        if "intent" not in block:
            continue
        for line in block["examples"].splitlines():
            line = line.strip()
            if line.startswith("- "):
                text = line[2:].lower().replace("\u2019", "'")
                found[" ".join(re.findall(r"[a-z0-9']+", text))] = block["intent"]
    return found


def test_no_held_out_sentence_is_a_training_example() -> None:
    training = _sentences(ROOT / "data" / "nlu.yml")
    held_out = _sentences(ROOT / "tests" / "data" / "nlu_holdout.yml")
    shared = sorted(text for text in held_out if text in training)
    assert shared == []
