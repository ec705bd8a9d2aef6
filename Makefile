# The two commands a newcomer needs: `make run` and `make test`. Both set up from nothing.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV   := .venv
PY     := $(VENV)/bin/python
RASA   := $(VENV)/bin/rasa
MODEL  := models/safeguard.tar.gz
TRAINING_INPUTS := config.yml domain.yml $(wildcard data/*.yml)

export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help setup train run serve test lint bench blind fuzz lock clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 10

setup:  ## create .venv (Python 3.10), install the hash-pinned locks, write the spaCy pipeline
	@bash scripts/setup.sh

# Rasa's own output (each component, the epoch progress bars) is the progress; the lines
# before and after say why it runs and how long it took.
$(MODEL): $(TRAINING_INPUTS) | setup
	@echo "[train] training data or config changed: training the Rasa model (usually 1-3 minutes on 2 cores)"
	@start=$$(date +%s); $(RASA) train --fixed-model-name safeguard --out models \
	  && echo "[train] model written to $(MODEL) in $$(( $$(date +%s) - start ))s"
	@touch $(MODEL)

train: setup $(MODEL)  ## train the Rasa model if its training data or config changed

run: setup $(MODEL)  ## chat in the terminal on embedded defaults (Ctrl-C stops everything)
	@$(VENV)/bin/safeguard chat

serve: setup $(MODEL)  ## Rasa server (REST channel) + action server on port 5005
	@$(VENV)/bin/safeguard serve

test: setup  ## validate data, train, pytest, Rasa test stories, NLU evaluation
	@bash scripts/test.sh

lint: setup  ## ruff
	@$(VENV)/bin/ruff check bot actions tests scripts bench

bench: setup  ## measure latency, paging, training, memory, NLU/triage/language (~20 min; not in make test)
	@bash scripts/bench.sh $(BENCH_ARGS)

blind: setup  ## blind-set figures, first and latest batch (seconds; questions need `make train`)
	@PYTHONWARNINGS=ignore $(PY) bench/blind.py $(BLIND_ARGS)

fuzz: setup  ## long property-based fuzz run with a random seed (minutes; not in make test)
	@$(VENV)/bin/python scripts/fuzz.py $(FUZZ_ARGS)

# uv keeps every pin already in a lock that still satisfies its .in file, so only what was
# changed moves. UV_FLAGS=--upgrade moves everything to the newest allowed versions.
LOCK_FLAGS := --custom-compile-command "make lock" --generate-hashes --python-version 3.10 --python-platform x86_64-unknown-linux-gnu --quiet
lock: setup  ## recompile requirements.txt and requirements-dev.txt (with hashes) from the .in files
	@echo "[lock] requirements.in -> requirements.txt"
	@$(VENV)/bin/uv pip compile requirements.in $(LOCK_FLAGS) $(UV_FLAGS) -o requirements.txt
	@echo "[lock] requirements-dev.in -> requirements-dev.txt (constrained by requirements.txt)"
	@$(VENV)/bin/uv pip compile requirements-dev.in $(LOCK_FLAGS) $(UV_FLAGS) -o requirements-dev.txt
	@echo "[lock] done: run make setup to install them"

clean:  ## remove trained models and test results (keeps .venv and var/)
	rm -rf models results .rasa
