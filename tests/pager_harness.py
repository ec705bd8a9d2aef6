"""The pager test harness: a pager on a hand-moved clock, wired to a fake Telegram server,
a fake Teams webhook and the console, with a small test roster. Shared by the pager suites
(tests/test_pager.py, tests/test_page_updates.py); import the fixtures you use."""

from __future__ import annotations

import io
import os
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.core.clock import parse_local
from bot.core.rota import Roster
from bot.paging.chain import FallbackContact
from bot.paging.outbox import enqueue
from bot.paging.pager import Pager
from bot.paging.transports import ConsoleTransport, TeamsTransport, TelegramTransport
from bot.records.db import Base, make_engine, session_factory, transaction
from tests.fake_http import FakeHTTPServer
from tests.fake_telegram import FakeTelegram

TOKEN = "424242:FAKE-token"
START = "2026-11-23T22:00"  # a Monday night
LEE, DEE, NIA = 910000101, 910000102, 910000103


class Clock:
    """A clock the test moves by hand: no sleeping for real minutes."""

    def __init__(self, iso: str = START) -> None:
        self.at = parse_local(iso)

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


def make_roster(teams_url: str | None = None, **changes: object) -> Roster:
    data = {
        "organisation": "crasac",
        "source": "test roster",
        "people": [
            {"id": "lee", "name": "Lee Lead", "role": "lead", "telegram_chat_id": LEE},
            {
                "id": "dee",
                "name": "Dee Deputy",
                "role": "deputy",
                "telegram_chat_id": DEE,
                "teams_webhook_url": teams_url,
            },
            {"id": "nia", "name": "Nia Named", "role": "admin", "telegram_chat_id": NIA},
        ],
        "shifts": [
            {"person": "lee", "when": "daily 00:00-24:00"},
            {"person": "dee", "when": "daily 00:00-24:00"},
        ],
        "fallback": {"purpose": "out_of_hours_social_care"},
        "escalation": {
            "immediate": {
                "steps": [
                    {"target": "on_call_lead", "timeout_minutes": 2},
                    {"target": "deputies", "timeout_minutes": 2},
                ],
                "repeat": 2,
            },
            "urgent": {
                "steps": [
                    {"target": "on_call_lead", "timeout_minutes": 15},
                    {"target": "person", "person": "nia", "timeout_minutes": 15},
                ]
            },
            "routine": {"steps": [{"target": "all_on_call", "timeout_minutes": 60}]},
        },
    }
    data.update(changes)
    return Roster.parse_obj(data)


@pytest.fixture
def db_dir(tmp_path: Path):  # noqa: ANN201
    """A folder for test databases: in RAM where there is one (fsync costs nothing there)."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        with tempfile.TemporaryDirectory(dir=shm) as folder:
            yield Path(folder)
    else:
        yield tmp_path


@pytest.fixture
def engine(db_dir: Path):  # noqa: ANN201
    engine = make_engine(f"sqlite:///{db_dir / 'pages.sqlite3'}")
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def telegram():  # noqa: ANN201
    with FakeTelegram(TOKEN) as fake:
        yield fake


@pytest.fixture
def teams():  # noqa: ANN201
    with FakeHTTPServer() as server:
        yield server


class Harness:
    """A pager wired to the fake Telegram server, a fake Teams webhook and the console."""

    def __init__(self, engine, telegram: FakeTelegram, teams: FakeHTTPServer, **kw) -> None:  # noqa: ANN001
        self.engine = engine
        self.clock = Clock()
        self.roster = make_roster(f"{teams.url}/hook")
        self.console = io.StringIO()
        self.telegram = TelegramTransport(TOKEN, base_url=telegram.base_url)
        self.transports = [self.telegram, TeamsTransport(timeout=5), ConsoleTransport(self.console)]
        self.resolved: list[tuple[str, str, datetime]] = []
        self.pager = self.new_pager(**kw)

    def resolver(self, fallback, organisation: str, when: datetime) -> FallbackContact:  # noqa: ANN001
        self.resolved.append((fallback.purpose, organisation, when))
        return FallbackContact(
            label="Test OOH team",
            phone="024 7600 0000",
            reason="Test reason.",
            source="test-seed.txt, Contacts",
        )

    def new_pager(self, **kw) -> Pager:  # noqa: ANN003
        kw.setdefault("fallback_resolver", self.resolver)
        return Pager(self.engine, self.roster, self.transports, self.clock, **kw)

    def enqueue(self, urgency: str = "immediate", ref: str = "SG-7KQ2-M4XP") -> int:
        with transaction(session_factory(self.engine)) as session:
            return enqueue(
                session,
                ref,
                urgency,
                "cse",
                "Jo Worker",
                "07700 900555",
                self.clock(),
                roster=self.roster,
            )

    def notices(self) -> list[tuple[str, str]]:
        return [(n["kind"], n["text"]) for n in self.pager.notices(unseen_only=False)]

    def close(self) -> None:
        self.telegram.close()


@pytest.fixture
def harness(engine, telegram, teams):  # noqa: ANN001, ANN201
    h = Harness(engine, telegram, teams)
    yield h
    h.close()


def chats(fake: FakeTelegram) -> list[int]:
    return [int(m["chat_id"]) for m in fake.sent_messages()]


# --------------------------------------------------------------------------- enqueue
