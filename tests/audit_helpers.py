"""Shared by the audit, access, retention and concerns-CLI tests: a small fictional roster
(one of each role, two workers) and a way to record concerns as a given worker."""

from __future__ import annotations

from pathlib import Path

import pytest

ROSTER = """\
organisation: test
source: "Fictional roster for the access and audit tests"
people:
  - {id: lena, name: Lena Lead, role: lead, phone: "07700 900501", telegram_chat_id: 7001}
  - {id: dev, name: Dev Deputy, role: deputy, phone: "07700 900502"}
  - {id: ada, name: Ada Admin, role: admin, phone: "07700 900503"}
  - {id: wes, name: Wes Worker, role: worker, telegram_chat_id: 7101}
  - {id: wyn, name: Wyn Worker, role: worker}
shifts:
  - {person: lena, when: "daily 00:00-00:00"}
fallback:
  purpose: out_of_hours_social_care
escalation:
  immediate:
    steps: [{target: on_call_lead, timeout_minutes: 2}]
  urgent:
    steps: [{target: on_call_lead, timeout_minutes: 15}]
  routine:
    steps: [{target: on_call_lead, timeout_minutes: 60}]
"""

WORDS = "He said if I tell anyone\nI'll be taken away."


def write_roster(directory: Path) -> Path:
    path = directory / "roster.yml"
    path.write_text(ROSTER, encoding="utf-8")
    return path


def use_roster(monkeypatch: pytest.MonkeyPatch, directory: Path) -> Path:
    path = write_roster(directory)
    monkeypatch.setenv("SAFEGUARD_ROSTER", str(path))
    return path


def draft(**changes: object):  # noqa: ANN201
    from bot.records.concern_log import ConcernDraft

    fields: dict[str, object] = dict(
        urgency="urgent",
        worker_id="wyn",
        worker_name="Wyn Worker",
        child="Child B",
        child_words=WORDS,
        categories=["emotional abuse"],
        worker_view="Seemed scared of going home.",
    )
    fields.update(changes)
    return ConcernDraft(**fields)  # type: ignore[arg-type]
