#!/usr/bin/env bash
# `make bench`: every performance figure (issue 8) in one run on this machine, with progress.
# Writes bench/results/latest.json, latest.md (printed at the end) and latest.png.
# Not part of `make test`: benchmarks measure, tests decide. Takes about 20 minutes.
# Extra arguments go to bench/run.py (e.g. `make bench BENCH_ARGS=--quick`;
# BENCH_ARGS=--plot-only redraws latest.png from latest.json, measuring nothing).
set -euo pipefail
cd "$(dirname "$0")/.."
export RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2 PYTHONWARNINGS=ignore
exec .venv/bin/python bench/run.py "$@"
