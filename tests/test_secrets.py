"""Tokens and keys come only from the environment or from 0600 files, and start-up refuses
anything else with one line that never shows the secret itself."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.commands import startup
from bot.config import secrets
from bot.config.secrets import SecretError, secret
from bot.paging.transports import TransportError, default_transports

VALUE = "123456:SECRET-canary-token-value"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in (*secrets.KNOWN, "SAFEGUARD_TELEGRAM_TOKEN", "SAFEGUARD_KEY", "SAFEGUARD_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"{name}_FILE", raising=False)
    monkeypatch.setenv("SAFEGUARD_VAR", str(tmp_path / "var"))
    return tmp_path


def write(path: Path, text: str, mode: int) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def test_from_the_environment_trimmed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEAMS_APP_PASSWORD", f"  {VALUE}\n")
    assert secret("TEAMS_APP_PASSWORD") == VALUE


def test_the_environment_wins_over_the_file(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    path = write(tmp_path / "pw", "from-file", 0o644)  # unsafe, but never even looked at
    monkeypatch.setenv("TEAMS_APP_PASSWORD", VALUE)
    monkeypatch.setenv("TEAMS_APP_PASSWORD_FILE", str(path))
    assert secret("TEAMS_APP_PASSWORD") == VALUE


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_from_a_private_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, mode: int) -> None:
    path = write(tmp_path / "pw", f"{VALUE}\n", mode)
    monkeypatch.setenv("TEAMS_APP_PASSWORD_FILE", str(path))
    assert secret("TEAMS_APP_PASSWORD") == VALUE


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o444, 0o620, 0o601, 0o700 | 0o070])
def test_a_file_others_can_touch_is_refused_in_one_line_without_the_value(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, mode: int
) -> None:
    path = write(tmp_path / "pw", VALUE, mode)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN_FILE", str(path))
    with pytest.raises(SecretError) as info:
        secret("TELEGRAM_BOT_TOKEN")
    message = str(info.value)
    assert "\n" not in message
    assert f"run: chmod 600 {path}" in message
    assert f"mode {mode:o}" in message
    assert VALUE not in message


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda d: d / "missing", "cannot read"),
        (lambda d: write(d / "empty", "  \n", 0o600), "is empty"),
        (lambda d: d, "not a regular file"),
        (lambda d: _binary(d / "bin"), "not a text file"),
    ],
    ids=["missing", "empty", "directory", "binary"],
)
def test_bad_secret_files_are_one_plain_line(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    make,
    expected: str,  # noqa: ANN001
) -> None:
    sub = tmp_path / "secrets"
    sub.mkdir(mode=0o700)
    path = make(sub)
    monkeypatch.setenv("TEAMS_APP_PASSWORD_FILE", str(path))
    with pytest.raises(SecretError) as info:
        secret("TEAMS_APP_PASSWORD")
    assert expected in str(info.value)
    assert "\n" not in str(info.value)
    assert isinstance(info.value, ValueError)  # start-up reports every ValueError as a line


def _binary(path: Path) -> Path:
    path.write_bytes(b"\xff\xfe\x00\x80token")
    path.chmod(0o600)
    return path


def test_an_unreadable_file_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = write(tmp_path / "pw", VALUE, 0o600)
    monkeypatch.setenv("TEAMS_APP_PASSWORD_FILE", str(path))
    # Root reads a chmod 000 file anyway (the tests run as root here), so the refusal the
    # operating system would give another user is made directly.
    real_read_text = Path.read_text

    def refuse(self: Path, *args, **kwargs) -> str:  # noqa: ANN002, ANN003
        if self == path:
            raise PermissionError(13, "Permission denied", str(path))
        return real_read_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", refuse)
    with pytest.raises(SecretError, match="cannot read"):
        secret("TEAMS_APP_PASSWORD")


def test_unset_is_empty_unless_required() -> None:
    assert secret("TEAMS_APP_PASSWORD") == ""
    with pytest.raises(SecretError, match="TEAMS_APP_PASSWORD_FILE to a chmod 600 file"):
        secret("TEAMS_APP_PASSWORD", required=True)


# -- start-up -------------------------------------------------------------------------------


def _problems_about(word: str) -> list[str]:
    return [p for p in startup.problems() if word in p]


def test_startup_refuses_a_world_readable_key_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = write(tmp_path / "concern.key", Fernet.generate_key().decode() + "\n", 0o644)
    monkeypatch.setenv("SAFEGUARD_KEY_FILE", str(path))
    found = _problems_about("key file")
    assert found == [
        f"encryption key: key file {path} is accessible to other users (mode 0644); "
        f"run: chmod 600 {path}"
    ]
    path.chmod(0o600)
    assert _problems_about("key file") == []


def test_startup_refuses_a_world_readable_default_key(clean_env: Path) -> None:
    var = clean_env / "var"
    var.mkdir()
    write(var / "concern.key", Fernet.generate_key().decode(), 0o664)
    assert len(_problems_about("chmod 600")) == 1


def test_the_default_key_is_created_0600_even_with_a_permissive_umask(clean_env: Path) -> None:
    from bot.records.crypto import default_key_path, load_key

    old = os.umask(0)
    try:
        load_key()
    finally:
        os.umask(old)
    assert stat.S_IMODE(default_key_path().stat().st_mode) == 0o600
    assert _problems_about("encryption key") == []


@pytest.mark.parametrize("name", secrets.KNOWN)
def test_startup_refuses_a_world_readable_token_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str
) -> None:
    path = write(tmp_path / "token", VALUE, 0o644)
    monkeypatch.setenv(f"{name}_FILE", str(path))
    found = _problems_about(name)
    assert len(found) == 1
    assert found[0].startswith(f"secret: {name}_FILE: ")
    assert VALUE not in found[0]
    path.chmod(0o600)
    assert _problems_about(name) == []


# -- every token read goes through bot.config.secrets ---------------------------------------


def test_the_pager_reads_the_telegram_token_from_a_private_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = write(tmp_path / "token", VALUE, 0o600)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN_FILE", str(path))
    transports = default_transports()
    assert transports["telegram"].token == VALUE


def test_the_pager_refuses_a_readable_telegram_token_file_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = write(tmp_path / "token", VALUE, 0o640)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN_FILE", str(path))
    with pytest.raises(TransportError) as info:
        default_transports()
    assert "chmod 600" in str(info.value)
    assert VALUE not in str(info.value)
