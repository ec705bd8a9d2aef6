"""Database plumbing shared by the concern log and the pager (SQLAlchemy 1.4, 2.0 style).

One declarative `Base` for every table, so a concern, its chronology events and the pages
it triggers can be written in one transaction ("a concern is written before anyone is
paged"). Schema changes go through Alembic migrations in `migrations/`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, declarative_base, sessionmaker

from bot.config import settings

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
