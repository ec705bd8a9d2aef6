"""The terminal chat's pager prints worker notices, so the worker is told at each step."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from bot.core.clock import parse_local
from bot.paging.outbox import enqueue
from bot.records.db import make_engine, session_factory, transaction
from bot.records.migrate import upgrade
from tests.conftest import ROOT


def test_pager_run_prints_worker_notices_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'notices.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    with transaction(session_factory(engine)) as session:
        enqueue(
            session,
            "SG-CCCC-DDDD",
            "immediate",
            "neglect",
            "Jo",
            "07700 900555",
            parse_local("2026-11-24T10:00"),
        )
    engine.dispose()
    env = dict(os.environ, SAFEGUARD_DB_URL=url, SAFEGUARD_NOW="2026-11-24T10:00")
    for name in ("TELEGRAM_BOT_TOKEN", "SAFEGUARD_TELEGRAM_TOKEN", "SAFEGUARD_ROSTER"):
        env.pop(name, None)
    env["SAFEGUARD_TEAMS_DISABLED"] = "1"
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "bot.commands.cli", "pager", "run",
            "--interval", "0.05", "--print-notices",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    seen = threading.Event()

    def read() -> None:
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("[") and "SG-CCCC-DDDD:" in line:
                seen.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert seen.wait(timeout=60), "no worker notice was printed:\n" + "".join(lines)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(timeout=10)
    notices = [line for line in lines if line.startswith("[") and "SG-CCCC-DDDD:" in line]
    assert len(notices) == len(set(notices)), "a notice was printed twice"
    assert proc.returncode == 0
