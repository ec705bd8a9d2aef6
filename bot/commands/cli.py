"""The `safeguard` command line.

Each subcommand lives in its own module under ``bot/commands/`` and exposes
``register(subparsers)``; this file only discovers and runs them, so adding a command
never means editing a shared list.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from bot import commands

# Modules of bot.commands that are not subcommands: this parser, and the process supervisor
# and start-up checks the subcommands share. Every other module is one subcommand.
NOT_SUBCOMMANDS = frozenset({"cli", "processes", "startup"})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="safeguard",
        description=(
            "Safeguarding assistant: policy contacts, concern log, paging, "
            "case-note language checks and the chat servers."
        ),
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name in NOT_SUBCOMMANDS:
            continue
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    # Every setting is read once, here: one that cannot be read stops the command with one
    # line naming it, before anything starts.
    from bot.config import settings  # heavy: imported on first use, not at start-up

    problem = settings.check()
    if problem:
        print(f"safeguard: {problem}", file=sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
