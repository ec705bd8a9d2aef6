"""`safeguard concerns` / `safeguard concern ...`: output, exit codes and one-line errors."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.commands.cli import main
from bot.core.clock import LONDON
from bot.records.audit import AuditTrail
from bot.records.concern_log import CRASAC_EVENT_TYPES, ConcernLog
from tests.audit_helpers import WORDS, draft, use_roster

ROOT = Path(__file__).resolve().parent.parent
KEY = Fernet.generate_key().decode()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setenv("SAFEGUARD_DB_URL", url)
    monkeypatch.setenv("SAFEGUARD_KEY", KEY)
    monkeypatch.setenv("SAFEGUARD_VAR", str(tmp_path / "var"))
    monkeypatch.setenv("SAFEGUARD_NOW", "2026-11-23T16:00")
    monkeypatch.setenv("SAFEGUARD_ORG", "crasac")
    use_roster(monkeypatch, tmp_path)
    monkeypatch.setenv("SAFEGUARD_USER", "lena")  # the lead, unless a test says otherwise
    return url


def record(url: str, **changes: object) -> str:
    changes.setdefault("worker_id", "w-9")
    changes.setdefault("worker_name", "Sam")
    return ConcernLog(url).record(draft(**changes)).reference


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def audit(url: str) -> list[tuple[str, str, str | None, str]]:
    """(person, action, reference, reason) of every audit entry, in order."""
    return [(e.person_id, e.action, e.concern_ref, e.reason) for e in AuditTrail(url).entries()]


def test_list_empty_then_with_concerns(env: str, capsys, monkeypatch) -> None:  # noqa: ANN001
    assert run(capsys, "concerns") == (0, "No concerns recorded.\n", "")
    assert run(capsys, "concerns", "--open") == (0, "No open concerns.\n", "")
    first = record(env)
    monkeypatch.setenv("SAFEGUARD_NOW", "2026-11-23T17:30")
    second = record(env, worker_id="w-2", worker_name="Ali", urgency="routine", categories=[])
    code, out, err = run(capsys, "concerns")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].startswith("REFERENCE")
    assert lines[1].startswith(f"{second}  2026-11-23 17:30 routine   open   Ali (w-2) / -")
    assert lines[2].startswith(f"{first}  2026-11-23 16:00 urgent    open   Sam (w-9)")
    assert "Child B" not in out and "taken away" not in out  # no child details in the list


def test_list_json_open_and_by_worker(env: str, capsys, monkeypatch) -> None:  # noqa: ANN001
    first = record(env)
    second = record(env, worker_id="w-2", worker_name="Ali")
    assert run(capsys, "concern", "close", first, "--reason", "Held by police")[0] == 0
    code, out, _ = run(capsys, "concerns", "--open", "--json")
    data = json.loads(out)
    assert code == 0 and [d["reference"] for d in data] == [second]
    assert set(data[0]) == {
        "reference",
        "created_at",
        "urgency",
        "status",
        "worker_id",
        "worker_name",
        "categories",
    }
    assert data[0]["created_at"] == "2026-11-23T16:00:00+00:00"
    _, out, _ = run(capsys, "concerns", "--json", "--worker", "w-9")
    assert [(d["reference"], d["status"]) for d in json.loads(out)] == [(first, "closed")]


def test_show_prints_the_record_and_chronology(env: str, capsys) -> None:  # noqa: ANN001
    ref = record(env, disclosed_at=datetime(2026, 11, 23, 15, 0, tzinfo=LONDON))
    code, out, err = run(capsys, "concern", "show", ref.lower(), "--reason", "review")
    assert code == 0 and err == ""
    assert out.startswith(f"{ref}  OPEN  urgency: urgent")
    assert "The child's words (verbatim):\n  He said if I tell anyone\n  I'll be taken away." in out
    assert "The worker's own view (not fact):\n  Seemed scared of going home." in out
    assert "Disclosed: 2026-11-23 15:00" in out
    assert "2026-11-23 16:00  Concern Raised  (Sam)" in out


def test_show_json_is_the_exact_record(env: str, capsys) -> None:  # noqa: ANN001
    ref = record(env)
    code, out, _ = run(capsys, "concern", "show", ref, "--json", "--reason", "referral")
    data = json.loads(out)
    assert code == 0
    assert data["child_words"] == WORDS
    assert data["status"] == "open"
    assert [e["type"] for e in data["chronology"]] == ["Concern Raised"]


def test_add_event_backdated_and_attributed(env: str, capsys) -> None:  # noqa: ANN001
    ref = record(env)
    code, out, err = run(
        capsys, "concern", "add-event", ref, "consultation with SGL", "Agreed to refer", "--at",
        "2026-11-23T15:30",
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert out == f"Added 'Consultation with SGL' at 2026-11-23 15:30 to {ref}.\n"
    assert run(capsys, "concern", "add-event", ref, "SG update", "Rang MASH")[0] == 0
    events = ConcernLog(env).chronology(ref)
    assert [(e.type, e.by) for e in events] == [
        ("Consultation with SGL", "Lena Lead"),  # the roster name of SAFEGUARD_USER
        ("Concern Raised", "Sam"),
        ("SG update", "Lena Lead"),
    ]
    _, out, _ = run(capsys, "concern", "show", ref, "--reason", "check")
    assert "2026-11-23 15:30  Consultation with SGL  (Lena Lead, recorded 2026-11-23 16:00)" in out


def test_unknown_event_type_lists_the_allowed_ones(env: str, capsys) -> None:  # noqa: ANN001
    ref = record(env)
    code, out, err = run(capsys, "concern", "add-event", ref, "Phoned mum", "x")
    assert code == 2 and out == ""
    assert err.count("\n") == 1
    assert err.startswith("safeguard: unknown event type 'Phoned mum'; allowed: ")
    for name in CRASAC_EVENT_TYPES[1:]:
        assert name in err


def test_bad_time_is_a_usage_error(env: str, capsys) -> None:  # noqa: ANN001
    ref = record(env)
    code, _, err = run(capsys, "concern", "add-event", ref, "SG update", "x", "--at", "yesterday")
    assert code == 2
    assert err == (
        "safeguard: --at 'yesterday' is not a date and time; use e.g. 2026-11-23T14:30\n"
    )
    code, _, err = run(
        capsys, "concern", "add-event", ref, "SG update", "x", "--at", "2026-11-24T09:00"
    )
    assert code == 2 and "in the future" in err


def test_close_and_reopen(env: str, capsys) -> None:  # noqa: ANN001
    ref = record(env)
    code, out, _ = run(capsys, "concern", "close", ref, "--reason", "Held by LADO")
    assert code == 0
    assert out == f"{ref} is now closed ('Concern Closed' at 2026-11-23 16:00).\n"
    code, _, err = run(capsys, "concern", "close", ref)
    assert (code, err) == (2, f"safeguard: {ref} is already closed\n")
    assert run(capsys, "concern", "reopen", ref, "--reason", "Closed in error")[0] == 0
    assert run(capsys, "concern", "close", ref)[0] == 0  # no reason: recorded as such
    events = ConcernLog(env).chronology(ref)
    assert [(e.type, e.text) for e in events][1:] == [
        ("Concern Closed", "Held by LADO"),
        ("Concern Reopened", "Closed in error"),
        ("Concern Closed", "No reason given."),
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["concern", "show", "SG-2222-2222", "--reason", "x"],
            "no concern with reference SG-2222-2222",
        ),
        (["concern", "show", "banana", "--reason", "x"], "'banana' is not a concern reference"),
        (["concern", "close", "SG-2222-2222"], "no concern with reference SG-2222-2222"),
        (["concern", "add-event", "SG-2222-2222", "SG update", "x"], "no concern with reference"),
    ],
)
def test_unknown_reference_exits_1(env: str, capsys, argv: list[str], message: str) -> None:  # noqa: ANN001
    code, out, err = run(capsys, *argv)
    assert code == 1 and out == ""
    assert err.startswith(f"safeguard: {message}") and err.count("\n") == 1


def test_concern_without_action_prints_help(env: str, capsys) -> None:  # noqa: ANN001
    code, out, _ = run(capsys, "concern")
    assert code == 2 and "usage: safeguard concern" in out


def test_wrong_key_exits_1(env: str, capsys, monkeypatch) -> None:  # noqa: ANN001
    ref = record(env)
    monkeypatch.setenv("SAFEGUARD_KEY", Fernet.generate_key().decode())
    code, _, err = run(capsys, "concern", "show", ref, "--reason", "x")
    assert code == 1
    assert err.startswith("safeguard: could not read the concern: cannot decrypt")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cli(env_changes: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    environ = dict(os.environ, **env_changes)
    return subprocess.run(
        [sys.executable, "-m", "bot.commands.cli", *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environ,
        timeout=120,
    )


def test_unreachable_database_is_one_line_no_traceback(env: str) -> None:
    url = f"postgresql+psycopg2://sg:hunter2@127.0.0.1:{_closed_port()}/safeguard"
    result = _cli({"SAFEGUARD_DB_URL": url}, "concerns")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "Traceback" not in result.stderr and "hunter2" not in result.stderr
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(
        "safeguard: cannot prepare the database postgresql+psycopg2://sg:***@127.0.0.1:"
    )


def test_unsafe_key_file_is_one_line_with_the_chmod(env: str, tmp_path: Path) -> None:
    key_file = tmp_path / "loose.key"
    key_file.write_text(Fernet.generate_key().decode() + "\n")
    key_file.chmod(0o644)
    result = _cli({"SAFEGUARD_KEY": "", "SAFEGUARD_KEY_FILE": str(key_file)}, "concerns")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr == (
        f"safeguard: key file {key_file} is accessible to other users (mode 0644); "
        f"run: chmod 600 {key_file}\n"
    )


# --------------------------------------------------------------------------- who sees what


def test_workers_list_only_their_own_and_leads_all(env: str, capsys) -> None:  # noqa: ANN001
    mine = record(env, worker_id="wyn", worker_name="Wyn Worker")
    theirs = record(env, worker_id="7101", worker_name="Wes Worker")  # raised in chat
    code, out, _ = run(capsys, "concerns", "--as", "wyn", "--json")
    assert code == 0 and [d["reference"] for d in json.loads(out)] == [mine]
    code, out, _ = run(capsys, "concerns", "--as", "wes", "--json")
    assert [d["reference"] for d in json.loads(out)] == [theirs]  # his chat id is his
    code, out, _ = run(capsys, "concerns", "--as", "ada", "--json", "--reason", "monthly check")
    assert {d["reference"] for d in json.loads(out)} == {mine, theirs}
    lists = [(p, r) for p, a, _, r in audit(env) if a == "list"]
    assert lists == [("wyn", "list concerns"), ("wes", "list concerns"), ("ada", "monthly check")]


def test_someone_not_in_the_roster_is_refused(env: str, capsys, monkeypatch) -> None:  # noqa: ANN001
    ref = record(env)
    code, out, err = run(capsys, "concerns", "--as", "mallory")
    assert (code, out) == (2, "")
    assert err.startswith("safeguard: 'mallory' is not in the roster") and err.count("\n") == 1
    monkeypatch.delenv("SAFEGUARD_USER")
    code, _, err = run(capsys, "concern", "show", ref, "--reason", "x")
    assert code == 2
    assert err == (
        "safeguard: say who you are: --as PERSON_ID or SAFEGUARD_USER (your id in the roster)\n"
    )
    assert [a for _, a, _, _ in audit(env)] == ["create"]  # nothing read, nothing audited


def test_reading_a_concern_needs_a_reason(env: str, capsys) -> None:  # noqa: ANN001
    ref = record(env)
    code, out, err = run(capsys, "concern", "show", ref)
    assert (code, out) == (2, "")
    assert err == (
        "safeguard: say why you are reading this concern: --reason TEXT (kept in the audit trail)\n"
    )
    assert run(capsys, "concern", "show", ref, "--reason", "strategy meeting")[0] == 0
    assert run(capsys, "concern", "show", ref, "--json", "--reason", "for the LADO")[0] == 0
    assert audit(env)[1:] == [
        ("lena", "view", ref, "strategy meeting"),
        ("lena", "export", ref, "for the LADO"),
    ]


def test_a_worker_cannot_read_or_close_anothers_concern(env: str, capsys) -> None:  # noqa: ANN001
    ref = record(env, worker_id="wyn", worker_name="Wyn Worker")
    code, out, err = run(capsys, "concern", "show", ref, "--as", "wes", "--reason", "nosy")
    assert (code, out) == (3, "")
    assert err == (
        f"safeguard: {ref}: not among the concerns you can see (workers see only the "
        "concerns they raised)\n"
    )
    code, _, err = run(capsys, "concern", "close", ref, "--as", "wyn", "--reason", "done")
    assert code == 3 and "only a Safeguarding Lead or deputy may close or reopen" in err
    code, out, _ = run(capsys, "concern", "add-event", ref, "Worker update", "Mum rang",
                       "--as", "wyn")  # fmt: skip
    assert code == 0
    assert run(capsys, "concern", "close", ref, "--as", "dev", "--reason", "Held by LADO")[0] == 0
    assert [(p, a) for p, a, _, _ in audit(env)] == [
        ("wyn", "create"),
        ("wes", "refused"),
        ("wyn", "refused"),
        ("wyn", "add-event"),
        ("dev", "close"),
    ]


def test_broken_roster_or_unknown_pack_is_one_line_exit_1(
    env: str, capsys, monkeypatch, tmp_path
) -> None:  # noqa: ANN001
    record(env)
    broken = tmp_path / "broken-roster.yml"
    broken.write_text("people: [\n", encoding="utf-8")
    monkeypatch.setenv("SAFEGUARD_ROSTER", str(broken))
    for argv in (["concerns"], ["audit", "show"], ["retention", "due"]):
        code, out, err = run(capsys, *argv)
        assert (code, out) == (1, ""), argv
        assert err.startswith("safeguard: cannot check who you are: ") and err.count("\n") == 1
    use_roster(monkeypatch, tmp_path)
    monkeypatch.setenv("SAFEGUARD_ORG", "no-such-org")
    code, out, err = run(capsys, "concerns")
    assert (code, out) == (1, "") and err.startswith("safeguard: ") and err.count("\n") == 1
