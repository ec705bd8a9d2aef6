"""The alarm core: one page per danger message, one concern per incident, across processes.

Rasa-free and channel-free: the actions (`actions/danger.py`, the disclosure form) and the
channels' fail-safe (`bot/failsafe/safety.py`) both call in here, so whichever of them sees
a danger message first raises the alarm and the other reports the same outcome.

* `AlarmClaims` + `run_once`: one run per danger message (or per saved record), whichever
  process gets there first, the other waits for its outcome.
* `raise_alarm_once`: the alarm for one message; within a conversation that already raised
  a concern it is added to that concern and its one page chain (`bot.paging.reporting`,
  `bot.records.incidents`).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from hashlib import sha256
from pathlib import Path
from typing import Any

from bot.config import settings
from bot.core.people import Worker
from bot.paging import reporting
from bot.paging.reporting import Outcome

logger = logging.getLogger(__name__)

# How long to wait for another process (the action server) that has claimed a danger
# message's alarm to finish raising it.
ALARM_WAIT = 5.0
ANSWERED_YES = "Asked 'is anyone in danger right now?', the worker said yes."


def report_text(text: str) -> str:
    """What the worker reported, for the alarm's concern: never a button's payload."""
    return "" if text.lstrip().startswith("/") else text


# -- one page per danger message -------------------------------------------------------------


def alarm_key(sender: str, message_id: str | None) -> str | None:
    """The identity of one danger message: the same in the channel and the action server."""
    if not message_id:
        return None
    return f"{sender}\x1f{message_id}"


_OUTCOME_FIELDS = {f.name for f in fields(Outcome)}


class AlarmClaims:
    """Who raised the alarm for a message (or saved a record), shared by the Rasa server and
    the action server.

    One small file per danger message under SAFEGUARD_VAR/alarm-claims, created atomically
    (written aside, then hard-linked into place, which fails if it exists), so exactly one
    process raises the alarm; it then records the outcome (reference, who was paged: never
    the child's words) for the other to tell the worker. Both processes must share
    SAFEGUARD_VAR, as they do under `safeguard serve`. A claim whose owner died before
    recording (same host, process gone) is taken over, so a crash never leaves a danger
    message unpaged. Claims older than two days are removed.
    """

    KEEP_SECONDS = 2 * 24 * 3600

    def __init__(self, directory: Path | str | None = None) -> None:
        if directory is None:

            directory = settings.var_dir() / "alarm-claims"
        self.directory = Path(directory)

    def _path(self, key: str) -> Path:
        return self.directory / (sha256(key.encode("utf-8")).hexdigest()[:40] + ".json")

    @staticmethod
    def _write_aside(path: Path, data: dict[str, Any]) -> Path:
        """`data` as JSON in a new 0600 file beside `path`, fsync'd: ready to be linked or
        renamed into place in one step, so a reader never sees half a claim."""
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, json.dumps(data).encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        return tmp

    def _write_new(self, path: Path, data: dict[str, Any]) -> bool:
        """Create `path` holding `data`, only if it does not exist. True if we created it."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self._write_aside(path, data)
        try:
            os.link(tmp, path)
            return True
        except FileExistsError:
            return False
        finally:
            tmp.unlink(missing_ok=True)

    def read(self, key: str) -> dict[str, Any] | None:
        try:
            return json.loads(self._path(key).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {"state": "unreadable"}

    @staticmethod
    def _orphaned(data: dict[str, Any]) -> bool:
        if data.get("state") != "claimed" or data.get("host") != socket.gethostname():
            return False
        try:
            os.kill(int(data.get("pid")), 0)
        except ProcessLookupError:
            return True
        except (PermissionError, TypeError, ValueError):
            return False
        return False

    def claim(self, key: str) -> bool:
        """True if this process now owns raising the alarm for `key`."""
        self._prune()
        mine = {"state": "claimed", "pid": os.getpid(), "host": socket.gethostname()}
        path = self._path(key)
        if self._write_new(path, mine):
            return True
        existing = self.read(key)
        if existing is not None and self._orphaned(existing):
            logger.warning("taking over an alarm claim whose process has gone")
            path.unlink(missing_ok=True)
            return self._write_new(path, mine)
        return False

    def release(self, key: str) -> None:
        """Forget `key`'s claim (for a retry after an outcome that kept nothing)."""
        self._path(key).unlink(missing_ok=True)

    def record(self, key: str, outcome: Outcome) -> None:
        path = self._path(key)
        tmp = self._write_aside(path, {"state": "done", "outcome": asdict(outcome)})
        os.replace(tmp, path)

    def outcome(self, key: str) -> Outcome | None:
        data = self.read(key) or {}
        if data.get("state") != "done":
            return None
        stored = data.get("outcome") or {}
        return Outcome(**{k: v for k, v in stored.items() if k in _OUTCOME_FIELDS})

    def wait(self, key: str, seconds: float) -> Outcome | None:
        """The recorded outcome, waiting up to `seconds` for the owner to finish."""
        deadline = time.monotonic() + seconds
        while True:
            found = self.outcome(key)
            if found is not None or time.monotonic() >= deadline:
                return found
            time.sleep(0.1)

    def _prune(self) -> None:
        try:
            cutoff = time.time() - self.KEEP_SECONDS
            for path in self.directory.glob("*.json"):
                if path.stat().st_mtime < cutoff:
                    path.unlink(missing_ok=True)
        except OSError:
            return


@dataclass
class Alarm:
    """The alarm for one danger message: its outcome (None while another process is still
    raising it) and whether this call raised it."""

    outcome: Outcome | None
    raised_here: bool


def _raise(
    worker: Worker, report: str, now: datetime | None, conversation: str | None = None
) -> Outcome:

    try:
        return reporting.raise_alarm(worker, report, now, conversation)
    except Exception as exc:  # noqa: BLE001 - the worker is told, with the numbers
        logger.error("raising the alarm failed: %s", type(exc).__name__)
        return Outcome(problems=[f"unexpected error ({type(exc).__name__})"])


def run_once(
    key: str | None,
    action: Callable[[], Outcome],
    *,
    claims: AlarmClaims | None = None,
    wait: float = ALARM_WAIT,
    retry_unsaved: bool = False,
) -> Alarm:
    """Run `action` (which returns an Outcome) once for `key`, across processes.

    Whoever claims `key` first runs it and records the outcome; anyone else gets that
    outcome (waiting up to `wait` seconds; None if it is still running). With no key, or a
    claim store that cannot be written, `action` runs: doing it twice is better than not at
    all. `retry_unsaved`: a recorded outcome that neither saved nor spooled anything may be
    run again (for a save the worker retries), instead of being reported again.
    """
    if key is None:
        return Alarm(action(), True)
    claims = claims or AlarmClaims()
    try:
        mine = claims.claim(key)
        if not mine and retry_unsaved:
            earlier = claims.outcome(key)
            if earlier is not None and not earlier.saved and not getattr(earlier, "spooled", 0):
                claims.release(key)
                mine = claims.claim(key)
    except OSError as exc:
        logger.error("claim store unavailable (%s); going ahead anyway", type(exc).__name__)
        return Alarm(action(), True)
    if not mine:
        return Alarm(claims.wait(key, wait), False)
    outcome = action()
    try:
        claims.record(key, outcome)
    except OSError as exc:
        logger.error("could not record an outcome: %s", type(exc).__name__)
    return Alarm(outcome, True)


def raise_alarm_once(
    key: str | None,
    worker: Worker,
    report: str = "",
    *,
    claims: AlarmClaims | None = None,
    wait: float = ALARM_WAIT,
    now: datetime | None = None,
    conversation: str | None = None,
) -> Alarm:
    """Raise the alarm for the danger message `key` unless someone already has.

    With no key (the message's id is unknown) the alarm is raised: a second page is better
    than none. If the claim store cannot be written the alarm is raised too, for the same
    reason. `conversation` (the sender id): a conversation that already raised a concern
    gets the danger added to it and its one page chain paged again (bot.records.incidents).
    """
    return run_once(
        key, lambda: _raise(worker, report, now, conversation), claims=claims, wait=wait
    )


def submission_key(worker_id: str, draft: Any) -> str:
    """The identity of one saved record: the worker and everything in it but the time it was
    drafted, so pressing "save" again after a lost reply (the action server's answer timed
    out after it had saved) finds the first save instead of making a second concern."""
    data = asdict(draft) if hasattr(draft, "__dataclass_fields__") else dict(vars(draft))
    data.pop("created_at", None)
    digest = sha256(json.dumps(data, sort_keys=True, default=str).encode("utf-8")).hexdigest()
    return f"submit\x1f{worker_id}\x1f{digest}"
