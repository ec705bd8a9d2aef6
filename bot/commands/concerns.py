"""`safeguard concerns` and `safeguard concern ...`: the concern log, as one person may see it.

    safeguard concerns [--as ID] [--open] [--worker ID] [--reason TEXT] [--json]
    safeguard concern show REF --reason TEXT [--as ID] [--json]
    safeguard concern add-event REF TYPE TEXT [--as ID] [--at ISO] [--reason TEXT]
    safeguard concern close REF [--as ID] [--reason TEXT] [--at ISO]
    safeguard concern reopen REF [--as ID] [--reason TEXT] [--at ISO]

Who is acting is the roster person given with ``--as`` or SAFEGUARD_USER; their role in
the roster decides what they see (`bot.records.concern_access`: workers their own concerns, leads,
deputies and admins every concern of the organisation). Every read and write is recorded
in the audit trail (`bot.records.audit`), and reading a concern needs a ``--reason``.

The database is SAFEGUARD_DB_URL; the key SAFEGUARD_KEY / SAFEGUARD_KEY_FILE (see
bot.records.crypto). Errors are one line on stderr: exit 2 for input that cannot be used
(unknown event type, unreadable time, no reason, someone not in the roster), exit 3 when
the person may not do it, exit 1 for everything else (unknown reference, database or key
problems).
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import Any

from bot.commands import (  # noqa: F401 - shared exit codes and messages
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_REFUSED,
)
from bot.commands import fail as _fail
from bot.commands import usage as _usage

USER_ENV = "SAFEGUARD_USER"
AS_HELP = f"your person id in the roster (default: ${USER_ENV})"


def register(subparsers: argparse._SubParsersAction) -> None:
    listing = subparsers.add_parser(
        "concerns",
        help="list the concerns in the concern log you may see",
        description=(
            "List recorded concerns, newest first: reference, when, urgency, status, worker "
            "and categories (no child details; use `safeguard concern show REF`). Workers "
            "see the concerns they raised; leads, deputies and admins see all. Audited."
        ),
    )
    listing.add_argument("--as", dest="person", metavar="ID", help=AS_HELP)
    listing.add_argument("--open", action="store_true", help="only concerns still open")
    listing.add_argument("--worker", metavar="ID", help="only concerns recorded by this worker id")
    listing.add_argument("--reason", metavar="TEXT", help="why (kept in the audit trail)")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.set_defaults(func=run_list)

    concern = subparsers.add_parser(
        "concern",
        help="show one concern, add to its chronology, close or reopen it",
        description=(
            "Work with one concern by its reference (e.g. SG-7KQ2-M4XP): show it with its "
            "chronology, add an event, close it or reopen it. Nothing is ever edited or "
            "deleted; every change is a new dated event. Every read and write is audited."
        ),
    )
    actions = concern.add_subparsers(dest="concern_command", metavar="ACTION")
    concern.set_defaults(func=lambda _args: _usage(concern))

    show = actions.add_parser(
        "show",
        help="the full record and its chronology",
        description=(
            "Show a concern (decrypted) and its chronology in the order things happened. "
            "--reason is required and kept in the audit trail."
        ),
    )
    show.add_argument("ref", metavar="REF", help="the concern reference, e.g. SG-7KQ2-M4XP")
    show.add_argument("--as", dest="person", metavar="ID", help=AS_HELP)
    show.add_argument("--reason", metavar="TEXT", help="why you are reading it (required)")
    show.add_argument("--json", action="store_true", help="print JSON (audited as an export)")
    show.set_defaults(func=run_show)

    add = actions.add_parser(
        "add-event",
        help="add an event to the chronology",
        description=(
            "Append an event of one of the organisation's event types (e.g. 'Consultation "
            "with SGL'), recorded as by you. --at backdates it: it sorts by when it "
            "happened, and the time it was recorded is kept too."
        ),
    )
    add.add_argument("ref", metavar="REF", help="the concern reference")
    add.add_argument("type", metavar="TYPE", help="event type, e.g. 'SG update'")
    add.add_argument("text", metavar="TEXT", help="what happened")
    add.add_argument("--as", dest="person", metavar="ID", help=AS_HELP)
    add.add_argument(
        "--at", metavar="ISO", help="when it happened (local time), e.g. 2026-11-23T14:30"
    )
    add.add_argument("--reason", metavar="TEXT", help="why (kept in the audit trail)")
    add.set_defaults(func=run_add_event)

    for name, verb in (("close", "Close"), ("reopen", "Reopen")):
        sub = actions.add_parser(
            name,
            help=f"{verb.lower()} the concern (recorded as an event; leads and deputies)",
            description=(
                f"{verb} a concern. This is recorded as a dated event with the reason. Only "
                "a Safeguarding Lead or deputy may."
            ),
        )
        sub.add_argument("ref", metavar="REF", help="the concern reference")
        sub.add_argument("--as", dest="person", metavar="ID", help=AS_HELP)
        sub.add_argument("--reason", metavar="TEXT", help="why (strongly recommended)")
        sub.add_argument("--at", metavar="ISO", help="when it happened, if earlier than now")
        sub.set_defaults(func=run_close if name == "close" else run_reopen)


# --------------------------------------------------------------------------- helpers


def _when(text: str | None) -> datetime | None:
    """Parse --at; raises ValueError with the plain message."""
    if text is None:
        return None
    from bot.core import clock  # heavy: imported on first use, not at start-up

    try:
        return clock.parse_local(text)
    except clock.ClockError:
        raise ValueError(
            f"--at {text!r} is not a date and time; use e.g. 2026-11-23T14:30"
        ) from None


def _run(args: argparse.Namespace, action) -> int:  # noqa: ANN001
    """Find who is acting, open the log for them, run `action(access)`, and turn every
    failure into one line + exit code."""
    from bot.core.datafile import DataFileError  # heavy: imported on first use, not at start-up
    from bot.paging.reporting import concern_log  # heavy: imported on first use, not at start-up
    from bot.records.concern_access import (  # heavy: imported on first use, not at start-up
        AccessDenied,
        ConcernAccess,
        UnknownPerson,
        actor_from_roster,
    )
    from bot.records.concern_log import (  # heavy: imported on first use, not at start-up
        ConcernLogError,
        InvalidConcern,
        UnknownEventType,
    )

    try:
        actor = actor_from_roster(getattr(args, "person", None))
        return action(ConcernAccess(concern_log(), actor))
    except UnknownPerson as exc:
        return _fail(str(exc), EXIT_BAD_INPUT)
    except AccessDenied as exc:
        return _fail(str(exc), EXIT_REFUSED)
    except (UnknownEventType, InvalidConcern) as exc:
        return _fail(str(exc), EXIT_BAD_INPUT)
    except ConcernLogError as exc:
        return _fail(str(exc), EXIT_FAILED)
    except DataFileError as exc:  # the organisation's pack (its event types) is broken
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
    def action(access) -> int:  # noqa: ANN001
        views = access.list(open_only=args.open, worker_id=args.worker, reason=args.reason or "")
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

    return _run(args, action)


def _block(label: str, text: str) -> list[str]:
    if not text:
        return [f"{label}: -"]
    return [f"{label}:"] + [f"  {line}" for line in text.split("\n")]


def run_show(args: argparse.Namespace) -> int:
    if not (args.reason or "").strip():
        return _fail(
            "say why you are reading this concern: --reason TEXT (kept in the audit trail)",
            EXIT_BAD_INPUT,
        )

    def action(access) -> int:  # noqa: ANN001
        view, events = access.show(args.ref, args.reason, export=args.json)
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
            *_block("Asked if anyone was in danger now, the worker wrote", view.danger_answer),
            *_block("Asked if the child was still there, the worker wrote", view.timing_answer),
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

    return _run(args, action)


def run_add_event(args: argparse.Namespace) -> int:
    try:
        when = _when(args.at)
    except ValueError as exc:
        return _fail(str(exc), EXIT_BAD_INPUT)

    def action(access) -> int:  # noqa: ANN001
        event = access.add_event(args.ref, args.type, args.text, when, reason=args.reason or "")
        from bot.records.concern_log import (  # heavy: imported on first use, not at start-up
            normalise_reference,  # heavy: imported on first use, not at start-up
        )

        print(
            f"Added '{event.type}' at {_local(event.happened_at)} to "
            f"{normalise_reference(args.ref)}."
        )
        return EXIT_OK

    return _run(args, action)


def _change_status(args: argparse.Namespace, closing: bool) -> int:
    try:
        when = _when(args.at)
    except ValueError as exc:
        return _fail(str(exc), EXIT_BAD_INPUT)
    reason = (args.reason or "").strip() or "No reason given."

    def action(access) -> int:  # noqa: ANN001
        change = access.close if closing else access.reopen
        event = change(args.ref, reason, when)
        from bot.records.concern_log import (  # heavy: imported on first use, not at start-up
            normalise_reference,  # heavy: imported on first use, not at start-up
        )

        status = "closed" if closing else "open"
        print(
            f"{normalise_reference(args.ref)} is now {status} "
            f"('{event.type}' at {_local(event.happened_at)})."
        )
        return EXIT_OK

    return _run(args, action)


def run_close(args: argparse.Namespace) -> int:
    return _change_status(args, closing=True)


def run_reopen(args: argparse.Namespace) -> int:
    return _change_status(args, closing=False)
