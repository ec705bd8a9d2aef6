"""Start the Rasa server, the action server and helpers as child processes, and stop them.

Used by `safeguard serve` and `safeguard chat`. Every child is stopped when the parent
gets Ctrl-C or SIGTERM, or when any one child exits, so nothing is left running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bot import ROOT

BIN = Path(sys.executable).parent
DEFAULT_MODEL = ROOT / "models" / "safeguard.tar.gz"


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # Library deprecation warnings (Rasa's pins are old) would bury the conversation.
    env.setdefault("PYTHONWARNINGS", "ignore")
    env.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def action_server_cmd(port: int) -> list[str]:
    return [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(port)]


def console_pager_env() -> dict[str, str]:
    """The embedded default for `make run`: pages are printed in this terminal, never sent."""
    env = child_env()
    for name in ("TELEGRAM_BOT_TOKEN", "SAFEGUARD_TELEGRAM_TOKEN"):
        env.pop(name, None)
    env["SAFEGUARD_TEAMS_DISABLED"] = "1"
    return env


def pager_cmd(print_notices: bool = False) -> list[str]:
    """The paging loop: sends due pages, retries, escalates (bot/pager.py)."""
    cmd = [sys.executable, "-m", "bot.cli", "pager", "run"]
    return [*cmd, "--print-notices"] if print_notices else cmd


def endpoints_file(action_port: int) -> Path:
    """endpoints.yml with the action server URL on the port we started it on."""
    from bot import settings

    text = (ROOT / "endpoints.yml").read_text(encoding="utf-8")
    text = text.replace("localhost:5055", f"localhost:{action_port}")
    path = settings.var_dir() / f"endpoints-{action_port}.yml"
    path.write_text(text, encoding="utf-8")
    return path


def rasa_run_cmd(model: Path, port: int, action_port: int) -> list[str]:
    """`rasa run` through bot.rasa_server, which caches work Rasa repeats per message."""
    return [
        sys.executable,
        "-m",
        "bot.rasa_server",
        "run",
        "--model",
        str(model),
        "--port",
        str(port),
        "--credentials",
        str(ROOT / "credentials.yml"),
        "--endpoints",
        str(endpoints_file(action_port)),
        "--quiet",
    ]


def wait_for_http(url: str, timeout: float, proc: subprocess.Popen | None = None) -> bool:
    """Poll `url` until it answers 200, the process dies, or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
                if response.status == 200:
                    return True
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.5)
    return False


@dataclass
class ProcessGroup:
    """Children started together and stopped together."""

    children: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self, name: str, cmd: list[str], **kwargs) -> subprocess.Popen:  # noqa: ANN003
        kwargs.setdefault("env", child_env())
        kwargs.setdefault("cwd", ROOT)
        proc = subprocess.Popen(cmd, **kwargs)
        self.children[name] = proc
        return proc

    def first_exit(self) -> tuple[str, int] | None:
        for name, proc in self.children.items():
            code = proc.poll()
            if code is not None:
                return name, code
        return None

    def stop(self, grace: float = 10.0) -> None:
        for proc in self.children.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in self.children.values():
            remaining = max(0.1, deadline - time.monotonic())
            try:
                proc.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


class Stop(Exception):
    """Raised in the main thread by SIGTERM so cleanup runs like on Ctrl-C."""


def raise_stop_on_sigterm() -> None:
    def _handler(signum, frame) -> None:  # noqa: ANN001, ARG001
        raise Stop()

    signal.signal(signal.SIGTERM, _handler)
