"""Alembic environment for safeguard.

Normally run through `bot.records.migrate.upgrade`, which passes an open connection in
``config.attributes["connection"]``. Run by the ``alembic`` command instead, it connects to
SAFEGUARD_DB_URL (see `bot.config.settings`).
"""

from __future__ import annotations

from alembic import context

from bot.records.db import make_engine
from bot.records.migrate import model_metadata

config = context.config
target_metadata = model_metadata()


def _run(connection) -> None:  # noqa: ANN001
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine()
    try:
        with engine.begin() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("safeguard migrations run online only: use bot.records.migrate.upgrade()")
run_migrations_online()
