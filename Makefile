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

setup:  ## create .venv (Python 3.10), install pinned packages, write the spaCy pipeline
	@bash scripts/setup.sh

$(MODEL): $(TRAINING_INPUTS) | setup
	@echo "[train] training data or config changed: training the Rasa model (a few minutes)"
	@$(RASA) train --fixed-model-name safeguard --out models --quiet
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

lock: setup  ## rewrite requirements.txt from the current .venv
	@$(VENV)/bin/pip freeze --exclude-editable | grep -v '^safeguard' > requirements.txt

clean:  ## remove trained models and test results (keeps .venv and var/)
	rm -rf models results .rasa
