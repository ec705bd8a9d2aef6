"""The protected tracker store in a real Rasa server on PostgreSQL: Rasa is killed (SIGKILL)
mid-form and started again; the form carries on where it was, the concern is saved with the
child's words verbatim, and the database never holds them readable (and, after the save,
not at all, even with the key).

Needs the trained model that `make test` builds before pytest runs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from bot.commands import processes
from tests import pg_server
from tests.conftest import ROOT, free_port
from tests.test_log_privacy_server import CHANNEL_SECRET, post

MODEL = ROOT / "models" / "safeguard.tar.gz"
pytestmark = [pytest.mark.rasa, pytest.mark.postgres]

CHILD_WORDS = "Cousin Leopold keeps my school shoes in his van so I cannot leave"
CHILD_NAME = "Octavia Nwankwo-Lisle"
SECRETS = ("Leopold", "school shoes in his van", "Octavia", "Nwankwo")

BEFORE_KILL = [
    "a girl in my group just told me something and i need to log it",
    "/deny",
    "The session has ended",
    CHILD_NAME,
    "14",
    CHILD_WORDS,
]
AFTER_RESTART = [
    "she had fresh scratches on her hands and wrists",
    "Sunday evening at her house",
    "her stepfather",
    "listened and told her I would pass it to the lead",
    "she seemed frightened",
    "neglect",
    "/affirm",
]


def raw_bytes(url: str) -> bytes:
    return pg_server.raw_bytes_on_disk(url)


def start_rasa(env: dict[str, str], port: int, actions_port: int, endpoints: Path, log: Path):  # noqa: ANN201
    cmd = processes.rasa_run_cmd(MODEL, port, actions_port)
    cmd[cmd.index("--endpoints") + 1] = str(endpoints)
    handle = open(log, "ab")  # noqa: SIM115 - the child writes to it
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)
    handle.close()
    if not processes.wait_for_http(f"http://127.0.0.1:{port}/", 300, proc):
        proc.kill()
        pytest.fail("Rasa did not start:\n" + log.read_text(errors="replace")[-3000:])
    return proc


def test_rasa_killed_mid_form_carries_on_and_the_store_holds_nothing_readable(
    postgres_url: str, tmp_path: Path
) -> None:
    assert MODEL.exists(), "no trained model: run `make train` (make test does this first)"
    url = pg_server.fresh_database(postgres_url)
    key = Fernet.generate_key().decode()
    env = processes.child_env()
    env.update(
        SAFEGUARD_VAR=str(tmp_path),
        SAFEGUARD_DB_URL=f"sqlite:///{tmp_path / 'concerns.sqlite3'}",
        SAFEGUARD_KEY=key,
        SAFEGUARD_NOW="2026-11-24T14:30",
        SAFEGUARD_ORG="crasac",
        SAFEGUARD_TEAMS_DISABLED="1",
        SAFEGUARD_CHANNEL_SECRET=CHANNEL_SECRET,  # what `post` signs with
    )
    for name in ("TELEGRAM_BOT_TOKEN", "SAFEGUARD_TELEGRAM_TOKEN", "SAFEGUARD_ROSTER"):
        env.pop(name, None)
    port, actions_port = free_port(), free_port()
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(
        f'action_endpoint:\n  url: "http://127.0.0.1:{actions_port}/webhook"\n'
        "tracker_store:\n"
        "  type: bot.rasa.tracker_store.ProtectedSQLTrackerStore\n"
        f'  url: "{url}"\n'
        "  retention_days: 7\n"
    )
    log = tmp_path / "rasa.log"
    actions = subprocess.Popen(
        processes.action_server_cmd(actions_port),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    rasa = None
    try:
        assert processes.wait_for_http(f"http://127.0.0.1:{actions_port}/health", 120, actions)
        rasa = start_rasa(env, port, actions_port, endpoints, log)
        sender = "worker-" + uuid.uuid4().hex[:6]
        replies = [post(port, sender, text) for text in BEFORE_KILL]
        assert "What did you see" in json.dumps(replies[-1]), json.dumps(replies, indent=1)

        raw = raw_bytes(url)
        for secret in SECRETS:
            assert secret.encode() not in raw, f"{secret!r} readable mid-form"

        rasa.send_signal(signal.SIGKILL)
        rasa.wait(timeout=30)
        rasa = start_rasa(env, port, actions_port, endpoints, log)

        replies = [post(port, sender, text) for text in AFTER_RESTART]
        summary = json.dumps(replies, indent=1)
        assert "Saved. Your reference is SG-" in summary, summary
    finally:
        for proc in (rasa, actions):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()

    # The form's answers from before the kill reached the concern log verbatim.
    from bot.records.concern_log import ConcernLog

    saved = {k: os.environ.get(k) for k in ("SAFEGUARD_KEY",)}
    os.environ["SAFEGUARD_KEY"] = key
    try:
        (concern,) = ConcernLog(env["SAFEGUARD_DB_URL"]).list()
        assert concern.child_words == CHILD_WORDS and concern.child == CHILD_NAME

        # After the save: not in the raw bytes, and not even with the key.
        raw = raw_bytes(url)
        from bot.rasa.tracker_store import REDACTED, ProtectedSQLTrackerStore

        store = ProtectedSQLTrackerStore(host=url, key=key)
        opened = []
        with store.engine.connect() as connection:
            for (data,) in connection.execute(sa.text("SELECT data FROM events")):
                stored = json.loads(data)
                opened.append(json.dumps(store.open_event(stored), ensure_ascii=False))
        store.engine.dispose()
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    everything = "\n".join(opened)
    assert REDACTED in everything
    for secret in SECRETS:
        assert secret.encode() not in raw, f"{secret!r} in the raw database after the save"
        assert secret not in everything, f"{secret!r} readable with the key after the save"
