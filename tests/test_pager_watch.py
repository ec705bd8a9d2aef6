"""The pager watch (bot/paging/watch.py, `safeguard pager watch`): a pager that stops beating
is told to the on-call lead straight through a transport, not through the dead pager's
outbox; once per outage, again after the pager came back and stopped again. A pinned clock
(the heartbeat rows and `now` are set by hand) and a fake transport."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from bot.commands.cli import main
from bot.paging import watch as pager_watch
from bot.paging.models import Page, PagerHeartbeat
from bot.paging.transports import PageMessage, TransportError, adaptive_card
from bot.records.db import make_engine, session_factory, transaction
from bot.records.migrate import upgrade
from tests.pager_harness import LEE, make_roster

T0 = datetime(2026, 11, 24, 10, 0, 0)  # naive UTC, as heartbeats are stored
LOCAL = datetime.fromisoformat("2026-11-24T10:00:00+00:00")  # who is on call


class FakeTelegram:
    name = "telegram"

    def __init__(self) -> None:
        self.sent: list[tuple[PageMessage, str]] = []
        self.fail = False

    def send(self, message: PageMessage, address: str) -> None:
        if self.fail:
            raise TransportError("telegram: NetworkError")
        self.sent.append((message, address))


@pytest.fixture
def engine(tmp_path: Path):  # noqa: ANN201
    made = make_engine(f"sqlite:///{tmp_path / 'watch.sqlite3'}")
    upgrade(made)
    yield made
    made.dispose()


def beat_at(engine, when: datetime, host: str = "node1") -> None:  # noqa: ANN001
    with transaction(session_factory(engine)) as session:
        session.execute(delete(PagerHeartbeat).where(PagerHeartbeat.host == host))
        session.add(PagerHeartbeat(host=host, pid=4242, started_at=T0, beat_at=when))


def run(engine, telegram: FakeTelegram, at: datetime, state: Path):  # noqa: ANN001, ANN201
    return pager_watch.watch(
        engine, make_roster(), {"telegram": telegram}, at, LOCAL, state, host="node1"
    )


def pages(engine) -> int:  # noqa: ANN001
    with session_factory(engine)() as session:
        return session.scalar(select(func.count()).select_from(Page))


def test_a_stale_heartbeat_is_told_once_per_outage_and_again_after_recovery(
    engine, tmp_path: Path
) -> None:  # noqa: ANN001
    telegram, state = FakeTelegram(), tmp_path / "var" / "pager-watch.json"
    assert run(engine, telegram, T0, state).state == "never"  # a new install: nothing yet

    beat_at(engine, T0)
    assert run(engine, telegram, T0 + timedelta(seconds=60), state).state == "alive"
    assert run(engine, telegram, T0 + timedelta(seconds=120), state).state == "alive"
    assert telegram.sent == []

    # The pager stops: past two minutes the on-call lead (step 1 of the urgent chain) is told,
    # on Telegram, straight away: not through the outbox (no page row).
    result = run(engine, telegram, T0 + timedelta(seconds=181), state)
    assert result.state == "notified" and result.notified == ["Lee Lead"]
    ((message, address),) = telegram.sent
    assert address == str(LEE)
    assert message.direct and message.concern_ref == "OPS-pager-heartbeat"
    assert "NO PAGES ARE BEING SENT" in message.text() and "3 min" in message.text()
    assert "nothing to acknowledge" in message.text() and "pager ack" not in message.text()
    assert pages(engine) == 0
    assert oct(state.stat().st_mode & 0o777) == "0o600"

    # Still down an hour later, every minute: nothing more is sent.
    for minutes in range(4, 60, 7):
        assert run(engine, telegram, T0 + timedelta(minutes=minutes), state).state == "already"
    assert len(telegram.sent) == 1

    # Back: the pager beats again; the outage is over.
    back = T0 + timedelta(hours=1)
    beat_at(engine, back)
    assert run(engine, telegram, back + timedelta(seconds=5), state).state == "alive"
    assert not state.exists()
    assert len(telegram.sent) == 1

    # It stops again: a new outage, told again (once).
    assert run(engine, telegram, back + timedelta(minutes=3), state).state == "notified"
    assert run(engine, telegram, back + timedelta(minutes=4), state).state == "already"
    assert len(telegram.sent) == 2


def test_nobody_reached_is_not_recorded_so_the_next_run_tries_again(engine, tmp_path: Path) -> None:  # noqa: ANN001
    telegram, state = FakeTelegram(), tmp_path / "pager-watch.json"
    beat_at(engine, T0)
    telegram.fail = True
    late = T0 + timedelta(minutes=5)
    result = run(engine, telegram, late, state)
    # Lee has Telegram then the console; the console is the journal, not Lee.
    assert result.state == "unsent" and "NOBODY TOLD" in result.detail
    assert not state.exists()
    telegram.fail = False
    assert run(engine, telegram, late + timedelta(minutes=1), state).state == "notified"
    assert run(engine, telegram, late + timedelta(minutes=2), state).state == "already"
    assert len(telegram.sent) == 1


def test_the_freshest_of_two_pagers_counts(engine, tmp_path: Path) -> None:  # noqa: ANN001
    telegram, state = FakeTelegram(), tmp_path / "pager-watch.json"
    beat_at(engine, T0, host="node1")  # stopped long ago
    beat_at(engine, T0 + timedelta(minutes=30), host="node2")  # still running
    assert run(engine, telegram, T0 + timedelta(minutes=31), state).state == "alive"
    assert telegram.sent == []


def test_the_notice_carries_no_child_data_and_no_ack_button() -> None:
    message = pager_watch.notice(400, "node1", "node2")
    text = message.text()
    assert text.splitlines()[0] == "SAFEGUARD NOTICE - URGENT - OPS-pager-heartbeat"
    assert "child may be in danger" not in text and "Worker:" not in text
    card = adaptive_card(message)
    body = card["attachments"][0]["content"]["body"]
    assert "nothing to acknowledge" in body[-1]["text"]
    assert "pager ack" not in str(card)


def test_the_command_tells_the_lead_once(tmp_path: Path, monkeypatch, capsys) -> None:  # noqa: ANN001
    """`safeguard pager watch` end to end on the console transport (the example roster)."""
    url = f"sqlite:///{tmp_path / 'cmd.sqlite3'}"
    monkeypatch.setenv("SAFEGUARD_DB_URL", url)
    monkeypatch.setenv("SAFEGUARD_VAR", str(tmp_path / "var"))
    monkeypatch.setenv("SAFEGUARD_NOW", "2026-11-24T10:00")
    monkeypatch.setenv("SAFEGUARD_TEAMS_DISABLED", "1")
    for name in ("SAFEGUARD_ROSTER", "TELEGRAM_BOT_TOKEN", "TELEGRAM_BOT_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    engine = make_engine(url)
    upgrade(engine)
    beat_at(engine, datetime.utcnow() - timedelta(minutes=10))
    engine.dispose()
    assert main(["pager", "watch"]) == 0
    out = capsys.readouterr().out
    assert "SAFEGUARD NOTICE" in out and "pager watch: the pager is down" in out
    assert main(["pager", "watch"]) == 0
    out = capsys.readouterr().out
    assert "already told" in out and "SAFEGUARD NOTICE" not in out
