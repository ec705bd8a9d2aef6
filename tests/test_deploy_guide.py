"""docs/deploy.md, run: the guide's own commands that can run on loopback without root, so a
drift between the guide and the code fails here.

Taken from the guide's ```sh blocks as written, with its paths moved into a temp dir
(/etc/safeguard, /var/lib/safeguard, /etc/systemd/system; /opt/safeguard is this checkout),
`sudo -u safeguard` and `chown` dropped (no service account here), and the PostgreSQL
socket URL replaced by the test PostgreSQL (SAFEGUARD_TEST_PG_URL or the harness's own):

* section 6: the key, the secrets and the roster files;
* section 7: the env file, and the `sgd` helper with `sgd config`, `packs check`, `rota gaps`;
* section 8: `systemd-analyze verify` of the units named, copied as the guide copies them;
* section 9: `sgd health` (the database and the pager are checked; no Rasa runs here),
  `sgd notify-failure deploy-test` (migrates the database, queues the page), one pager pass
  with a fake transport (the page reaches the on-call lead's Telegram), `sgd pages`,
  `sgd pager ack 1 --by "Your Name"`.

Every `sgd ...` command in the guide must parse, and every unit it enables must exist.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from bot.commands.cli import build_parser
from tests.conftest import ROOT
from tests.pg_server import fresh_database

GUIDE = ROOT / "docs" / "deploy.md"
UNITS = ROOT / "deploy" / "systemd"
PG_SOCKET = "host=/var/run/postgresql"
NOW = "2026-11-24T10:00"  # a Tuesday morning: the example roster has Alex on call


def sections() -> dict[str, list[str]]:
    """The ```sh blocks under each `## N. Title` heading, by N (or the title)."""
    out: dict[str, list[str]] = {}
    heading = ""
    for part in re.split(r"^(## .*)$", GUIDE.read_text(encoding="utf-8"), flags=re.M):
        if part.startswith("## "):
            heading = part[3:].split(".")[0].strip()
            continue
        out[heading] = re.findall(r"```sh\n(.*?)```", part, flags=re.S)
    return out


def block(number: str, containing: str) -> str:
    found = [b for b in sections().get(number, []) if containing in b]
    assert found, f"docs/deploy.md section {number} has no sh block with {containing!r}"
    return found[0]


def lines(text: str, start: str) -> list[str]:
    """The lines that start with `start`, without a trailing # comment."""
    found = [line.strip() for line in text.splitlines() if line.strip().startswith(start)]
    return [re.sub(r"\s+#[^'\"]*$", "", line) for line in found]


def moved(text: str, root: Path, db_url: str) -> str:
    """The guide's commands with its paths under `root`, no sudo or chown, our database."""
    text = text.replace("/opt/safeguard", str(ROOT))
    text = text.replace("/etc/systemd/system", str(root / "systemd"))
    text = text.replace("/etc/safeguard", str(root / "etc"))
    text = text.replace("/var/lib/safeguard", str(root / "var"))
    text = re.sub(r"postgresql\+psycopg2://safeguard@/\w+\?" + re.escape(PG_SOCKET), db_url, text)
    text = text.replace("sudo -u safeguard ", "")
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("chown "))


def test_every_command_and_unit_in_the_guide_exists() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    commands = re.findall(r"^\s*sgd ([^#\n]+?)\s*(?:#.*)?$", text, flags=re.M)
    assert len(commands) >= 6, commands
    for command in commands:
        build_parser().parse_args(shlex.split(command))  # SystemExit if the CLI lost it
    named = set(re.findall(r"\bsafeguard[a-z@0-9-]*\.(?:service|timer|target)\b", text))
    assert named
    for unit in named:
        shipped = re.sub(r"@[^.]+\.", "@.", unit)
        assert (UNITS / shipped).exists(), f"docs/deploy.md names {unit}: not in deploy/systemd/"
    enabled = {u for line in lines(text, "systemctl enable") for u in line.split() if "." in u}
    timers = {p.name for p in UNITS.glob("*.timer")}
    assert timers <= enabled, f"timers the guide never enables: {timers - enabled}"


@pytest.fixture
def db_url(postgres_url: str) -> str:
    url = fresh_database(postgres_url)
    assert "&" not in url, "the env file is sourced by sh: a URL with & cannot go in it"
    return url


@pytest.mark.postgres
def test_the_guide_runs_on_loopback(tmp_path: Path, db_url: str) -> None:
    (tmp_path / "etc").mkdir(mode=0o750)
    (tmp_path / "var").mkdir(mode=0o700)
    (tmp_path / "systemd").mkdir()
    keys = moved(block("6", "concern.key"), tmp_path, db_url)
    env_file = moved(block("7", "cat > /etc/safeguard/env"), tmp_path, db_url)
    helper = moved(block("7", "sgd() {"), tmp_path, db_url)
    check = moved(block("9", "sgd health"), tmp_path, db_url)
    sgd = lines(helper, "sgd() {")[0]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAFEGUARD_", "TELEGRAM_"))}
    env.update(
        SAFEGUARD_NOW=NOW,
        REDIS_PASSWORD="not-used-here",
        PATH=f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}",
        RASA_TELEMETRY_ENABLED="false",
        PYTHONWARNINGS="ignore",
    )

    def bash(script: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["bash", "-c", f"set -u\n{script}"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip

    made = bash(f"set -e\n{keys}\n{env_file}")
    assert made.returncode == 0, made.stderr
    settings = (tmp_path / "etc" / "env").read_text()
    assert db_url in settings and "not-used-here" in settings
    for name in ("concern.key", "channel.secret", "action.secret", "roster.yml"):
        assert (tmp_path / "etc" / name).stat().st_mode & 0o777 == 0o600, name

    # Section 8 starts the pager and the action server; their start runs the migrations.
    from bot.records.migrate import upgrade

    upgrade(db_url)

    # Section 7's own checks, then section 9's up to the page (each one line of the guide).
    health, notify = lines(check, "sgd health")[0], lines(check, "sgd notify-failure")[0]
    first = bash(
        f"{sgd}\n"
        + "\n".join(f'{c}; echo "== $? {c}"' for c in lines(helper, "sgd "))
        + f'\n{health}; echo "== $? health"\n{notify}; echo "== $? notify"'
    )
    out = first.stdout
    assert "Traceback" not in out + first.stderr, first.stderr
    assert "== 0 sgd config" in out and "== 0 sgd packs check" in out, out + first.stderr
    assert re.search(r"== [01] sgd rota gaps", out), out
    # health: the database answers and someone is on call; no Rasa here, so exit 1.
    assert re.search(r"^ok\s+database\s+answers \(postgresql\)", out, flags=re.M), out
    assert re.search(r"^ok\s+rota\s+on call now: Alex", out, flags=re.M), out
    assert "== 1 health" in out
    assert "Paging the on-call lead: deploy-test failed (page 1" in out, out
    assert "== 0 notify" in out

    # The pager (not running here) would send it: one pass with a fake Telegram.
    sent = one_pager_pass(db_url)
    assert [(address, ref) for address, ref in sent] == [("910000101", "OPS-deploy-test")]

    rest = [lines(check, "sgd pages")[0], lines(check, "sgd pager ack")[0]]
    second = bash(f"{sgd}\n" + "\n".join(rest))
    assert second.returncode == 0, second.stdout + second.stderr
    assert "OPS-deploy-test" in second.stdout and "sent" in second.stdout, second.stdout
    assert "Acknowledged page 1 (OPS-deploy-test)" in second.stdout, second.stdout

    # Section 8: the units copied as the guide copies them, verified by its own command.
    units = moved(block("8", "systemd-analyze verify"), tmp_path, db_url)
    copy, verify = lines(units, "cp ")[0], lines(units, "systemd-analyze verify")[0]
    assert shutil.which("systemd-analyze"), "systemd-analyze is missing (apt-get install systemd)"
    for path in (tmp_path / "systemd").glob("*"):
        path.unlink()
    # Their ExecStart= must exist for verify: /opt/safeguard is this checkout here.
    result = bash(
        f"set -e\n{copy}\nsed -i 's|/opt/safeguard|{ROOT}|g' {tmp_path / 'systemd'}/*\n{verify}"
    )
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 0 and not output, output


def one_pager_pass(db_url: str) -> list[tuple[str, str]]:
    from bot.core.clock import parse_local
    from bot.paging.pager import Pager
    from bot.records.db import make_engine

    sent: list[tuple[str, str]] = []

    class FakeTelegram:
        name = "telegram"

        def send(self, message, address: str) -> None:  # noqa: ANN001
            sent.append((address, message.concern_ref))

    from bot.core.rota import load_roster

    engine = make_engine(db_url)
    try:
        pager = Pager(
            engine,
            roster=load_roster(ROOT / "deploy" / "roster.example.yml"),
            transports=[FakeTelegram()],
            clock=lambda: parse_local(NOW),
        )
        pager.deliver_due()
    finally:
        engine.dispose()
    return sent
