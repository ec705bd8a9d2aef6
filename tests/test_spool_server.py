"""The database goes down in the middle of a disclosure through a real `safeguard serve`:
the worker is told the record is kept on this server and to phone the lead; when the
PostgreSQL server comes back, the pager that `serve` runs writes the concern (once, the
child's words verbatim) and pages the lead, with nobody running anything by hand.

Needs the trained model that `make test` builds before pytest runs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests import pg_server
from tests.conftest import ROOT, free_port
from tests.test_log_privacy_server import CHANNEL_SECRET, post
from tests.test_spool import stop_postgres

MODEL = ROOT / "models" / "safeguard.tar.gz"
pytestmark = [pytest.mark.rasa, pytest.mark.postgres]

CHILD_WORDS = "Grandad Ignatius locks the fridge and says I eat too much"
ANSWERS = [
    "a girl in my group just told me something and i need to log it",
    "/deny",
    "The session has ended",
    "Rosalind, ref 8812",
    "12",
    CHILD_WORDS,
    "she had fresh scratches on her hands and wrists",
    "Sunday evening at her house",
    "her stepfather",
    "listened and told her I would pass it to the lead",
    "she seemed frightened",
    "neglect",
]


def test_database_down_mid_disclosure_then_back(tmp_path: Path) -> None:
    assert MODEL.exists(), "no trained model: run `make train` (make test does this first)"
    server = pg_server.PostgresServer()
    proc = None
    lines: list[str] = []
    try:
        server.start()
        url = server.create_database("spoolserve")
        key = Fernet.generate_key().decode()
        env = dict(
            os.environ,
            SAFEGUARD_VAR=str(tmp_path),
            SAFEGUARD_DB_URL=url,
            SAFEGUARD_KEY=key,
            SAFEGUARD_NOW="2026-11-24T14:30",
            SAFEGUARD_ORG="crasac",
            SAFEGUARD_TEAMS_DISABLED="1",
            SAFEGUARD_CHANNEL_SECRET=CHANNEL_SECRET,  # what `post` signs with
            PYTHONUNBUFFERED="1",
        )
        for name in ("TELEGRAM_BOT_TOKEN", "SAFEGUARD_TELEGRAM_TOKEN", "SAFEGUARD_ROSTER"):
            env.pop(name, None)
        port, actions_port = free_port(), free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot.commands.cli", "serve", "--port", str(port)]
            + ["--actions-port", str(actions_port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        ready, paged = threading.Event(), threading.Event()

        def read() -> None:
            for line in proc.stdout:
                lines.append(line)
                if "[serve] ready" in line:
                    ready.set()
                if line.startswith("PAGE for"):
                    paged.set()

        threading.Thread(target=read, daemon=True).start()
        assert ready.wait(timeout=300), "serve did not start:\n" + "".join(lines[-40:])
        sender = "worker-dbdown"
        for answer in ANSWERS:
            post(port, sender, answer)

        stop_postgres(server)  # the database goes away before the worker saves
        reply = " ".join(r.get("text", "") for r in post(port, sender, "/affirm"))
        assert "kept this record safely" in reply, reply
        assert "NOBODY COULD BE PAGED" in reply and "999" in reply
        assert CHILD_WORDS not in reply
        assert len(list((tmp_path / "spool").glob("*.concern"))) == 1
        assert not paged.is_set(), "".join(lines[-60:])

        server._launch()  # the database is back; the pager notices by itself
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and list((tmp_path / "spool").glob("*.concern")):
            time.sleep(0.5)
        assert not list((tmp_path / "spool").glob("*.concern")), "".join(lines[-30:])
        assert paged.wait(timeout=60), "no page after the replay:\n" + "".join(lines[-30:])

        from bot.records.concern_log import ConcernLog

        concerns = ConcernLog(url, key=key).list()
        assert [c.child_words for c in concerns] == [CHILD_WORDS]
        assert concerns[0].urgency == "urgent" and concerns[0].categories == ("neglect",)
        assert CHILD_WORDS not in "".join(lines)
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        server.stop()
