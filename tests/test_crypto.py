"""Encryption at rest: where the key comes from, unsafe key files, and the database bytes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.records.concern_log import ConcernDraft, ConcernLog, ConcernLogError
from bot.records.crypto import CryptoError, Sealer, default_key_path, load_key


@pytest.fixture
def key_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No key in the environment; the embedded default lives in a fresh var dir."""
    monkeypatch.delenv("SAFEGUARD_KEY", raising=False)
    monkeypatch.delenv("SAFEGUARD_KEY_FILE", raising=False)
    var = tmp_path / "var"
    monkeypatch.setenv("SAFEGUARD_VAR", str(var))
    monkeypatch.setenv("SAFEGUARD_NOW", "2026-11-23T16:00")
    return var


def write_key_file(path: Path, *keys: bytes, mode: int = 0o600) -> Path:
    path.write_bytes(b"".join(k + b"\n" for k in keys))
    path.chmod(mode)
    return path


def test_default_key_file_is_created_private_and_reused(key_env: Path) -> None:
    path = default_key_path()
    assert path == key_env / "concern.key"
    assert not path.exists()
    token = Sealer().seal("first run")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # A second start reads the same key rather than making a new one.
    assert Sealer().open(token) == "first run"
    assert len(path.read_bytes().strip()) == 44  # one url-safe base64 Fernet key


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660, 0o700 | 0o007])
def test_key_file_others_can_read_is_refused_with_the_chmod_to_run(
    key_env: Path, mode: int
) -> None:
    key_env.mkdir(parents=True)
    path = write_key_file(key_env / "concern.key", Fernet.generate_key(), mode=mode)
    with pytest.raises(CryptoError) as info:
        load_key()
    message = str(info.value)
    assert "\n" not in message
    assert f"run: chmod 600 {path}" in message
    assert f"(mode {mode:04o})" in message


def test_named_key_file_is_used_and_must_exist(
    key_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key = Fernet.generate_key()
    path = write_key_file(tmp_path / "named.key", key)
    monkeypatch.setenv("SAFEGUARD_KEY_FILE", str(path))
    assert Sealer(key).open(Sealer().seal("x")) == "x"
    assert not default_key_path().exists()  # the default is not created when a file is named
    monkeypatch.setenv("SAFEGUARD_KEY_FILE", str(tmp_path / "absent.key"))
    with pytest.raises(CryptoError, match="absent.key not found"):
        load_key()


def test_named_key_file_with_loose_permissions_is_refused(
    key_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = write_key_file(tmp_path / "named.key", Fernet.generate_key(), mode=0o644)
    monkeypatch.setenv("SAFEGUARD_KEY_FILE", str(path))
    with pytest.raises(CryptoError, match=f"run: chmod 600 {path}"):
        load_key()


def test_key_file_with_old_keys_reads_both(
    key_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    old_token = Sealer(old).seal("written under the old key")
    path = write_key_file(tmp_path / "rotating.key", new, old)
    monkeypatch.setenv("SAFEGUARD_KEY_FILE", str(path))
    sealer = Sealer()
    assert sealer.open(old_token) == "written under the old key"
    assert Sealer(new).open(sealer.seal("fresh")) == "fresh"  # newest key writes


def test_key_from_environment_wins(key_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = Fernet.generate_key(), Fernet.generate_key()
    monkeypatch.setenv("SAFEGUARD_KEY", f" {first.decode()} , {second.decode()} ")
    monkeypatch.setenv("SAFEGUARD_KEY_FILE", "/nonexistent/ignored.key")
    token = Sealer().seal("x")
    assert Sealer(first).open(token) == "x"
    assert Sealer().open(Sealer(second).seal("y")) == "y"
    assert not default_key_path().exists()


# Ids fixed: a generated key in a test id differs per process (pytest-xdist needs the same).
@pytest.mark.parametrize(
    "bad",
    ["not-a-key", "short", Fernet.generate_key().decode()[:-2]],
    ids=["not-a-key", "short", "truncated"],
)
def test_malformed_key_is_a_plain_error(
    key_env: Path, monkeypatch: pytest.MonkeyPatch, bad: str
) -> None:
    monkeypatch.setenv("SAFEGUARD_KEY", bad)
    with pytest.raises(CryptoError, match="SAFEGUARD_KEY: key 1 is not a valid Fernet key") as info:
        load_key()
    assert "\n" not in str(info.value)
    assert bad not in str(info.value)  # never echo key material


def test_empty_key_file_is_a_plain_error(
    key_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "empty.key"
    path.write_text("# nothing here\n")
    path.chmod(0o600)
    monkeypatch.setenv("SAFEGUARD_KEY_FILE", str(path))
    with pytest.raises(CryptoError, match="no key found"):
        load_key()


def test_text_is_sealed_exactly_and_opened_only_with_the_key() -> None:
    key = Fernet.generate_key()
    sealer = Sealer(key)
    words = '  she said: "don\'t tell"\n\ttwice \u00e9\u2014\U0001f61f '
    token = sealer.seal(words)
    assert "tell" not in token
    assert sealer.open(token) == words
    with pytest.raises(CryptoError, match="cannot decrypt the concern log with this key"):
        Sealer(Fernet.generate_key()).open(token)
    with pytest.raises(CryptoError, match="cannot decrypt"):
        sealer.open("garbage")


def _database_bytes(directory: Path) -> bytes:
    """The SQLite file and its WAL/journal companions: everything written to disk."""
    return b"".join(p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file())


def test_sqlite_file_does_not_contain_the_childs_words(key_env: Path, tmp_path: Path) -> None:
    key = Fernet.generate_key()
    db_dir = tmp_path / "db"
    db_dir.mkdir()
    url = f"sqlite:///{db_dir / 'concerns.sqlite3'}"
    words = "Uncle Barry locks me in the shed when mum is out"
    log = ConcernLog(url, key=key)
    ref = log.record(
        ConcernDraft(
            urgency="urgent",
            worker_id="w-1",
            worker_name="Sam",
            child="Ruby Okafor",
            child_words=words,
            observations="Scratches on both wrists",
            categories=["physical abuse"],
        )
    ).reference
    log.add_event(ref, "SG update", "Called Barnsley MASH about Ruby", "Sam")
    raw_before_close = _database_bytes(db_dir)
    log.engine.dispose()  # checkpoint the WAL into the main file too
    raw = raw_before_close + _database_bytes(db_dir)
    for secret in (words, "Uncle Barry", "Ruby Okafor", "Scratches", "Barnsley MASH"):
        assert secret.encode() not in raw, secret
        assert secret.encode("utf-16-le") not in raw, secret
    # The file does hold the record (so the search above could have found it) ...
    assert ref.encode() in raw and b"physical abuse" in raw
    # ... and with the key it reads back; with another key it is a plain error.
    assert ConcernLog(url, key=key).get(ref).child_words == words
    with pytest.raises(ConcernLogError) as info:
        ConcernLog(url, key=Fernet.generate_key()).get(ref)
    assert str(info.value) == (
        "could not read the concern: cannot decrypt the concern log with this key: check "
        "SAFEGUARD_KEY or SAFEGUARD_KEY_FILE is the key the records were written with"
    )


def test_concern_log_refuses_an_unsafe_key_file_at_start_up(key_env: Path, tmp_path: Path) -> None:
    key_env.mkdir(parents=True)
    path = write_key_file(key_env / "concern.key", Fernet.generate_key(), mode=0o644)
    with pytest.raises(ConcernLogError, match=f"run: chmod 600 {path}"):
        ConcernLog(f"sqlite:///{tmp_path / 'c.sqlite3'}")
    os.chmod(path, 0o600)
    assert ConcernLog(f"sqlite:///{tmp_path / 'c.sqlite3'}").list() == []
