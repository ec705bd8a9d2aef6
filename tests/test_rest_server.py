"""`safeguard serve` for real: a Rasa server and an action server, talked to over REST.

The module's one `safeguard serve --role all` (this session's temp var directory, SQLite,
loopback ports) is also killed part by part, near the end (`test_each_part_killed_...`):
it shares the first Rasa start-up with the tests before it, to keep `make test` short.

Needs the trained model that `make test` builds before pytest runs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
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
            "--role",
            "all",
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
    # Keep reading its output (pages on the console, restarts), so a full pipe never blocks it.
    threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True).start()
    yield {"proc": proc, "port": port, "actions_port": actions_port, "lines": lines}
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


# -- each part killed under `serve --role all` (SIGKILL, as in a crash) ----------------------

DANGER = "he has a knife and says he will stab her tonight"


def wait_for(what: str, check, timeout: float, server: dict):  # noqa: ANN001, ANN201
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}:\n" + "".join(server["lines"][-40:]))


def parts() -> dict[str, dict]:
    from bot.commands import processes

    return processes.read_status().get("parts", {})


def restarted(name: str, times: int) -> dict | None:
    part = parts().get(name) or {}
    ok = part.get("state") == "running" and part.get("restarts") == times and part.get("pid")
    return part if ok else None


def kill(name: str) -> int:
    pid = parts()[name]["pid"]
    os.kill(pid, signal.SIGKILL)
    return pid


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 (loopback)
            return answer.status == 200
    except (urllib.error.URLError, OSError):
        return False


def danger_is_answered_and_paged(server: dict, sender: str) -> None:
    """999 first, and a page queued for the concern (in the concern's own transaction)."""
    from bot.paging.pager import page_rows
    from bot.records.concern_log import ConcernLog
    from bot.records.db import make_engine

    log = ConcernLog()
    before = {c.reference for c in log.list()}
    replies = post(server["port"], sender, DANGER)
    assert replies and "999" in texts(replies)[0], texts(replies)
    (concern,) = [c for c in log.list() if c.reference not in before]
    assert concern.urgency == "immediate"
    engine = make_engine()
    try:
        assert [r for r in page_rows(engine) if r["concern_ref"] == concern.reference]
    finally:
        engine.dispose()


def test_each_part_killed_under_serve_all_danger_still_answered(server, capsys) -> None:  # noqa: ANN001
    """Action server, then Rasa and (while Rasa restarts) the pager, each SIGKILLed: danger
    is answered with 999 and paged throughout (the REST channel's fail-safe while the
    action server is down); the supervisor restarts each; health shows it."""
    from bot.commands.cli import main

    rasa = f"http://127.0.0.1:{server['port']}/"
    actions = f"http://127.0.0.1:{server['actions_port']}/health"
    danger_is_answered_and_paged(server, "sk-up")

    post(server["port"], "sk-actions", "hiya")
    kill("action server")
    assert not answers(actions)
    danger_is_answered_and_paged(server, "sk-actions")
    wait_for("the action server's restart", lambda: restarted("action server", 1), 60, server)
    wait_for("the action server to answer", lambda: answers(actions), 60, server)
    replies = post(server["port"], "sk-actions", "who do i call")
    assert not texts(replies)[-1].startswith("I could not do that"), texts(replies)

    kill("rasa server")
    wait_for("the REST endpoint to go down", lambda: not answers(rasa), 10, server)
    with pytest.raises(OSError):  # URLError too: connection refused while it loads
        post(server["port"], "sk-rasa", DANGER)

    old = kill("pager")
    part = wait_for("the pager's restart", lambda: restarted("pager", 1), 30, server)
    assert part["pid"] != old
    capsys.readouterr()
    main(["health", "--json", "--rasa-url", rasa.rstrip("/"), "--actions-url", actions])
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    assert checks["serve: pager"]["ok"] and checks["serve: pager"]["restarts"] == 1
    assert checks["serve: pager"]["last_exit"] == -signal.SIGKILL
    assert checks["serve: action server"]["ok"] and checks["serve: action server"]["restarts"] == 1

    wait_for("Rasa's restart", lambda: restarted("rasa server", 1), 30, server)
    wait_for("Rasa to answer again", lambda: answers(rasa), 420, server)
    danger_is_answered_and_paged(server, "sk-rasa")
    assert server["proc"].poll() is None


def test_sigterm_stops_both_servers(server) -> None:  # noqa: ANN001
    proc = server["proc"]
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    for port in (server["port"], server["actions_port"]):
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)  # noqa: S310
