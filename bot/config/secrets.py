"""Secrets (bot tokens, passwords) come from the environment or from a 0600 file, only.

For a secret NAME, `secret("NAME")` reads the variable NAME, or else the file named by
NAME_FILE. A file that its group or anyone else can read is refused with a one-line message
giving the chmod to run: a token readable by every account on the machine is a leaked
token. Nothing here ever logs or prints a secret's value.
"""

from __future__ import annotations

import os
import secrets as _random
import stat
from pathlib import Path

from bot.config import settings


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
    """The value of secret `name` from the environment or `<name>_FILE`; "" if unset.

    Both variables are read through the process's settings (bot.config.settings), where
    each secret is a field marked secret (never shown) beside its `_FILE` field."""

    config = settings.current()
    value = config.text(name)
    if value:
        return value
    file_name = config.text(f"{name}_FILE")
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
KNOWN = (
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_WEBHOOK_SECRET",
    "TEAMS_APP_PASSWORD",
    "SAFEGUARD_CHANNEL_SECRET",
    "SAFEGUARD_ACTION_SECRET",
)

# Per-deployment secrets between safeguard's own processes (README, "Security"):
# the channel secret signs every message the Telegram gateway and the terminal chat send to
# the Rasa server (bot/core/channel_auth.py); the action secret is the header Rasa sends with
# every call to the action server (bot/rasa/action_server.py). Unless configured, the first
# process that needs one creates it under the var directory (0600), so every process of a
# deployment on one machine finds the same value without being told; more than one machine
# sets NAME_FILE (or NAME) to the same secret on each.
CHANNEL_SECRET = "SAFEGUARD_CHANNEL_SECRET"
ACTION_SECRET = "SAFEGUARD_ACTION_SECRET"
_DEFAULT_FILES = {CHANNEL_SECRET: "channel.secret", ACTION_SECRET: "action.secret"}
# Shorter than this is guessable, whoever chose it.
MIN_SHARED_SECRET = 16


def default_secret_path(name: str) -> Path:
    """Where `shared_secret(name)` keeps the secret when none is configured."""

    return settings.var_dir() / _DEFAULT_FILES[name]


def shared_secret(name: str, create: bool = True) -> str:
    """One of the per-deployment secrets (CHANNEL_SECRET, ACTION_SECRET).

    From NAME or NAME_FILE when set; else the 0600 file under the var directory, created
    with a fresh random value when missing and `create` (O_EXCL, so two processes starting
    together agree on one value). Raises SecretError for an unsafe, unreadable or too short
    secret; returns "" only when there is none and `create` is False."""

    value = secret(name)
    if not value:
        path = default_secret_path(name)
        if not path.exists() and create:
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # another process made it first: read theirs
            else:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(_random.token_urlsafe(32) + "\n")
        if not path.exists():
            return ""
        check_private(path, name)
        try:
            value = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            raise SecretError(f"{name}: cannot read {path}") from None
    if len(value) < MIN_SHARED_SECRET:
        raise SecretError(f"{name} is too short: use at least {MIN_SHARED_SECRET} characters")
    return value


def hand_to_children(env: dict[str, str]) -> None:
    """Make sure both shared secrets exist and that a child started with `env` finds the
    same ones: NAME_FILE names the file (created if need be). A value given as NAME is
    inherited as it is; the value itself is never added to anyone's command line."""
    for name in _DEFAULT_FILES:
        shared_secret(name)
        if not env.get(name, "").strip() and not env.get(f"{name}_FILE", "").strip():
            env[f"{name}_FILE"] = str(default_secret_path(name))


def problems() -> list[str]:
    """One line per secret file that is set but unsafe or unreadable (values never shown)."""
    found: list[str] = []
    for name in KNOWN:
        try:
            if name in _DEFAULT_FILES:
                shared_secret(name, create=False)
            else:
                secret(name)
        except SecretError as exc:
            found.append(str(exc))
    return found
