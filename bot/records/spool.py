"""The local spool: a concern is never lost because the database is down.

When `bot.paging.reporting.raise_concern` cannot reach the concern log, the draft is written here
instead: one file per concern in ``<SAFEGUARD_VAR>/spool/``, encrypted with the concern-log
key (`bot.records.crypto`), written to a temporary file, fsync'd, renamed into place and the
directory fsync'd, mode 0600. A kill at any moment leaves either no spool file or a whole
one (a half-written temporary file is never read as a concern).

`bot.paging.replay` writes each spooled draft to the concern log when the database is
back, with its pages in the same transaction, then removes the file (this module only
keeps and reads the files: writing a concern with its pages is paging's job). It runs at
the pager's start and every `REPLAY_EVERY_S` seconds in its loop (`bot.paging.pager`), and
on demand with ``safeguard spool flush``. Exactly once: before writing, it looks for a
concern already holding this draft (same worker, same creation time to the microsecond,
same record), so a crash between the database commit and the file's removal cannot write
it twice. One replayer at a time (a lock file, `locked`), so the pager and a manual flush
never race.

A spool file that cannot be read or decrypted is never deleted: it is moved aside to
``spool/unreadable/`` and reported (one line each) by ``safeguard spool status`` and when
the pager starts.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.config import settings
from bot.core import clock
from bot.records.concern_log import ConcernDraft
from bot.records.crypto import CryptoError, Sealer, as_multifernet

logger = logging.getLogger(__name__)

SPOOL_DIRNAME = "spool"
UNREADABLE_DIRNAME = "unreadable"
SUFFIX = ".concern"
TMP_PREFIX = ".tmp-"
LOCK_NAME = ".lock"
FORMAT_VERSION = 1
REPLAY_EVERY_S = 15.0
"""How often the pager's loop tries the database again while something is spooled."""
STALE_TMP_S = 3600.0
"""A temporary file this old was left by a writer killed mid-write: never a whole concern
(the worker was not told it was kept), so it is removed."""


class SpoolError(RuntimeError):
    """The spool cannot be written or read (one plain line)."""


# --------------------------------------------------------------------------- places


def spool_dir(base: Path | None = None) -> Path:
    path = (base or settings.var_dir()) / SPOOL_DIRNAME
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)  # only this service's user may list what is waiting
    return path


def unreadable_dir(base: Path | None = None) -> Path:
    path = spool_dir(base) / UNREADABLE_DIRNAME
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- encoding


def _encode(draft: Any, spool_id: str, spooled_at: datetime, reason: str) -> str:
    values: dict[str, Any] = {}
    for f in fields(draft):
        value = getattr(draft, f.name)
        if isinstance(value, datetime):
            value = {"datetime": value.isoformat()}
        values[f.name] = value
    return json.dumps(
        {
            "v": FORMAT_VERSION,
            "id": spool_id,
            "spooled_at": spooled_at.isoformat(),
            "reason": reason,
            "draft": values,
        },
        ensure_ascii=False,
    )


def _decode(text: str):  # noqa: ANN202

    payload = json.loads(text)
    if not isinstance(payload, dict) or payload.get("v") != FORMAT_VERSION:
        raise ValueError("not a safeguard spool file of a known version")
    values = dict(payload["draft"])
    for name, value in list(values.items()):
        if isinstance(value, dict) and set(value) == {"datetime"}:
            values[name] = datetime.fromisoformat(value["datetime"])
    known = {f.name for f in fields(ConcernDraft)}
    unknown = set(values) - known
    if unknown:
        raise ValueError(f"unknown draft fields {sorted(unknown)}")
    return payload, ConcernDraft(**values)


# --------------------------------------------------------------------------- writing


def write(draft: Any, reason: str = "", *, base: Path | None = None, key: Any = None) -> str:
    """Keep `draft` (a ConcernDraft) durably in the spool; return its spool id.

    Raises SpoolError (one line) if it could not be kept: the caller must then tell the
    worker nothing was saved."""

    now = clock.now()
    if draft.created_at is None:
        # The concern's time is when the worker raised it, not when the database returns.
        draft.created_at = now
    spool_id = f"{now.strftime('%Y%m%dT%H%M%S%f')}-{secrets.token_hex(6)}"
    try:
        token = Sealer(key).seal(_encode(draft, spool_id, now, reason))
    except CryptoError as exc:
        raise SpoolError(f"could not keep the concern in the local spool: {exc}") from None
    directory = (base or settings.var_dir()) / SPOOL_DIRNAME
    tmp = directory / f"{TMP_PREFIX}{spool_id}"
    final = directory / f"{spool_id}{SUFFIX}"
    try:
        spool_dir(base)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            data = token.encode("ascii")
            written = 0
            while written < len(data):
                written += os.write(fd, data[written:])
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, final)
        _fsync_dir(directory)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise SpoolError(
            f"could not keep the concern in the local spool {directory}: "
            f"{exc.strerror or type(exc).__name__}"
        ) from None
    logger.warning("concern kept in the local spool (%s): the database is unreachable", spool_id)
    return spool_id


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Waiting:
    """A spooled concern, without its narrative (safe to print)."""

    spool_id: str
    spooled_at: str
    created_at: str
    urgency: str
    worker_name: str
    categories: tuple[str, ...]


@dataclass
class Status:
    waiting: list[Waiting] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """One line each: unreadable files first (loud), then what is waiting."""
        out = [
            f"!!! UNREADABLE SPOOL FILE {name}: a concern may be in it; it was moved aside, "
            "not deleted. Check the key (SAFEGUARD_KEY / SAFEGUARD_KEY_FILE) it was written "
            "with."
            for name in self.unreadable
        ]
        out += [f"!!! {problem}" for problem in self.problems]
        for item in self.waiting:
            out.append(
                f"waiting for the database: {item.urgency} concern from {item.worker_name}, "
                f"raised {item.created_at} (spool {item.spool_id})"
            )
        return out


def spooled_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.is_file() and p.name.endswith(SUFFIX))


def _read(path: Path, key: Any = None):  # noqa: ANN202

    token = path.read_text(encoding="ascii")
    return _decode(Sealer(key).open(token.strip()))


def move_aside(path: Path, why: str, base: Path | None) -> str:
    """Move an unreadable file out of the way, keeping it (never deleted)."""
    target_dir = unreadable_dir(base)
    target = target_dir / path.name
    if target.exists():
        target = target_dir / f"{path.stem}-{secrets.token_hex(3)}{path.suffix}"
    os.rename(path, target)
    _fsync_dir(path.parent)
    _fsync_dir(target_dir)
    logger.error(
        "UNREADABLE SPOOL FILE %s (%s): moved aside to %s, not deleted", path.name, why, target
    )
    return target.name


def read_spooled(path: Path, key: Any, base: Path | None):  # noqa: ANN202
    """(payload, draft) for a readable file, or None after moving it aside."""

    try:
        return _read(path, key)
    except CryptoError:
        move_aside(path, "cannot be decrypted with this key", base)
    except (ValueError, TypeError, KeyError, UnicodeError) as exc:
        move_aside(path, f"damaged: {type(exc).__name__}", base)
    return None


def remove_stale_tmp(directory: Path) -> None:
    cutoff = time.time() - STALE_TMP_S
    for path in directory.iterdir():
        if path.name.startswith(TMP_PREFIX):
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    logger.warning("removed %s, left by a spool write that was killed", path.name)


def status(*, base: Path | None = None, key: Any = None) -> Status:
    """What is waiting in the spool and what was moved aside. Unreadable files found now
    are moved aside first."""
    directory = spool_dir(base)
    result = Status()
    try:

        key = as_multifernet(key)
    except ValueError as exc:
        result.problems.append(f"the spool cannot be read: {exc}")
        key = None
    if key is not None:
        with locked(directory, wait=False) as got:
            for path in spooled_files(directory):
                if got:
                    read = read_spooled(path, key, base)
                else:
                    # A replay holds the spool: read only, move nothing.
                    try:
                        read = _read(path, key)
                    except (ValueError, TypeError, KeyError, UnicodeError):
                        result.problems.append(f"spool file {path.name} cannot be read")
                        continue
                if read is None:
                    continue
                payload, draft = read
                result.waiting.append(
                    Waiting(
                        spool_id=payload["id"],
                        spooled_at=payload["spooled_at"],
                        created_at=draft.created_at.isoformat(timespec="minutes")
                        if draft.created_at
                        else "?",
                        urgency=draft.urgency,
                        worker_name=draft.worker_name,
                        categories=tuple(draft.categories),
                    )
                )
    else:
        count = len(spooled_files(directory))
        if count:
            result.problems.append(f"{count} spool file(s) wait but cannot be read without the key")
    aside = unreadable_dir(base)
    result.unreadable = sorted(p.name for p in aside.iterdir() if p.is_file())
    return result


def pending_count(base: Path | None = None) -> int:
    """How many spool files wait (without opening them)."""
    try:
        return len(spooled_files(spool_dir(base)))
    except OSError:
        return 0


# --------------------------------------------------------------------------- replay


@contextlib.contextmanager
def locked(directory: Path, wait: bool = True) -> Iterator[bool]:
    """One replayer at a time (an flock on spool/.lock; released if the process dies)."""
    fd = os.open(directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                yield False
                return
            raise
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def remove(path: Path) -> None:
    """Remove a spool file once its concern is in the log, durably (the directory fsync'd)."""
    path.unlink()
    _fsync_dir(path.parent)


# --------------------------------------------------------------------------- start-up


def startup_lines(base: Path | None = None) -> list[str]:
    """Loud lines for start-up: unreadable spool files and concerns still waiting."""
    try:
        found = status(base=base)
    except OSError as exc:
        return [f"!!! THE LOCAL SPOOL CANNOT BE READ: {exc.strerror or exc}"]
    lines = [line for line in found.lines() if line.startswith("!!!")]
    if found.waiting:
        lines.append(
            f"!!! {len(found.waiting)} concern(s) are waiting in the local spool for the "
            "database; they are written (and paged) as soon as it is reachable"
        )
    return lines
