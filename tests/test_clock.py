from __future__ import annotations

from datetime import datetime

import pytest

from bot import clock


def test_pinned_naive_time_is_london_local(pinned_clock) -> None:  # noqa: ANN001
    pinned_clock("2026-07-01T09:30")
    now = clock.now()
    assert (now.hour, now.minute) == (9, 30)
    assert now.utcoffset().total_seconds() == 3600  # BST


def test_pinned_winter_time_is_gmt(pinned_clock) -> None:  # noqa: ANN001
    pinned_clock("2026-12-28T19:30")
    assert clock.now().utcoffset().total_seconds() == 0


def test_aware_time_is_converted_to_london() -> None:
    moment = clock.parse_local("2026-07-01T08:00:00+00:00")
    assert moment.hour == 9 and str(moment.tzinfo) == "Europe/London"


def test_bad_pinned_time_is_a_plain_error(pinned_clock) -> None:  # noqa: ANN001
    pinned_clock("next tuesday")
    with pytest.raises(clock.ClockError, match="SAFEGUARD_NOW='next tuesday'"):
        clock.now()


def test_unpinned_clock_is_real_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SAFEGUARD_NOW", raising=False)
    assert abs((clock.now() - datetime.now(clock.LONDON)).total_seconds()) < 5
