"""Secrets (bot tokens, passwords) come from the environment or from a 0600 file, only.

For a secret NAME, `secret("NAME")` reads the variable NAME, or else the file named by
NAME_FILE. A file that its group or anyone else can read is refused with a one-line message
giving the chmod to run: a token readable by every account on the machine is a leaked
token. Nothing here ever logs or prints a secret's value.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


class SecretError(ValueError):
    """A secret file is missing, empty or readable by others."""


def check_private(path: Path, what: str) -> None:
    """Refuse a file whose permissions let anyone but its owner read or write it."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise SecretError(f"{what}: cannot read {path}: {exc.strerror}") from None
    if not stat.S_ISREG(mode):
        raise SecretError(f"{what}: {path} is not a regular file")
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecretError(
            f"{what}: {path} can be read by other users (mode {stat.S_IMODE(mode):o}); "
            f"run: chmod 600 {path}"
        )


def secret(name: str, required: bool = False) -> str:
    """The value of secret `name` from the environment or `<name>_FILE`; "" if unset."""
    value = os.environ.get(name, "").strip()
    if value:
        return value
    file_name = os.environ.get(f"{name}_FILE", "").strip()
    if file_name:
        path = Path(file_name)
        check_private(path, f"{name}_FILE")
        try:
            value = path.read_text(encoding="utf-8").strip()
        except UnicodeDecodeError:
            raise SecretError(f"{name}_FILE: {path} is not a text file") from None
        except OSError as exc:
            raise SecretError(f"{name}_FILE: cannot read {path}: {exc.strerror}") from None
        if not value:
            raise SecretError(f"{name}_FILE: {path} is empty")
        return value
    if required:
        raise SecretError(f"{name} is not set: set it, or {name}_FILE to a chmod 600 file")
    return ""


# Every secret the deployment may be given, for the start-up check: a world-readable file
# named by any of these stops start-up with one line, before a token can be used.
KNOWN = ("TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET", "TEAMS_APP_PASSWORD")


def problems() -> list[str]:
    """One line per secret file that is set but unsafe or unreadable (values never shown)."""
    found: list[str] = []
    for name in KNOWN:
        try:
            secret(name)
        except SecretError as exc:
            found.append(str(exc))
    return found
