"""What time it is, in Europe/London, everywhere in safeguard.

`SAFEGUARD_NOW` pins the clock (ISO local time, e.g. ``2026-12-28T19:30``) so demos and
tests are repeatable; `SAFEGUARD_NOW_FILE` names a file whose first line does the same and
is read at every call (a running stack can be moved in time); unset means the real time.
Every rule about office hours, bank holidays and deadlines reads the time from here, never
from ``datetime.now()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.config import settings

if TYPE_CHECKING:
    from bot.config.settings import Settings

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


@dataclass(frozen=True)
class Clock:
    """One deployment's clock: pinned by `pinned` (SAFEGUARD_NOW) or by the first line of
    `pinned_file` (SAFEGUARD_NOW_FILE, read at every call, so a running demo or test stack
    can be moved to another time without restarting), else the real time."""

    pinned: str = ""
    pinned_file: Path | None = None

    @classmethod
    def from_settings(cls, config: Settings) -> Clock:
        return cls(config.now, config.now_file)

    def pinned_text(self) -> str:
        if self.pinned_file:
            try:
                with open(self.pinned_file, encoding="utf-8") as handle:
                    line = handle.readline().strip()
            except OSError as exc:
                raise ClockError(
                    f"{NOW_FILE_ENV}={str(self.pinned_file)!r} cannot be read ({exc.strerror})"
                ) from None
            if line:
                return line
        return self.pinned

    def now(self) -> datetime:
        """The current time in Europe/London (aware)."""
        pinned = self.pinned_text()
        if pinned:
            return parse_local(pinned)
        return datetime.now(LONDON)


def now() -> datetime:
    """The current time in Europe/London (aware), honouring SAFEGUARD_NOW(_FILE)."""
    return Clock.from_settings(settings.current()).now()
