"""bot.paging.reporting.concern_log reuses one opened log only while nothing it depends on
changed."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.paging import reporting
from bot.records.concern_log import ConcernLogError


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SAFEGUARD_VAR", str(tmp_path / "var"))
    monkeypatch.setenv("SAFEGUARD_DB_URL", f"sqlite:///{tmp_path / 'a.sqlite3'}")
    monkeypatch.setenv("SAFEGUARD_KEY", Fernet.generate_key().decode())
    monkeypatch.delenv("SAFEGUARD_KEY_FILE", raising=False)
    return tmp_path


def test_same_settings_same_log() -> None:
    assert reporting.concern_log() is reporting.concern_log()


def test_another_database_or_key_opens_another(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = reporting.concern_log()
    monkeypatch.setenv("SAFEGUARD_DB_URL", f"sqlite:///{isolated / 'b.sqlite3'}")
    second = reporting.concern_log()
    assert second is not first
    assert str(second.engine.url).endswith("b.sqlite3")
    monkeypatch.setenv("SAFEGUARD_KEY", Fernet.generate_key().decode())
    assert reporting.concern_log() is not second
    assert reporting.concern_log(f"sqlite:///{isolated / 'c.sqlite3'}") is not second


def test_a_key_file_made_readable_by_others_is_refused_again(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = isolated / "concern.key"
    key.write_text(Fernet.generate_key().decode() + "\n")
    key.chmod(0o600)
    monkeypatch.delenv("SAFEGUARD_KEY")
    monkeypatch.setenv("SAFEGUARD_KEY_FILE", str(key))
    assert reporting.concern_log() is reporting.concern_log()
    key.chmod(0o644)
    with pytest.raises(ConcernLogError):
        reporting.concern_log()
    key.chmod(0o600)
    assert reporting.concern_log() is reporting.concern_log()


def test_a_log_that_could_not_open_is_not_kept(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = isolated / "not-yet"
    monkeypatch.setenv("SAFEGUARD_DB_URL", f"sqlite:///{missing / 'db.sqlite3'}")
    with pytest.raises(ConcernLogError):
        reporting.concern_log()
    missing.mkdir()  # the database is back
    assert reporting.concern_log() is reporting.concern_log()
