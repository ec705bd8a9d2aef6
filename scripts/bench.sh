#!/usr/bin/env bash
# `make bench`: the benchmarks that exist so far, one after another, with progress.
# Not part of `make test`: benchmarks measure, tests decide.
set -euo pipefail
cd "$(dirname "$0")/.."
export RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2 PYTHONWARNINGS=ignore
PY=.venv/bin/python
benches=(bench/bench_language.py bench/bench_triage.py bench/bench_page_latency.py)
n=0
for bench in "${benches[@]}"; do
  n=$((n + 1))
  printf '\n==> [%d/%d] %s\n' "$n" "${#benches[@]}" "$bench"
  $PY "$bench"
done
