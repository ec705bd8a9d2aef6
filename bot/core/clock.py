"""What time it is, in Europe/London, everywhere in safeguard.

`SAFEGUARD_NOW` pins the clock (ISO local time, e.g. ``2026-12-28T19:30``) so demos and
tests are repeatable; `SAFEGUARD_NOW_FILE` names a file whose first line does the same and
is read at every call (a running stack can be moved in time); unset means the real time.
Every rule about office hours, bank holidays and deadlines reads the time from here, never
from ``datetime.now()``.
"""

from __future__ import annotations

import os
from datetime import datetime
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


class ClockError(ValueError):
    """SAFEGUARD_NOW is set but is not a time we can read."""


def parse_local(text: str) -> datetime:
    """Read an ISO time; a naive time is taken as Europe/London local time."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ClockError(
            f"SAFEGUARD_NOW={text!r} is not an ISO time; use e.g. 2026-12-28T19:30"
        ) from exc
    if moment.tzinfo is None:
        return moment.replace(tzinfo=LONDON)
    return moment.astimezone(LONDON)


NOW_FILE_ENV = "SAFEGUARD_NOW_FILE"


def _pinned() -> str:
    """SAFEGUARD_NOW_FILE's first line (read at every call, so a running demo or test stack
    can be moved to another time without restarting), else SAFEGUARD_NOW."""
    path = os.environ.get(NOW_FILE_ENV, "").strip()
    if path:
        try:
            with open(path, encoding="utf-8") as handle:
                line = handle.readline().strip()
        except OSError as exc:
            raise ClockError(f"{NOW_FILE_ENV}={path!r} cannot be read ({exc.strerror})") from None
        if line:
            return line
    return os.environ.get("SAFEGUARD_NOW", "").strip()


def now() -> datetime:
    """The current time in Europe/London (aware), honouring SAFEGUARD_NOW(_FILE)."""
    pinned = _pinned()
    if pinned:
        return parse_local(pinned)
    return datetime.now(LONDON)
