"""`safeguard health [--json]`: is every part up, and is someone on call now?

    safeguard health [--json] [--rasa-url URL ...] [--actions-url URL]

One line per check (or one JSON object): each Rasa server answers HTTP 200 on its URL
(SAFEGUARD_RASA_URLS, default http://127.0.0.1:5005), the action server answers on /health
(SAFEGUARD_ACTIONS_ADDRESS, default 127.0.0.1:5055), the concern-log database answers a
query, a pager finished a pass recently (its heartbeat), no page has waited long to be sent
(the outbox backlog), nothing waits in the local spool, and someone is on call now. Under
`safeguard serve`, what its supervisor last wrote about each part too. Nothing is changed:
no migration, no spool file moved. Exit status: 0 all well, 1 something is down or needs
attention (monitoring alerts on it), 2 bad input.

The output holds no child data: counts, ages, URLs, and the on-call people's names.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

# A pager whose last pass is older than this is called down (it beats every 5 s).
PAGER_STALE_S = 60.0
# A delivery due longer ago than this means the pager is not keeping up (or is down).
OUTBOX_LATE_S = 120.0
HTTP_TIMEOUT_S = 3.0
DEFAULT_ACTIONS = "127.0.0.1:5055"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "health",
        help="is every part up (Rasa, actions, database, pager, outbox, spool, rota)?",
        description=(
            "Check each part: Rasa servers, the action server, the database, the pager's "
            "heartbeat, the outbox and spool backlogs, and who is on call now. Exit 1 if "
            "anything is down or needs attention."
        ),
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument(
        "--rasa-url",
        action="append",
        metavar="URL",
        help="a Rasa server to check (repeat for several; default SAFEGUARD_RASA_URLS)",
    )
    parser.add_argument(
        "--actions-url",
        metavar="URL",
        help="the action server (default http://SAFEGUARD_ACTIONS_ADDRESS, else 127.0.0.1:5055)",
    )
    parser.set_defaults(func=run)


# --------------------------------------------------------------------------- checks


def check(name: str, ok: bool, detail: str, **extra: Any) -> dict[str, Any]:  # noqa: ANN401
    return {"name": name, "ok": ok, "detail": detail, **extra}


def http_status(url: str, timeout: float = HTTP_TIMEOUT_S) -> tuple[int | None, str]:
    """(HTTP status, "") or (None, why it could not be reached)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (ours)
            return int(response.status), ""
    except urllib.error.HTTPError as exc:
        return int(exc.code), ""
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, str(reason)[:120] or type(exc).__name__


def check_http(name: str, url: str) -> dict[str, Any]:
    status, why = http_status(url)
    if status is None:
        return check(name, False, f"{url} cannot be reached: {why}", url=url, status=None)
    return check(name, status == 200, f"{url} answered HTTP {status}", url=url, status=status)


def rasa_urls(args: argparse.Namespace, config: Any) -> list[str]:  # noqa: ANN401
    from bot.config.settings import (  # heavy: imported on first use, not at start-up
        DEFAULT_RASA_URL,
    )

    given = ",".join(args.rasa_url or []) or config.rasa_urls or DEFAULT_RASA_URL
    return [u.strip().rstrip("/") for u in given.split(",") if u.strip()]


def actions_url(args: argparse.Namespace, config: Any) -> str:  # noqa: ANN401
    """The action server's open liveness path: every other path refuses an unsigned call
    (401), so a bare address given on the command line is checked at /health."""
    address = args.actions_url or config.actions_address or DEFAULT_ACTIONS
    base = (address if "://" in address else f"http://{address}").rstrip("/")
    return base if base.endswith("/health") else f"{base}/health"


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def database_checks(url: str, now: datetime) -> list[dict[str, Any]]:
    """The database, the pager's heartbeat and the outbox backlog (all need the database).
    `now`: the deployment's clock, for the outbox (the pager runs on it)."""
    from sqlalchemy import (  # heavy: imported on first use, not at start-up
        create_engine,
        func,
        select,
        text,
    )
    from sqlalchemy.engine import make_url  # heavy: imported on first use, not at start-up

    from bot.paging.models import (  # heavy: imported on first use, not at start-up
        ACTIVE,
        CLAIMED,
        PENDING,
        Page,
        PageDelivery,
        PagerHeartbeat,
        to_db,
    )
    from bot.records.db import session_factory  # heavy: imported on first use, not at start-up

    postgres = make_url(url).get_backend_name() == "postgresql"
    connect_args = {"connect_timeout": 5} if postgres else {}
    engine = create_engine(url, future=True, connect_args=connect_args)
    out: list[dict[str, Any]] = []
    try:
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - any driver's error: the database is down
            first = (str(exc).splitlines() or [""])[0][:160]
            why = f"{type(exc).__name__}: {first}"
            out.append(check("database", False, f"cannot be reached ({why})"))
            out.append(check("pager", False, "unknown: the database cannot be reached"))
            out.append(check("outbox", False, "unknown: the database cannot be reached"))
            return out
        out.append(check("database", True, f"answers ({engine.dialect.name})"))
        factory = session_factory(engine)
        try:
            with factory() as session:
                beats = list(session.scalars(select(PagerHeartbeat)))
        except Exception as exc:  # noqa: BLE001 - e.g. the schema is older than the code
            out.append(
                check(
                    "pager",
                    False,
                    f"no heartbeat table ({type(exc).__name__}): start the pager to bring "
                    "the schema up to date",
                )
            )
            beats = None
        if beats is not None:
            real_now = utc_now()
            pagers = [
                {
                    "host": b.host,
                    "pid": b.pid,
                    "age_s": round((real_now - b.beat_at).total_seconds(), 1),
                }
                for b in sorted(beats, key=lambda b: b.beat_at, reverse=True)
            ]
            if not pagers:
                out.append(check("pager", False, "no pager has ever run here", pagers=[]))
            else:
                age = pagers[0]["age_s"]
                alive = age <= PAGER_STALE_S
                detail = (
                    f"last pass {age:g}s ago on {pagers[0]['host']}"
                    if alive
                    else f"DOWN: the last pass was {age:g}s ago (on {pagers[0]['host']})"
                )
                out.append(check("pager", alive, detail, pagers=pagers, age_s=age))
        try:
            with factory() as session:
                # Not yet delivered: a delivery waiting to be sent (or mid-send), and a page
                # whose first step the pager has not started yet (no delivery rows so far).
                pending = PageDelivery.status.in_((PENDING, CLAIMED))
                unstarted = (Page.status == ACTIVE) & Page.step_started_at.is_(None)
                waiting = (
                    session.scalar(select(func.count()).select_from(PageDelivery).where(pending))
                    or 0
                ) + (session.scalar(select(func.count()).select_from(Page).where(unstarted)) or 0)
                dues = [
                    session.scalar(select(func.min(PageDelivery.next_try_at)).where(pending)),
                    session.scalar(select(func.min(Page.created_at)).where(unstarted)),
                ]
        except Exception as exc:  # noqa: BLE001 - e.g. no migration has run yet
            out.append(
                check(
                    "outbox",
                    False,
                    f"no outbox tables ({type(exc).__name__}): start the pager to bring the "
                    "schema up to date",
                )
            )
            return out
        dues = [d for d in dues if d is not None]
        oldest = min(dues) if dues else None
        late_s = max(0.0, (to_db(now) - oldest).total_seconds()) if oldest is not None else 0.0
        ok = late_s <= OUTBOX_LATE_S
        detail = (
            f"{waiting} page(s) not yet delivered"
            + (f", the oldest due {late_s:.0f}s ago" if waiting else "")
            + ("" if ok else ": THE PAGER IS NOT SENDING")
        )
        out.append(check("outbox", ok, detail, waiting=int(waiting or 0), oldest_due_s=late_s))
    finally:
        engine.dispose()
    return out


def spool_check() -> dict[str, Any]:
    from bot.records import spool  # heavy: imported on first use, not at start-up

    try:
        waiting = spool.pending_count()
        aside = spool.unreadable_dir()
        unreadable = sum(1 for p in aside.iterdir() if p.is_file()) if aside.is_dir() else 0
    except OSError as exc:
        return check("spool", False, f"cannot be read: {exc.strerror or exc}")
    ok = not waiting and not unreadable
    detail = f"{waiting} concern(s) waiting for the database, {unreadable} unreadable file(s)"
    return check("spool", ok, detail, waiting=waiting, unreadable=unreadable)


def rota_check(here: Any) -> dict[str, Any]:  # noqa: ANN401
    from bot.core.rota import on_call  # heavy: imported on first use, not at start-up

    try:
        people = on_call(here.roster(), here.now())
    except ValueError as exc:
        return check("rota", False, f"the roster cannot be read: {exc}", on_call=[])
    names = [{"id": p.id, "name": p.name, "role": p.role} for p in people]
    if not people:
        return check("rota", False, "NOBODY IS ON CALL NOW", on_call=[])
    shown = ", ".join(f"{p.name} ({p.role})" for p in people)
    return check("rota", True, f"on call now: {shown}", on_call=names)


def serve_checks() -> list[dict[str, Any]]:
    """What `safeguard serve` last wrote about its parts (only while one runs here)."""
    from bot.commands import processes  # heavy: imported on first use, not at start-up

    report = processes.read_status()
    if not report:
        return []
    out = []
    for name, part in sorted(report.get("parts", {}).items()):
        running = part.get("state") == "running"
        detail = f"{part.get('state', '?')}, restarted {part.get('restarts', 0)} time(s)"
        if part.get("last_exit") is not None:
            detail += f", last exit {part['last_exit']}"
        out.append(check(f"serve: {name}", running, detail, **part))
    return out


def gather(args: argparse.Namespace) -> list[dict[str, Any]]:
    from bot.paging import deployment  # heavy: imported on first use, not at start-up

    here = deployment.current()
    config = here.settings
    results: list[dict[str, Any]] = []
    urls = rasa_urls(args, config)
    for n, url in enumerate(urls):
        results.append(check_http("rasa" if len(urls) == 1 else f"rasa {n + 1}", url))
    results.append(check_http("actions", actions_url(args, config)))
    try:
        now = here.now()
    except ValueError:
        now = datetime.now(timezone.utc)
    results += database_checks(config.database_url, now)
    results.append(spool_check())
    results.append(rota_check(here))
    results += serve_checks()
    return results


def run(
    args: argparse.Namespace, gatherer: Callable[[argparse.Namespace], list] | None = None
) -> int:
    results = (gatherer or gather)(args)
    ok = all(r["ok"] for r in results)
    if args.json:
        print(json.dumps({"ok": ok, "checks": results}, indent=2, default=str))
    else:
        width = max(len(r["name"]) for r in results)
        for r in results:
            mark = "ok" if r["ok"] else "!!"
            print(f"{mark}  {r['name']:<{width}}  {r['detail']}")
        print("All parts are up." if ok else "Something is down or needs attention.")
    sys.stdout.flush()
    return 0 if ok else 1
