"""`safeguard contacts`: who to call, for a purpose, at a time, from the org's policy pack."""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "contacts",
        help="who to call now (or at --at) for a purpose, from the policy pack",
        description=(
            "Show the contacts the organisation's policy pack gives for a purpose, in the "
            "right order for the time (office hours, evenings, weekends and England and "
            "Wales bank holidays), each with a one-line reason and its source. Without "
            "--purpose: the Safeguarding Lead, emergency and out-of-hours social care."
        ),
    )
    parser.add_argument(
        "--purpose",
        help="e.g. lado, emergency, out_of_hours_social_care (see 'bot.core.pack.PURPOSES')",
    )
    parser.add_argument(
        "--at", metavar="ISO", help="local time to answer for, e.g. 2026-12-28T19:30 (default now)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--org", help="organisation pack (default SAFEGUARD_ORG, else generic)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bot.core import clock  # heavy: imported on first use, not at start-up
    from bot.core.contacts import route  # heavy: imported on first use, not at start-up
    from bot.core.pack import (  # heavy: imported on first use, not at start-up
        PURPOSES,
        PackError,
        load_pack,
    )
    from bot.paging import deployment  # heavy: imported on first use, not at start-up

    if args.purpose and args.purpose not in PURPOSES:
        print(
            f"safeguard contacts: unknown purpose {args.purpose!r} (one of: {', '.join(PURPOSES)})",
            file=sys.stderr,
        )
        return 2
    try:
        when = clock.parse_local(args.at) if args.at else deployment.current().now()
    except clock.ClockError:
        print(
            f"safeguard contacts: --at {args.at!r} is not an ISO time, e.g. 2026-12-28T19:30",
            file=sys.stderr,
        )
        return 2
    try:
        pack = load_pack(args.org) if args.org else deployment.current().pack
    except PackError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    purposes = (
        [args.purpose]
        if args.purpose
        else [
            "safeguarding_lead",
            "emergency",
            "out_of_hours_social_care",
        ]
    )
    found = {purpose: route(pack, purpose, when) for purpose in purposes}
    if args.json:
        payload = {
            "org": pack.org,
            "at": when.isoformat(),
            "routes": {p: [item.as_dict() for item in items] for p, items in found.items()},
        }
        print(json.dumps(payload, indent=2, ensure_ascii=False))
        return 0
    print(f"{pack.name} - {when:%a %d %b %Y %H:%M %Z}")
    for purpose, items in found.items():
        print(f"\n{purpose}:")
        for item in items:
            contact = item.contact
            if contact is None:
                print(f"  - {item.reason}")
                continue
            reach = " / ".join(x for x in (item.number, contact.email) if x) or "number not set"
            print(f"  - {contact.name}: {reach}")
            print(f"    {item.reason}")
            print(f"    source: {item.source}")
    return 0
