"""The schema comes from Alembic migrations, and they match the models (no drift)."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from bot.records.concern_log import ConcernEvent, ConcernRecord
from bot.records.db import make_engine
from bot.records.migrate import (
    MigrationError,
    alembic_config,
    current_revision,
    head_revision,
    model_metadata,
    upgrade,
)
from tests.pg_server import postgres_url, store_url  # noqa: F401 - fixtures

CONCERN_TABLES = {ConcernRecord.__tablename__, ConcernEvent.__tablename__}


def _diffs(url: str, tables: set[str] | None) -> list:
    """Alembic's differences between the migrated database and the models.

    `tables`: only these tables (None: every table any migration or model defines)."""
    metadata = model_metadata()

    def include(obj, name, type_, reflected, compare_to) -> bool:  # noqa: ANN001
        if type_ != "table":
            table = getattr(obj, "table", None)
            name = table.name if table is not None else name
        if name == "alembic_version":
            return False
        return tables is None or name in tables

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={"compare_type": True, "include_object": include},
            )
            return compare_metadata(context, metadata)
    finally:
        engine.dispose()


def test_first_revision_is_the_concern_log() -> None:
    scripts = ScriptDirectory.from_config(alembic_config())
    base = scripts.get_revision("0001_concern_log")
    assert base.down_revision is None
    assert list(scripts.get_bases()) == ["0001_concern_log"]
    assert len(scripts.get_heads()) == 1, "migrations must form one chain"


def test_upgrade_creates_the_tables_and_is_idempotent(store_url: str) -> None:  # noqa: F811
    assert upgrade(store_url) == head_revision()
    assert upgrade(store_url) == head_revision()  # a second start changes nothing
    engine = make_engine(store_url)
    try:
        names = set(inspect(engine).get_table_names())
        assert CONCERN_TABLES | {"alembic_version"} <= names
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_concern_tables_match_the_models(store_url: str) -> None:  # noqa: F811
    upgrade(store_url)
    assert _diffs(store_url, CONCERN_TABLES) == []


def test_whole_schema_matches_every_model(store_url: str) -> None:  # noqa: F811
    """Every table on bot.records.db.Base (concern log, pager, ...) is created by a migration
    exactly as its model says, and no migration makes a table no model describes."""
    upgrade(store_url)
    assert _diffs(store_url, None) == []


def test_drift_would_be_caught(store_url: str) -> None:  # noqa: F811
    """The comparison really looks: a database migrated only partway reports missing tables."""
    upgrade(store_url, "base")
    diffs = _diffs(store_url, CONCERN_TABLES)
    assert {d[1].name for d in diffs if d[0] == "add_table"} == CONCERN_TABLES


def test_downgrade_to_base_removes_the_concern_log(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.sqlite3'}"
    upgrade(url)
    upgrade_to_base = "base"
    from alembic import command

    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), upgrade_to_base)
        names = set(inspect(engine).get_table_names())
        assert not CONCERN_TABLES & names
        with engine.connect() as connection:
            triggers = connection.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'trigger'"
            ).all()
        assert triggers == []
    finally:
        engine.dispose()
    assert upgrade(url) == head_revision()  # and back up again


def test_unreachable_database_is_one_plain_line(tmp_path: Path) -> None:
    with pytest.raises(MigrationError) as info:
        upgrade(f"sqlite:///{tmp_path / 'no-such-dir' / 'x.sqlite3'}")
    message = str(info.value)
    assert message.startswith("cannot prepare the database sqlite:///")
    assert "unable to open database file" in message
    assert "\n" not in message


def test_database_from_a_newer_version_is_one_plain_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'newer.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0099_future'")
    finally:
        engine.dispose()
    with pytest.raises(MigrationError) as info:
        upgrade(url)
    message = str(info.value)
    assert "Can't locate revision identified by '0099_future'" in message
    assert "newer version of safeguard" in message and "\n" not in message


@pytest.mark.postgres
def test_simultaneous_start_ups_migrate_once(postgres_url: str) -> None:  # noqa: F811
    """Chat server, action server and CLI may start together: none fails, one migrates."""
    from concurrent.futures import ThreadPoolExecutor

    from tests.pg_server import fresh_database

    # A lock wait longer than this is a failure, not a hang (an upgrade takes < 1 s).
    url = fresh_database(postgres_url) + "%20-clock_timeout%3D30s"
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: upgrade(url), range(4)))
    assert results == [head_revision()] * 4
    assert _diffs(url, None) == []
