"""`safeguard audit verify` (exit 0 intact / 1 first bad entry named / 2 cannot check) and
`safeguard audit show` (leads, deputies, admins; itself audited)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import inspect, text

from bot.commands.cli import main
from bot.records.audit import Actor, AuditTrail
from bot.records.concern_log import ConcernLog
from bot.records.db import make_engine
from tests.audit_helpers import draft, use_roster

KEY = Fernet.generate_key().decode()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'audit.sqlite3'}"
    monkeypatch.setenv("SAFEGUARD_DB_URL", url)
    monkeypatch.setenv("SAFEGUARD_KEY", KEY)
    monkeypatch.setenv("SAFEGUARD_VAR", str(tmp_path / "var"))
    monkeypatch.setenv("SAFEGUARD_NOW", "2026-11-23T16:00")
    monkeypatch.setenv("SAFEGUARD_ORG", "crasac")
    monkeypatch.setenv("SAFEGUARD_USER", "lena")
    use_roster(monkeypatch, tmp_path)
    return url


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_verify_intact_then_tampered(env: str, capsys) -> None:  # noqa: ANN001
    ref = ConcernLog(env).record(draft()).reference
    trail = AuditTrail(env)
    trail.record(Actor("lena", "Lena Lead", "lead"), "view", concern_ref=ref, reason="x")
    code, out, err = run(capsys, "audit", "verify")
    assert (code, err) == (0, "")
    assert out.startswith("Audit trail intact: 2 entries; head ")
    with trail.engine.begin() as connection:
        connection.execute(text("DROP TRIGGER audit_entries_no_update"))
        connection.execute(text("UPDATE audit_entries SET reason = 'routine' WHERE position = 2"))
    code, out, err = run(capsys, "audit", "verify")
    assert (code, out) == (1, "")
    assert err == (
        f"Audit trail NOT intact: entry #2 2026-11-23 16:00 lena (lead, cli) view {ref} was "
        "changed after it was written (its contents do not match its hash)\n"
    )
    code, out, _ = run(capsys, "audit", "verify", "--json")
    data = json.loads(out)
    assert code == 1 and (data["intact"], data["first_bad_entry"], data["entries"]) == (
        False,
        2,
        1,
    )


def test_verify_catches_the_last_entry_deleted_after_a_check(env: str, capsys) -> None:  # noqa: ANN001
    ConcernLog(env).record(draft())
    ConcernLog(env).record(draft())
    assert run(capsys, "audit", "verify")[0] == 0
    trail = AuditTrail(env)
    with trail.engine.begin() as connection:
        connection.execute(text("DROP TRIGGER audit_entries_no_delete"))
        connection.execute(text("DELETE FROM audit_entries WHERE position = 2"))
    code, _, err = run(capsys, "audit", "verify")
    assert code == 1 and "entries #2 to #2 are missing" in err
    assert run(capsys, "audit", "verify", "--no-anchor")[0] == 0  # the chain alone is whole


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_verify_cannot_check_exits_2(env: str, capsys, monkeypatch, tmp_path: Path) -> None:  # noqa: ANN001
    url = f"postgresql+psycopg2://sg:hunter2@127.0.0.1:{_closed_port()}/safeguard"
    monkeypatch.setenv("SAFEGUARD_DB_URL", url)
    code, out, err = run(capsys, "audit", "verify")
    assert (code, out) == (2, "")
    assert err.startswith("safeguard: cannot check the audit trail: could not open")
    assert "hunter2" not in err and err.count("\n") == 1
    monkeypatch.setenv("SAFEGUARD_DB_URL", f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    code, _, err = run(capsys, "audit", "verify")
    assert code == 2 and "has no audit trail" in err
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    assert inspect(engine).get_table_names() == []  # a check does not create what it checks
    engine.dispose()


def test_show_for_leads_only_and_itself_audited(env: str, capsys) -> None:  # noqa: ANN001
    first = ConcernLog(env).record(draft()).reference
    second = ConcernLog(env).record(draft(worker_id="wes", worker_name="Wes Worker")).reference
    code, out, err = run(capsys, "audit", "show", "--as", "wes")
    assert (code, out) == (3, "")
    assert err == (
        "safeguard: wes (worker) may not read the audit trail: only Safeguarding Leads, "
        "deputies and admins may\n"
    )
    code, out, err = run(capsys, "audit", "show", "--as", "mallory")
    assert code == 2 and "not in the roster" in err
    code, out, err = run(capsys, "audit", "show", "--concern", second.lower(), "--reason", "QA")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["#", "WHEN", "(LONDON)", "WHO"]
    assert len(lines) == 2 and f"create           {second}" in lines[1]
    code, out, _ = run(capsys, "audit", "show", "--json", "--as", "ada")
    entries = json.loads(out)
    assert [(e["position"], e["person_id"], e["action"], e["concern_ref"]) for e in entries] == [
        (1, "wyn", "create", first),
        (2, "wes", "create", second),
        (3, "wes", "refused", None),
        (4, "lena", "audit-show", second),
    ]
    assert entries[3]["reason"] == "QA" and entries[3]["detail"] == f"1 entries; concern {second}"
    code, out, _ = run(capsys, "audit", "show", "--person", "wes", "--last", "1")
    assert code == 0 and len(out.splitlines()) == 2 and "refused" in out
    assert run(capsys, "audit", "show", "--last", "0")[0] == 2
    assert run(capsys, "audit", "verify")[0] == 0
