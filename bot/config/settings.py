"""Settings read from the environment, in one place.

SAFEGUARD_ORG     which organisation's policy pack applies (default: generic)
SAFEGUARD_NOW     pins the clock (see bot.core.clock)
SAFEGUARD_DB_URL  the concern log database (default: SQLite under var/)
SAFEGUARD_VAR     where embedded defaults keep files (default: <repo>/var)
"""

from __future__ import annotations

import os
from pathlib import Path

from bot import ROOT

DEFAULT_ORG = "generic"


def org() -> str:
    return os.environ.get("SAFEGUARD_ORG", "").strip() or DEFAULT_ORG


def var_dir() -> Path:
    path = Path(os.environ.get("SAFEGUARD_VAR", "").strip() or ROOT / "var")
    path.mkdir(parents=True, exist_ok=True)
    return path


def db_url() -> str:
    url = os.environ.get("SAFEGUARD_DB_URL", "").strip()
    return url or f"sqlite:///{var_dir() / 'concerns.sqlite3'}"
