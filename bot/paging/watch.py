"""Another route when the pager stops: a stale heartbeat is told to the on-call lead directly.

The pager sends every page, so a pager that has stopped (crashed for good, hung, cut off)
cannot page about itself, and a notice queued in its outbox would wait for it. `watch` is
run by something else (`safeguard pager watch`, every minute from
deploy/systemd/safeguard-pager-watch.timer): it reads the freshest pager heartbeat
(`pager_heartbeats`) and, when it is older than `PAGER_ALARM_S`, sends a notice straight
through the transports (Telegram, Teams, the console) to the first step of the urgent
escalation chain (the on-call lead), without the outbox.

Once per outage: the outage is named by the last heartbeat it saw, kept in a small file
under SAFEGUARD_VAR (not in the database, which may be what is down). While the pager stays
down nothing more is sent; once it beats again the file is removed, and a later stop is a
new outage that is told again. A notice that reached nobody is not recorded, so the next
run tries again.

The notice carries no child data: a fixed text, this server's name and the heartbeat's age
(`PageMessage`, with `direct=True`: no acknowledgement button, nothing to acknowledge).
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.core.rota import Roster
from bot.paging.chain import freeze_chain
from bot.paging.models import PagerHeartbeat
from bot.paging.transports import PageMessage, Transport, TransportError
from bot.records.db import session_factory

# A heartbeat older than this is an outage (the pager beats every 5 s; `safeguard health`
# calls it down after 60 s; the watch waits a little longer before waking someone).
PAGER_ALARM_S = 120.0
STATE_FILE = "pager-watch.json"
REFERENCE = "OPS-pager-heartbeat"


@dataclass
class WatchResult:
    """What one run found and did. `state`: alive, never (no pager has beaten here yet),
    notified (sent now), already (this outage was told before), unsent (nobody reached)."""

    state: str
    age_s: float | None = None
    notified: list[str] = field(default_factory=list)
    detail: str = ""


def latest_beat(engine: Engine) -> PagerHeartbeat | None:
    with session_factory(engine)() as session:
        return session.scalars(
            select(PagerHeartbeat).order_by(PagerHeartbeat.beat_at.desc()).limit(1)
        ).first()


def notice(age_s: float, beat_host: str, host: str) -> PageMessage:
    """The direct notice: fixed words, host names and a number of minutes only."""
    minutes = max(1, int(age_s // 60))
    return PageMessage(
        page_id=0,
        token="",
        urgency="urgent",
        concern_ref=REFERENCE,
        category="other",
        worker_name=(
            f"safeguard on {host}: the pager (on {beat_host}) has not run for {minutes} min, "
            "so NO PAGES ARE BEING SENT"
        )[:200],
        worker_contact=f"journalctl -u safeguard-pager on {beat_host}"[:200],
        step_label="direct notice from the pager watch (not through the pager)",
        direct=True,
    )


def _read_state(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_state(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(data))
    os.replace(tmp, path)


def recipients(roster: Roster, local_now: datetime) -> list[dict]:
    """The first step of the urgent chain that has someone in it (the on-call lead, as
    `safeguard notify-failure` pages), else everyone on it."""
    chain = freeze_chain(roster, "urgent", local_now)
    for entry in chain:
        if entry.get("recipients"):
            return list(entry["recipients"])
    return []


def send_direct(
    message: PageMessage, people: list[dict], transports: Mapping[str, Transport]
) -> tuple[list[str], list[str]]:
    """Each person's channels in order until one takes it. The console counts only for
    someone with no other channel set up here (`make serve`); otherwise it is the journal,
    not the person, so the notice is not counted as told and the next run tries again.
    Returns (names reached, one line per failure)."""
    reached: list[str] = []
    errors: list[str] = []
    for person in people:
        channels = [tuple(c) for c in person.get("channels") or []]
        real = [c for c in channels if c[0] != "console" and c[0] in transports]
        for name, address in channels:
            transport = transports.get(name)
            if transport is None:
                errors.append(f"{person['name']}: {name} not configured")
                continue
            try:
                transport.send(message, address)
            except TransportError as exc:
                errors.append(f"{person['name']}: {exc}")
                continue
            except Exception as exc:  # noqa: BLE001 - a buggy transport must not stop the rest
                errors.append(f"{person['name']}: {name}: {type(exc).__name__}")
                continue
            if name != "console" or not real:
                reached.append(person["name"])
                break
    return reached, errors


def watch(
    engine: Engine,
    roster: Roster,
    transports: Mapping[str, Transport],
    now_utc: datetime,
    local_now: datetime,
    state_path: Path,
    *,
    stale_after: float = PAGER_ALARM_S,
    host: str | None = None,
) -> WatchResult:
    """One look at the heartbeat (`now_utc`: naive UTC, as beats are stored; `local_now`:
    the deployment's clock, for who is on call). Sends at most one notice per outage."""
    beat = latest_beat(engine)
    if beat is None:
        return WatchResult("never", detail="no pager has run here yet: nothing to watch")
    age = (now_utc - beat.beat_at).total_seconds()
    outage = f"{beat.host}@{beat.beat_at.isoformat()}"
    if age <= stale_after:
        recovered = state_path.exists()
        state_path.unlink(missing_ok=True)
        detail = f"the pager's last pass was {age:.0f}s ago"
        return WatchResult(
            "alive", age, detail=detail + (" (back after an outage)" if recovered else "")
        )
    if _read_state(state_path).get("outage") == outage:
        return WatchResult(
            "already", age, detail=f"the pager is down ({age:.0f}s); the lead was already told"
        )
    people = recipients(roster, local_now)
    message = notice(age, beat.host, host or socket.gethostname() or "this server")
    reached, errors = send_direct(message, people, transports)
    if not reached:
        why = "; ".join(errors) or "nobody is on call"
        return WatchResult(
            "unsent", age, detail=f"the pager is down ({age:.0f}s); NOBODY TOLD: {why}"
        )
    _write_state(
        state_path,
        {"outage": outage, "told": reached, "at": now_utc.isoformat(timespec="seconds")},
    )
    return WatchResult(
        "notified", age, reached, f"the pager is down ({age:.0f}s); told {', '.join(reached)}"
    )
