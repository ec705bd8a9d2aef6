"""`safeguard serve` for real: a Rasa server and an action server, talked to over REST.

Needs the trained model that `make test` builds before pytest runs.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from tests import signed
from tests.conftest import ROOT, free_port

MODEL = ROOT / "models" / "safeguard.tar.gz"
pytestmark = pytest.mark.rasa


def post(port: int, sender: str, message: str) -> list[dict]:
    """Signed with the channel secret `safeguard serve` made under this test session's var
    directory (it inherits SAFEGUARD_VAR): the wiring a gateway on the same machine uses."""
    from bot.config.secrets import CHANNEL_SECRET, shared_secret

    return signed.post(port, sender, message, shared_secret(CHANNEL_SECRET))


@pytest.fixture(scope="module")
def server():  # noqa: ANN201
    assert MODEL.exists(), "no trained model: run `make train` (make test does this first)"
    port, actions_port = free_port(), free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot.commands.cli",
            "serve",
            "--port",
            str(port),
            "--actions-port",
            str(actions_port),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        lines.append(line)
        if "[serve] ready" in line:
            break
    else:
        proc.kill()
    if proc.poll() is not None or not any("[serve] ready" in x for x in lines):
        proc.kill()
        pytest.fail("safeguard serve did not become ready:\n" + "".join(lines[-40:]))
    yield {"proc": proc, "port": port, "actions_port": actions_port}
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def texts(replies: list[dict]) -> list[str]:
    return [r.get("text", "") for r in replies]


def test_greeting_shows_the_menu(server) -> None:  # noqa: ANN001
    replies = post(server["port"], "worker-greet", "hiya")
    assert replies, "no reply"
    assert "999" in " ".join(texts(replies))
    assert any(r.get("buttons") for r in replies), "the help menu has buttons"


def test_faq_conversation(server) -> None:  # noqa: ANN001
    sender = "worker-faq"
    reply = " ".join(texts(post(server["port"], sender, "can i promise her i wont tell anyone")))
    assert "secret" in reply.lower() or "promise" in reply.lower()
    reply = " ".join(texts(post(server["port"], sender, "should i ask if it was her dad")))
    assert "leading" in reply.lower() or "open question" in reply.lower()


def test_danger_gets_999_in_the_first_reply(server) -> None:  # noqa: ANN001
    replies = post(server["port"], "worker-danger", "hes outside the centre with a knife now")
    assert replies and "999" in replies[0]["text"]


def test_the_gateways_client_is_wired_by_serve(server) -> None:  # noqa: ANN001
    """The Telegram gateway's RasaClient, given nothing but the same SAFEGUARD_VAR, signs with
    the secret `safeguard serve` made: a roster lead's Telegram identity gets the lead's
    view, and the same request unsigned is refused."""
    import asyncio

    from bot.clients.rasa_client import RasaClient

    async def ask() -> list[dict]:
        async with RasaClient([f"http://127.0.0.1:{server['port']}"]) as client:
            return await client.send("telegram:910000101", "/list_open_concerns")

    reply = " ".join(texts(asyncio.run(ask())))
    assert "open concern" in reply and "Only Safeguarding Leads" not in reply, reply
    body = json.dumps({"sender": "telegram:910000101", "message": "/list_open_concerns"})
    request = urllib.request.Request(
        f"http://127.0.0.1:{server['port']}/webhooks/rest/webhook",
        data=body.encode(),
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=60)  # noqa: S310 (loopback)
    assert refused.value.code == 401


def test_sigterm_stops_both_servers(server) -> None:  # noqa: ANN001
    proc = server["proc"]
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    for port in (server["port"], server["actions_port"]):
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)  # noqa: S310
