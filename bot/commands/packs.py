"""`safeguard packs check [FILE]` and `safeguard packs list`: validate and list policy packs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "packs",
        help="validate or list organisation policy packs",
        description=(
            "Organisation policy packs live in packs/<org>.yml and are selected with "
            "SAFEGUARD_ORG. 'check' validates one pack file or all of them (exit 0 when "
            "valid, 1 with a one-line message naming the file, field and problem); 'list' "
            "shows the packs available."
        ),
    )
    parser.set_defaults(func=lambda args: _usage(parser))
    actions = parser.add_subparsers(dest="packs_command", metavar="ACTION")
    check = actions.add_parser(
        "check",
        help="validate one pack file, or every pack in packs/",
        description=(
            "Validate a policy pack against the schema (packs/SCHEMA.md) and check its "
            "cross-references (contact ids, sources, UK phone numbers). With no FILE, "
            "checks every packs/*.yml. Exit 0 if all are valid, 1 otherwise."
        ),
    )
    check.add_argument("file", nargs="?", type=Path, help="a pack file, e.g. packs/crasac.yml")
    check.set_defaults(func=run_check)
    listing = actions.add_parser(
        "list",
        help="list the available packs",
        description="List the organisation packs in packs/ with their names; mark the active one.",
    )
    listing.set_defaults(func=run_list)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def run_check(args: argparse.Namespace) -> int:
    from bot.core.pack import (  # heavy: imported on first use, not at start-up
        PACKS_DIR,
        PackError,
        display_path,
        load_pack_file,
    )

    files = [args.file] if args.file else sorted(PACKS_DIR.glob("*.yml"))
    if not files:
        print(f"safeguard packs check: no packs in {display_path(PACKS_DIR)}", file=sys.stderr)
        return 1
    failed = 0
    for path in files:
        try:
            pack = load_pack_file(path)
        except PackError as exc:
            print(str(exc), file=sys.stderr)
            failed += 1
            continue
        print(f"{display_path(path)}: ok ({pack.name}; {len(pack.contacts)} contacts)")
    return 1 if failed else 0


def run_list(args: argparse.Namespace) -> int:
    from bot.config.settings import org  # heavy: imported on first use, not at start-up
    from bot.core.pack import (  # heavy: imported on first use, not at start-up
        PACKS_DIR,
        PackError,
        available_orgs,
        load_pack_file,
    )

    active = org()
    status = 0
    for name in available_orgs():
        marker = "*" if name == active else " "
        try:
            pack = load_pack_file(PACKS_DIR / f"{name}.yml")
            print(f"{marker} {name:20} {pack.name}")
        except PackError as exc:
            print(f"{marker} {name:20} INVALID: {exc}")
            status = 1
    if active not in available_orgs():
        print(f"SAFEGUARD_ORG={active!r} has no pack in packs/", file=sys.stderr)
        status = 1
    return status
