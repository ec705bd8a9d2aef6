"""`safeguard notify-failure UNIT` (systemd OnFailure=): a page through the outbox that names
the unit and the server, never a child; one page while it is still active; a pager sends it."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.commands import notify_failure
from bot.commands.cli import main
from bot.paging.models import REF_PATTERN, Page
from bot.paging.pager import Pager
from bot.paging.transports import ConsoleTransport
from bot.records.db import make_engine, session_factory

UNIT = "safeguard-audit-verify.service"


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'ops.sqlite3'}"
    monkeypatch.setenv("SAFEGUARD_DB_URL", url)
    monkeypatch.setenv("SAFEGUARD_NOW", "2026-11-24T10:00")  # the example roster: Alex on call
    monkeypatch.delenv("SAFEGUARD_ROSTER", raising=False)
    return url


def pages(url: str) -> list[Page]:
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            return list(session.scalars(select(Page).order_by(Page.id)))
    finally:
        engine.dispose()


def test_a_failed_unit_is_paged_once_and_delivered(db: str, capsys) -> None:  # noqa: ANN001
    assert main(["notify-failure", UNIT]) == 0
    assert "Paging the on-call lead" in capsys.readouterr().out
    assert main(["notify-failure", UNIT]) == 0  # fails again 5 minutes later
    assert "Already paging" in capsys.readouterr().out
    found = pages(db)
    assert len(found) == 1
    page = found[0]
    assert page.concern_ref == "OPS-safeguard-audit-verify.service"
    assert page.category == "other" and page.urgency == "urgent"
    assert UNIT in page.worker_name and f"journalctl -u {UNIT}" in page.worker_contact

    console = io.StringIO()
    engine = make_engine(db)
    try:
        assert Pager(engine, transports=[ConsoleTransport(console)]).deliver_due() >= 1
    finally:
        engine.dispose()
    text = console.getvalue()
    assert "OPS-safeguard-audit-verify.service" in text and "PAGE for alex" in text


def test_another_unit_gets_its_own_page(db: str) -> None:
    assert main(["notify-failure", UNIT]) == 0
    assert main(["notify-failure", "safeguard-rasa@5005"]) == 0
    assert [p.concern_ref for p in pages(db)] == [
        "OPS-safeguard-audit-verify.service",
        "OPS-safeguard-rasa-5005",
    ]


@pytest.mark.parametrize(
    "unit",
    [
        "safeguard-rasa@5005.service",
        "x" * 90,
        "weird unit\\x2dname;rm -rf /",
        "@@@",
    ],
)
def test_any_unit_name_becomes_a_reference_and_contact_a_page_may_carry(unit: str) -> None:
    from bot.paging.models import CONTACT_PATTERN

    assert REF_PATTERN.match(notify_failure.reference(unit))
    assert CONTACT_PATTERN.match(notify_failure.contact(unit, "host-1"))


def test_database_down_says_so_loudly_and_fails(monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # noqa: ANN001
    monkeypatch.setenv("SAFEGUARD_DB_URL", "postgresql+psycopg2://nobody@127.0.0.1:9/none")
    assert main(["notify-failure", UNIT]) == 1
    err = capsys.readouterr().err
    assert "could not be paged" in err and "Traceback" not in err
