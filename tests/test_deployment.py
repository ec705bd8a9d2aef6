"""The deployment context (bot/paging/deployment.py): the settings, the pack, the roster, the
clock and the concern log a process passes around instead of reading the environment."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bot.config import settings
from bot.config.settings import Settings
from bot.core import clock, rota
from bot.paging import deployment
from bot.paging.deployment import Deployment


def test_from_settings_holds_what_the_settings_say(tmp_path: Path) -> None:
    roster = tmp_path / "roster.yml"
    roster.write_text(rota.DEFAULT_ROSTER.read_text(encoding="utf-8"), encoding="utf-8")
    here = Deployment.from_settings(
        Settings.from_environ(
            {
                "SAFEGUARD_ORG": "leics-seips",
                "SAFEGUARD_ROSTER": str(roster),
                "SAFEGUARD_NOW": "2026-12-04T16:45",
            }
        )
    )
    assert here.org == "leics-seips" and here.pack.org == "leics-seips"
    assert here.roster_path == roster
    assert [p.id for p in here.roster().people] == [
        p.id for p in rota.load_roster(rota.DEFAULT_ROSTER).people
    ]
    assert here.now().isoformat() == "2026-12-04T16:45:00+00:00"
    assert here.clock == clock.Clock("2026-12-04T16:45", None)


def test_it_is_frozen() -> None:
    here = Deployment.from_settings(Settings.from_environ({}))
    with pytest.raises(dataclasses.FrozenInstanceError):
        here.settings = Settings.from_environ({"SAFEGUARD_ORG": "crasac"})  # type: ignore[misc]


def test_current_follows_the_process_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    first = deployment.current()
    assert first is deployment.current()
    assert first.settings is settings.current()
    monkeypatch.setenv("SAFEGUARD_ORG", "crasac")
    again = deployment.current()
    assert again is not first and again.org == "crasac" and again.pack.org == "crasac"


def test_the_clock_file_is_read_at_every_call(tmp_path: Path) -> None:
    path = tmp_path / "now"
    path.write_text("2026-06-01T10:00\n")
    here = Deployment.from_settings(Settings.from_environ({"SAFEGUARD_NOW_FILE": str(path)}))
    assert here.now().isoformat() == "2026-06-01T10:00:00+01:00"
    path.write_text("2026-12-01T10:00\n")
    assert here.now().isoformat() == "2026-12-01T10:00:00+00:00"


def test_the_concern_log_is_opened_once_and_reused() -> None:
    here = deployment.current()
    here.concern_log()  # the first opening makes the key file; the log is kept from then on
    log = here.concern_log()
    assert here.concern_log() is log
    assert deployment.current().concern_log() is log
