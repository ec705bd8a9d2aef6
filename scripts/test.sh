#!/usr/bin/env bash
# `make test`: every check, in the order that fails fastest, with progress and timings.
set -euo pipefail
cd "$(dirname "$0")/.."
export RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2 PYTHONDONTWRITEBYTECODE=1
VENV=.venv
start=$(date +%s)
step() { printf '\n==> [%ss] %s\n' "$(( $(date +%s) - start ))" "$*"; }

step "lint (ruff)"
$VENV/bin/ruff check bot actions tests scripts

step "import contracts (lint-imports, .importlinter): layers point down, the core stays pure"
$VENV/bin/lint-imports --no-cache

step "rasa data validate --fail-on-warnings"
$VENV/bin/rasa data validate --fail-on-warnings --quiet

step "rasa train (skipped by Rasa when nothing changed)"
$VENV/bin/rasa train --fixed-model-name safeguard --out models --quiet

step "pytest on both cores (pytest-xdist; a test file stays on one worker, so its servers start once)"
# Most of the time goes on Rasa stacks starting in child processes while the test waits:
# two workers keep both cores busy. The slowest tests are listed at the end, so the
# 20-minute budget is kept with figures.
$VENV/bin/python -m pytest -q -p no:cacheprovider --durations=25 -n 2 --dist loadfile -m "not serial"

step "pytest: the tests that assert how long something took, on their own (marker serial)"
$VENV/bin/python -m pytest -q -p no:cacheprovider --durations=5 -m serial

step "rasa test core --stories tests/ --e2e --fail-on-prediction-errors (intents from the text, then actions)"
$VENV/bin/rasa test core --stories tests/ --e2e --model models/safeguard.tar.gz \
  --fail-on-prediction-errors --out results/stories --quiet

step "NLU evaluation (the trained model on the held-out set)"
$VENV/bin/python scripts/nlu_eval.py

step "all checks passed in $(( $(date +%s) - start ))s"
