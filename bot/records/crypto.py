"""Encryption at rest for what a child said and who they are.

The concern log keeps the child's identity, their words and every narrative field as
Fernet tokens, so a copied database file (or a backup, or a misdirected export) shows
nothing about a child without the key. `MultiFernet` makes key rotation possible: new data
is written with the first key, and data written under any older key still reads.

Where the key comes from, first match wins:

SAFEGUARD_KEY       one or more Fernet keys, comma-separated, newest first
SAFEGUARD_KEY_FILE  a file holding one key per line, newest first (must exist)
(neither)           the embedded default ``<SAFEGUARD_VAR>/concern.key``, created with
                    0600 permissions on first run

A key file anyone but its owner can read is refused at start-up with a one-line message
giving the ``chmod`` to run: a world-readable key is as good as no encryption.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from bot.config import settings

KEY_ENV = "SAFEGUARD_KEY"
KEY_FILE_ENV = "SAFEGUARD_KEY_FILE"
DEFAULT_KEY_FILENAME = "concern.key"


class CryptoError(ValueError):
    """The key is missing, malformed or unsafe, or data cannot be decrypted with it."""


def default_key_path() -> Path:
    """Where the embedded default keeps its key (inside SAFEGUARD_VAR)."""
    return settings.var_dir() / DEFAULT_KEY_FILENAME


def _fernets(keys: Iterable[str | bytes], source: str) -> MultiFernet:
    fernets: list[Fernet] = []
    for number, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key.strip() if isinstance(key, (str, bytes)) else key))
        except (ValueError, TypeError):
            raise CryptoError(
                f"{source}: key {number} is not a valid Fernet key "
                "(make one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())')"
            ) from None
    if not fernets:
        raise CryptoError(f"{source}: no key found")
    return MultiFernet(fernets)


def check_key_file_permissions(path: Path) -> None:
    """Refuse a key file that its group or other users can read, write or execute."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise CryptoError(
            f"key file {path} is accessible to other users (mode {mode:04o}); run: chmod 600 {path}"
        )


def _read_key_file(path: Path) -> MultiFernet:
    try:
        check_key_file_permissions(path)
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise CryptoError(f"key file {path} not found") from None
    except UnicodeDecodeError:
        raise CryptoError(f"key file {path} is not a Fernet key file") from None
    except OSError as exc:
        raise CryptoError(f"key file {path} cannot be read ({exc.strerror})") from None
    keys = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return _fernets(keys, f"key file {path}")


def _create_default_key(path: Path) -> None:
    """Write a new key with 0600 from the start (never briefly world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another process created it first; use theirs
    with os.fdopen(fd, "wb") as handle:
        handle.write(Fernet.generate_key() + b"\n")
        handle.flush()
        os.fsync(handle.fileno())


def load_key() -> MultiFernet:
    """The concern-log key from the environment or the embedded default (see module doc)."""
    config = settings.current()
    inline = config.text(KEY_ENV)
    if inline:
        return _fernets([k for k in inline.split(",") if k.strip()], KEY_ENV)
    if config.key_file:
        return _read_key_file(config.key_file)
    path = default_key_path()
    if not path.exists():
        _create_default_key(path)
    return _read_key_file(path)


KeySpec = MultiFernet | Fernet | str | bytes | Iterable[str | bytes] | None


def as_multifernet(key: KeySpec) -> MultiFernet:
    """Accept a MultiFernet, a Fernet, one key, a list of keys (newest first), or None
    (meaning: load it from the environment with `load_key`)."""
    if key is None:
        return load_key()
    if isinstance(key, MultiFernet):
        return key
    if isinstance(key, Fernet):
        return MultiFernet([key])
    if isinstance(key, (str, bytes)):
        text = key.decode("ascii", "replace") if isinstance(key, bytes) else key
        return _fernets([k for k in text.split(",") if k.strip()], "the key given")
    return _fernets(list(key), "the keys given")


class Sealer:
    """Encrypts and decrypts text fields; the only place the concern log touches Fernet."""

    def __init__(self, key: KeySpec = None) -> None:
        self._fernet = as_multifernet(key)

    def seal(self, text: str) -> str:
        """Encrypt text exactly as given (no trimming: the child's words stay verbatim)."""
        return self._fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def open(self, token: str) -> str:
        """Decrypt a token written by `seal`, under the current key or any older one."""
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError, AttributeError):
            raise CryptoError(
                "cannot decrypt the concern log with this key: check SAFEGUARD_KEY or "
                "SAFEGUARD_KEY_FILE is the key the records were written with"
            ) from None
