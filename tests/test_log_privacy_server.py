"""A whole disclosure through a real `safeguard serve`: the child's words reach the concern
log, and no log line of Rasa, the action server or the pager, and no file outside the
encrypted concern log, holds them.

Needs the trained model that `make test` builds before pytest runs.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time

import pytest
from cryptography.fernet import Fernet

from tests import signed
from tests.conftest import ROOT, free_port

MODEL = ROOT / "models" / "safeguard.tar.gz"
pytestmark = pytest.mark.rasa

CHILD_WORDS = "Mr Grimsworth makes me sleep in the cold garage with the spiders"
CHILD_NAME = "Persephone Quenby-Obi"
OBSERVED = "she had fresh scratches on her hands and wrists"
# Distinctive fragments: none of them may appear anywhere but the concern log.
SECRETS = ("Grimsworth", "cold garage", "Persephone", "Quenby", "fresh scratches on her hands")

ANSWERS = [
    "a girl in my group just told me something and i need to log it",
    "/deny",  # nobody in danger right now
    "The session has ended",
    CHILD_NAME,
    "14",
    CHILD_WORDS,
    OBSERVED,
    "Sunday evening at her house",
    "her stepfather",
    "listened and told her I would pass it to the lead",
    "she seemed frightened",
    "neglect",  # the category
    "/affirm",  # save and tell the lead
]


# The served stack's channel secret, as an operator would set it (bot/core/channel_auth.py).
CHANNEL_SECRET = secrets.token_urlsafe(32)


def post(port: int, sender: str, message: str) -> list[dict]:
    return signed.post(port, sender, message, CHANNEL_SECRET, timeout=120)


DEBUG_LAUNCHER = """
import sys, time
from bot.commands import processes
port, aport = int(sys.argv[1]), int(sys.argv[2])
group = processes.ProcessGroup()
processes.raise_stop_on_sigterm()
try:
    actions = group.start("action server", processes.action_server_cmd(aport) + ["-vv"])
    group.start("pager", processes.pager_cmd())
    cmd = processes.rasa_run_cmd(processes.DEFAULT_MODEL, port, aport)
    rasa = group.start("rasa server", [c for c in cmd if c != "--quiet"] + ["--debug"])
    if processes.wait_for_http(f"http://127.0.0.1:{aport}/health", 60, actions) and (
        processes.wait_for_http(f"http://127.0.0.1:{port}/", 300, rasa)
    ):
        print("[serve] ready", flush=True)
    while group.first_exit() is None:
        time.sleep(0.5)
except processes.Stop:
    pass
finally:
    group.stop()
"""


@pytest.fixture(scope="module", params=["serve", "debug"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """A whole disclosure through `safeguard serve` as shipped, and through the same three
    processes with Rasa at --debug and the action server at -vv (what an operator chasing
    a problem would run)."""
    assert MODEL.exists(), "no trained model: run `make train` (make test does this first)"
    var = tmp_path_factory.mktemp("served-var")
    port, actions_port = free_port(), free_port()
    env = dict(
        os.environ,
        SAFEGUARD_VAR=str(var),
        SAFEGUARD_DB_URL=f"sqlite:///{var / 'concerns.sqlite3'}",
        SAFEGUARD_KEY=Fernet.generate_key().decode(),
        SAFEGUARD_NOW="2026-11-24T14:30",
        SAFEGUARD_ORG="crasac",
        SAFEGUARD_TEAMS_DISABLED="1",
        SAFEGUARD_CHANNEL_SECRET=CHANNEL_SECRET,
        PYTHONUNBUFFERED="1",
    )
    for name in ("TELEGRAM_BOT_TOKEN", "SAFEGUARD_TELEGRAM_TOKEN", "SAFEGUARD_ROSTER"):
        env.pop(name, None)
    env.pop("SAFEGUARD_UNSAFE_DEBUG_LOGS", None)
    if request.param == "serve":
        cmd = [sys.executable, "-m", "bot.commands.cli", "serve", "--port", str(port)]
        cmd += ["--actions-port", str(actions_port)]
    else:
        env.update(LOG_LEVEL="DEBUG", LOG_LEVEL_LIBRARIES="DEBUG", PYTHONPATH=str(ROOT))
        cmd = [sys.executable, "-c", DEBUG_LAUNCHER, str(port), str(actions_port)]
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        for line in proc.stdout:
            lines.append(line)
            if "[serve] ready" in line:
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    if not ready.wait(timeout=300):
        proc.kill()
        pytest.fail("safeguard serve did not become ready:\n" + "".join(lines[-40:]))
    sender = "worker-logs"
    replies = [post(port, sender, answer) for answer in ANSWERS]
    # Let the pager pass and everyone log what they log, then stop and collect it all.
    time.sleep(3)
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    reader.join(timeout=10)
    yield {
        "var": var,
        "env": env,
        "log": "".join(lines),
        "replies": replies,
        "level": request.param,
    }


def test_the_disclosure_really_went_through(served) -> None:  # noqa: ANN001
    """Positive control: the child's words reached the system (so their absence from the
    logs means something)."""
    last = " ".join(r.get("text", "") for r in served["replies"][-1])
    assert "Saved. Your reference is SG-" in last, json.dumps(served["replies"], indent=1)
    concerns = _concerns(served)
    assert [c.child_words for c in concerns] == [CHILD_WORDS]
    assert concerns[0].child == CHILD_NAME


def _concerns(served):  # noqa: ANN001, ANN202
    from bot.records.concern_log import ConcernLog

    saved = {k: os.environ.get(k) for k in ("SAFEGUARD_KEY", "SAFEGUARD_VAR")}
    os.environ["SAFEGUARD_KEY"] = served["env"]["SAFEGUARD_KEY"]
    os.environ["SAFEGUARD_VAR"] = served["env"]["SAFEGUARD_VAR"]
    try:
        return ConcernLog(served["env"]["SAFEGUARD_DB_URL"]).list()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_no_log_line_holds_the_childs_words(served) -> None:  # noqa: ANN001
    log = served["log"]
    assert "[serve] ready" in log  # the log really is the servers' output
    if served["level"] == "debug":
        # debug output really was on, and went through the scrubber
        assert "Received request to run" in log or "log line withheld" in log
        assert "processor.actions.log" in log or "withheld" in log
    for secret in SECRETS:
        assert secret not in log, f"{secret!r} is in the logs:\n" + "\n".join(
            line for line in log.splitlines() if secret in line
        )


def test_no_file_but_the_encrypted_log_holds_them(served) -> None:  # noqa: ANN001
    """The in-memory tracker store keeps nothing on disk: no file under var/ or models/
    (or the Rasa working directory's usual spots) has the child's words."""
    places = [served["var"], ROOT / "models", ROOT / ".rasa"]
    places += [p for p in (ROOT / "rasa.db", ROOT / "tracker.db") if p.exists()]
    for place in places:
        if not place.exists():
            continue
        files = [place] if place.is_file() else [p for p in place.rglob("*") if p.is_file()]
        for path in files:
            data = path.read_bytes()
            for secret in SECRETS:
                assert secret.encode() not in data, f"{secret!r} found in {path}"
