"""`safeguard chat`: talk to the assistant in this terminal (what `make run` starts).

The Rasa server runs with the same REST channel as `safeguard serve` (credentials.yml: the
fail-safe channel), and this terminal is a small client of it (bot/clients/terminal.py), so
the terminal chat gets the same safety: 999 and the lead's number whatever fails, the lead
paged even with the action server down. Rasa's and the action server's own output (library
warnings, start-up chatter) goes to var/logs/, not over the conversation; the pager's worker
notices and console pages are printed here.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "chat",
        help="chat with the assistant in the terminal",
        description=(
            "Start the action server, the pager and the Rasa server, then chat in this "
            "terminal, on embedded defaults (SQLite under var/, pages printed here). "
            "/stop or Ctrl-C stops everything."
        ),
    )
    parser.add_argument("--port", type=int, default=5005, help="Rasa server port (5005)")
    parser.add_argument("--actions-port", type=int, default=5055, help="action server port")
    parser.add_argument("--model", type=Path, default=None, help="trained model archive")
    parser.add_argument(
        "--sender",
        default=None,
        help=(
            "your name in the conversation (default: your login name); it is sent as "
            "terminal:<name>, a worker's view whatever the name"
        ),
    )
    parser.set_defaults(func=run)


def log_dir() -> Path:
    from bot.config import settings  # heavy: imported on first use, not at start-up

    path = settings.var_dir() / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def last_line(path: Path) -> str:
    """The last line of a log that says something, for a one-line reason."""
    try:
        lines = [ln.strip() for ln in path.read_text(errors="replace").splitlines()]
    except OSError:
        return ""
    return next((ln for ln in reversed(lines) if ln), "")[:300]


def did_not_start(what: str, log: Path) -> int:
    reason = last_line(log)
    print(
        f"safeguard chat: the {what} did not start"
        + (f" ({reason})" if reason else "")
        + f"; its log is {log}",
        file=sys.stderr,
    )
    return 1


def run(args: argparse.Namespace) -> int:
    from bot.clients.terminal import (  # heavy: imported on first use, not at start-up
        TerminalChat,
        terminal_sender,
    )
    from bot.commands import processes  # heavy: imported on first use, not at start-up
    from bot.commands.serve import ready_to_start  # heavy: imported on first use, not at start-up

    model = args.model or processes.DEFAULT_MODEL
    if not ready_to_start("chat", model):
        return 1
    logs = log_dir()
    group = processes.ProcessGroup()
    processes.raise_stop_on_sigterm()
    opened = []
    try:
        actions_log = open(logs / "chat-actions.log", "ab")  # noqa: SIM115 - closed below
        rasa_log = open(logs / "chat-rasa.log", "ab")  # noqa: SIM115
        opened += [actions_log, rasa_log]
        actions = group.start(
            "action server",
            processes.action_server_cmd(args.actions_port),
            stdout=actions_log,
            stderr=actions_log,
        )
        group.start(
            "pager",
            processes.pager_cmd(print_notices=True),
            env=processes.console_pager_env(),
        )
        rasa = group.start(
            "rasa server",
            processes.rasa_run_cmd(model, args.port, args.actions_port),
            stdout=rasa_log,
            stderr=rasa_log,
            stdin=subprocess.DEVNULL,
        )
        print("[chat] loading the assistant (about 20 seconds)...", flush=True)
        health = f"http://127.0.0.1:{args.actions_port}/health"
        if not processes.wait_for_http(health, 120, actions):
            return did_not_start("action server", logs / "chat-actions.log")
        if not processes.wait_for_http(f"http://127.0.0.1:{args.port}/", 300, rasa):
            return did_not_start("assistant", logs / "chat-rasa.log")
        # Ctrl-C ends the chat loop below; the children are stopped in `finally`.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        chat = TerminalChat(f"http://127.0.0.1:{args.port}", sender=terminal_sender(args.sender))
        try:
            return chat.loop()
        except KeyboardInterrupt:
            print(flush=True)
            return 0
    except processes.Stop:
        return 0
    finally:
        group.stop()
        for handle in opened:
            handle.close()
