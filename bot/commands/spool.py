"""`safeguard spool status|flush`: concerns kept on this server while the database was down.

    safeguard spool status     what is waiting, and any unreadable spool file (loudly)
    safeguard spool flush      write what is waiting to the concern log now (and page)

The pager does the same flush by itself at start-up and every few seconds, so `flush` is
for an administrator who wants to see it happen. Exit status: 0 when nothing is waiting
and nothing is unreadable; 1 otherwise (so monitoring can alert on it).
"""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "spool",
        help="concerns kept locally while the database was down: status, flush",
        description=(
            "When the concern log database is unreachable, concerns are kept in an encrypted "
            "local spool (<SAFEGUARD_VAR>/spool) and written when it is back."
        ),
    )
    actions = parser.add_subparsers(dest="spool_command", metavar="ACTION")
    parser.set_defaults(func=lambda _args: _usage(parser))
    status = actions.add_parser("status", help="what is waiting; unreadable files, loudly")
    status.set_defaults(func=run_status)
    flush = actions.add_parser("flush", help="write what is waiting to the concern log now")
    flush.set_defaults(func=run_flush)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def run_status(_args: argparse.Namespace) -> int:
    from bot.records import spool  # heavy: imported on first use, not at start-up

    try:
        found = spool.status()
    except OSError as exc:
        print(f"safeguard spool: the spool cannot be read: {exc.strerror or exc}", file=sys.stderr)
        return 1
    lines = found.lines()
    for line in lines:
        print(line, file=sys.stderr if line.startswith("!!!") else sys.stdout)
    if not lines:
        print("The spool is empty: every concern is in the concern log.")
        return 0
    return 1


def run_flush(_args: argparse.Namespace) -> int:
    from bot.paging import replay  # heavy: imported on first use, not at start-up

    try:
        result = replay.replay(wait_for_lock=True)
    except OSError as exc:
        print(f"safeguard spool: the spool cannot be read: {exc.strerror or exc}", file=sys.stderr)
        return 1
    for ref in result.written:
        print(f"written to the concern log as {ref}; the Safeguarding Lead is paged")
    for ref in result.already:
        print(f"already in the concern log as {ref}; spool file removed")
    for name in result.moved_aside:
        print(f"!!! UNREADABLE SPOOL FILE {name}: moved aside, not deleted", file=sys.stderr)
    if result.problem:
        print(
            f"safeguard spool: {result.remaining} concern(s) still waiting: {result.problem}",
            file=sys.stderr,
        )
        return 1
    if not (result.written or result.already or result.moved_aside):
        print("Nothing was waiting in the spool.")
    return 1 if result.moved_aside else 0
