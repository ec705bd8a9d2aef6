"""`safeguard notify-failure UNIT`: page the on-call lead that a scheduled check or a service
failed (systemd's OnFailure= runs it: deploy/systemd/safeguard-notify-failure@.service).

    safeguard notify-failure safeguard-audit-verify.service [--urgency urgent]

The notice goes through the paging outbox like any page, so the running pager sends it,
retries it and escalates it until someone acknowledges. It carries no child data: its
reference is `OPS-` and the unit's name, its category `other`, and in place of a worker it
names the server and where to look (`journalctl -u UNIT`). While a page for the same unit
is still active (not acknowledged), no second one is queued: a check that fails every five
minutes pages once. Exit status: 0 queued, 1 the
database could not take it (the failure is then printed, for the journal), 2 bad input.
"""

from __future__ import annotations

import argparse
import re
import socket
import sys

OPS_PREFIX = "OPS-"
_NOT_IN_REF = re.compile(r"[^A-Za-z0-9_.-]+")
_NOT_IN_CONTACT = re.compile(r"[^A-Za-z0-9+@._ ()/:#,'-]+")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "notify-failure",
        help="page the on-call lead that a service or scheduled check failed (systemd OnFailure=)",
        description=(
            "Queue a page saying that UNIT (a systemd unit, or any name) failed, for the "
            "pager to send to the on-call Safeguarding Lead and escalate until someone "
            "acknowledges. It carries the unit's name and this server's name only, never "
            "anything about a child."
        ),
    )
    parser.add_argument(
        "unit", metavar="UNIT", help="the unit that failed, e.g. safeguard-audit-verify.service"
    )
    parser.add_argument(
        "--urgency",
        choices=("routine", "urgent", "immediate"),
        default="urgent",
        help="the escalation chain to use (default urgent)",
    )
    parser.set_defaults(func=run)


def reference(unit: str) -> str:
    """`OPS-<unit>` as a page reference may carry it (letters, digits, . _ -; at most 40)."""
    slug = _NOT_IN_REF.sub("-", unit.strip()).strip("-._")
    return (OPS_PREFIX + (slug or "unit"))[:40].rstrip("-._")


def contact(unit: str, host: str) -> str:
    """Where to look, in the characters a page's call-back contact may hold."""
    text = f"journalctl -u {unit.strip()} on {host}"
    return _NOT_IN_CONTACT.sub("-", text)[:200]


def run(args: argparse.Namespace) -> int:
    from sqlalchemy import select  # heavy: imported on first use, not at start-up

    from bot.paging import deployment  # heavy: imported on first use, not at start-up
    from bot.paging.models import (  # heavy: imported on first use, not at start-up
        ACTIVE,
        Page,
        PagerError,
    )
    from bot.paging.outbox import enqueue  # heavy: imported on first use, not at start-up
    from bot.records.db import (  # heavy: imported on first use, not at start-up
        make_engine,
        session_factory,
        transaction,
    )
    from bot.records.migrate import upgrade  # heavy: imported on first use, not at start-up

    unit = " ".join(str(args.unit).split())
    if not unit:
        print("safeguard notify-failure: give the unit that failed", file=sys.stderr)
        return 2
    host = socket.gethostname() or "this server"
    ref = reference(unit)
    here = deployment.current()
    engine = None
    try:
        engine = make_engine()
        upgrade(engine)
        with transaction(session_factory(engine)) as session:
            active = session.scalar(
                select(Page.id).where(Page.concern_ref == ref, Page.status == ACTIVE).limit(1)
            )
            if active is not None:
                print(f"Already paging the on-call lead about {unit} (page {active}).")
                return 0
            page_id = enqueue(
                session,
                ref,
                args.urgency,
                "other",
                f"safeguard on {host}: {unit} failed",
                contact(unit, host),
                here.now(),
                roster=here.roster(),
            )
    except (PagerError, ValueError) as exc:
        print(f"safeguard notify-failure: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - the journal must say it, whatever it was
        first = (str(exc).splitlines() or [""])[0][:200]
        print(
            f"!!! safeguard notify-failure: {unit} FAILED and the on-call lead could not be "
            f"paged ({type(exc).__name__}: {first}); check the database and the pager",
            file=sys.stderr,
        )
        return 1
    finally:
        if engine is not None:
            engine.dispose()
    print(f"Paging the on-call lead: {unit} failed (page {page_id}, reference {ref}).")
    return 0
