"""`safeguard chat`: the terminal client of the fail-safe REST channel.

The client's own fail-safe (the Rasa server unreachable) runs without Rasa; one test starts
the whole chat for real, types into it, and checks the terminal shows the conversation and
no library noise.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from bot.clients.terminal import TerminalChat
from bot.failsafe import safety
from tests.conftest import ROOT, free_port

MODEL = ROOT / "models" / "safeguard.tar.gz"


@pytest.fixture()
def own_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SAFEGUARD_VAR", str(tmp_path))
    monkeypatch.setenv("SAFEGUARD_DB_URL", f"sqlite:///{tmp_path / 'concerns.sqlite3'}")
    monkeypatch.setenv("SAFEGUARD_NOW", "2026-11-24T14:30")
    monkeypatch.setenv("SAFEGUARD_ORG", "crasac")
    monkeypatch.delenv("SAFEGUARD_ROSTER", raising=False)
    return tmp_path


def closed_url() -> str:
    return f"http://127.0.0.1:{free_port()}"  # nothing listens there


def test_unreachable_assistant_still_answers_with_999_and_numbers(own_db: Path) -> None:
    chat = TerminalChat(closed_url(), timeout=5)
    replies = chat.send("who do i call")
    (only,) = replies
    assert only["text"].startswith("I could not do that just now")
    assert safety.numbers().split("\n")[0] in only["text"]


def test_unreachable_assistant_and_danger_pages_the_lead_once(own_db: Path) -> None:
    from bot.records.concern_log import ConcernLog

    chat = TerminalChat(closed_url(), timeout=5)
    replies = chat.send("hes outside the centre with a knife now")
    assert replies[0]["text"] == safety.CALL_999_FIRST
    assert "I have paged" in replies[1]["text"]
    assert [c.urgency for c in ConcernLog().list()] == ["immediate"]


def test_numbers_pick_the_buttons_shown_last() -> None:
    out = io.StringIO()
    chat = TerminalChat(closed_url(), out=out)
    chat.show(
        [
            {"text": "Pick one", "buttons": [{"title": "Yes", "payload": "/affirm"}]},
            {"buttons": [{"title": "No", "payload": "/deny"}]},
        ]
    )
    assert "  [1] Yes" in out.getvalue() and "  [2] No" in out.getvalue()
    assert chat.resolve("2") == "/deny"
    assert chat.resolve("3") == "3"  # not a button: sent as typed (e.g. an age)
    chat.show([{"text": "no buttons now"}])
    assert chat.resolve("1") == "1"


def test_the_loop_stops_on_stop_and_end_of_input(own_db: Path) -> None:
    out = io.StringIO()
    chat = TerminalChat(closed_url(), out=out, timeout=5)
    assert chat.loop(io.StringIO("\n/stop\nnever sent\n")) == 0
    assert "call 999" in out.getvalue()
    assert chat.loop(io.StringIO("")) == 0


@pytest.mark.rasa
def test_safeguard_chat_in_a_terminal(tmp_path: Path) -> None:
    assert MODEL.exists(), "no trained model: run `make train` (make test does this first)"
    import os

    env = dict(os.environ)
    env.update(
        SAFEGUARD_VAR=str(tmp_path),
        SAFEGUARD_DB_URL=f"sqlite:///{tmp_path / 'concerns.sqlite3'}",
        SAFEGUARD_ORG="crasac",
    )
    env.pop("SAFEGUARD_KEY", None)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.commands.cli",
            "chat",
            "--port",
            str(free_port()),
            "--actions-port",
            str(free_port()),
        ],
        input="hiya\n1\n/stop\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=600,
    )
    shown = done.stdout + done.stderr
    assert done.returncode == 0, shown[-3000:]
    assert "I'm the safeguarding assistant" in done.stdout
    assert "  [1] A child told me something" in done.stdout
    # "1" picked the first button: the disclosure form's first question.
    assert "is anyone in danger right now?" in done.stdout
    for noise in ("Warning", "warning", "Deprecat", "tensorflow", "Traceback"):
        assert noise not in shown, f"{noise!r} shown in the terminal:\n{shown[-3000:]}"
    assert (tmp_path / "logs" / "chat-rasa.log").exists()


@pytest.mark.rasa
def test_chat_that_cannot_start_says_why_in_one_line(tmp_path: Path) -> None:
    import os
    import socket

    env = dict(os.environ)
    env.update(SAFEGUARD_VAR=str(tmp_path), SAFEGUARD_ORG="crasac")
    env["SAFEGUARD_DB_URL"] = f"sqlite:///{tmp_path / 'concerns.sqlite3'}"
    with socket.socket() as taken:  # something else already has the assistant's port
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "bot.commands.cli", "chat", "--port", str(port)]
            + ["--actions-port", str(free_port())],
            input="",
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=600,
        )
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("safeguard chat:")]
    assert len(errors) == 1 and "the assistant did not start" in errors[0], done.stderr
    assert "Traceback" not in done.stdout + done.stderr
