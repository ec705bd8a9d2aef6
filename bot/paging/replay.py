"""Replay the local spool: concerns kept on disk while the database was down are written to
the concern log, each with its pages in the same transaction, oldest first, exactly once.

The spool itself (`bot.records.spool`) only keeps and reads the files; writing a concern
with its pages is paging's job, so the replayer lives here, above both. It runs at the
pager's start and every `spool.REPLAY_EVERY_S` seconds in its loop (`bot.paging.pager`),
and on demand with ``safeguard spool flush``. Helpers are reached as `spool.<name>` so a
test can stand in for one (a crash right after the commit, say).
"""

from __future__ import annotations

import inspect
import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from bot.core import clock
from bot.paging import reporting
from bot.records import spool
from bot.records.concern_log import (
    SEALED_FIELDS,
    ConcernLogError,
    ConcernRecord,
    InvalidConcern,
)

logger = logging.getLogger(__name__)


@dataclass
class ReplayResult:
    written: list[str] = field(default_factory=list)
    """References of concerns written to the log in this replay."""
    already: list[str] = field(default_factory=list)
    """References of drafts found already written (a crash after the commit)."""
    moved_aside: list[str] = field(default_factory=list)
    remaining: int = 0
    problem: str | None = None
    """Why the replay stopped early (the database is still down), one line."""


def _same_record(view: Any, draft: Any) -> bool:
    return all(getattr(view, name) == _sealed_value(draft, name) for name in SEALED_FIELDS)


def _sealed_value(draft: Any, name: str) -> Any:
    value = getattr(draft, name)
    return list(value) if name == "language_choices" else value


def find_written(log: Any, draft: Any) -> str | None:
    """The reference of a concern already holding exactly this draft, or None."""
    try:
        with log.sessions() as session:
            refs = session.scalars(
                select(ConcernRecord.reference).where(
                    ConcernRecord.worker_id == draft.worker_id.strip(),
                    ConcernRecord.created_at == draft.created_at,
                )
            ).all()
    except SQLAlchemyError as exc:
        original = getattr(exc, "orig", None) or exc
        first = (str(original).strip().splitlines() or [""])[0][:200]
        raise ConcernLogError(
            f"could not check the spool against the concern log: the database failed "
            f"({type(original).__name__}: {first})"
        ) from exc
    for ref in refs:
        if _same_record(log.get(ref), draft):
            return ref
    return None


def replay(
    log: Any = None,
    *,
    base: Path | None = None,
    key: Any = None,
    now: datetime | None = None,
    wait_for_lock: bool = False,
) -> ReplayResult:
    """Write every spooled draft to the concern log (with its pages), oldest first.

    Stops at the first database failure (the rest wait for the next try). `log` defaults
    to `bot.paging.reporting.concern_log()`. With `wait_for_lock` False, returns at once (nothing
    done) if another process is replaying."""
    result = ReplayResult()
    directory = spool.spool_dir(base)
    spool.remove_stale_tmp(directory)
    files = spool.spooled_files(directory)
    if not files:
        return result
    with spool.locked(directory, wait=wait_for_lock) as got:
        if not got:
            result.remaining = len(spool.spooled_files(directory))
            result.problem = "another process is writing the spool to the database"
            return result
        files = spool.spooled_files(directory)
        if log is None:
            try:
                log = reporting.concern_log()
            except ConcernLogError as exc:
                result.problem, result.remaining = str(exc), len(files)
                return result
        for index, path in enumerate(files):
            read = spool.read_spooled(path, key, base)
            if read is None:
                result.moved_aside.append(path.name)
                continue
            payload, draft = read
            try:
                done = find_written(log, draft)
                if done is None:
                    view = log.record(
                        draft,
                        in_same_transaction=reporting.page_in_same_transaction(
                            now or clock.now()
                        ),
                        **_record_reason(log),
                    )
                    result.written.append(view.reference)
                    logger.warning(
                        "concern from the local spool (%s) written as %s; paging",
                        payload["id"],
                        view.reference,
                    )
                else:
                    result.already.append(done)
            except InvalidConcern as exc:
                # The log will never accept it as it is: keep it, aside, and say so.
                result.moved_aside.append(spool.move_aside(path, f"refused: {exc}", base))
                continue
            except ConcernLogError as exc:
                result.problem = str(exc)
                result.remaining = len(files) - index
                return result
            spool.remove(path)
    return result


def _record_reason(log: Any) -> dict[str, str]:
    """The audit reason for a replayed concern, where the log records one."""
    if "reason" in inspect.signature(log.record).parameters:
        return {"reason": "raised a concern (kept in the local spool while the database was down)"}
    return {}
