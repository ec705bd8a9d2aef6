"""Database plumbing shared by the concern log and the pager (SQLAlchemy 1.4, 2.0 style).

One declarative `Base` for every table, so a concern, its chronology events and the pages
it triggers can be written in one transaction ("a concern is written before anyone is
paged"). Schema changes go through Alembic migrations in `migrations/`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import DateTime, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, declarative_base, sessionmaker
from sqlalchemy.types import TypeDecorator

from bot.config import settings
from bot.core import clock

Base = declarative_base()


def make_engine(url: str | None = None) -> Engine:
    url = url or settings.db_url()
    engine = create_engine(url, future=True, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.close()

    return engine


def session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(bind=engine, future=True, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker) -> Iterator[Session]:
    """One unit of work: commit on success, roll back and re-raise on any error."""
    with factory() as session:
        with session.begin():
            yield session


class UTCDateTime(TypeDecorator):
    """Aware datetimes stored as naive UTC (portable and sortable on SQLite and
    PostgreSQL), read back as Europe/London local time."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the concern log; use bot.core.clock")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc).astimezone(clock.LONDON)
