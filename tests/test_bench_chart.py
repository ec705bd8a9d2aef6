"""The benchmark picture (bench/run.py `chart`) and `--plot-only`, from a committed result.

`make bench` takes 10-20 minutes; the picture must be redrawable from latest.json alone, in
seconds, with nothing measured.
"""

from __future__ import annotations

import copy
import json
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import run  # noqa: E402

LATEST = ROOT / "bench" / "results" / "latest.json"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_plot_only_redraws_the_png_from_the_json_without_measuring(tmp_path: Path) -> None:
    shutil.copy(LATEST, tmp_path / "latest.json")
    assert run.main(["--plot-only", "--out", str(tmp_path)]) == 0
    png = (tmp_path / "latest.png").read_bytes()
    assert png.startswith(PNG_MAGIC) and len(png) > 20_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest.json", "latest.png"]


def test_plot_only_without_a_result_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as caught:
        run.main(["--plot-only", "--out", str(tmp_path)])
    assert "cannot read" in str(caught.value) and "\n" not in str(caught.value)


def test_a_missed_target_and_a_single_server_run_still_draw(tmp_path: Path) -> None:
    result = json.loads(LATEST.read_text())
    slow = copy.deepcopy(result)
    slow.pop("two_servers", None)
    for key in ("p50_ms", "p95_ms", "p99_ms"):
        slow["conversation"]["safeguard"]["sequential"][key] *= 3
        slow["danger"]["to_page"][key] *= 5
    slow["targets"][0]["met"] = False
    run.chart(slow, tmp_path / "slow.png")
    assert (tmp_path / "slow.png").read_bytes().startswith(PNG_MAGIC)
