#!/usr/bin/env bash
# Set up everything safeguard needs, from nothing, idempotently:
#   a Python 3.10 virtualenv in .venv/ with the pinned requirements and this project
#   (editable, so .venv/bin/safeguard exists), and the blank spaCy pipeline in var/spacy-en.
# A second run with nothing changed takes a second or two.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
STAMP="$VENV/.safeguard-setup"
say() { printf '[setup] %s\n' "$*"; }

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

want=$(cat requirements.txt pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] \
   && [ -f var/spacy-en/config.cfg ]; then
  say "up to date"
  exit 0
fi

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then
  if ! PY=$(find_python310); then
    echo "safeguard needs Python 3.10 (Rasa 3.6 refuses 3.11+), and none was found." >&2
    echo "Install it, e.g. 'pyenv install 3.10' or 'apt-get install python3.10 python3.10-venv', then run this again." >&2
    exit 1
  fi
  say "creating $VENV with $PY"
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
fi

say "installing pinned requirements (first run takes a few minutes)"
"$VENV/bin/python" -m pip install --quiet --progress-bar off -r requirements.txt
say "installing safeguard (editable)"
"$VENV/bin/python" -m pip install --quiet --no-deps --no-build-isolation -e .
say "writing the blank English spaCy pipeline to var/spacy-en"
"$VENV/bin/python" -m bot.core.nlp
echo "$want" > "$STAMP"
say "done: $("$VENV/bin/python" --version), $("$VENV/bin/rasa" --version 2>/dev/null | head -n1 || true)"
