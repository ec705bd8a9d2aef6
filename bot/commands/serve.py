"""`safeguard serve`: the Rasa server (REST channel) and the action server, in the foreground."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the Rasa server (REST channel) and the action server",
        description=(
            "Start the action server and a Rasa server with the REST channel "
            "(POST /webhooks/rest/webhook). Ctrl-C or SIGTERM stops both. "
            "Conversations are kept as endpoints.yml says (by default in memory); "
            "SAFEGUARD_TRACKER_URL (postgresql+psycopg2://...) keeps them in the protected "
            "SQL tracker store and SAFEGUARD_LOCK_URL (redis://host:port/1) locks them in "
            "Redis, so that more than one server can share them (README, 'Run it on more "
            "than one server')."
        ),
    )
    parser.add_argument("--port", type=int, default=5005, help="Rasa server port (5005)")
    parser.add_argument("--actions-port", type=int, default=5055, help="action server port")
    parser.add_argument("--model", type=Path, default=None, help="trained model archive")
    parser.set_defaults(func=run)


def preflight(model: Path) -> str | None:
    """A plain reason not to start, or None."""
    if not model.exists():
        return f"no trained model at {model}: run 'make train' first"
    from bot import processes

    try:
        processes.store_endpoints()
    except ValueError as exc:
        return str(exc)
    from bot import startup

    found = startup.problems()
    if found:
        return "\n".join(found)
    return None


def cover_alarms() -> list[str]:
    """Gaps in Safeguarding Lead cover now or in the next 72 hours: shown loudly at start-up."""
    from bot import clock, rota

    try:
        return rota.cover_warnings(rota.load_roster(), clock.now())
    except ValueError as exc:  # a broken roster is itself a gap in cover
        return [f"THE ROSTER CANNOT BE READ, SO NOBODY CAN BE PAGED: {exc}"]


def print_alarms() -> None:
    for warning in cover_alarms():
        print(f"!!! {warning}", file=sys.stderr, flush=True)


def ready_to_start(command: str, model: Path) -> bool:
    """Print why `command` cannot start (one line per problem), or the cover alarms."""
    problem = preflight(model)
    if problem:
        print(f"safeguard {command}: {problem}", file=sys.stderr)
        return False
    print_alarms()
    return True


def run(args: argparse.Namespace) -> int:
    from bot import processes

    model = args.model or processes.DEFAULT_MODEL
    if not ready_to_start("serve", model):
        return 1
    group = processes.ProcessGroup()
    processes.raise_stop_on_sigterm()
    try:
        actions = group.start("action server", processes.action_server_cmd(args.actions_port))
        group.start("pager", processes.pager_cmd())
        rasa = group.start(
            "rasa server", processes.rasa_run_cmd(model, args.port, args.actions_port)
        )
        print(f"[serve] starting: action server :{args.actions_port}, pager, Rasa :{args.port}")
        if processes.wait_for_http(
            f"http://localhost:{args.actions_port}/health", 60, actions
        ) and processes.wait_for_http(f"http://localhost:{args.port}/", 180, rasa):
            print(
                f"[serve] ready: POST http://localhost:{args.port}/webhooks/rest/webhook",
                flush=True,
            )
        while (ended := group.first_exit()) is None:
            time.sleep(0.5)
        name, code = ended
        print(f"[serve] the {name} stopped (exit {code}); stopping the rest", file=sys.stderr)
        return code or 1
    except (KeyboardInterrupt, processes.Stop):
        print("[serve] stopping", flush=True)
        return 0
    finally:
        group.stop()
