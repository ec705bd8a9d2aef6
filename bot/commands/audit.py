"""`safeguard audit verify` and `safeguard audit show`: the audit trail of concern access.

    safeguard audit verify [--json] [--no-anchor]
    safeguard audit show [--as ID] [--concern REF] [--person ID] [--last N] [--reason TEXT] [--json]

``verify`` checks every entry's hash, the chain and the positions (see `bot.records.audit`).
Exit 0: intact; 1: not intact, the first bad entry named; 2: it cannot check (database
unreachable, no audit trail in it, anchor file unreadable).

``show`` is for Safeguarding Leads, deputies and admins (the roster person ``--as`` or
SAFEGUARD_USER), and is itself audited. Exit 0, 1 failure, 2 bad input, 3 refused.
"""

from __future__ import annotations

import argparse
import json
import sys

from bot.commands import (  # noqa: F401 - shared exit codes and messages
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_REFUSED,
)
from bot.commands import fail as _fail
from bot.commands import usage as _usage

EXIT_INTACT = 0
EXIT_BROKEN = 1
EXIT_CANNOT_CHECK = 2


def register(subparsers: argparse._SubParsersAction) -> None:
    audit = subparsers.add_parser(
        "audit",
        help="check or read the audit trail of who read or changed concerns",
        description=(
            "The audit trail records every read and write of a concern: who, what, when "
            "and why. Entries are hash-chained so any change, deletion or reordering shows."
        ),
    )
    actions = audit.add_subparsers(dest="audit_command", metavar="ACTION")
    audit.set_defaults(func=lambda _args: _usage(audit))

    verify = actions.add_parser(
        "verify",
        help="check the hash chain (exit 0 intact, 1 not intact, 2 cannot check)",
        description=(
            "Check every entry against its hash and the one before it. Remembers the last "
            "entry checked (SAFEGUARD_VAR/audit-anchor.json) so entries removed from the end "
            "are caught next time. Exit 0 intact, 1 not intact (first bad entry named), 2 "
            "cannot check."
        ),
    )
    verify.add_argument("--json", action="store_true", help="print the result as JSON")
    verify.add_argument(
        "--no-anchor", action="store_true", help="neither check nor move the anchor"
    )
    verify.set_defaults(func=run_verify)

    show = actions.add_parser(
        "show",
        help="list audit entries (leads, deputies and admins)",
        description="List audit entries in order, optionally for one concern or one person.",
    )
    show.add_argument(
        "--as", dest="person_as", metavar="ID", help="your roster id (default: $SAFEGUARD_USER)"
    )
    show.add_argument("--concern", metavar="REF", help="only entries about this concern")
    show.add_argument("--person", metavar="ID", help="only entries by this person id")
    show.add_argument("--last", metavar="N", type=int, help="only the last N entries")
    show.add_argument("--reason", metavar="TEXT", help="why (kept in the audit trail)")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(func=run_show)


def _trail():  # noqa: ANN202
    """The audit trail without migrating (a check must not change what it checks);
    AuditError if the database has none."""
    from sqlalchemy import inspect  # heavy: imported on first use, not at start-up
    from sqlalchemy.exc import SQLAlchemyError  # heavy: imported on first use, not at start-up

    from bot.records.audit import (  # heavy: imported on first use, not at start-up
        AuditEntry,
        AuditError,
        AuditTrail,
    )

    trail = AuditTrail(migrate=False)
    try:
        present = inspect(trail.engine).has_table(AuditEntry.__tablename__)
    except SQLAlchemyError as exc:
        raise trail._failed("open the audit trail", exc) from None
    if not present:
        raise AuditError(
            f"the database {trail._where()} has no audit trail (it has not been prepared "
            "by this version of safeguard: run any `safeguard concerns` command first)"
        )
    return trail


def run_verify(args: argparse.Namespace) -> int:
    from bot.records.audit import AuditError  # heavy: imported on first use, not at start-up

    try:
        trail = _trail()
    except AuditError as exc:
        return _fail(f"cannot check the audit trail: {exc}", EXIT_CANNOT_CHECK)
    try:
        result = trail.verify(anchor=not args.no_anchor)
    except AuditError as exc:
        return _fail(f"cannot check the audit trail: {exc}", EXIT_CANNOT_CHECK)
    finally:
        trail.engine.dispose()
    if args.json:
        print(
            json.dumps(
                {
                    "intact": result.ok,
                    "entries": result.count,
                    "head": result.head,
                    "first_bad_entry": result.bad_position,
                    "problem": result.problem or None,
                },
                indent=2,
            )
        )
    elif result.ok:
        print(result.message())
    else:
        print(result.message(), file=sys.stderr)
    return EXIT_INTACT if result.ok else EXIT_BROKEN


def run_show(args: argparse.Namespace) -> int:
    from bot.records.audit import (  # heavy: imported on first use, not at start-up
        AuditError,
        AuditTrail,
    )
    from bot.records.concern_access import (  # heavy: imported on first use, not at start-up
        AUDIT_ROLES,
        AccessDenied,
        UnknownPerson,
        actor_from_roster,
        require_role,
    )
    from bot.records.concern_log import (  # heavy: imported on first use, not at start-up
        ConcernLogError,
        ConcernNotFound,
        normalise_reference,
    )

    if args.last is not None and args.last < 1:
        return _fail("--last must be 1 or more", EXIT_BAD_INPUT)
    try:
        ref = normalise_reference(args.concern) if args.concern else None
    except ConcernNotFound as exc:
        return _fail(str(exc), EXIT_BAD_INPUT)
    try:
        actor = actor_from_roster(args.person_as)
        trail = AuditTrail()
        try:
            require_role(actor, AUDIT_ROLES, "read the audit trail")
        except AccessDenied:
            trail.record(
                actor, "refused", concern_ref=ref, detail="audit-show", reason=args.reason or ""
            )
            raise
        entries = trail.entries(concern_ref=ref, person_id=args.person, limit=args.last)
        filters = [
            f"concern {ref}" if ref else "",
            f"person {args.person}" if args.person else "",
            f"last {args.last}" if args.last else "",
        ]
        trail.record(
            actor,
            "audit-show",
            concern_ref=ref,
            detail=f"{len(entries)} entries" + "".join(f"; {f}" for f in filters if f),
            reason=args.reason or "read the audit trail",
        )
    except UnknownPerson as exc:
        return _fail(str(exc), EXIT_BAD_INPUT)
    except AccessDenied as exc:
        return _fail(str(exc), EXIT_REFUSED)
    except (AuditError, ConcernLogError) as exc:
        return _fail(str(exc), EXIT_FAILED)
    if args.json:
        print(json.dumps([e.to_dict() for e in entries], indent=2, ensure_ascii=False))
        return EXIT_OK
    if not entries:
        print("No audit entries match.")
        return EXIT_OK
    print(f"{'#':>5} {'WHEN (LONDON)':<16} {'WHO':<28} {'ACTION':<16} {'CONCERN':<13} DETAIL / WHY")
    for e in entries:
        who = f"{e.person_id} ({e.role}, {e.channel})"
        why = " / ".join(part for part in (e.detail, e.reason) if part) or "-"
        print(
            f"{e.position:>5} {e.recorded_at.strftime('%Y-%m-%d %H:%M'):<16} {who:<28} "
            f"{e.action:<16} {e.concern_ref or '-':<13} {why}"
        )
    return EXIT_OK
