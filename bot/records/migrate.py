"""Apply the database schema (Alembic migrations in ``migrations/``) from code.

Start-up calls `upgrade(engine_or_url)`; no ``alembic.ini`` is needed. Every table lives
on `bot.records.db.Base`, and each component's migration chains onto the one before it
(``0001_concern_log`` then the pager's ``0002_pages``), so one upgrade to "head" brings
the whole database up to date. On PostgreSQL an advisory lock stops two processes
starting at once (chat server and action server) from migrating over each other.
"""

from __future__ import annotations

import importlib
import logging

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from bot import ROOT
from bot.records.db import Base, make_engine

MIGRATIONS_DIR = ROOT / "migrations"

# Alembic reports every step at INFO; in a chat terminal that buries the conversation.
logging.getLogger("alembic").setLevel(logging.WARNING)

MODEL_MODULES: tuple[str, ...] = (
    "bot.records.concern_log",
    "bot.paging.pager",
    "bot.records.audit",
    "bot.records.access",
    "bot.records.incidents",
)
"""Modules that define tables on `bot.records.db.Base`; imported so `model_metadata()` (used for
autogenerate and the drift test) sees every table. A module not written yet is skipped."""

# Arbitrary constant shared by every safeguard process: "the schema migration lock".
_PG_LOCK_ID = 0x5AFE6A4D


class MigrationError(RuntimeError):
    """The database could not be reached or brought up to date (one plain line)."""


def model_metadata() -> MetaData:
    """`Base.metadata` with every known model module imported."""
    for name in MODEL_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    return Base.metadata


def alembic_config(connection: Connection | None = None) -> Config:
    """An in-memory Alembic config pointing at ``migrations/``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision in ``migrations/versions``."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise MigrationError("no migrations found in " + str(MIGRATIONS_DIR))
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None for an empty database)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine_or_url: Engine | str | None = None, revision: str = "head") -> str | None:
    """Bring the database to `revision` (default: the newest); return where it ended up.

    Raises MigrationError with one line if the database is unreachable or a migration
    fails; the password in a URL is never shown.
    """
    engine = engine_or_url if isinstance(engine_or_url, Engine) else make_engine(engine_or_url)
    where = engine.url.render_as_string(hide_password=True)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PG_LOCK_ID})
            command.upgrade(alembic_config(connection), revision)
        return current_revision(engine)
    except CommandError as exc:
        # Typically the database was migrated by a newer safeguard than this one.
        raise MigrationError(
            f"cannot prepare the database {where}: {_first_line(str(exc))} (is it from a "
            "newer version of safeguard? run that version, or restore a matching backup)"
        ) from exc
    except SQLAlchemyError as exc:
        original = getattr(exc, "orig", None) or exc
        raise MigrationError(
            f"cannot prepare the database {where}: {type(original).__name__}: "
            f"{_first_line(str(original))}"
        ) from exc
    finally:
        if not isinstance(engine_or_url, Engine):
            engine.dispose()


def _first_line(text: str, limit: int = 200) -> str:
    lines = text.strip().splitlines()
    line = lines[0] if lines else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"
