"""bot.core.rota.load_roster reuses its parse only while the file is unchanged."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.core import rota
from bot.core.datafile import DataFileError
from tests.conftest import ROOT

EXAMPLE = ROOT / "deploy" / "roster.example.yml"


def copy_example(tmp_path: Path) -> Path:
    path = tmp_path / "roster.yml"
    path.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def test_an_edit_applies_to_the_next_call(tmp_path: Path) -> None:
    path = copy_example(tmp_path)
    first = rota.load_roster(path)
    assert first.people[0].name != "Renamed Lead"
    text = path.read_text(encoding="utf-8").replace(first.people[0].name, "Renamed Lead", 1)
    stat = path.stat()
    path.write_text(text, encoding="utf-8")
    # Even with the modification time put back, a different size is a different file.
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert rota.load_roster(path).people[0].name == "Renamed Lead"


def test_callers_get_their_own_copy(tmp_path: Path) -> None:
    path = copy_example(tmp_path)
    mine = rota.load_roster(path)
    mine.people.clear()
    assert rota.load_roster(path).people, "a caller's change leaked into the next load"


def test_readers_share_one_parse_and_still_see_edits(tmp_path: Path) -> None:
    path = copy_example(tmp_path)
    first = rota.load_roster(path, shared=True)
    assert rota.load_roster(path, shared=True) is first  # no copy for read-only callers
    assert rota.load_roster(path) is not first  # the default is still a copy
    path.write_text(
        path.read_text(encoding="utf-8").replace(first.people[0].name, "Renamed Lead", 1),
        encoding="utf-8",
    )
    assert rota.load_roster(path, shared=True).people[0].name == "Renamed Lead"


def test_a_broken_file_still_fails_every_time(tmp_path: Path) -> None:
    path = copy_example(tmp_path)
    rota.load_roster(path)
    path.write_text("people: [", encoding="utf-8")
    for _ in range(2):
        with pytest.raises(DataFileError):
            rota.load_roster(path)
    path.unlink()
    with pytest.raises(DataFileError):
        rota.load_roster(path)
