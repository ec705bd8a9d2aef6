"""The `safeguard` command line: help on every command, plain errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot.commands.cli import build_parser, main
from tests.conftest import ROOT


def subcommands() -> list[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")  # noqa: SLF001
    return sorted(action.choices)


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    names = subcommands()
    assert {"serve", "chat"} <= set(names)
    for name in names:
        with pytest.raises(SystemExit) as exit_info:
            main([name, "--help"])
        assert exit_info.value.code == 0
        out = capsys.readouterr().out
        assert f"safeguard {name}" in out, name


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: safeguard" in capsys.readouterr().out


def test_installed_entry_point_runs() -> None:
    exe = ROOT / ".venv" / "bin" / "safeguard"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "bot.commands.cli"]
    result = subprocess.run([*cmd, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "serve" in result.stdout


def test_serve_without_model_says_what_to_do(tmp_path, capsys) -> None:  # noqa: ANN001
    assert main(["serve", "--model", str(tmp_path / "missing.tar.gz")]) == 1
    err = capsys.readouterr().err
    assert "make train" in err and "Traceback" not in err


def test_serve_refuses_a_broken_setting_with_one_line_per_problem(
    tmp_path,
    capsys,
    monkeypatch,  # noqa: ANN001
) -> None:
    model = tmp_path / "model.tar.gz"
    model.write_bytes(b"not used: the data check comes first")
    monkeypatch.setenv("SAFEGUARD_ORG", "no-such-org")
    assert main(["serve", "--model", str(model)]) == 1
    err = capsys.readouterr().err
    assert "policy pack" in err and "no-such-org" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("role", "parts"),
    [
        ("all", {"action server", "pager", "rasa server"}),
        ("rasa", {"rasa server"}),
        ("actions", {"action server"}),
        ("pager", {"pager"}),
    ],
)
def test_serve_role_starts_only_its_part(
    role: str, parts: set[str], tmp_path, monkeypatch  # noqa: ANN001
) -> None:
    """`safeguard serve --role R` (one systemd unit per role); the processes are stood in
    for, and exit at once: one role stops with its exit code (systemd restarts it); all
    would restart it, so that run is stopped (as SIGTERM would) while it waits for Rasa.
    Only rasa and all need a model."""
    from bot.commands import processes, serve

    started: dict[str, list[str]] = {}

    class Exited:
        def poll(self) -> int:
            return 3

    def start(self, name: str, cmd: list[str], **_kw) -> Exited:  # noqa: ANN001, ANN003
        started[name] = cmd
        self.children[name] = Exited()
        return self.children[name]

    monkeypatch.setattr(serve, "print_alarms", lambda: None)
    monkeypatch.setattr(processes.ProcessGroup, "start", start)
    monkeypatch.setattr(processes.ProcessGroup, "stop", lambda self, grace=10.0: None)
    def sigterm(*_a, **_k) -> bool:  # noqa: ANN002, ANN003
        raise processes.Stop()

    waits = sigterm if role == "all" else (lambda *_a, **_k: False)
    monkeypatch.setattr(processes, "wait_for_http", waits)
    monkeypatch.setattr(processes, "raise_stop_on_sigterm", lambda: None)
    monkeypatch.setenv("SAFEGUARD_VAR", str(tmp_path))
    model = tmp_path / "model.tar.gz"
    if role in ("all", "rasa"):
        model.write_bytes(b"stands in for a model")
    assert main(["serve", "--role", role, "--model", str(model)]) == (0 if role == "all" else 3)
    assert set(started) == parts
