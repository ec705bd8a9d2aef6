"""`safeguard serve`'s supervisor (bot/commands/processes.Supervisor) with fake children
(short python -c commands) and a clock moved by hand: a part that dies is reported and
restarted with a growing delay while the others keep running; a stable run resets the
delay; with one role, the first exit is returned instead (systemd restarts it)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from bot.commands import processes

DIES = [sys.executable, "-c", "import sys; sys.exit(3)"]
RUNS = [sys.executable, "-c", "import time; time.sleep(120)"]


class Clock:
    def __init__(self) -> None:
        self.at = 1000.0

    def __call__(self) -> float:
        return self.at


@pytest.fixture
def sup(tmp_path: Path):  # noqa: ANN201
    clock = Clock()
    lines: list[str] = []
    made = processes.Supervisor(
        restart=True,
        first_delay=1.0,
        max_delay=8.0,
        stable_after=60.0,
        clock=clock,
        report=lines.append,
        status_file=tmp_path / "serve-status.json",
    )
    made.clock_ = clock
    made.lines = lines
    yield made
    made.group.stop(grace=5)


def exited(sup: processes.Supervisor, name: str) -> None:
    """Wait (no timing) until the fake child has really exited, then take one pass."""
    sup.parts[name].proc.wait(timeout=60)
    assert sup.check() is None


def test_a_dying_part_is_restarted_with_back_off_and_the_others_keep_running(sup) -> None:  # noqa: ANN001
    stays = sup.start("rasa server", RUNS)
    sup.start("action server", DIES)
    delays = []
    for restart in range(1, 6):
        exited(sup, "action server")
        part = sup.parts["action server"]
        assert part.state == "restarting" and part.last_exit == 3
        delays.append(part.restart_at - sup.clock_.at)
        sup.clock_.at += delays[-1] - 0.01
        assert sup.check() is None and part.state == "restarting"  # not before its time
        sup.clock_.at += 0.01
        assert sup.check() is None
        assert part.state == "running" and part.restarts == restart
    assert delays == [1.0, 2.0, 4.0, 8.0, 8.0]  # doubling, capped
    assert sup.parts["rasa server"].proc is stays and stays.poll() is None
    assert sup.parts["rasa server"].restarts == 0
    assert any("the action server stopped (exit 3); restarting it in 4s" in x for x in sup.lines)
    assert sum("started again" in x for x in sup.lines) == 5


def test_a_part_that_ran_a_while_starts_again_from_the_first_delay(sup) -> None:  # noqa: ANN001
    sup.start("pager", DIES)
    for _ in range(3):
        exited(sup, "pager")
        sup.clock_.at = sup.parts["pager"].restart_at
        sup.check()
    assert sup.parts["pager"].failures == 3
    sup.clock_.at += 61  # this run lasted more than a minute before it died
    exited(sup, "pager")
    assert sup.parts["pager"].restart_at - sup.clock_.at == 1.0


def test_the_status_health_reads_says_which_part_is_down(sup, tmp_path: Path) -> None:  # noqa: ANN001
    sup.start("rasa server", RUNS)
    sup.start("action server", DIES)
    exited(sup, "action server")
    report = json.loads((tmp_path / "serve-status.json").read_text())
    assert report["parts"]["action server"]["state"] == "restarting"
    assert report["parts"]["action server"]["last_exit"] == 3
    assert report["parts"]["rasa server"]["state"] == "running"
    assert processes.read_status(tmp_path / "serve-status.json")["parts"] == report["parts"]
    sup.stop(grace=5)
    assert not (tmp_path / "serve-status.json").exists()
    assert sup.parts["rasa server"].proc.poll() is not None  # stopped with the rest


def test_one_role_returns_the_first_exit_for_systemd(tmp_path: Path) -> None:
    sup = processes.Supervisor(restart=False, status_file=tmp_path / "s.json")
    try:
        sup.start("action server", DIES)
        sup.parts["action server"].proc.wait(timeout=60)
        assert sup.check() == ("action server", 3)
    finally:
        sup.stop(grace=5)


def test_stop_quietly_ignores_a_second_interrupt(tmp_path: Path) -> None:
    """A second Ctrl-C while the children stop does not raise out of the stop."""
    import signal

    sup = processes.Supervisor(restart=True, status_file=tmp_path / "s.json")
    sup.start("rasa server", RUNS)
    seen = []

    class Group:
        def stop(self, grace: float) -> None:
            seen.append(signal.getsignal(signal.SIGINT))
            signal.raise_signal(signal.SIGINT)  # ignored here, not KeyboardInterrupt
            sup.stop(grace)

    # A known handler first: a test run started in the background inherits SIGINT ignored,
    # and "restored" must mean "as it was", not "not ignored".
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        processes.stop_quietly(Group())
        assert seen == [signal.SIG_IGN]
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, inherited)
    assert sup.parts["rasa server"].proc.poll() is not None


def test_a_part_that_keeps_failing_tells_the_lead_once_per_streak(sup) -> None:  # noqa: ANN001
    told: list[str] = []
    sup.on_keeps_failing = told.append
    sup.start("action server", DIES)
    for _ in range(2):
        exited(sup, "action server")
        sup.clock_.at = sup.parts["action server"].restart_at
        sup.check()
    assert told == []  # two failures: restarting is enough
    exited(sup, "action server")
    assert told == ["action server"]  # the third in a row: the lead is told
    for _ in range(3):
        sup.clock_.at = sup.parts["action server"].restart_at
        sup.check()
        exited(sup, "action server")
    assert told == ["action server"]  # once for this streak, not on every restart
    sup.clock_.at = sup.parts["action server"].restart_at
    sup.check()
    sup.clock_.at += 61  # a stable run ends the streak
    exited(sup, "action server")
    for _ in range(2):
        sup.clock_.at = sup.parts["action server"].restart_at
        sup.check()
        exited(sup, "action server")
    assert told == ["action server", "action server"]  # a new streak is told again
    assert any("keeps failing" in line for line in sup.lines)


def test_telling_the_lead_never_stops_the_supervisor(sup) -> None:  # noqa: ANN001
    def broken(name: str) -> None:
        raise OSError("no database")

    sup.on_keeps_failing = broken
    sup.keeps_failing_after = 1
    sup.start("pager", DIES)
    exited(sup, "pager")
    assert sup.parts["pager"].state == "restarting"
    assert any("could not tell the lead: OSError" in line for line in sup.lines)


def test_the_notice_is_the_notify_failure_command_in_its_own_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started: list[list[str]] = []
    monkeypatch.setattr(processes.subprocess, "Popen", lambda cmd, **kw: started.append(cmd))
    processes.notify_keeps_failing("action server")
    assert started == [
        [sys.executable, "-m", "bot.commands.cli", "notify-failure", "serve-action-server"]
    ]
