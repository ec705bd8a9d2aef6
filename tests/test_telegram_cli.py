"""`safeguard telegram` as a process, against a fake Bot API and a fake Rasa on loopback.

The last test (marked rasa) starts the real Rasa server and action server with the trained
model, exactly as a lead would, and chats through the fake Telegram.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, free_port
from tests.fake_http import FakeHTTPServer
from tests.fake_telegram import FakeTelegram

TOKEN = "123456:TEST-TOKEN"
ROSTER = ROOT / "deploy" / "roster.example.yml"
LEAD = 910000101
MODEL = ROOT / "models" / "safeguard.tar.gz"


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    for name in (
        "TELEGRAM_BOT_TOKEN",
        "TELEGRAM_BOT_TOKEN_FILE",
        "SAFEGUARD_TELEGRAM_TOKEN",
        "SAFEGUARD_RASA_URLS",
        "TELEGRAM_WEBHOOK_SECRET",
    ):
        env.pop(name, None)
    env.update(
        SAFEGUARD_DB_URL=f"sqlite:///{tmp_path / 'tg.sqlite3'}",
        SAFEGUARD_VAR=str(tmp_path / "var"),
        SAFEGUARD_ROSTER=str(ROSTER),
        SAFEGUARD_NOW="2026-11-24T10:00",
        PYTHONWARNINGS="ignore",
    )
    env.update(extra)
    return env


def safeguard(args: list[str], env: dict[str, str], timeout: float = 120) -> Any:
    return subprocess.run(
        [sys.executable, "-m", "bot.commands.cli", "telegram", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_help_explains_the_token() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.commands.cli", "telegram", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    assert "TELEGRAM_BOT_TOKEN" in result.stdout and "@BotFather" in result.stdout
    assert "--rasa-url" in result.stdout and "--webhook-url" in result.stdout


def test_no_token_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = safeguard(["--rasa-url", "http://127.0.0.1:9"], env_for(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "TELEGRAM_BOT_TOKEN is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_token_file_others_can_read_is_refused(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN, encoding="utf-8")
    token_file.chmod(0o644)
    env = env_for(tmp_path, TELEGRAM_BOT_TOKEN_FILE=str(token_file))
    result = safeguard(["--rasa-url", "http://127.0.0.1:9"], env)
    assert result.returncode == 2
    assert f"chmod 600 {token_file}" in result.stderr
    assert TOKEN not in result.stderr + result.stdout


def test_a_bad_token_is_one_plain_line_and_exit_2(tmp_path: Path) -> None:
    with FakeTelegram(TOKEN) as fake:
        env = env_for(
            tmp_path, TELEGRAM_BOT_TOKEN="999:WRONG-TOKEN", TELEGRAM_BASE_URL=fake.base_url
        )
        result = safeguard(["--rasa-url", "http://127.0.0.1:9"], env)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "safeguard telegram: Telegram refused the bot token (getMe: Unauthorized). Check "
        "TELEGRAM_BOT_TOKEN (or the file TELEGRAM_BOT_TOKEN_FILE names) against @BotFather's "
        "/token."
    ]
    assert "WRONG-TOKEN" not in result.stderr + result.stdout


def test_a_broken_roster_is_exit_2(tmp_path: Path) -> None:
    roster = tmp_path / "roster.yml"
    roster.write_text("people: [", encoding="utf-8")
    env = env_for(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, SAFEGUARD_ROSTER=str(roster))
    result = safeguard(["--rasa-url", "http://127.0.0.1:9"], env)
    assert result.returncode == 2
    assert "the roster cannot be read" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_bad_rasa_url_is_exit_2(tmp_path: Path) -> None:
    result = safeguard(
        ["--rasa-url", "localhost:5005"], env_for(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN)
    )
    assert result.returncode == 2
    assert "not an http:// or https:// URL" in result.stderr


class Gateway:
    """`safeguard telegram` running in the background, its output collected."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot.commands.cli", "telegram", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            if "[telegram] ready" in line:
                self._ready.set()
        self._ready.set()

    def wait_ready(self, timeout: float) -> None:
        self._ready.wait(timeout)
        if self.proc.poll() is not None or not any("[telegram] ready" in x for x in self.lines):
            self.stop()
            pytest.fail("safeguard telegram did not start:\n" + "".join(self.lines[-40:]))

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=10)
        return self.proc.returncode

    @property
    def output(self) -> str:
        return "".join(self.lines)


def test_the_gateway_relays_a_leads_message_and_stops_cleanly(tmp_path: Path) -> None:
    def reply(record: Any) -> tuple[int, Any]:
        body = record.json
        return 200, [
            {
                "recipient_id": body["sender"],
                "text": "Hello Alex",
                "buttons": [{"title": "Open concerns", "payload": "/list_open_concerns"}],
            }
        ]

    with FakeTelegram(TOKEN) as fake, FakeHTTPServer(responder=reply) as rasa:
        env = env_for(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_BASE_URL=fake.base_url)
        gateway = Gateway(["--rasa-url", rasa.url], env)
        try:
            gateway.wait_ready(60)
            fake.user_says(LEAD, "a secret disclosure sentence")
            assert fake.wait_until(lambda f: len(f.messages_to(LEAD)) >= 1, 30)
        finally:
            code = gateway.stop()
    (message,) = fake.messages_to(LEAD)
    assert message["text"] == "Hello Alex"
    assert "inline_keyboard" in str(message["reply_markup"])
    assert rasa.requests[0].json["sender"] == f"telegram:{LEAD}"
    assert code == 0
    assert "@sg_test_bot by long polling" in gateway.output
    assert "secret disclosure" not in gateway.output  # message text is never logged
    assert TOKEN not in gateway.output  # nor the token (httpx would log it in URLs)


def test_webhook_mode_registers_the_secret(tmp_path: Path) -> None:
    port = free_port()
    with FakeTelegram(TOKEN) as fake:
        env = env_for(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_BASE_URL=fake.base_url)
        gateway = Gateway(
            [
                "--rasa-url",
                "http://127.0.0.1:9",
                "--webhook-url",
                "https://bot.example.org/tg-hook",
                "--listen-port",
                str(port),
            ],
            env,
        )
        try:
            gateway.wait_ready(60)
            assert fake.wait_until(lambda f: f.webhook is not None, 20)
            hook = dict(fake.webhook or {})
            import urllib.error
            import urllib.request

            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/tg-hook",
                data=b'{"update_id": 1}',
                headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"},
            )
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(request, timeout=10)  # noqa: S310 (loopback)
        finally:
            gateway.stop()
    assert refused.value.code == 403
    assert hook["url"] == "https://bot.example.org/tg-hook"
    assert len(hook["secret_token"]) >= 32
    assert hook["secret_token"] not in gateway.output


@pytest.mark.rasa
def test_on_the_trained_model_a_greeting_comes_back_with_buttons(tmp_path: Path) -> None:
    assert MODEL.exists(), "no trained model: run `make train` (make test does this first)"
    with FakeTelegram(TOKEN) as fake:
        env = env_for(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_BASE_URL=fake.base_url)
        gateway = Gateway(["--port", str(free_port()), "--actions-port", str(free_port())], env)
        try:
            gateway.wait_ready(120)
            deadline_lines = 300
            # Rasa loads the model in the background; until then workers get the floor
            # reply, so wait for Rasa before saying hello.
            ready = threading.Event()

            def watch() -> None:
                while not ready.is_set():
                    if any("Rasa is ready" in x for x in gateway.lines):
                        ready.set()
                        return
                    if gateway.proc.poll() is not None:
                        return
                    ready.wait(0.5)

            watcher = threading.Thread(target=watch, daemon=True)
            watcher.start()
            watcher.join(deadline_lines)
            assert ready.is_set(), "Rasa did not become ready:\n" + "".join(gateway.lines[-40:])
            fake.user_says(LEAD, "hiya")
            assert fake.wait_until(
                lambda f: any(m.get("reply_markup") for m in f.messages_to(LEAD)), 120
            ), "no reply with buttons"
        finally:
            code = gateway.stop()
    messages = fake.messages_to(LEAD)
    assert any(m.get("reply_markup") for m in messages)
    assert "inline_keyboard" in str([m.get("reply_markup") for m in messages])
    assert code == 0


def test_telegram_unreachable_at_start_is_not_fatal(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}/bot"  # nothing listens: an outage
    env = env_for(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_BASE_URL=dead)
    gateway = Gateway(["--rasa-url", "http://127.0.0.1:9"], env)
    try:
        gateway.wait_ready(60)
        seen = threading.Event()

        def watch() -> None:
            while not seen.is_set() and gateway.proc.poll() is None:
                if any("cannot get updates" in line for line in gateway.lines):
                    seen.set()
                seen.wait(0.2)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        watcher.join(60)
        still_running = gateway.proc.poll() is None
    finally:
        code = gateway.stop()
    assert seen.is_set(), gateway.output
    assert still_running and code == 0
    assert gateway.output.count("cannot get updates") == 1
    assert "cannot reach Telegram to check the token" in gateway.output
    assert "Traceback" not in gateway.output
