"""`safeguard health [--json]`: each part up, then each part down, against fake servers on
loopback and a real database (SQLite, and PostgreSQL for the database check)."""

from __future__ import annotations

import json
import socket
import types
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import update

from bot.commands import health, processes
from bot.commands.cli import main
from bot.core.clock import parse_local
from bot.paging.models import PagerHeartbeat
from bot.paging.outbox import enqueue
from bot.paging.pager import Pager
from bot.paging.transports import ConsoleTransport
from bot.records import spool
from bot.records.db import make_engine, session_factory, transaction
from bot.records.migrate import upgrade
from tests.fake_http import FakeHTTPServer
from tests.pager_harness import make_roster
from tests.pg_server import postgres_url, store_url  # noqa: F401 - fixtures

NOW = "2026-11-24T10:00"  # a Tuesday morning: the example roster has Alex and Sam on call


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def servers():  # noqa: ANN201
    """A fake Rasa (200 on /) and a fake action server (200 on /health)."""
    with FakeHTTPServer(default_status=200) as rasa, FakeHTTPServer(default_status=200) as actions:
        yield rasa, actions


@pytest.fixture
def deployment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    var = tmp_path / "var"
    var.mkdir()
    url = f"sqlite:///{var / 'concerns.sqlite3'}"
    monkeypatch.setenv("SAFEGUARD_VAR", str(var))
    monkeypatch.setenv("SAFEGUARD_DB_URL", url)
    monkeypatch.setenv("SAFEGUARD_NOW", NOW)
    monkeypatch.delenv("SAFEGUARD_ROSTER", raising=False)
    monkeypatch.delenv("SAFEGUARD_RASA_URLS", raising=False)
    monkeypatch.delenv("SAFEGUARD_ACTIONS_ADDRESS", raising=False)
    upgrade(url)
    return url


def beat(url: str, age_s: float = 0.0) -> None:
    """A pager's pass, `age_s` seconds ago (real time)."""
    engine = make_engine(url)
    try:
        Pager(engine, transports=[ConsoleTransport()]).beat(force=True)
        when = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(seconds=age_s)
        with transaction(session_factory(engine)) as session:
            session.execute(update(PagerHeartbeat).values(beat_at=when))
    finally:
        engine.dispose()


def run_health(capsys, *args: str) -> tuple[int, dict]:  # noqa: ANN001
    code = main(["health", "--json", *args])
    report = json.loads(capsys.readouterr().out)
    return code, report


def by_name(report: dict) -> dict[str, dict]:
    return {c["name"]: c for c in report["checks"]}


def test_everything_up(deployment: str, servers, capsys) -> None:  # noqa: ANN001
    rasa, actions = servers
    beat(deployment)
    code, report = run_health(
        capsys, "--rasa-url", rasa.url, "--actions-url", f"{actions.url}/health"
    )
    checks = by_name(report)
    assert code == 0 and report["ok"] is True, report
    assert checks["rasa"]["status"] == 200 and checks["actions"]["status"] == 200
    assert [r.path for r in actions.requests] == ["/health"]
    assert checks["database"]["ok"]
    assert checks["pager"]["age_s"] < health.PAGER_STALE_S
    assert checks["outbox"]["waiting"] == 0
    assert checks["spool"]["waiting"] == 0
    assert [p["id"] for p in checks["rota"]["on_call"]] == ["alex", "sam"]


def test_plain_text_one_line_per_check(deployment: str, servers, capsys) -> None:  # noqa: ANN001
    rasa, actions = servers
    beat(deployment)
    assert main(["health", "--rasa-url", rasa.url, "--actions-url", f"{actions.url}/health"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "All parts are up."
    assert all(line.startswith("ok") for line in out[:-1])
    assert any("Alex" in line for line in out)


def test_each_part_down(deployment: str, capsys, monkeypatch) -> None:  # noqa: ANN001
    """Rasa not listening, the action server answering 500, the pager's last pass 10
    minutes ago, a page due 5 minutes ago and not sent, a concern in the spool."""
    with FakeHTTPServer(default_status=500) as actions:
        beat(deployment, age_s=600)
        engine = make_engine(deployment)
        with transaction(session_factory(engine)) as session:
            enqueue(session, "SG-AAAA-BBBB", "urgent", "neglect", "Jo", "07700 900555",
                    parse_local(NOW))  # fmt: skip
        engine.dispose()
        monkeypatch.setenv("SAFEGUARD_NOW", "2026-11-24T10:05")
        (spool.spool_dir() / f"waiting{spool.SUFFIX}").write_text("sealed")
        code, report = run_health(
            capsys,
            "--rasa-url", f"http://127.0.0.1:{closed_port()}",
            "--actions-url", f"{actions.url}/health",
        )  # fmt: skip
    checks = by_name(report)
    assert code == 1 and report["ok"] is False
    assert checks["rasa"]["ok"] is False and checks["rasa"]["status"] is None
    assert checks["actions"]["ok"] is False and checks["actions"]["status"] == 500
    assert checks["database"]["ok"] is True
    assert checks["pager"]["ok"] is False and "DOWN" in checks["pager"]["detail"]
    assert checks["outbox"]["ok"] is False and checks["outbox"]["waiting"] == 1
    assert checks["outbox"]["oldest_due_s"] >= 300
    assert checks["spool"]["ok"] is False and checks["spool"]["waiting"] == 1
    assert checks["rota"]["ok"] is True


def test_database_down_is_reported_not_raised(deployment: str, capsys, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv(
        "SAFEGUARD_DB_URL", f"postgresql+psycopg2://nobody@127.0.0.1:{closed_port()}/none"
    )
    code, report = run_health(capsys, "--rasa-url", f"http://127.0.0.1:{closed_port()}")
    checks = by_name(report)
    assert code == 1
    assert checks["database"]["ok"] is False and "cannot be reached" in checks["database"]["detail"]
    assert checks["pager"]["ok"] is False and checks["outbox"]["ok"] is False


def test_no_pager_ever_and_nobody_on_call(deployment: str) -> None:
    checks = by_name({"checks": health.database_checks(deployment, parse_local(NOW))})
    assert checks["pager"]["ok"] is False and "no pager" in checks["pager"]["detail"]
    here = types.SimpleNamespace(
        roster=lambda: make_roster(shifts=[{"person": "lee", "when": "mon 00:00-01:00"}]),
        now=lambda: parse_local(NOW),
    )
    rota = health.rota_check(here)
    assert rota["ok"] is False and rota["on_call"] == []


def test_database_and_heartbeat_on_sqlite_and_postgresql(store_url: str) -> None:  # noqa: F811
    upgrade(store_url)
    beat(store_url)
    checks = by_name({"checks": health.database_checks(store_url, parse_local(NOW))})
    assert checks["database"]["ok"] and checks["pager"]["ok"] and checks["outbox"]["ok"]


def test_the_pager_loop_beats(deployment: str) -> None:
    """A real pass of the loop writes the heartbeat (what `pager run` does each pass)."""
    engine = make_engine(deployment)
    try:
        Pager(engine, transports=[ConsoleTransport()])._safe_pass()  # noqa: SLF001
    finally:
        engine.dispose()
    checks = by_name({"checks": health.database_checks(deployment, parse_local(NOW))})
    assert checks["pager"]["ok"] is True


def test_serve_parts_are_reported_while_serve_runs(deployment: str) -> None:
    processes.write_status(
        {
            "action server": {"state": "restarting", "restarts": 2, "last_exit": -9},
            "rasa server": {"state": "running", "restarts": 0, "last_exit": None},
        }
    )
    checks = by_name({"checks": health.serve_checks()})
    assert checks["serve: action server"]["ok"] is False
    assert "last exit -9" in checks["serve: action server"]["detail"]
    assert checks["serve: rasa server"]["ok"] is True
    processes.status_path().write_text(json.dumps({"pid": 2**22 + 12345, "parts": {}}))
    assert health.serve_checks() == []  # a serve that is no longer running says nothing


def test_a_database_never_migrated_is_reported_not_raised(tmp_path: Path) -> None:
    """Before the pager or the action server first ran (docs/deploy.md, a fresh install)."""
    url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    checks = by_name({"checks": health.database_checks(url, parse_local(NOW))})
    assert checks["database"]["ok"] is True
    assert checks["pager"]["ok"] is False and "no heartbeat table" in checks["pager"]["detail"]
    assert checks["outbox"]["ok"] is False and "no outbox tables" in checks["outbox"]["detail"]


@pytest.mark.parametrize(
    "given, checked",
    [
        ("http://127.0.0.1:5155", "http://127.0.0.1:5155/health"),
        ("http://127.0.0.1:5155/", "http://127.0.0.1:5155/health"),
        ("127.0.0.1:5155", "http://127.0.0.1:5155/health"),
        ("http://127.0.0.1:5155/health", "http://127.0.0.1:5155/health"),
    ],
)
def test_a_bare_action_server_address_is_checked_at_its_open_health_path(
    given: str, checked: str
) -> None:
    """Every other path of the action server refuses an unsigned call with 401."""
    args = types.SimpleNamespace(actions_url=given)
    config = types.SimpleNamespace(actions_address=None)
    assert health.actions_url(args, config) == checked
