"""The real safeguard processes for the fail-safe tests, each one killable and restartable.

`Stack` runs the Rasa server (the REST channel from credentials.yml, the trained model),
the action server and the pager as separate processes, the way `safeguard serve` does, on
free loopback ports, with its own SAFEGUARD_VAR, SQLite concern log, key and a fake
Telegram for pages. `FakeActionServer` takes the action server's port to play one that
hangs or answers 500.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from bot.commands import processes
from tests import signed
from tests.conftest import ROOT, free_port
from tests.fake_telegram import FakeTelegram

MODEL = ROOT / "models" / "safeguard.tar.gz"
# A Tuesday afternoon: working hours, leads on call in the example roster.
NOW = "2026-11-24T14:30"
REPLY_WITHIN = 20  # seconds (SAFEGUARD_REPLY_SECONDS): generous for a loaded test machine
ACTION_TIMEOUT = 3  # seconds (SAFEGUARD_ACTION_TIMEOUT_SECONDS)
RASA_START = 420  # seconds a cold Rasa server may take on a busy two-core machine


class FakeActionServer:
    """An action server on `port` that never answers in time (`mode="hang"`) or fails
    (`mode="error"`: HTTP 500, what rasa_sdk returns when an action raises)."""

    def __init__(self, port: int, mode: str, delay: float = 0.0) -> None:
        assert mode in ("hang", "error", "slow")
        self.port, self.mode, self.delay = port, mode, delay
        self.calls: list[str] = []
        self.answered = threading.Event()
        self._release = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._connections: list[socket.socket] = []

    def __enter__(self) -> FakeActionServer:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: Any) -> None:
                return

            def do_GET(self) -> None:  # noqa: N802 - health checks
                self._send(200, {"status": "ok"})

            def setup(self) -> None:
                super().setup()
                outer._connections.append(self.connection)

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                outer.calls.append(str(body.get("next_action")))
                if outer.mode == "hang":
                    outer._release.wait(600)
                if outer.mode == "slow":
                    # Answers, but only after `delay` seconds: a late, valid reply.
                    outer._release.wait(outer.delay)
                    self._send(200, {"events": [], "responses": [{"text": "The late answer."}]})
                    outer.answered.set()
                    return
                self._send(500, {"error": "the action raised"})

            def _send(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the caller gave up waiting

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        # A stopped action server's connections go with it (Rasa keeps them alive between
        # calls, bot/rasa/server.py); otherwise a handler thread would answer the next test.
        for connection in self._connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class Stack:
    def __init__(
        self, root: Path, reply_within: float = REPLY_WITHIN, action_timeout: float = ACTION_TIMEOUT
    ) -> None:
        self.root = root
        self.reply_within, self.action_timeout = reply_within, action_timeout
        self.var = root / "var"
        self.var.mkdir(parents=True, exist_ok=True)
        self.db_url = f"sqlite:///{root / 'concerns.sqlite3'}"
        self.key = Fernet.generate_key().decode()
        self.port, self.actions_port = free_port(), free_port()
        self.telegram = FakeTelegram()
        # The deployment's shared secrets, as `safeguard serve` hands them to its children.
        self.channel_secret = secrets.token_urlsafe(32)
        self.action_secret = secrets.token_urlsafe(32)
        self.extra: dict[str, str] = {}  # more environment for every process (tests' limits)
        self.procs: dict[str, subprocess.Popen] = {}
        self._logs: dict[str, Any] = {}

    # -- environment ------------------------------------------------------------------------
    def env(self, **extra: str) -> dict[str, str]:
        env = processes.child_env()
        env.update(
            SAFEGUARD_VAR=str(self.var),
            SAFEGUARD_DB_URL=self.db_url,
            SAFEGUARD_KEY=self.key,
            SAFEGUARD_NOW=NOW,
            SAFEGUARD_ORG="crasac",
            SAFEGUARD_REPLY_SECONDS=str(self.reply_within),
            SAFEGUARD_ACTION_TIMEOUT_SECONDS=str(self.action_timeout),
            TELEGRAM_BOT_TOKEN=self.telegram.token,
            TELEGRAM_BASE_URL=self.telegram.base_url,
            SAFEGUARD_TEAMS_DISABLED="1",
            SAFEGUARD_CHANNEL_SECRET=self.channel_secret,
            SAFEGUARD_ACTION_SECRET=self.action_secret,
        )
        for name in (
            "SAFEGUARD_ROSTER",
            "TELEGRAM_BOT_TOKEN_FILE",
            "SAFEGUARD_KEY_FILE",
            "SAFEGUARD_CHANNEL_SECRET_FILE",
            "SAFEGUARD_ACTION_SECRET_FILE",
        ):
            env.pop(name, None)
        env.update(self.extra)
        env.update(extra)
        return env

    @contextmanager
    def reading(self):  # noqa: ANN201
        """This test process sees the stack's concern log (for checking what was saved)."""
        names = (
            "SAFEGUARD_VAR",
            "SAFEGUARD_DB_URL",
            "SAFEGUARD_KEY",
            "SAFEGUARD_NOW",
            "SAFEGUARD_ORG",
            "SAFEGUARD_ROSTER",
        )
        saved = {n: os.environ.get(n) for n in names}
        os.environ.update(
            SAFEGUARD_VAR=str(self.var),
            SAFEGUARD_DB_URL=self.db_url,
            SAFEGUARD_KEY=self.key,
            SAFEGUARD_NOW=NOW,
            SAFEGUARD_ORG="crasac",
        )
        os.environ.pop("SAFEGUARD_ROSTER", None)
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    # -- processes -------------------------------------------------------------------------
    def _start(self, name: str, cmd: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = open(self.root / f"{name}.log", "ab")  # noqa: SIM115 - closed in stop()
        self._logs[name] = log
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.procs[name] = proc
        return proc

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.root / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def start_actions(self) -> None:
        proc = self._start("actions", processes.action_server_cmd(self.actions_port), self.env())
        url = f"http://127.0.0.1:{self.actions_port}/health"
        if not processes.wait_for_http(url, 120, proc):
            raise RuntimeError("action server did not start:\n" + self.log_tail("actions"))

    def start_pager(self, now: str = NOW) -> None:
        self._start(
            "pager", [*processes.pager_cmd(), "--interval", "0.5"], self.env(SAFEGUARD_NOW=now)
        )

    def start_rasa(self) -> None:
        cmd = processes.rasa_run_cmd(MODEL, self.port, self.actions_port)
        proc = self._start("rasa", cmd, self.env())
        if not processes.wait_for_http(f"http://127.0.0.1:{self.port}/", RASA_START, proc):
            raise RuntimeError("Rasa did not start:\n" + self.log_tail("rasa"))

    def kill(self, name: str) -> None:
        """SIGKILL: the process gets no chance to tidy up, as in a crash."""
        proc = self.procs.pop(name, None)
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log in self._logs.values():
            log.close()
        self.procs.clear()

    # -- talking -----------------------------------------------------------------------------
    def post(self, sender: str, message: str, timeout: float = 180) -> list[dict]:
        """Signed, as the terminal chat sends ("terminal:<sender>" unless qualified)."""
        return signed.post(self.port, sender, message, self.channel_secret, timeout=timeout)

    def timed_post(self, sender: str, message: str) -> tuple[list[dict], float]:
        start = time.monotonic()
        replies = self.post(sender, message)
        return replies, time.monotonic() - start

    # -- what was kept -----------------------------------------------------------------------
    def concerns(self) -> list:
        from bot.records.concern_log import ConcernLog

        with self.reading():
            return ConcernLog(self.db_url).list()

    def concern(self, reference: str):  # noqa: ANN201
        from bot.records.concern_log import ConcernLog

        with self.reading():
            return ConcernLog(self.db_url).get(reference)

    def page_rows(self) -> list[dict]:
        from bot.paging import pager
        from bot.records.db import make_engine

        with self.reading():
            return pager.page_rows(make_engine(self.db_url))

    def telegram_chats(self) -> list[int]:
        return [int(m["chat_id"]) for m in self.telegram.calls_of("sendMessage")]


def texts(replies: list[dict]) -> list[str]:
    return [r.get("text") or "" for r in replies]


def joined(replies: list[dict]) -> str:
    return "\n".join(texts(replies))


def port_closed(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)  # noqa: S310
    except (urllib.error.URLError, OSError):
        return True
    return False
