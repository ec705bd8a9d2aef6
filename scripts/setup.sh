#!/usr/bin/env bash
# Set up everything safeguard needs, from nothing, idempotently:
#   a Python 3.10 virtualenv in .venv/ with the hash-pinned runtime lock (requirements.txt)
#   and the development tools (requirements-dev.txt), this project (editable, so
#   .venv/bin/safeguard exists), and the blank spaCy pipeline in var/spacy-en.
# Every package is installed with `pip install --require-hashes`: a file whose hash is not
# in the lock is refused, so every machine gets the same bytes. Each step says what it does
# and how long it usually takes, and pip's own progress is shown.
# A second run with nothing changed takes a second or two.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
STAMP="$VENV/.safeguard-setup"
STEPS=4
started=$(date +%s)
step_started=$started
step() { step_started=$(date +%s); printf '[setup %s/%s] %s\n' "$1" "$STEPS" "$2"; }
took() { printf '[setup] ... took %ss\n' "$(( $(date +%s) - step_started ))"; }
say() { printf '[setup] %s\n' "$*"; }
count() { grep -c '^[A-Za-z0-9]' "$1"; }  # one pinned package per line starting a name

find_python310() {
  # python3.10 on PATH (a pyenv shim may exist yet refuse to run, so try it), else pyenv's.
  if command -v python3.10 >/dev/null 2>&1 && python3.10 -c 'import sys' >/dev/null 2>&1; then
    command -v python3.10; return 0
  fi
  local root
  root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
  local candidate
  for candidate in $(ls -d "$root"/versions/3.10.*/bin/python3.10 2>/dev/null | sort -V -r); do
    if "$candidate" -c 'import sys' >/dev/null 2>&1; then echo "$candidate"; return 0; fi
  done
  return 1
}

want=$(cat requirements.txt requirements-dev.txt pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] \
   && [ -f var/spacy-en/config.cfg ]; then
  say "up to date"
  exit 0
fi

step 1 "Python 3.10 virtualenv in $VENV (a few seconds)"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then
  if ! PY=$(find_python310); then
    echo "safeguard needs Python 3.10 (Rasa 3.6 refuses 3.11+), and none was found." >&2
    echo "Install it, e.g. 'pyenv install 3.10' or 'apt-get install python3.10 python3.10-venv', then run this again." >&2
    exit 1
  fi
  say "creating $VENV with $PY"
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
else
  say "$VENV already has $("$VENV/bin/python" --version)"
fi
took

# pip's own lines (Collecting / Downloading / Installing) are the progress within a step.
PIP=("$VENV/bin/python" -m pip install --require-hashes)

step 2 "installing $(count requirements.txt) runtime packages from requirements.txt (usually 2-3 minutes; up to 10 with an empty pip cache)"
"${PIP[@]}" -r requirements.txt
took

step 3 "installing $(count requirements-dev.txt) development packages (tests, lint, profiling, locking) from requirements-dev.txt (usually under 30 seconds)"
"${PIP[@]}" -r requirements-dev.txt
took

step 4 "installing safeguard (editable) and writing the blank English spaCy pipeline to var/spacy-en (usually 10-20 seconds)"
"$VENV/bin/python" -m pip install --quiet --no-deps --no-build-isolation -e .
"$VENV/bin/python" -m bot.core.nlp
took

echo "$want" > "$STAMP"
say "done in $(( $(date +%s) - started ))s: $("$VENV/bin/python" --version), $("$VENV/bin/rasa" --version 2>/dev/null | head -n1 || true)"
