"""`safeguard staff`: who may use the assistant on Telegram, from the server's command line.

    safeguard staff list [--json]                     roster people, approved staff, requests
    safeguard staff add TELEGRAM_ID NAME [--role R] [--phone P]
    safeguard staff remove TELEGRAM_ID
    safeguard staff approve REQUEST [--role R]
    safeguard staff refuse REQUEST

The same as the leads' chat commands (/staff, /addstaff, /removestaff, /approve, /refuse),
for whoever runs the server, e.g. to add the first lead who is not in the roster file.
People in the roster (SAFEGUARD_ROSTER) are changed by editing the roster, not here.
Problems are one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys

EXIT_OK, EXIT_BAD_INPUT = 0, 2
CLI_NAME = "safeguard staff (command line)"


def register(subparsers: argparse._SubParsersAction) -> None:
    staff = subparsers.add_parser(
        "staff",
        help="who may use the assistant on Telegram: list, add, remove, approve",
        description=(
            "Staff who may chat with the assistant on Telegram: everyone in the roster with a "
            "telegram_chat_id, plus people added or approved in chat. Strangers who sent "
            "/start wait as numbered requests."
        ),
    )
    actions = staff.add_subparsers(dest="staff_command", metavar="ACTION")
    staff.set_defaults(func=lambda _args: _usage(staff))

    listing = actions.add_parser("list", help="staff with access, and requests waiting")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(func=run_list)

    add = actions.add_parser("add", help="give someone access (or change their role)")
    add.add_argument("telegram_id", help="their Telegram user id (a number)")
    add.add_argument("name", help="their name, as the Safeguarding Lead knows them")
    add.add_argument("--role", default="worker", help="worker, deputy, lead or admin (worker)")
    add.add_argument("--phone", help="a number the lead can call them back on")
    add.set_defaults(func=run_add)

    remove = actions.add_parser("remove", help="take someone's access away")
    remove.add_argument("telegram_id", help="their Telegram user id")
    remove.set_defaults(func=run_remove)

    approve = actions.add_parser("approve", help="approve a /start request")
    approve.add_argument("request", help="the request number")
    approve.add_argument("--role", default="worker", help="worker, deputy, lead or admin")
    approve.set_defaults(func=run_approve)

    refuse = actions.add_parser("refuse", help="refuse a /start request")
    refuse.add_argument("request", help="the request number")
    refuse.set_defaults(func=run_refuse)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return EXIT_BAD_INPUT


def _error(message: str) -> int:
    print(f"safeguard staff: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _directory():  # noqa: ANN202
    from bot.records.access import StaffDirectory  # heavy: imported on first use, not at start-up

    return StaffDirectory()


def _operator():  # noqa: ANN202
    from bot.records.access import Identity  # heavy: imported on first use, not at start-up

    return Identity(telegram_user_id=0, name=CLI_NAME, role="admin", source="cli")


def _number(text: str, what: str) -> int:
    from bot.records.access import AccessError  # heavy: imported on first use, not at start-up

    cleaned = text.strip().lstrip("#")
    if not cleaned.isdigit():
        raise AccessError(f"{text!r} is not a {what} (a number)")
    return int(cleaned)


def _run(action) -> int:  # noqa: ANN001
    from bot.records.access import AccessError  # heavy: imported on first use, not at start-up

    try:
        print(action())
    except AccessError as exc:
        return _error(str(exc))
    return EXIT_OK


def run_list(args: argparse.Namespace) -> int:
    from bot.records.access import AccessError  # heavy: imported on first use, not at start-up

    try:
        directory = _directory()
        staff, pending = directory.staff(), directory.pending()
    except AccessError as exc:
        return _error(str(exc))
    if args.json:
        print(
            json.dumps(
                {
                    "staff": [
                        {
                            "telegram_id": p.telegram_user_id,
                            "name": p.name,
                            "role": p.role,
                            "phone": p.phone,
                            "source": p.source,
                        }
                        for p in staff
                    ],
                    "requests": [
                        {
                            "id": r.id,
                            "telegram_id": r.telegram_user_id,
                            "name": r.name,
                            "username": r.username,
                            "requested_at": r.requested_at.isoformat(),
                        }
                        for r in pending
                    ],
                },
                indent=2,
            )
        )
        return EXIT_OK
    print(f"Staff with access ({len(staff)}):")
    for p in staff:
        where = "roster" if p.source == "roster" else "approved"
        print(f"  {p.role:<7} {p.name:<32} telegram {p.telegram_user_id:<12} ({where})")
    if pending:
        print(f"Requests waiting ({len(pending)}):")
        for r in pending:
            print(f"  #{r.id:<4} {r.who}")
    else:
        print("No requests waiting.")
    return EXIT_OK


def run_add(args: argparse.Namespace) -> int:
    def action() -> str:
        person = _directory().add_staff(
            _number(args.telegram_id, "Telegram user id"),
            args.name,
            args.role,
            by=_operator(),
            phone=args.phone,
        )
        return f"Added {person.name} ({person.role}), Telegram id {person.telegram_user_id}."

    return _run(action)


def run_remove(args: argparse.Namespace) -> int:
    def action() -> str:
        person = _directory().remove_staff(
            _number(args.telegram_id, "Telegram user id"), by=_operator()
        )
        return f"Removed {person.name}: they no longer have access."

    return _run(action)


def run_approve(args: argparse.Namespace) -> int:
    def action() -> str:
        request = _directory().approve(
            _number(args.request, "request number"), _operator(), args.role
        )
        return (
            f"Approved #{request.id}: {request.who} now has access as {request.role}. "
            "They can message the bot now."
        )

    return _run(action)


def run_refuse(args: argparse.Namespace) -> int:
    def action() -> str:
        request = _directory().refuse(_number(args.request, "request number"), _operator())
        return f"Refused #{request.id}: {request.who}."

    return _run(action)
