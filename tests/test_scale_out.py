"""Two `safeguard serve` nodes sharing PostgreSQL (tracker store and concern log) and a Redis
lock store, each conversation kept on one node by the gateway's RasaClient (sticky by
sender). A disclosure half-way through its form survives a restart of its Rasa server, and
the other node carries on serving its own conversation meanwhile.

Slow (three Rasa start-ups, a couple of minutes on two cores); `make test` runs it.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.conftest import ROOT, free_port
from tests.pg_server import fresh_database
from tests.redis_server import redis_server  # noqa: F401 - fixture

MODEL = ROOT / "models" / "safeguard.tar.gz"
LOCK_DB = 2
pytestmark = [pytest.mark.slow, pytest.mark.rasa, pytest.mark.postgres]

FORM_START = [
    "a girl in my group just told me something and i need to log it",
    "no not right now",
    "The session has ended",
]
FORM_REST = [
    "he comes in my room at night when mum is at work",
    "she was shaking and would not look at me",
    "at home; she told me at 4pm today in the art room",
    "mum's partner",
    "listened; told her I would have to tell the lead",
    "she seemed scared of him",
    "yes thats right",
]


class Node:
    """One `safeguard serve` (Rasa server, action server, pager) on fixed loopback ports."""

    def __init__(self, name: str, env: dict[str, str], work: Path) -> None:
        self.name = name
        self.env = env
        self.port, self.actions_port = free_port(), free_port()
        self.log = work / f"{name}.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Node:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable, "-m", "bot.commands.cli", "serve",
                    "--port", str(self.port), "--actions-port", str(self.actions_port),
                ],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        self._mark = self.log.stat().st_size
        return self

    def wait_ready(self, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log.read_bytes()[self._mark :].decode(errors="replace")
            if "[serve] ready" in text:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.5)
        tail = self.log.read_text(errors="replace").splitlines()[-30:]
        self.stop()
        pytest.fail(f"{self.name} did not become ready:\n" + "\n".join(tail))

    def stop(self) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(timeout=10)


# Every node and the gateway share one channel secret (README, "Run it on more than one
# server"); each node makes its own action secret, for its own Rasa and action server.
CHANNEL_SECRET = secrets.token_urlsafe(32)


def node_env(work: Path, name: str, db_url: str, tracker_url: str, lock_url: str, key: str):  # noqa: ANN201
    env = dict(os.environ)
    env.pop("SAFEGUARD_CHANNEL_SECRET_FILE", None)
    for var in ("TELEGRAM_BOT_TOKEN", "SAFEGUARD_TELEGRAM_TOKEN", "SAFEGUARD_KEY_FILE"):
        env.pop(var, None)
    var = work / f"var-{name}"
    var.mkdir()
    env.update(
        SAFEGUARD_VAR=str(var),
        SAFEGUARD_DB_URL=db_url,
        SAFEGUARD_TRACKER_URL=tracker_url,
        SAFEGUARD_LOCK_URL=lock_url,
        SAFEGUARD_KEY=key,
        SAFEGUARD_TEAMS_DISABLED="1",
        SAFEGUARD_CHANNEL_SECRET=CHANNEL_SECRET,
        RASA_TELEMETRY_ENABLED="false",
    )
    return env


def texts(replies: list[dict]) -> str:
    return "\n".join(r.get("text") or "" for r in replies)


def test_two_servers_share_conversations_across_a_restart(
    postgres_url: str,
    redis_server,  # noqa: ANN001, F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert MODEL.exists(), "no trained model: run `make train` (make test does this first)"
    from bot.clients.rasa_client import RasaClient

    concerns_url, tracker_url = fresh_database(postgres_url), fresh_database(postgres_url)
    key = Fernet.generate_key().decode()
    lock_url = redis_server.url(LOCK_DB)
    nodes = [
        Node(name, node_env(tmp_path, name, concerns_url, tracker_url, lock_url, key), tmp_path)
        for name in ("node-a", "node-b")
    ]
    client = RasaClient([n.url for n in nodes], timeout=60, secret=CHANNEL_SECRET)
    # One sender owned by each node (the gateway's own choice, crc32 of the sender id).
    senders = {}
    for n in range(200):
        senders.setdefault(client.server_for(f"terminal:worker-{n}"), f"terminal:worker-{n}")
    alice, bob = senders[nodes[0].url], senders[nodes[1].url]

    async def say(sender: str, text: str) -> str:
        return texts(await client.send(sender, text))

    async def conversation() -> None:
        try:
            for node in nodes:
                node.start()
            for node in nodes:
                node.wait_ready()

            for text in FORM_START:
                await say(alice, text)
                await say(bob, text)
            assert "How old" in await say(alice, "Jade, ref 4471")

            # Alice's server goes down mid-form and comes back on the same port. Bob's
            # conversation, on the other server, carries on meanwhile.
            assert nodes[0].stop() == 0
            nodes[0].start()
            assert "How old" in await say(bob, "Sam, ref 9000")
            assert "in their own words" in await say(bob, "15")
            nodes[0].wait_ready()

            # The form resumes at the question it had reached, with the earlier answers.
            assert "in their own words" in await say(alice, "14")
            for text in FORM_REST:
                summary = await say(alice, text)
            assert "Jade, ref 4471" in summary and "Age or date of birth: 14" in summary
            saved = await say(alice, "yep save it")
            assert "Saved. Your reference is SG-" in saved, saved

            # Both Rasa servers hold connections to the lock store's own Redis database.
            lock_clients = [
                c for c in redis_server.client().client_list() if int(c.get("db", -1)) == LOCK_DB
            ]
            assert len(lock_clients) >= 2, lock_clients
        finally:
            await client.close()
            for node in nodes:
                node.stop()

    asyncio.run(conversation())

    # Both servers wrote to the one shared tracker store.
    import sqlalchemy as sa

    engine = sa.create_engine(tracker_url, future=True)
    with engine.connect() as connection:
        stored = set(connection.execute(sa.text("SELECT DISTINCT sender_id FROM events")).scalars())
    engine.dispose()
    assert {alice, bob} <= stored

    # The concern is in the shared concern log, the child's details as typed.
    monkeypatch.setenv("SAFEGUARD_KEY", key)
    from bot.records.concern_log import ConcernLog

    log = ConcernLog(concerns_url)
    [concern] = [c for c in log.list() if c.worker_id == alice]
    assert concern.child == "Jade, ref 4471"
    assert concern.child_age == "14"
