"""One settings object (bot/config/settings.py): every variable with its type, default and
meaning; read once per process; a bad value stops start-up in one line; secrets never shown;
the README's table generated from it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.config import secrets, settings
from bot.config.settings import Settings, SettingsError
from tests.conftest import ROOT

CANARY = "canary-secret-value-1234567890"


def cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot.commands.cli", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


# --------------------------------------------------------------------------- defaults, types


def test_defaults() -> None:
    made = Settings.from_environ({})
    assert made.org == "generic"
    assert made.now == "" and made.now_file is None
    assert made.incident_hours == 12.0
    assert (made.rate_burst, made.rate_per_minute) == (30.0, 60.0)
    assert (made.host, made.actions_host) == ("127.0.0.1", "127.0.0.1")
    assert made.reply_seconds is None and made.action_timeout_seconds is None
    assert made.dev_rest is False and made.teams_disabled is False
    assert made.var_path == ROOT / "var"
    assert made.database_url == f"sqlite:///{ROOT / 'var' / 'concerns.sqlite3'}"
    assert made.roster_path == ROOT / "deploy" / "roster.example.yml"
    assert made.key is None and made.text("SAFEGUARD_KEY") == ""


def test_types_and_trimming() -> None:
    made = Settings.from_environ(
        {
            "SAFEGUARD_INCIDENT_HOURS": " 2.5 ",
            "SAFEGUARD_DEV_REST": "1",
            "SAFEGUARD_TEAMS_DISABLED": "yes",
            "SAFEGUARD_VAR": "/srv/safeguard/var\n",
            "SAFEGUARD_FUZZ_EXAMPLES": "300",
            "SAFEGUARD_ORG": "  crasac ",
            "SAFEGUARD_NOW": "",  # empty is unset
            "TELEGRAM_BOT_TOKEN": f"  {CANARY}\n",
        }
    )
    assert made.incident_hours == 2.5
    assert made.dev_rest is True and made.teams_disabled is True
    assert made.var == Path("/srv/safeguard/var")
    assert made.fuzz_examples == 300
    assert made.org == "crasac"
    assert made.now == ""
    assert isinstance(made.telegram_bot_token, SecretStr)
    assert made.text("TELEGRAM_BOT_TOKEN") == CANARY


def test_every_field_has_a_variable_and_a_meaning() -> None:
    names = Settings.env_names()
    assert len(names) == len(Settings.__fields__)  # no two fields share a variable
    for field in Settings.__fields__.values():
        assert re.fullmatch(r"[A-Z][A-Z0-9_]+", field.field_info.extra["env"])
        meaning = field.field_info.description or ""
        assert meaning and "\n" not in meaning


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"SAFEGUARD_RATE_BURST": "lots"}, "SAFEGUARD_RATE_BURST"),
        ({"SAFEGUARD_RATE_PER_MINUTE": "-1"}, "SAFEGUARD_RATE_PER_MINUTE"),
        ({"SAFEGUARD_INCIDENT_HOURS": "a day"}, "SAFEGUARD_INCIDENT_HOURS"),
        ({"SAFEGUARD_INCIDENT_HOURS": "1000"}, "SAFEGUARD_INCIDENT_HOURS"),
        ({"SAFEGUARD_TEAMS_DISABLED": "maybe"}, "SAFEGUARD_TEAMS_DISABLED"),
        ({"SAFEGUARD_TRACKER_RETENTION_DAYS": "soon"}, "SAFEGUARD_TRACKER_RETENTION_DAYS"),
        ({"SAFEGUARD_FUZZ_SEED": "x"}, "SAFEGUARD_FUZZ_SEED"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable(env: dict, name: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_environ(env)
    message = str(caught.value)
    assert message.startswith(f"{name} must be ")
    assert repr(env[name]) in message
    assert "\n" not in message


def test_a_bad_value_stops_the_command_line_in_one_line() -> None:
    for args in (("config",), ("contacts",), ("rota", "now")):
        result = cli(*args, SAFEGUARD_RATE_BURST="lots")
        assert result.returncode == 2, result.stderr
        assert result.stderr == (
            "safeguard: SAFEGUARD_RATE_BURST must be a positive number, not 'lots'\n"
        )
        assert result.stdout == ""


def test_a_bad_value_stops_the_action_server_in_one_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.rasa.action_server"],
        cwd=ROOT,
        env={**os.environ, "SAFEGUARD_INCIDENT_HOURS": "a day"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "action server: SAFEGUARD_INCIDENT_HOURS must be a number of hours, more than 0 and "
        "at most 336, not 'a day'"
    ]


def test_a_bad_secret_is_named_but_never_shown() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_environ({"SAFEGUARD_TEAMS_DISABLED": CANARY, "SAFEGUARD_KEY": CANARY})
    assert "SAFEGUARD_TEAMS_DISABLED" in str(caught.value)
    assert str(caught.value).count(CANARY) == 1  # the flag's value; never the key


def test_the_fail_safe_bounds_never_stop_anything() -> None:
    made = Settings.from_environ(
        {"SAFEGUARD_REPLY_SECONDS": "soon", "SAFEGUARD_ACTION_TIMEOUT_SECONDS": "0"}
    )
    assert made.reply_seconds == settings.DEFAULT_REPLY_SECONDS
    assert made.action_timeout_seconds == settings.DEFAULT_ACTION_TIMEOUT_SECONDS
    assert Settings.from_environ({"SAFEGUARD_REPLY_SECONDS": "7"}).reply_seconds == 7.0


def test_the_fail_safe_bound_warns_once_when_read(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SAFEGUARD_REPLY_SECONDS", "soon")
    with caplog.at_level("WARNING", logger="bot.config.settings"):
        assert settings.current().reply_seconds == settings.DEFAULT_REPLY_SECONDS
        settings.current()
    assert [r.getMessage() for r in caplog.records] == [
        "SAFEGUARD_REPLY_SECONDS='soon' is not a number of seconds; using 15"
    ]


# --------------------------------------------------------------------------- once, and reload


def test_current_is_built_once_and_kept() -> None:
    assert settings.current() is settings.current()


def test_a_process_keeps_its_settings_until_reload() -> None:
    """Outside the tests (whose conftest follows the environment), a process reads its
    environment once: a later change is seen only after reload()."""
    code = (
        "import os\n"
        "from bot.config import settings\n"
        "before = settings.current().org\n"
        "os.environ['SAFEGUARD_ORG'] = 'crasac'\n"
        "kept = settings.current().org\n"
        "print(before, kept, settings.reload().org, settings.current().org)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "SAFEGUARD_ORG"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.stdout.split() == ["generic", "generic", "crasac", "crasac"], result.stderr


def test_reload_picks_up_the_monkeypatched_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.core import clock, pack

    first = settings.current()
    monkeypatch.setenv("SAFEGUARD_ORG", "crasac")
    monkeypatch.setenv("SAFEGUARD_NOW", "2026-12-04T16:45")
    assert settings.current() is not first
    assert settings.org() == "crasac" and pack.load_pack().org == "crasac"
    assert clock.now().isoformat() == "2026-12-04T16:45:00+00:00"
    monkeypatch.delenv("SAFEGUARD_ORG")
    assert settings.org() == "generic"
    monkeypatch.undo()
    assert settings.current().now == os.environ.get("SAFEGUARD_NOW", "").strip()


def test_reload_reads_the_environment_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFEGUARD_USER", "priya")
    assert settings.reload().user == "priya"
    assert settings.current().user == "priya"


def test_a_bad_value_fails_where_it_is_read_not_in_the_set_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.core import limits

    monkeypatch.setenv("SAFEGUARD_RATE_BURST", "lots")  # no error here
    with pytest.raises(ValueError, match="SAFEGUARD_RATE_BURST must be a positive number"):
        limits.RateLimiter()
    monkeypatch.setenv("SAFEGUARD_RATE_BURST", "3")
    assert limits.RateLimiter().burst == 3.0


# --------------------------------------------------------------------------- secrets


def test_every_secret_and_its_file_is_a_setting() -> None:
    names = Settings.env_names()
    for name in secrets.KNOWN:
        assert name in names and f"{name}_FILE" in names
        assert settings.is_secret(Settings.__fields__[names[name]])
        assert not settings.is_secret(Settings.__fields__[names[f"{name}_FILE"]])
    for field in Settings.__fields__.values():
        if settings.is_secret(field):
            assert field.type_ is SecretStr


SECRET_ENV = {
    "TELEGRAM_BOT_TOKEN": CANARY + "-t",
    "TEAMS_APP_PASSWORD": CANARY + "-p",
    "SAFEGUARD_KEY": CANARY + "-k",
    "SAFEGUARD_TELEGRAM_TOKEN": CANARY + "-o",
    "SAFEGUARD_DB_URL": f"postgresql+psycopg2://safeguard:{CANARY}@db.internal/concerns",
    "SAFEGUARD_LOCK_URL": f"redis://:{CANARY}@cache.internal:6379/1",
}


def test_secrets_are_never_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRET_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("TELEGRAM_WEBHOOK_SECRET", raising=False)
    monkeypatch.delenv("TELEGRAM_WEBHOOK_SECRET_FILE", raising=False)
    current = settings.current()
    assert CANARY not in repr(current) and CANARY not in str(current)
    assert CANARY not in json.dumps([row["value"] for row in current.rows()])
    rows = {row["name"]: row for row in current.rows()}
    assert rows["TELEGRAM_BOT_TOKEN"]["value"] == "(set, hidden)"
    assert rows["TELEGRAM_WEBHOOK_SECRET"]["value"] == "(not set)"
    assert rows["SAFEGUARD_DB_URL"]["value"] == (
        "postgresql+psycopg2://safeguard:***@db.internal/concerns"
    )
    assert rows["SAFEGUARD_LOCK_URL"]["value"] == "redis://:***@cache.internal:6379/1"
    # ...while the code that needs a secret still gets it.
    assert secrets.secret("TELEGRAM_BOT_TOKEN") == CANARY + "-t"


@pytest.mark.parametrize("shape", [(), ("--json",)])
def test_safeguard_config_hides_secrets(shape: tuple[str, ...]) -> None:
    result = cli("config", *shape, SAFEGUARD_ORG="crasac", **SECRET_ENV)
    assert result.returncode == 0, result.stderr
    assert CANARY not in result.stdout and CANARY not in result.stderr
    if shape:
        rows = {row["name"]: row for row in json.loads(result.stdout)}
        assert set(rows) == set(Settings.env_names())
        assert rows["TEAMS_APP_PASSWORD"] == {
            "name": "TEAMS_APP_PASSWORD",
            "value": "(set, hidden)",
            "set": True,
            "default": "none",
            "meaning": "the Teams channel's client secret (README, \"Run it on Teams\")",
            "secret": True,
        }
        assert rows["SAFEGUARD_ORG"]["value"] == "crasac"
        assert rows["SAFEGUARD_NOW_FILE"]["value"] == "(not set)"
    else:
        lines = result.stdout.splitlines()
        assert lines[0].split() == ["NAME", "VALUE", "DEFAULT", "MEANING"]
        assert len(lines) == 1 + len(Settings.__fields__)
        line = next(n for n in lines if n.startswith("SAFEGUARD_KEY "))
        assert "(set, hidden)" in line and "the encryption key" in line


def test_safeguard_config_help() -> None:
    result = cli("config", "--help")
    assert result.returncode == 0
    assert "--json" in result.stdout and "--markdown" in result.stdout


# --------------------------------------------------------------------------- the README


def test_the_readme_table_is_the_generated_one() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    begin, end = readme.index(settings.TABLE_BEGIN), readme.index(settings.TABLE_END)
    block = readme[begin + len(settings.TABLE_BEGIN) : end]
    assert block == "\n" + settings.markdown_table(), (
        "README.md's settings table is stale: run .venv/bin/python scripts/settings_table.py"
    )
    assert cli("config", "--markdown").stdout == settings.markdown_table()


def test_the_table_has_a_row_per_setting() -> None:
    table = settings.markdown_table()
    for name in Settings.env_names():
        assert f"| `{name}` |" in table


def code_files() -> list[Path]:
    found: list[Path] = []
    for folder in ("bot", "actions", "scripts", "bench"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix in (".py", ".sh") and "results" not in path.parts:
                found.append(path)
    return found


def test_every_variable_the_code_names_is_a_setting() -> None:
    known = set(Settings.env_names())
    named: dict[str, set[str]] = {}
    for path in code_files():
        for name in re.findall(r"SAFEGUARD_[A-Z_]+", path.read_text(encoding="utf-8")):
            named.setdefault(name.rstrip("_"), set()).add(str(path.relative_to(ROOT)))
    assert named, "no code files found"
    missing = {name: sorted(paths) for name, paths in named.items() if name not in known}
    assert not missing, f"add these to bot/config/settings.py (Settings): {missing}"


# Reading the environment is bot/config's job; these only hand an environment on to a child
# process or to a library that reads its own.
MAY_TOUCH_THE_ENVIRONMENT = {
    "bot/config/settings.py": "builds the settings",
    "bot/commands/processes.py": "the children's environment (child_env)",
    "bot/rasa/server.py": "SANIC_REQUEST_MAX_SIZE for Sanic",
    "bot/rasa/action_server.py": "SANIC_HOST for rasa_sdk",
}


def test_nothing_else_reads_the_environment() -> None:
    readers = set()
    for path in code_files():
        relative = str(path.relative_to(ROOT))
        if relative.startswith(("bot/", "actions/")):
            text = path.read_text(encoding="utf-8")
            if re.search(r"os\.environ|getenv\(", text):
                readers.add(relative)
    assert not readers - set(MAY_TOUCH_THE_ENVIRONMENT), sorted(readers)
