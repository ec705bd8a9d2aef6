"""`safeguard retention due`: concerns whose retention review date has come. Never deletes.

    safeguard retention due [--at DATE] [--all] [--json] [--as ID] [--reason TEXT]

Lists each concern of the organisation (SAFEGUARD_ORG) under each retention rule in its
policy pack (`bot.records.retention`): reference, rule, review date and why. A concern whose rule
needs a date of birth the log does not hold is listed as "review date unknown" for a
person to check. For Safeguarding Leads, deputies and admins (the roster person ``--as`` or
SAFEGUARD_USER); each review is written to the audit trail.

Exit 0 (whether or not anything is due), 1 failure, 2 bad input, 3 refused.
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from typing import Any

from bot.commands import (  # noqa: F401 - shared exit codes and messages
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_REFUSED,
)
from bot.commands import fail as _fail
from bot.commands import usage as _usage


def register(subparsers: argparse._SubParsersAction) -> None:
    retention = subparsers.add_parser(
        "retention",
        help="retention review: concerns whose review date has come (never deletes)",
        description=(
            "Retention rules come from the organisation's policy pack, with their source. "
            "safeguard lists what is due for review; a person decides; nothing is deleted."
        ),
    )
    actions = retention.add_subparsers(dest="retention_command", metavar="ACTION")
    retention.set_defaults(func=lambda _args: _usage(retention))

    due = actions.add_parser(
        "due",
        help="list concerns whose retention review date has come",
        description=(
            "List concerns whose review date under the organisation's retention rules has "
            "come (or cannot be worked out: e.g. no date of birth recorded). Never deletes."
        ),
    )
    due.add_argument("--at", metavar="DATE", help="review as of this date (default: today)")
    due.add_argument(
        "--all", action="store_true", help="also list concerns not yet due, with their dates"
    )
    due.add_argument("--json", action="store_true", help="print JSON")
    due.add_argument(
        "--as", dest="person", metavar="ID", help="your roster id (default: $SAFEGUARD_USER)"
    )
    due.add_argument("--reason", metavar="TEXT", help="why (kept in the audit trail)")
    due.set_defaults(func=run_due)


def parse_day(text: str | None) -> date:
    """--at as a date (2026-11-24 or 24/11/2026); today in Europe/London by default."""
    from bot.paging import deployment  # heavy: imported on first use, not at start-up
    from bot.records.retention import dates_in  # heavy: imported on first use, not at start-up

    if text is None:
        return deployment.current().now().date()
    days = dates_in(text)
    if len(days) != 1 or not text.strip()[:1].isdigit():
        raise ValueError(f"--at {text!r} is not a date; use e.g. 2026-11-24")
    return days[0]


def _rule_dict(rule: Any) -> dict[str, Any]:
    return {
        "what": rule.what,
        "period": rule.period,
        "source": rule.source.cite(),
        "review_after_years": rule.review_after_years,
        "counted_from": rule.counted_from,
        "note": rule.note,
    }


def run_due(args: argparse.Namespace) -> int:
    from bot.core.datafile import DataFileError  # heavy: imported on first use, not at start-up
    from bot.paging import deployment  # heavy: imported on first use, not at start-up
    from bot.records import retention  # heavy: imported on first use, not at start-up
    from bot.records.audit import AuditError  # heavy: imported on first use, not at start-up
    from bot.records.concern_access import (  # heavy: imported on first use, not at start-up
        READ_ALL_ROLES,
        AccessDenied,
        ConcernAccess,
        UnknownPerson,
        actor_from_roster,
        require_role,
        visible,
    )
    from bot.records.concern_log import (
        ConcernLogError,  # heavy: imported on first use, not at start-up
    )

    try:
        at = parse_day(args.at)
    except ValueError as exc:
        return _fail(str(exc), EXIT_BAD_INPUT)
    try:
        here = deployment.current()
        actor = actor_from_roster(args.person)
        pack = here.pack
        access = ConcernAccess(here.concern_log(), actor)
        try:
            require_role(actor, READ_ALL_ROLES, "run a retention review")
        except AccessDenied:
            access.audit("refused", detail="retention-review", reason=args.reason or "")
            raise
        concerns = visible(actor, access.log.list(), here.org)
        items = (retention.review_items if args.all else retention.due)(pack, concerns, at)
        counts = {state: sum(i.state == state for i in items) for state in ("due", "unknown")}
        access.audit(
            "retention-review",
            detail=(
                f"at {at.isoformat()}: {counts['due']} due, {counts['unknown']} unknown, "
                f"{len(concerns)} concerns"
            ),
            reason=args.reason or "retention review",
        )
    except UnknownPerson as exc:
        return _fail(str(exc), EXIT_BAD_INPUT)
    except AccessDenied as exc:
        return _fail(str(exc), EXIT_REFUSED)
    except (ConcernLogError, AuditError, DataFileError) as exc:
        return _fail(str(exc), EXIT_FAILED)

    if args.json:
        print(
            json.dumps(
                {
                    "org": pack.org,
                    "at": at.isoformat(),
                    "rules": [_rule_dict(rule) for rule in pack.retention.rules],
                    "not_set": pack.retention.not_set,
                    "ask": pack.retention.ask,
                    "items": [item.to_dict() for item in items],
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        return EXIT_OK

    print(
        f"Retention review for {pack.name} on {at.isoformat()} (nothing is deleted; "
        "a person decides what happens to each file)."
    )
    if not pack.retention.rules:
        print(retention.not_set_text(pack))
        return EXIT_OK
    for rule in pack.retention.rules:
        print(f"Rule: {rule.what}: {rule.period}. (Source: {rule.source.cite()}.)")
        if rule.note:
            print(f"  Note: {rule.note}")
    for rule in retention.unscheduled_rules(pack):
        print(f"  '{rule.what}' has no period safeguard can count: check it by hand.")
    if not items:
        print(f"No concerns are due for review on {at.isoformat()}.")
        return EXIT_OK
    print(f"{'REFERENCE':<13} {'STATUS':<6} {'RECORDED':<10} {'REVIEW':<10} {'STATE':<7} WHY")
    for item in items:
        review = item.review_date.isoformat() if item.review_date else "unknown"
        print(
            f"{item.reference:<13} {item.status:<6} {item.recorded.isoformat():<10} "
            f"{review:<10} {item.state.upper():<7} {item.why}"
        )
    return EXIT_OK
