"""Nothing is lost when the database is down (bot/records/spool.py, bot/paging/replay.py,
bot/paging/reporting.py, the pager).

The database really goes away: an SQLite file whose directory does not exist, and a real
PostgreSQL server stopped and started again. Crashes are real processes killed at a chosen
step (os._exit / SIGKILL), synchronised by what they print, never by sleeping.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.core.clock import parse_local
from bot.core.people import Worker
from bot.paging import replay, reporting
from bot.paging.pager import Pager, page_rows
from bot.records import spool
from bot.records.concern_log import ConcernDraft, ConcernLog
from bot.records.db import make_engine
from tests import pg_server
from tests.conftest import ROOT

CHILD_WORDS = "Uncle Thaddeus hides my inhaler in the greenhouse"
CHILD = "Wilhelmina Strand-Achebe"
NOW = "2026-11-24T14:30"  # a Tuesday afternoon: Alex and Sam are on call


class Recording:
    """A transport that remembers what it was asked to send."""

    name = "console"

    def __init__(self) -> None:
        self.sent: list = []

    def send(self, message, address: str) -> None:  # noqa: ANN001
        self.sent.append((message, address))


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    var = tmp_path / "var"
    var.mkdir()
    monkeypatch.setenv("SAFEGUARD_VAR", str(var))
    monkeypatch.setenv("SAFEGUARD_DB_URL", f"sqlite:///{tmp_path / 'db' / 'concerns.sqlite3'}")
    monkeypatch.setenv("SAFEGUARD_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("SAFEGUARD_NOW", NOW)
    monkeypatch.setenv("SAFEGUARD_ORG", "crasac")
    monkeypatch.delenv("SAFEGUARD_KEY_FILE", raising=False)
    monkeypatch.delenv("SAFEGUARD_ROSTER", raising=False)
    return var


def draft(**changes) -> ConcernDraft:  # noqa: ANN003
    values = dict(
        urgency="urgent",
        worker_id="worker-7",
        worker_name="Jo Bloggs",
        worker_contact="07700 900777",
        child=CHILD,
        child_words=CHILD_WORDS,
        observations="wheezing, no inhaler",
        categories=["neglect"],
        language_choices=[{"field": "observations", "choice": "kept", "rules": ["r1"]}],
        created_at=parse_local(NOW),
    )
    values.update(changes)
    return ConcernDraft(**values)


def db_dir(tmp_path: Path) -> Path:
    return tmp_path / "db"


def spool_files(var: Path) -> list[Path]:
    return sorted((var / "spool").glob("*.concern"))


def written(url: str | None = None) -> list:
    return ConcernLog(url).list()


# --------------------------------------------------------------------------- writing


def test_spool_file_is_whole_encrypted_and_private(isolated: Path) -> None:
    spool_id = spool.write(draft())
    (path,) = spool_files(isolated)
    assert path.name == f"{spool_id}.concern"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    raw = path.read_bytes()
    for secret in (CHILD_WORDS, CHILD, "greenhouse", "Jo Bloggs"):
        assert secret.encode() not in raw
    assert not [p for p in (isolated / "spool").iterdir() if p.name.startswith(spool.TMP_PREFIX)]
    found = spool.status()
    assert [w.spool_id for w in found.waiting] == [spool_id]
    assert found.waiting[0].urgency == "urgent" and found.unreadable == []
    # status names no child data
    assert CHILD not in "\n".join(found.lines()) and "inhaler" not in "\n".join(found.lines())


def test_sqlite_down_then_back_written_once_and_paged(tmp_path: Path, isolated: Path) -> None:
    outcome = reporting.raise_concern(draft())
    assert outcome.spooled and not outcome.saved and outcome.reference is None
    assert outcome.spool_id and "database" in outcome.problems[0]
    assert len(spool_files(isolated)) == 1

    # Still down: the replay keeps it and says why.
    result = replay.replay()
    assert result.problem and result.remaining == 1 and not result.written
    assert len(spool_files(isolated)) == 1

    db_dir(tmp_path).mkdir()  # the database is back
    result = replay.replay()
    assert result.problem is None and len(result.written) == 1
    assert spool_files(isolated) == []
    (concern,) = written()
    assert concern.reference == result.written[0]
    assert concern.child_words == CHILD_WORDS and concern.child == CHILD
    assert concern.created_at == parse_local(NOW)  # when the worker raised it
    assert concern.language_choices == draft().language_choices
    rows = page_rows(make_engine())
    assert [r["concern_ref"] for r in rows] == [concern.reference]

    # A second replay (or pager pass) writes nothing more.
    assert replay.replay().written == []
    assert len(written()) == 1


def test_pager_pass_replays_then_delivers(tmp_path: Path, isolated: Path) -> None:
    assert reporting.raise_concern(draft(urgency="immediate")).spooled
    db_dir(tmp_path).mkdir()
    from bot.records.migrate import upgrade

    url = os.environ["SAFEGUARD_DB_URL"]
    upgrade(url)
    transport = Recording()
    pager = Pager(make_engine(url), transports=[transport], clock=lambda: parse_local(NOW))
    pager._safe_pass()
    (concern,) = written()
    assert [m.concern_ref for m, _ in transport.sent] == [concern.reference]
    assert all(CHILD not in m.text() and "inhaler" not in m.text() for m, _ in transport.sent)
    assert spool_files(isolated) == []


def test_pager_start_reports_the_spool_loudly(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spool.write(draft())
    (isolated / "spool" / "20260101T000000000000-bad.concern").write_bytes(b"not a token")
    lines = spool.startup_lines()
    assert any("UNREADABLE SPOOL FILE 20260101T000000000000-bad.concern" in x for x in lines)
    assert any("1 concern(s) are waiting in the local spool" in x for x in lines)
    Pager.__new__(Pager)._report_spool()
    err = capsys.readouterr().err
    assert "!!! UNREADABLE SPOOL FILE" in err and "waiting in the local spool" in err


def test_postgres_down_then_back(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server = pg_server.PostgresServer()
    try:
        server.start()
        url = server.create_database("spooltest")
        monkeypatch.setenv("SAFEGUARD_DB_URL", url)
        assert written(url) == []  # schema in place, server up
        stop_postgres(server)

        outcome = reporting.raise_concern(draft())
        assert outcome.spooled and not outcome.saved
        assert replay.replay().remaining == 1

        server._launch()  # same data directory: the database is back
        result = replay.replay()
        assert len(result.written) == 1
        (concern,) = written(url)
        assert concern.child_words == CHILD_WORDS
        assert [r["concern_ref"] for r in page_rows(make_engine(url))] == [concern.reference]
        assert spool_files(isolated) == []
    finally:
        server.stop()


def stop_postgres(server: pg_server.PostgresServer) -> None:
    """Stop the server but keep its data (PostgresServer.stop also deletes it)."""
    subprocess.run(
        pg_server._as_service_user(
            [str(server.bin / "pg_ctl"), "-D", str(server.data), "-m", "fast", "-w", "stop"]
        ),
        capture_output=True,
        check=True,
        timeout=60,
    )
    server.process.wait(timeout=30)


# --------------------------------------------------------------------------- crashes


def run_child(script: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_crash_between_commit_and_file_removal_never_duplicates(
    tmp_path: Path, isolated: Path
) -> None:
    spool.write(draft())
    db_dir(tmp_path).mkdir()
    child = run_child(
        """
        import os
        from bot.paging import replay
        from bot.records import spool
        spool.remove = lambda path: os._exit(9)   # die right after the commit
        replay.replay()
        """
    )
    assert child.wait(timeout=120) == 9, child.stderr.read()
    assert len(spool_files(isolated)) == 1  # the file survived the crash
    (first,) = written()  # and the concern is in the log

    result = replay.replay()
    assert result.written == [] and result.already == [first.reference]
    assert spool_files(isolated) == []
    assert len(written()) == 1
    assert len(page_rows(make_engine())) == 1


def test_a_different_draft_at_the_same_moment_is_still_written(
    tmp_path: Path, isolated: Path
) -> None:
    """The exactly-once check compares the whole record, not only worker and time."""
    db_dir(tmp_path).mkdir()
    assert reporting.raise_concern(draft()).saved
    spool.write(draft(child_words="a different thing she said"))
    assert len(replay.replay().written) == 1
    assert len(written()) == 2


MID_WRITE = """
    import os, sys, time
    from bot.records import spool
    from bot.records.concern_log import ConcernDraft
    from bot.core.clock import parse_local
    real = {target}
    def stall(*args):
        real(*args) if {after} else None
        print("STALLED", flush=True)
        time.sleep(600)
    {patch}
    spool.write(ConcernDraft(urgency="urgent", worker_id="w", worker_name="Jo",
        child="C", child_words="words", created_at=parse_local("2026-11-24T14:30")))
"""


@pytest.mark.parametrize(
    ("where", "whole"),
    [
        # killed after the bytes are written but before fsync and rename
        ("os.fsync", False),
        # killed after the rename, before the directory is fsync'd
        ("spool._fsync_dir", True),
    ],
)
def test_kill_9_mid_write_leaves_nothing_or_a_whole_file(
    isolated: Path, where: str, whole: bool
) -> None:
    patch = "os.fsync = stall" if where == "os.fsync" else "spool._fsync_dir = stall"
    child = run_child(MID_WRITE.format(target=where, after=where != "os.fsync", patch=patch))
    assert child.stdout.readline().strip() == "STALLED", child.stderr.read()
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    directory = isolated / "spool"
    files = spool_files(isolated)
    if whole:
        (path,) = files
        found = spool.status()
        assert [w.spool_id + ".concern" for w in found.waiting] == [path.name]
        assert found.unreadable == []
    else:
        assert files == []
        assert [p for p in directory.iterdir() if p.name.startswith(spool.TMP_PREFIX)]
        assert spool.status().waiting == [] and spool.status().unreadable == []
        assert replay.replay().written == []


def test_stale_temporary_files_are_cleared(isolated: Path) -> None:
    directory = spool.spool_dir()
    stale = directory / f"{spool.TMP_PREFIX}old"
    fresh = directory / f"{spool.TMP_PREFIX}new"
    stale.write_bytes(b"half")
    fresh.write_bytes(b"half")
    os.utime(stale, (0, 0))
    replay.replay()
    assert not stale.exists() and fresh.exists()


# --------------------------------------------------------------------------- unreadable


def test_corrupt_and_foreign_key_files_are_moved_aside_never_deleted(
    tmp_path: Path, isolated: Path
) -> None:
    good = spool.write(draft())
    foreign = spool.write(draft(child_words="under another key"), key=Fernet.generate_key())
    garbage = spool.spool_dir() / "20260101T000000000000-zz.concern"
    garbage.write_bytes(b"\x00\xffnot a spool file")
    foreign_bytes = (spool.spool_dir() / f"{foreign}.concern").read_bytes()

    found = spool.status()
    assert [w.spool_id for w in found.waiting] == [good]
    assert sorted(found.unreadable) == sorted([garbage.name, f"{foreign}.concern"])
    assert "\n".join(found.lines()).count("!!! UNREADABLE SPOOL FILE") == 2
    aside = spool.unreadable_dir()
    assert (aside / f"{foreign}.concern").read_bytes() == foreign_bytes
    assert (aside / garbage.name).read_bytes() == b"\x00\xffnot a spool file"

    db_dir(tmp_path).mkdir()
    result = replay.replay()
    assert len(result.written) == 1
    assert sorted(p.name for p in aside.iterdir()) == sorted(found.unreadable)
    # still reported at every start until someone deals with them
    assert sum("UNREADABLE" in line for line in spool.startup_lines()) == 2


def test_a_corrupt_file_found_by_replay_is_moved_aside(tmp_path: Path, isolated: Path) -> None:
    garbage = spool.spool_dir() / "20260101T000000000000-zz.concern"
    garbage.write_bytes(b"garbage")
    db_dir(tmp_path).mkdir()
    result = replay.replay()
    assert result.moved_aside == [garbage.name] and result.written == []
    assert (spool.unreadable_dir() / garbage.name).read_bytes() == b"garbage"


# --------------------------------------------------------------------------- refusals


def test_an_incomplete_draft_is_refused_not_spooled(isolated: Path) -> None:
    outcome = reporting.raise_concern(draft(child="", observations="", child_words=""))
    assert not outcome.spooled and not outcome.saved and outcome.problems
    assert spool_files(isolated) == []


def test_spool_unusable_says_so(isolated: Path) -> None:
    (isolated / "spool").write_text("a file where the spool directory should be")
    outcome = reporting.raise_concern(draft())
    assert not outcome.spooled and not outcome.saved
    assert any("local spool" in p for p in outcome.problems)


def test_alarm_with_the_database_down_is_spooled(isolated: Path) -> None:
    outcome = reporting.raise_alarm(Worker("w1", "Jo"), "he has a knife at the door")
    assert outcome.spooled and not outcome.saved
    (waiting,) = spool.status().waiting
    assert waiting.urgency == "immediate"


def test_two_replayers_never_both_write(tmp_path: Path, isolated: Path) -> None:
    spool.write(draft())
    db_dir(tmp_path).mkdir()
    with spool.locked(spool.spool_dir()):
        busy = replay.replay()
    assert busy.written == [] and busy.remaining == 1 and "another process" in busy.problem
    assert len(replay.replay().written) == 1


# --------------------------------------------------------------------------- command line


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.commands.cli", "spool", *args],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_status_and_flush(tmp_path: Path, isolated: Path) -> None:
    empty = cli("status")
    assert empty.returncode == 0 and "spool is empty" in empty.stdout
    spool.write(draft())
    (spool.spool_dir() / "20260101T000000000000-zz.concern").write_bytes(b"junk")

    status = cli("status")
    assert status.returncode == 1
    assert "!!! UNREADABLE SPOOL FILE 20260101T000000000000-zz.concern" in status.stderr
    assert "waiting for the database: urgent concern from Jo Bloggs" in status.stdout
    assert "Traceback" not in status.stderr and CHILD not in status.stdout + status.stderr

    down = cli("flush")
    assert down.returncode == 1 and "1 concern(s) still waiting" in down.stderr
    assert len(down.stderr.strip().splitlines()) == 1 and "Traceback" not in down.stderr

    db_dir(tmp_path).mkdir()
    flushed = cli("flush")
    assert flushed.returncode == 0, flushed.stderr
    (concern,) = written()
    assert f"written to the concern log as {concern.reference}" in flushed.stdout
    assert cli("flush").stdout.strip() == "Nothing was waiting in the spool."


def test_pager_process_reports_then_writes_the_spool_at_start(
    tmp_path: Path, isolated: Path
) -> None:
    """`safeguard pager run` (what `safeguard serve` starts): loud start-up lines, then the
    spooled concern is written and its page sent, with no one running a flush."""
    assert reporting.raise_concern(draft(urgency="immediate")).spooled
    (spool.spool_dir() / "20260101T000000000000-zz.concern").write_bytes(b"junk")
    db_dir(tmp_path).mkdir()
    env = dict(os.environ, SAFEGUARD_TEAMS_DISABLED="1")
    for name in ("TELEGRAM_BOT_TOKEN", "SAFEGUARD_TELEGRAM_TOKEN"):
        env.pop(name, None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.commands.cli", "pager", "run", "--interval", "0.05"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out: list[str] = []
    try:
        for line in proc.stdout:  # the console transport prints the page, between bars
            out.append(line)
            if line.startswith("====") and any(x.startswith("PAGE for") for x in out):
                break
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    err = proc.stderr.read()
    assert "!!! UNREADABLE SPOOL FILE 20260101T000000000000-zz.concern" in err, err
    assert "!!! 1 concern(s) are waiting in the local spool" in err
    (concern,) = written()
    page = "".join(out)
    assert f"concern {concern.reference}" in page and "IMMEDIATE" in page
    assert CHILD not in page + err and "inhaler" not in page + err
    assert spool_files(isolated) == []
