"""`safeguard rota now` and `safeguard rota gaps`: who is on call, and where cover is missing.

    safeguard rota now [--json] [--at ISO]
    safeguard rota gaps [--hours 72] [--at ISO] [--json]

The roster is SAFEGUARD_ROSTER (default deploy/roster.example.yml). A gap in cover is an
alarm, printed loudly, and makes the command exit 1. A broken roster or an unreadable time
is one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys

EXIT_OK = 0
EXIT_ALARM = 1
EXIT_BAD_INPUT = 2


def register(subparsers: argparse._SubParsersAction) -> None:
    rota = subparsers.add_parser(
        "rota",
        help="who is on call now, and gaps in Safeguarding Lead cover",
        description=(
            "Read the roster (SAFEGUARD_ROSTER, default deploy/roster.example.yml): who is "
            "on call at a time (leads first, then deputies), and any time in the coming hours "
            "when nobody is. A gap is an alarm: it is printed loudly and the exit code is 1."
        ),
    )
    actions = rota.add_subparsers(dest="rota_command", metavar="ACTION")
    rota.set_defaults(func=lambda _args: _usage(rota))

    now = actions.add_parser(
        "now",
        help="who is on call now (or at --at)",
        description="Who is on call, leads first, then deputies, with how to reach them.",
    )
    now.add_argument(
        "--at", metavar="ISO", help="a local time instead of now, e.g. 2026-12-25T03:00"
    )
    now.add_argument("--json", action="store_true", help="print JSON")
    now.set_defaults(func=run_now)

    gaps = actions.add_parser(
        "gaps",
        help="times in the coming hours with nobody on call",
        description=(
            "Every stretch in the next --hours (default 72) with no one on call, printed as "
            "loud warnings; exit 1 if there is any."
        ),
    )
    gaps.add_argument("--hours", type=float, default=72.0, help="how far ahead (default 72)")
    gaps.add_argument("--at", metavar="ISO", help="start from this local time instead of now")
    gaps.add_argument("--json", action="store_true", help="print JSON")
    gaps.set_defaults(func=run_gaps)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return EXIT_BAD_INPUT


def _error(message: str) -> int:
    print(f"safeguard rota: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def print_alarm(warnings: list[str], stream=None) -> None:  # noqa: ANN001
    """Print cover warnings so nobody can miss them (used by the CLI and at start-up)."""
    stream = stream or sys.stderr
    if not warnings:
        return
    bar = "!" * 72
    print(bar, file=stream)
    for line in warnings:
        print(f"!! {line}", file=stream)
    print(bar, file=stream)


def _load(args: argparse.Namespace):  # noqa: ANN202
    from bot.core.clock import (  # heavy: imported on first use, not at start-up
        ClockError,
        parse_local,
    )
    from bot.core.datafile import DataFileError  # heavy: imported on first use, not at start-up
    from bot.paging import deployment  # heavy: imported on first use, not at start-up

    here = deployment.current()
    at = getattr(args, "at", None)
    try:
        when = parse_local(at) if at else here.now()
    except ClockError as exc:
        if at:
            return None, None, f"--at {at!r} is not a local time like 2026-12-25T03:00"
        return None, None, str(exc)
    try:
        roster = here.roster(shared=False)
    except DataFileError as exc:
        return None, None, str(exc)
    return roster, when, None


def run_now(args: argparse.Namespace) -> int:
    from bot.core.rota import (  # heavy: imported on first use, not at start-up
        cover_warnings,
        on_call,
    )

    roster, when, problem = _load(args)
    if problem:
        return _error(problem)
    people = on_call(roster, when)
    warnings = cover_warnings(roster, when, 72)
    if args.json:
        print(
            json.dumps(
                {
                    "at": when.isoformat(),
                    "on_call": [
                        {
                            "id": p.id,
                            "name": p.name,
                            "role": p.role,
                            "phone": p.phone,
                            "channels": [c[0] for c in p.channels],
                        }
                        for p in people
                    ],
                    "warnings": warnings,
                },
                indent=2,
            )
        )
    else:
        print(f"On call at {when.strftime('%a %d %b %Y %H:%M')} (Europe/London):")
        for p in people:
            channels = ", ".join(c[0] for c in p.channels)
            print(f"  {p.role:<7} {p.name:<32} {p.phone or 'no phone':<14} via {channels}")
        if not people:
            print("  NOBODY")
        print_alarm(warnings)
    return EXIT_OK if people and not warnings else EXIT_ALARM


def run_gaps(args: argparse.Namespace) -> int:
    from bot.core.rota import cover_warnings, gaps  # heavy: imported on first use, not at start-up

    if args.hours <= 0 or args.hours > 24 * 366:
        return _error("--hours must be between 0 and 8784")
    roster, when, problem = _load(args)
    if problem:
        return _error(problem)
    found = gaps(roster, when, args.hours)
    warnings = cover_warnings(roster, when, args.hours)
    if args.json:
        print(
            json.dumps(
                {
                    "from": when.isoformat(),
                    "hours": args.hours,
                    "gaps": [{"start": a.isoformat(), "end": b.isoformat()} for a, b in found],
                    "warnings": warnings,
                },
                indent=2,
            )
        )
    elif warnings:
        print_alarm(warnings, sys.stdout)
    else:
        print(f"Someone is on call for all of the next {args.hours:g} hours.")
    return EXIT_ALARM if warnings else EXIT_OK
