"""One deployment, as a process sees it: its settings, its organisation's policy pack, its
on-call roster, its clock and its concern log.

Processes (the action server's actions, the command line) pass a `Deployment` around, or ask
`current()` for the process's own, instead of each re-deriving the organisation, the roster
file or the pinned clock from the environment. `current()` follows `bot.config.settings`:
built from the process's settings on first use, and built again after `settings.reload()`.

Nothing is frozen that the files behind it may change: the pack comes from
`bot.core.pack.load_pack` (cached per organisation; `clear_cache()` still applies), the
roster from `bot.core.rota.load_roster` (read again when the file changes), the clock reads
SAFEGUARD_NOW_FILE at every call, and the concern log is opened on first use and kept by
`bot.paging.reporting.concern_log` while the database and key are unchanged.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import settings as settings_module
from bot.config.settings import Settings
from bot.core.clock import Clock
from bot.core.pack import Pack, load_pack
from bot.core.rota import Roster, load_roster
from bot.paging.reporting import concern_log

if TYPE_CHECKING:
    from bot.records.concern_log import ConcernLog


@dataclass(frozen=True)
class Deployment:
    """What a process needs to know about the deployment it serves (see the module doc)."""

    settings: Settings

    @classmethod
    def from_settings(cls, settings: Settings) -> Deployment:
        return cls(settings)

    @property
    def org(self) -> str:
        """The organisation whose policy pack applies (SAFEGUARD_ORG)."""
        return self.settings.org

    @property
    def pack(self) -> Pack:
        """The organisation's validated policy pack (PackError if it cannot be loaded)."""
        return load_pack(self.settings.org)

    @property
    def roster_path(self) -> Path:
        return self.settings.roster_path

    def roster(self, shared: bool = True) -> Roster:
        """The on-call roster (DataFileError if it cannot be read). `shared`: the parse
        every reader shares, not to be changed; else the caller's own copy."""
        return load_roster(self.settings.roster_path, shared=shared)

    @property
    def clock(self) -> Clock:
        """The deployment's clock (SAFEGUARD_NOW, SAFEGUARD_NOW_FILE, else the real time)."""
        return Clock.from_settings(self.settings)

    def now(self) -> datetime:
        """The time in Europe/London by the deployment's clock (ClockError if pinned badly)."""
        return self.clock.now()

    def concern_log(self) -> ConcernLog:
        """The concern log with the organisation's event types, opened on first use and
        reused (bot.paging.reporting.concern_log)."""

        return concern_log()


_lock = threading.Lock()
_current: Deployment | None = None


def current() -> Deployment:
    """The process's deployment, on the process's settings (`bot.config.settings.current()`)."""
    global _current
    config = settings_module.current()
    made = _current
    if made is None or made.settings is not config:
        with _lock:
            made = _current
            if made is None or made.settings is not config:
                made = _current = Deployment.from_settings(config)
    return made
