"""`safeguard concerns` and `safeguard concern ...`: the Safeguarding Lead's view of the log.

    safeguard concerns [--open] [--worker ID] [--json]
    safeguard concern show REF [--json]
    safeguard concern add-event REF TYPE TEXT [--at ISO] [--by NAME]
    safeguard concern close REF [--by NAME] [--reason TEXT]
    safeguard concern reopen REF [--by NAME] [--reason TEXT]

The database is SAFEGUARD_DB_URL; the key SAFEGUARD_KEY / SAFEGUARD_KEY_FILE (see
bot.crypto). Errors are one line on stderr: exit 2 for input that cannot be used
(unknown event type, unreadable time), exit 1 for everything else (unknown reference,
database or key problems).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from datetime import datetime
from typing import Any

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2

USER_ENV = "SAFEGUARD_USER"


def register(subparsers: argparse._SubParsersAction) -> None:
    listing = subparsers.add_parser(
        "concerns",
        help="list the concerns in the concern log",
        description=(
            "List recorded concerns, newest first: reference, when, urgency, status, worker "
            "and categories (no child details; use `safeguard concern show REF`)."
        ),
    )
    listing.add_argument("--open", action="store_true", help="only concerns still open")
    listing.add_argument("--worker", metavar="ID", help="only concerns recorded by this worker id")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.set_defaults(func=run_list)

    concern = subparsers.add_parser(
        "concern",
        help="show one concern, add to its chronology, close or reopen it",
        description=(
            "Work with one concern by its reference (e.g. SG-7KQ2-M4XP): show it with its "
            "chronology, add an event, close it or reopen it. Nothing is ever edited or "
            "deleted; every change is a new dated event."
        ),
    )
    actions = concern.add_subparsers(dest="concern_command", metavar="ACTION")
    concern.set_defaults(func=lambda _args: _usage(concern))

    show = actions.add_parser(
        "show",
        help="the full record and its chronology",
        description="Show a concern (decrypted) and its chronology in the order things happened.",
    )
    show.add_argument("ref", metavar="REF", help="the concern reference, e.g. SG-7KQ2-M4XP")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(func=run_show)

    add = actions.add_parser(
        "add-event",
        help="add an event to the chronology",
        description=(
            "Append an event of one of the organisation's event types (e.g. 'Consultation "
            "with SGL'). --at backdates it: it sorts by when it happened, and the time it "
            "was recorded is kept too."
        ),
    )
    add.add_argument("ref", metavar="REF", help="the concern reference")
    add.add_argument("type", metavar="TYPE", help="event type, e.g. 'SG update'")
    add.add_argument("text", metavar="TEXT", help="what happened")
    add.add_argument(
        "--at", metavar="ISO", help="when it happened (local time), e.g. 2026-11-23T14:30"
    )
    add.add_argument(
        "--by", metavar="NAME", help=f"who is adding it (default: ${USER_ENV} or login)"
    )
    add.set_defaults(func=run_add_event)

    for name, verb in (("close", "Close"), ("reopen", "Reopen")):
        sub = actions.add_parser(
            name,
            help=f"{verb.lower()} the concern (recorded as an event)",
            description=f"{verb} a concern. This is recorded as a dated event with the reason.",
        )
        sub.add_argument("ref", metavar="REF", help="the concern reference")
        sub.add_argument("--by", metavar="NAME", help=f"who (default: ${USER_ENV} or login)")
        sub.add_argument("--reason", metavar="TEXT", help="why (strongly recommended)")
        sub.add_argument("--at", metavar="ISO", help="when it happened, if earlier than now")
        sub.set_defaults(func=run_close if name == "close" else run_reopen)


# --------------------------------------------------------------------------- helpers


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return EXIT_BAD_INPUT


def _fail(message: str, code: int) -> int:
    print(f"safeguard: {message}", file=sys.stderr)
    return code


def _who(given: str | None) -> str:
    if given and given.strip():
        return given.strip()
    from_env = os.environ.get(USER_ENV, "").strip()
    if from_env:
        return from_env
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _when(text: str | None) -> datetime | None:
    """Parse --at; raises ValueError with the plain message."""
    if text is None:
        return None
    from bot import clock

    try:
        return clock.parse_local(text)
    except clock.ClockError:
        raise ValueError(
            f"--at {text!r} is not a date and time; use e.g. 2026-11-23T14:30"
        ) from None


def _run(action) -> int:  # noqa: ANN001
    """Open the log, run `action(log)`, and turn every failure into one line + exit code."""
    from bot.concern_log import (
        ConcernLog,
        ConcernLogError,
        InvalidConcern,
        UnknownEventType,
    )

    try:
        return action(ConcernLog())
    except (UnknownEventType, InvalidConcern) as exc:
        return _fail(str(exc), EXIT_BAD_INPUT)
    except ConcernLogError as exc:
        return _fail(str(exc), EXIT_FAILED)


def _local(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


# --------------------------------------------------------------------------- commands

LIST_FIELDS = (
    "reference",
    "created_at",
    "urgency",
    "status",
    "worker_id",
    "worker_name",
    "categories",
)


def run_list(args: argparse.Namespace) -> int:
    def action(log) -> int:  # noqa: ANN001
        views = log.list(open_only=args.open, worker_id=args.worker)
        if args.json:
            _print_json(
                [{k: v for k, v in view.to_dict().items() if k in LIST_FIELDS} for view in views]
            )
            return EXIT_OK
        if not views:
            print("No open concerns." if args.open else "No concerns recorded.")
            return EXIT_OK
        header = (
            f"{'REFERENCE':<13} {'RECORDED':<16} {'URGENCY':<9} {'STATUS':<6} WORKER / CATEGORIES"
        )
        print(header)
        for view in views:
            categories = ", ".join(view.categories) or "-"
            print(
                f"{view.reference:<13} {_local(view.created_at):<16} {view.urgency:<9} "
                f"{view.status:<6} {view.worker_name} ({view.worker_id}) / {categories}"
            )
        return EXIT_OK

    return _run(action)


def _block(label: str, text: str) -> list[str]:
    if not text:
        return [f"{label}: -"]
    return [f"{label}:"] + [f"  {line}" for line in text.split("\n")]


def run_show(args: argparse.Namespace) -> int:
    def action(log) -> int:  # noqa: ANN001
        view = log.get(args.ref)
        events = log.chronology(view.reference)
        if args.json:
            data = view.to_dict()
            data["chronology"] = [event.to_dict() for event in events]
            _print_json(data)
            return EXIT_OK
        lines = [
            f"{view.reference}  {view.status.upper()}  urgency: {view.urgency}  org: {view.org}",
            f"Recorded {_local(view.created_at)} by {view.worker_name} ({view.worker_id}"
            + (f", {view.worker_contact})" if view.worker_contact else ")"),
            "Categories: " + (", ".join(view.categories) or "-"),
            f"Child: {view.child}    Age / date of birth: {view.child_age or '-'}",
            f"Disclosed: {_local(view.disclosed_at)}    When it happened: "
            f"{view.happened_when or '-'}    Where: {view.happened_where or '-'}",
            *_block("The child's words (verbatim)", view.child_words),
            *_block("What the worker saw", view.observations),
            *_block("Others present or involved", view.others_involved),
            *_block("What the worker has done", view.actions_taken),
            *_block("Who the worker has told", view.told),
            *_block("The worker's own view (not fact)", view.worker_view),
        ]
        if view.language_choices:
            lines.append(
                "Language checks: " + json.dumps(view.language_choices, ensure_ascii=False)
            )
        lines.append("")
        lines.append("Chronology (in the order it happened):")
        for event in events:
            late = (event.recorded_at - event.happened_at).total_seconds() > 60
            recorded = f", recorded {_local(event.recorded_at)}" if late else ""
            lines.append(f"  {_local(event.happened_at)}  {event.type}  ({event.by}{recorded})")
            lines.extend(f"      {line}" for line in event.text.split("\n"))
        print("\n".join(lines))
        return EXIT_OK

    return _run(action)


def run_add_event(args: argparse.Namespace) -> int:
    try:
        when = _when(args.at)
    except ValueError as exc:
        return _fail(str(exc), EXIT_BAD_INPUT)

    def action(log) -> int:  # noqa: ANN001
        event = log.add_event(args.ref, args.type, args.text, _who(args.by), happened_at=when)
        print(
            f"Added '{event.type}' at {_local(event.happened_at)} to {log.get(args.ref).reference}."
        )
        return EXIT_OK

    return _run(action)


def _change_status(args: argparse.Namespace, closing: bool) -> int:
    try:
        when = _when(args.at)
    except ValueError as exc:
        return _fail(str(exc), EXIT_BAD_INPUT)
    reason = (args.reason or "").strip() or "No reason given."

    def action(log) -> int:  # noqa: ANN001
        change = log.close if closing else log.reopen
        event = change(args.ref, _who(args.by), reason, happened_at=when)
        view = log.get(args.ref)
        print(
            f"{view.reference} is now {view.status} "
            f"('{event.type}' at {_local(event.happened_at)})."
        )
        return EXIT_OK

    return _run(action)


def run_close(args: argparse.Namespace) -> int:
    return _change_status(args, closing=True)


def run_reopen(args: argparse.Namespace) -> int:
    return _change_status(args, closing=False)
