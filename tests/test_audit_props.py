"""Property: whatever single change someone makes to a verified audit trail (any field of any
entry, deleting any entry, swapping any two), `verify` finds it and names the first entry
affected. Each example tampers with a fresh copy of one SQLite trail."""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.records.audit import HASHED_FIELDS, Actor, AuditTrail

ENTRIES = 12
PEOPLE = [Actor("lena", "Lena Lead", "lead"), Actor("wes", "Wes Worker", "worker", "chat")]


@pytest.fixture(scope="module")
def original() -> Path:
    import os

    folder = Path(tempfile.mkdtemp(prefix="audit-props-"))
    path = folder / "trail.sqlite3"
    old = os.environ.get("SAFEGUARD_NOW")
    os.environ["SAFEGUARD_NOW"] = "2026-11-23T16:00"
    try:
        trail = AuditTrail(f"sqlite:///{path}")
        for i in range(ENTRIES):
            trail.record(PEOPLE[i % 2], "view", concern_ref="SG-2222-3333", reason=f"r{i}")
        assert trail.verify(anchor=None).ok
        trail.engine.dispose()
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("DROP TRIGGER audit_entries_no_update")
        db.execute("DROP TRIGGER audit_entries_no_delete")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # one file is then the whole trail
        db.close()
        yield path
    finally:
        if old is None:
            os.environ.pop("SAFEGUARD_NOW", None)
        else:
            os.environ["SAFEGUARD_NOW"] = old
        shutil.rmtree(folder, ignore_errors=True)


def _tampered(original: Path, *statements: tuple[str, tuple]) -> tuple[bool, int | None]:
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "copy.sqlite3"
        shutil.copy(original, copy)
        with sqlite3.connect(copy) as db:
            for sql, params in statements:
                db.execute(sql, params)
        trail = AuditTrail(f"sqlite:///{copy}", migrate=False)
        result = trail.verify(anchor=None)
        trail.engine.dispose()
    return result.ok, result.bad_position


def test_an_untouched_copy_verifies(original: Path) -> None:
    assert _tampered(original) == (True, None)


EDITABLE = [f for f in HASHED_FIELDS if f not in ("position", "recorded_at")]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    position=st.integers(1, ENTRIES),
    field=st.sampled_from(EDITABLE + ["recorded_at", "prev_hash", "entry_hash"]),
    value=st.text(min_size=1, max_size=20),
)
def test_any_changed_field_is_found(original: Path, position: int, field: str, value: str) -> None:
    if field == "recorded_at":
        value = "2026-11-23 16:00:01.000000"
    elif field in ("prev_hash", "entry_hash"):
        value = (value.encode().hex() + "0" * 64)[:64]
    ok, bad = _tampered(
        original,
        (f"UPDATE audit_entries SET {field} = ? WHERE position = ? AND {field} IS NOT ?",
         (value, position, value)),
    )  # fmt: skip
    with sqlite3.connect(original) as db:
        (current,) = db.execute(
            f"SELECT {field} FROM audit_entries WHERE position = ?", (position,)
        ).fetchone()
    if str(current) == value:
        return  # hypothesis drew the value already there: nothing was changed
    assert not ok
    # A changed entry_hash shows at that entry (its hash no longer matches) at the latest.
    assert bad == position


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(position=st.integers(1, ENTRIES - 1))
def test_any_deleted_entry_but_the_last_is_found(original: Path, position: int) -> None:
    ok, bad = _tampered(original, ("DELETE FROM audit_entries WHERE position = ?", (position,)))
    assert not ok and bad == position


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(pair=st.lists(st.integers(1, ENTRIES), min_size=2, max_size=2, unique=True))
def test_any_two_entries_swapped_are_found(original: Path, pair: list[int]) -> None:
    first, second = sorted(pair)
    ok, bad = _tampered(
        original,
        ("UPDATE audit_entries SET position = -1 WHERE position = ?", (first,)),
        ("UPDATE audit_entries SET position = ? WHERE position = ?", (first, second)),
        ("UPDATE audit_entries SET position = ? WHERE position = -1", (second,)),
    )
    assert not ok and bad == first
