"""`safeguard pages`: every page, who it went to, how, and whether anyone answered.

    safeguard pages [--json]

One row per recipient of each escalation step. Pages carry no child data, so nothing here
needs the concern log's key.
"""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    pages = subparsers.add_parser(
        "pages",
        help="list pages to Safeguarding Leads and their delivery status",
        description=(
            "Every page: id, concern reference, urgency, recipient, transport, delivery "
            "status, attempts, created and acknowledged times (database: SAFEGUARD_DB_URL)."
        ),
    )
    pages.add_argument("--json", action="store_true", help="print JSON")
    pages.set_defaults(func=run_pages)


def _when(value) -> str:  # noqa: ANN001
    return value.strftime("%d %b %H:%M") if value else "-"


def run_pages(args: argparse.Namespace) -> int:
    from bot.paging.pager import page_rows  # heavy: imported on first use, not at start-up
    from bot.records.db import make_engine  # heavy: imported on first use, not at start-up
    from bot.records.migrate import (  # heavy: imported on first use, not at start-up
        MigrationError,
        upgrade,
    )

    engine = make_engine()
    try:
        upgrade(engine)
        rows = page_rows(engine)
    except MigrationError as exc:
        print(f"safeguard pages: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps(rows, indent=2, default=lambda v: v.isoformat()))
        return 0
    if not rows:
        print("No pages yet.")
        return 0
    header = (
        f"{'ID':>4}  {'CONCERN':<14} {'URGENCY':<9} {'PAGE':<12} {'STEP':>4}  {'RECIPIENT':<28} "
        f"{'VIA':<9} {'STATUS':<9} {'TRIES':>5}  {'CREATED':<12} {'ACKNOWLEDGED'}"
    )
    print(header)
    for r in rows:
        acked = (
            f"{_when(r['acknowledged_at'])} by {r['acknowledged_by']}"
            if r["acknowledged_at"]
            else "-"
        )
        print(
            f"{r['id']:>4}  {r['concern_ref']:<14} {r['urgency']:<9} {r['page_status']:<12} "
            f"{r['step'] or '-':>4}  {(r['recipient'] or '-')[:28]:<28} "
            f"{r['transport'] or '-':<9} {r['status']:<9} {r['attempts']:>5}  "
            f"{_when(r['created_at']):<12} {acked}"
        )
    return 0
