"""Tracker and lock store settings from the environment (bot/commands/processes.py), and serve's
one-line refusal of a bad one. Fast: no server is started."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.commands import processes
from tests.conftest import ROOT

PG = "postgresql+psycopg2://rasa:pw@db.internal:5432/safeguard"


def test_nothing_set_means_endpoints_yml_as_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(processes.TRACKER_URL_ENV, raising=False)
    monkeypatch.delenv(processes.LOCK_URL_ENV, raising=False)
    assert processes.store_endpoints() == {}
    text = processes.endpoints_file(5123).read_text()
    assert "http://127.0.0.1:5123/webhook" in text
    config = yaml.safe_load(text)
    assert "tracker_store" not in config and "lock_store" not in config


def test_tracker_url_gives_the_protected_sql_store() -> None:
    out = processes.store_endpoints({processes.TRACKER_URL_ENV: PG})
    assert out == {
        "tracker_store": {"type": "bot.rasa.tracker_store.ProtectedSQLTrackerStore", "url": PG}
    }
    sqlite = processes.store_endpoints(
        {processes.TRACKER_URL_ENV: "sqlite:////tmp/t.db", processes.TRACKER_RETENTION_ENV: "3"}
    )
    assert sqlite["tracker_store"]["retention_days"] == 3.0


def test_the_named_type_is_the_privacy_engineers_class() -> None:
    from bot.rasa import tracker_store

    config = processes.tracker_store_config(PG)
    assert config["type"] == tracker_store.TYPE
    module, name = config["type"].rsplit(".", 1)
    assert module == tracker_store.__name__ and hasattr(tracker_store, name)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://127.0.0.1:6380/2", {"url": "127.0.0.1", "port": 6380, "db": 2}),
        ("redis://cache.internal", {"url": "cache.internal", "port": 6379, "db": 1}),
        (
            "rediss://:p%40ss@cache.internal:6390/3",
            {"url": "cache.internal", "port": 6390, "db": 3, "password": "p@ss", "use_ssl": True},
        ),
    ],
)
def test_lock_url_gives_rasas_redis_lock_store(url: str, expected: dict) -> None:
    config = processes.store_endpoints({processes.LOCK_URL_ENV: url})["lock_store"]
    assert config["type"] == "redis"
    assert config["key_prefix"] == "safeguard"
    assert config.get("use_ssl") is expected.pop("use_ssl", False)
    for key, value in expected.items():
        assert config[key] == value


def test_rasa_reads_the_written_lock_store(monkeypatch: pytest.MonkeyPatch) -> None:
    from rasa.core.lock_store import LockStore, RedisLockStore
    from rasa.utils.endpoints import read_endpoint_config

    monkeypatch.delenv(processes.TRACKER_URL_ENV, raising=False)
    monkeypatch.setenv(processes.LOCK_URL_ENV, "redis://127.0.0.1:6380/2")
    path = processes.endpoints_file(5125)
    # Rasa's own reading and factory; redis-py connects only when a lock is first taken.
    store = LockStore.create(read_endpoint_config(str(path), "lock_store"))
    assert isinstance(store, RedisLockStore)
    assert store.key_prefix.startswith("safeguard")
    kwargs = store.red.connection_pool.connection_kwargs
    assert (kwargs["host"], kwargs["port"], kwargs["db"]) == ("127.0.0.1", 6380, 2)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({processes.TRACKER_URL_ENV: "not a url"}, "SAFEGUARD_TRACKER_URL is not a database URL"),
        ({processes.TRACKER_URL_ENV: "mysql://x@h/db"}, "not mysql"),
        ({processes.TRACKER_URL_ENV: PG, processes.TRACKER_RETENTION_ENV: "-2"}, "days"),
        ({processes.TRACKER_URL_ENV: PG, processes.TRACKER_RETENTION_ENV: "soon"}, "days"),
        ({processes.LOCK_URL_ENV: "http://127.0.0.1:6379"}, "redis://host:6379/1"),
        ({processes.LOCK_URL_ENV: "redis://127.0.0.1:6379/x"}, "must be numbers"),
        ({processes.LOCK_URL_ENV: "redis://127.0.0.1:notaport/1"}, "must be numbers"),
        ({processes.LOCK_URL_ENV: "redis://127.0.0.1:6379/16"}, "0-15"),
    ],
)
def test_bad_settings_are_one_plain_line(env: dict, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        processes.store_endpoints(env)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_endpoints_file_holds_both_stores_and_is_private(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(processes.TRACKER_URL_ENV, PG)
    monkeypatch.setenv(processes.LOCK_URL_ENV, "redis://:secret@127.0.0.1:6380/2")
    path = processes.endpoints_file(5124)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    config = yaml.safe_load(path.read_text())
    assert config["action_endpoint"]["url"] == "http://127.0.0.1:5124/webhook"
    assert config["tracker_store"]["url"] == PG
    assert config["lock_store"]["password"] == "secret"
    assert config["lock_store"]["db"] == 2


def test_serve_refuses_a_bad_lock_url_in_one_line(tmp_path: Path) -> None:
    env = dict(os.environ, SAFEGUARD_VAR=str(tmp_path))
    env[processes.LOCK_URL_ENV] = "memcached://127.0.0.1"
    model = tmp_path / "model.tar.gz"
    model.write_bytes(b"not checked before the settings")
    result = subprocess.run(
        [sys.executable, "-m", "bot.commands.cli", "serve", "--model", str(model)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "safeguard serve: SAFEGUARD_LOCK_URL must look like redis://host:6379/1"
    )
