"""deploy/systemd/: every unit passes `systemd-analyze verify`, each role restarts on failure
with a delay, is hardened the same way, and every scheduled check is a real `safeguard`
command whose failure pages the on-call lead (OnFailure= -> `safeguard notify-failure`)."""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from bot import ROOT
from bot.commands.cli import build_parser

UNITS = ROOT / "deploy" / "systemd"
INSTALL = "/opt/safeguard"
ANALYZE = "systemd-analyze"
HARDENING = {
    "User": "safeguard",
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "ReadWritePaths": "/var/lib/safeguard",
    "EnvironmentFile": "/etc/safeguard/env",
}
LONG_RUNNING = (
    "safeguard-rasa@.service",
    "safeguard-actions.service",
    "safeguard-pager.service",
    "safeguard-telegram.service",
)
CHECKS = {  # timer name: the safeguard command its service runs
    "audit-verify": "audit verify",
    "spool-status": "spool status",
    "rota-gaps": "rota gaps",
    "retention-due": "retention due",
    "pager-watch": "pager watch",
}


def read(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # keys are case-sensitive
    parser.read_string((UNITS / name).read_text(encoding="utf-8"))
    return parser


def analyze() -> str:
    found = shutil.which(ANALYZE) or (
        "/usr/bin/systemd-analyze" if Path("/usr/bin/systemd-analyze").exists() else None
    )
    if found is None:
        pytest.fail("systemd-analyze is missing: install it with `apt-get install systemd`")
    return found


def test_systemd_analyze_verify_passes_every_unit(tmp_path: Path) -> None:
    """The units as shipped, with /opt/safeguard moved to a fake install tree in tmp (verify
    checks that ExecStart= is executable). Verify exits 0 even for a key it ignores, so any
    line it prints is a failure too."""
    tool = analyze()
    install = tmp_path / "opt" / "safeguard"
    (install / ".venv" / "bin").mkdir(parents=True)
    fake = install / ".venv" / "bin" / "safeguard"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    units = tmp_path / "units"
    units.mkdir()
    names = []
    for path in sorted(UNITS.iterdir()):
        text = path.read_text(encoding="utf-8").replace(INSTALL, str(install))
        # A template is verified as an instance of itself.
        name = path.name.replace("@.", "@5005." if "rasa" in path.name else "@safeguard-x.")
        (units / name).write_text(text)
        names.append(str(units / name))
    assert len(names) >= 14
    result = subprocess.run(
        [tool, "verify", *names], capture_output=True, text=True, timeout=120, check=False
    )
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 0 and not output, output


def test_verify_would_catch_a_broken_unit(tmp_path: Path) -> None:
    """The control: the same check fails on a unit with a bad value or a missing program."""
    tool = analyze()
    text = (UNITS / "safeguard-pager.service").read_text(encoding="utf-8")
    bad = tmp_path / "safeguard-pager.service"
    bad.write_text(text.replace("NoNewPrivileges=yes", "NoNewPrivileges=perhaps"))
    result = subprocess.run([tool, "verify", str(bad)], capture_output=True, text=True, check=False)
    output = result.stdout + result.stderr
    assert "NoNewPrivileges" in output or "boolean" in output or result.returncode != 0


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_each_role_restarts_on_failure_with_a_delay_and_is_hardened(name: str) -> None:
    unit = read(name)
    service = unit["Service"]
    assert service["Restart"] == "on-failure"
    assert service["RestartSec"]
    for key, value in HARDENING.items():
        assert service[key] == value, key
    assert service["ExecStart"].startswith(f"{INSTALL}/.venv/bin/safeguard ")
    assert unit["Unit"]["OnFailure"] == "safeguard-notify-failure@%N.service"


def test_rasa_is_a_template_one_server_per_port() -> None:
    start = shlex.split(read("safeguard-rasa@.service")["Service"]["ExecStart"])
    assert start[1:5] == ["serve", "--role", "rasa", "--port"] and start[5] == "%i"


@pytest.mark.parametrize(("check", "command"), sorted(CHECKS.items()))
def test_each_scheduled_check_has_a_timer_a_real_command_and_pages_on_failure(
    check: str, command: str
) -> None:
    timer = read(f"safeguard-{check}.timer")
    assert any(key.startswith("On") for key in timer["Timer"])
    assert timer["Install"]["WantedBy"] == "timers.target"
    service = read(f"safeguard-{check}.service")
    assert service["Service"]["Type"] == "oneshot"
    assert service["Unit"]["OnFailure"] == "safeguard-notify-failure@%N.service"
    for key, value in HARDENING.items():
        assert service["Service"][key] == value, key
    argv = shlex.split(service["Service"]["ExecStart"])
    assert argv[0] == f"{INSTALL}/.venv/bin/safeguard"
    assert " ".join(argv[1:]) == command
    build_parser().parse_args(argv[1:])  # a command the CLI really has (SystemExit if not)


def test_the_failure_notice_runs_notify_failure_for_the_failed_unit() -> None:
    unit = read("safeguard-notify-failure@.service")
    argv = shlex.split(unit["Service"]["ExecStart"])
    assert argv[1:] == ["notify-failure", "%I"]
    assert "OnFailure" not in unit["Unit"]  # never pages about its own failure in a loop
    args = build_parser().parse_args(["notify-failure", "safeguard-audit-verify"])
    assert args.unit == "safeguard-audit-verify"


def test_every_unit_is_in_the_deploy_guide() -> None:
    guide = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    for path in UNITS.iterdir():
        assert path.name in guide, f"docs/deploy.md does not mention {path.name}"
