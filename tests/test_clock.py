from __future__ import annotations

from datetime import datetime

import pytest

from bot.core import clock


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


def test_the_clock_file_moves_a_running_process_in_time(
    tmp_path, monkeypatch  # noqa: ANN001
) -> None:
    from bot.core import clock

    path = tmp_path / "now"
    path.write_text("2026-12-04T21:40\n")
    monkeypatch.setenv("SAFEGUARD_NOW", "2026-01-01T09:00")
    monkeypatch.setenv(clock.NOW_FILE_ENV, str(path))
    assert clock.now().isoformat() == "2026-12-04T21:40:00+00:00"
    path.write_text("2026-06-01T10:00")
    assert clock.now().isoformat() == "2026-06-01T10:00:00+01:00"
    path.write_text("")  # an empty file falls back to SAFEGUARD_NOW
    assert clock.now().isoformat() == "2026-01-01T09:00:00+00:00"
    path.unlink()
    import pytest

    with pytest.raises(clock.ClockError):
        clock.now()
