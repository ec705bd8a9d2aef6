"""`safeguard pager run|ack|notices|watch`: the delivery loop, acknowledging, worker notices,
and the watch that tells the on-call lead directly when the loop has stopped.

    safeguard pager run [--interval 1.0]
    safeguard pager ack ID [--by NAME]
    safeguard pager notices [--concern REF] [--all] [--json]
    safeguard pager watch [--stale-after 120]

`run` sends pages in the foreground until Ctrl-C (or SIGTERM) stops it cleanly; a gap in
cover is printed loudly first. Transports: the console always; Telegram when
TELEGRAM_BOT_TOKEN is set; Teams webhooks for people with a teams_webhook_url.
"""

from __future__ import annotations

import argparse
import getpass
import json
import signal
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    pager = subparsers.add_parser(
        "pager",
        help="run the paging loop, acknowledge a page, show notices for workers",
        description=(
            "Page the on-call Safeguarding Lead for every logged concern and escalate until "
            "someone acknowledges (roster: SAFEGUARD_ROSTER; database: SAFEGUARD_DB_URL)."
        ),
    )
    actions = pager.add_subparsers(dest="pager_command", metavar="ACTION")
    pager.set_defaults(func=lambda _args: _usage(pager))

    run = actions.add_parser(
        "run",
        help="run the delivery loop in the foreground (Ctrl-C stops it)",
        description=(
            "Send due pages, retry failures, escalate unacknowledged pages, until Ctrl-C. "
            "Pages left by a stopped or crashed pager are picked up on start."
        ),
    )
    run.add_argument("--interval", type=float, default=1.0, help="seconds between passes")
    run.add_argument(
        "--print-notices",
        action="store_true",
        help="also print worker notices (paged, escalated, acknowledged) as they happen; "
        "the terminal chat uses this so the worker is told at each step",
    )
    run.set_defaults(func=run_loop)

    ack = actions.add_parser(
        "ack",
        help="acknowledge a page (stops its escalation)",
        description="Acknowledge a page by its id (from `safeguard pages`) or its token.",
    )
    ack.add_argument("page", metavar="ID", help="page id or token")
    ack.add_argument("--by", metavar="NAME", help="who is acknowledging (default: your login)")
    ack.set_defaults(func=run_ack)

    watch = actions.add_parser(
        "watch",
        help="tell the on-call lead directly when the pager has stopped (run from a timer)",
        description=(
            "Read the pager's heartbeat; when its last pass is older than --stale-after "
            "seconds, send a notice (no child data) straight to the on-call lead through "
            "Telegram, Teams or the console, not through the pager's outbox. Once per "
            "outage (kept in SAFEGUARD_VAR/pager-watch.json); again after the pager is back "
            "and stops again. Exit 0 alive or told, 1 the pager is down and nobody could be "
            "told, or the database cannot be read."
        ),
    )
    watch.add_argument(
        "--stale-after", type=float, default=None, metavar="S",
        help="seconds without a pass before the lead is told (default 120)",
    )  # fmt: skip
    watch.set_defaults(func=run_watch)

    notices = actions.add_parser(
        "notices",
        help="what the worker has been told about their pages",
        description="Worker notices from the pager (paging, escalations, acknowledgement).",
    )
    notices.add_argument("--concern", metavar="REF", help="only this concern")
    notices.add_argument("--all", action="store_true", help="include notices already shown")
    notices.add_argument("--json", action="store_true", help="print JSON")
    notices.set_defaults(func=run_notices)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _pager():  # noqa: ANN202
    """A Pager on SAFEGUARD_DB_URL with the schema brought up to date, or an error line."""
    from bot.core.datafile import DataFileError  # heavy: imported on first use, not at start-up
    from bot.paging.pager import Pager  # heavy: imported on first use, not at start-up
    from bot.paging.transports import (  # heavy: imported on first use, not at start-up
        TransportError,  # heavy: imported on first use, not at start-up
    )
    from bot.records.db import make_engine  # heavy: imported on first use, not at start-up
    from bot.records.migrate import (  # heavy: imported on first use, not at start-up
        MigrationError,
        upgrade,
    )

    try:
        engine = make_engine()
        upgrade(engine)
        return Pager(engine), None
    except (DataFileError, MigrationError, TransportError) as exc:
        return None, str(exc)


def run_loop(args: argparse.Namespace) -> int:
    import threading  # heavy: imported on first use, not at start-up

    from bot.commands.rota import print_alarm  # heavy: imported on first use, not at start-up
    from bot.core.clock import now  # heavy: imported on first use, not at start-up
    from bot.core.rota import cover_warnings  # heavy: imported on first use, not at start-up

    if not 0.05 <= args.interval <= 60:
        print("safeguard pager: --interval must be between 0.05 and 60 seconds", file=sys.stderr)
        return 2
    pager, problem = _pager()
    if problem:
        print(f"safeguard pager: {problem}", file=sys.stderr)
        return 1
    print_alarm(cover_warnings(pager.roster, now(), 72))
    stop = threading.Event()

    def _stop(_signum, _frame) -> None:  # noqa: ANN001
        stop.set()

    previous = {s: signal.signal(s, _stop) for s in (signal.SIGINT, signal.SIGTERM)}
    print(
        f"Pager running ({', '.join(sorted(pager.transports))}); Ctrl-C to stop.",
        file=sys.stderr,
        flush=True,
    )
    watcher = None
    if args.print_notices:
        watcher = threading.Thread(
            target=print_notices_until, args=(pager, stop, args.interval), daemon=True
        )
        watcher.start()
    try:
        pager.run_forever(stop, interval=args.interval)
    finally:
        if watcher is not None:
            watcher.join(timeout=5)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for transport in pager.transports.values():
            close = getattr(transport, "close", None)
            if close:
                close()
        pager.engine.dispose()
    print("Pager stopped.", file=sys.stderr)
    return 0


def print_notices_until(pager, stop, interval: float) -> None:  # noqa: ANN001
    """Print each new worker notice once, until `stop` is set."""
    while not stop.wait(interval):
        try:
            rows = pager.notices(unseen_only=True)
            for row in rows:
                when = row["created_at"].strftime("%H:%M")
                print(f"[{when}] {row['concern_ref']}: {row['text']}", flush=True)
            pager.mark_notices_shown(row["id"] for row in rows)
        except Exception as exc:  # noqa: BLE001 - telling the worker must not stop paging
            print(f"safeguard pager: could not read notices ({type(exc).__name__})", flush=True)


def run_ack(args: argparse.Namespace) -> int:
    from bot.paging.models import PagerError  # heavy: imported on first use, not at start-up

    pager, problem = _pager()
    if problem:
        print(f"safeguard pager: {problem}", file=sys.stderr)
        return 1
    from bot.config import settings  # heavy: imported on first use, not at start-up

    by = args.by or settings.current().user or getpass.getuser()  # SAFEGUARD_USER
    try:
        result = pager.acknowledge(args.page, by)
    except PagerError as exc:
        print(f"safeguard pager: {exc}", file=sys.stderr)
        return 1
    finally:
        pager.engine.dispose()
    if result.already:
        print(
            f"Page {result.page_id} ({result.concern_ref}) was already acknowledged by "
            f"{result.acknowledged_by}."
        )
    else:
        print(
            f"Acknowledged page {result.page_id} ({result.concern_ref}). Call "
            f"{result.worker_name} back on {result.worker_contact}."
        )
    return 0


def run_watch(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone  # heavy: imported on first use, not at start-up

    from bot.config import settings  # heavy: imported on first use, not at start-up
    from bot.paging import deployment  # heavy: imported on first use, not at start-up
    from bot.paging.transports import (  # heavy: imported on first use, not at start-up
        default_transports,
    )
    from bot.paging.watch import (  # heavy: imported on first use, not at start-up
        PAGER_ALARM_S,
        STATE_FILE,
        watch,
    )
    from bot.records.db import make_engine  # heavy: imported on first use, not at start-up

    stale = PAGER_ALARM_S if args.stale_after is None else args.stale_after
    if stale <= 0:
        print("safeguard pager watch: --stale-after must be positive", file=sys.stderr)
        return 2
    here = deployment.current()
    engine = None
    transports = {}
    try:
        engine = make_engine()
        transports = default_transports()
        result = watch(
            engine,
            here.roster(),
            transports,
            datetime.now(timezone.utc).replace(tzinfo=None),
            here.now(),
            settings.var_dir() / STATE_FILE,
            stale_after=stale,
        )
    except Exception as exc:  # noqa: BLE001 - the journal must say it, whatever it was
        first = (str(exc).splitlines() or [""])[0][:200]
        print(
            f"!!! safeguard pager watch: cannot check the pager ({type(exc).__name__}: {first})",
            file=sys.stderr,
        )
        return 1
    finally:
        for transport in transports.values():
            close = getattr(transport, "close", None)
            if close:
                close()
        if engine is not None:
            engine.dispose()
    line = f"pager watch: {result.detail}"
    print(f"!!! {line}" if result.state == "unsent" else line, flush=True)
    return 1 if result.state == "unsent" else 0


def run_notices(args: argparse.Namespace) -> int:
    pager, problem = _pager()
    if problem:
        print(f"safeguard pager: {problem}", file=sys.stderr)
        return 1
    try:
        rows = pager.notices(args.concern, unseen_only=not args.all)
    finally:
        pager.engine.dispose()
    if args.json:
        print(json.dumps(rows, indent=2, default=lambda v: v.isoformat()))
    elif not rows:
        print("No notices.")
    for row in [] if args.json else rows:
        print(f"{row['created_at'].strftime('%d %b %H:%M')}  {row['concern_ref']}  {row['text']}")
    return 0
