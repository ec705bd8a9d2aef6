"""`safeguard chat`: talk to the assistant in this terminal (what `make run` starts)."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "chat",
        help="chat with the assistant in the terminal",
        description=(
            "Start the action server and an interactive Rasa chat in this terminal, on "
            "embedded defaults (SQLite under var/, pages printed here). Ctrl-C stops everything."
        ),
    )
    parser.add_argument("--actions-port", type=int, default=5055, help="action server port")
    parser.add_argument("--model", type=Path, default=None, help="trained model archive")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bot import processes
    from bot.commands.serve import ready_to_start

    model = args.model or processes.DEFAULT_MODEL
    if not ready_to_start("chat", model):
        return 1
    group = processes.ProcessGroup()
    processes.raise_stop_on_sigterm()
    try:
        actions = group.start("action server", processes.action_server_cmd(args.actions_port))
        if not processes.wait_for_http(f"http://localhost:{args.actions_port}/health", 60, actions):
            print("safeguard chat: the action server did not start (see above)", file=sys.stderr)
            return 1
        group.start(
            "pager", processes.pager_cmd(print_notices=True), env=processes.console_pager_env()
        )
        print("[chat] loading the assistant (about 20 seconds)... type /stop to quit", flush=True)
        shell = group.start(
            "chat",
            [
                str(processes.BIN / "rasa"),
                "shell",
                "--model",
                str(model),
                "--endpoints",
                str(processes.endpoints_file(args.actions_port)),
                "--quiet",
            ],
        )
        # Ctrl-C reaches every process in the terminal's group; the shell ends on it.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        return shell.wait()
    except processes.Stop:
        return 0
    finally:
        group.stop()
