#!/usr/bin/env bash
# Two safeguard servers on loopback sharing PostgreSQL and a Redis lock store (README,
# "Run it on more than one server"). Ctrl-C stops everything. Arguments go to
# scripts/scale_out.py (e.g. --ports 5005,5006).
set -euo pipefail
cd "$(dirname "$0")/.."
export RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2 PYTHONWARNINGS=ignore
exec .venv/bin/python scripts/scale_out.py "$@"
