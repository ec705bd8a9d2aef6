"""`safeguard serve`: the Rasa server (REST channel), the action server and the pager, in the
foreground; `--role` runs one of them alone (one systemd unit per role: deploy/systemd/)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROLES = ("all", "rasa", "actions", "pager")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the Rasa server (REST channel) and the action server",
        description=(
            "Start the action server and a Rasa server with the REST channel "
            "(POST /webhooks/rest/webhook, signed with the channel secret), both on "
            "127.0.0.1 unless --host/--actions-host say otherwise. Ctrl-C or SIGTERM stops both. "
            "Conversations are kept as endpoints.yml says (by default in memory); "
            "SAFEGUARD_TRACKER_URL (postgresql+psycopg2://...) keeps them in the protected "
            "SQL tracker store and SAFEGUARD_LOCK_URL (redis://host:port/1) locks them in "
            "Redis, so that more than one server can share them (README, 'Run it on more "
            "than one server')."
        ),
    )
    parser.add_argument(
        "--role",
        choices=ROLES,
        default="all",
        help=(
            "what to run: rasa (the Rasa server only; its action server is on --actions-port "
            "here or at SAFEGUARD_ACTIONS_ADDRESS), actions (the action server only), pager "
            "(the paging loop only), or all three (the default, what `make serve` runs)"
        ),
    )
    parser.add_argument("--port", type=int, default=5005, help="Rasa server port (5005)")
    parser.add_argument("--actions-port", type=int, default=5055, help="action server port")
    parser.add_argument("--model", type=Path, default=None, help="trained model archive")
    parser.add_argument(
        "--host",
        default=None,
        help="address the Rasa server listens on (SAFEGUARD_HOST, default 127.0.0.1)",
    )
    parser.add_argument(
        "--actions-host",
        default=None,
        help="address the action server listens on (SAFEGUARD_ACTIONS_HOST, default 127.0.0.1)",
    )
    parser.set_defaults(func=run)


def hosts(args: argparse.Namespace) -> tuple[str, str]:
    """(Rasa's, the action server's) listening address: loopback unless told otherwise."""
    from bot.paging import deployment  # heavy: imported on first use, not at start-up

    config = deployment.current().settings  # SAFEGUARD_HOST, SAFEGUARD_ACTIONS_HOST
    return args.host or config.host, args.actions_host or config.actions_host


def preflight(model: Path, role: str = "all") -> str | None:
    """A plain reason not to start, or None (only the Rasa server needs a model)."""
    if role in ("all", "rasa") and not model.exists():
        return f"no trained model at {model}: run 'make train' first"
    from bot.commands import processes  # heavy: imported on first use, not at start-up

    try:
        processes.store_endpoints()
    except ValueError as exc:
        return str(exc)
    from bot.commands import startup  # heavy: imported on first use, not at start-up

    found = startup.problems()
    if found:
        return "\n".join(found)
    return None


def cover_alarms() -> list[str]:
    """Gaps in Safeguarding Lead cover now or in the next 72 hours: shown loudly at start-up."""
    from bot.core import rota  # heavy: imported on first use, not at start-up
    from bot.paging import deployment  # heavy: imported on first use, not at start-up

    try:
        here = deployment.current()
        return rota.cover_warnings(here.roster(), here.now())
    except ValueError as exc:  # a broken roster is itself a gap in cover
        return [f"THE ROSTER CANNOT BE READ, SO NOBODY CAN BE PAGED: {exc}"]


def print_alarms() -> None:
    for warning in cover_alarms():
        print(f"!!! {warning}", file=sys.stderr, flush=True)


def ready_to_start(command: str, model: Path, role: str = "all") -> bool:
    """Print why `command` cannot start (one line per problem), or the cover alarms."""
    problem = preflight(model, role)
    if problem:
        print(f"safeguard {command}: {problem}", file=sys.stderr)
        return False
    print_alarms()
    return True


def run(args: argparse.Namespace) -> int:

    from bot.commands import processes  # heavy: imported on first use, not at start-up
    from bot.paging import deployment  # heavy: imported on first use, not at start-up
    from bot.rasa.channels.rest import DEV_REST_ENV  # heavy: imported on first use, not at start-up

    model = args.model or processes.DEFAULT_MODEL
    rasa_host, actions_host = hosts(args)
    if deployment.current().settings.dev_rest and not processes.is_loopback(rasa_host):
        print(
            f"safeguard serve: {DEV_REST_ENV}=1 (unsigned REST, for development) is for "
            "loopback only: unset it or drop --host",
            file=sys.stderr,
        )
        return 1
    role = getattr(args, "role", "all")
    if not ready_to_start("serve", model, role):
        return 1
    wanted = {"actions", "pager", "rasa"} if role == "all" else {role}
    # All three here: a part that dies is restarted with back-off while the others keep
    # serving. One role (a systemd unit): stop with its exit code, and systemd restarts it.
    group = processes.Supervisor(
        restart=role == "all", on_keeps_failing=processes.notify_keeps_failing
    )
    processes.raise_stop_on_sigterm()
    try:
        started = []
        actions = rasa = None
        if "actions" in wanted:
            actions = group.start(
                "action server", processes.action_server_cmd(args.actions_port, actions_host)
            )
            started.append(f"action server {actions_host}:{args.actions_port}")
        if "pager" in wanted:
            group.start("pager", processes.pager_cmd())
            started.append("pager")
        if "rasa" in wanted:
            rasa = group.start(
                "rasa server",
                processes.rasa_run_cmd(model, args.port, args.actions_port, rasa_host),
            )
            started.append(f"Rasa {rasa_host}:{args.port}")
        print(f"[serve] starting: {', '.join(started)}")
        for line in processes.exposure_lines(
            rasa_host if rasa else processes.LOOPBACK,
            actions_host if actions else processes.LOOPBACK,
            args.port,
            args.actions_port,
        ):
            print(f"[serve] not loopback: {line}", flush=True)
        actions_up = actions is None or processes.wait_for_http(
            f"http://{processes.probe_host(actions_host)}:{args.actions_port}/health", 60, actions
        )
        if (
            rasa is not None
            and actions_up
            and processes.wait_for_http(
                f"http://{processes.probe_host(rasa_host)}:{args.port}/", 180, rasa
            )
        ):
            print(
                f"[serve] ready: POST http://{processes.probe_host(rasa_host)}:{args.port}"
                "/webhooks/rest/webhook "
                "(signed requests only)",
                flush=True,
            )
        elif rasa is None and actions_up:
            print(f"[serve] ready: {', '.join(started)}", flush=True)
        while (ended := group.check()) is None:
            time.sleep(0.5)
        name, code = ended
        print(f"[serve] the {name} stopped (exit {code}); stopping", file=sys.stderr)
        return code or 1
    except (KeyboardInterrupt, processes.Stop):
        print("[serve] stopping", flush=True)
        return 0
    finally:
        processes.stop_quietly(group)
