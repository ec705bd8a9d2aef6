"""Shared test set-up: every test runs against its own var/ folder and database.

Nothing here reaches beyond loopback. The clock is pinned per test with `pinned_clock`
or by passing `when=` explicitly.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import settings

# A throwaway PostgreSQL server on loopback, shared by every test that asks for it.
pytest_plugins = ["tests.pg_server"]

ROOT = Path(__file__).resolve().parent.parent


class _SettingsFollowTheEnvironment(type(os.environ)):
    """os.environ, except that changing a setting's variable makes the next
    `settings.current()` read the environment again.

    A process builds its settings once (bot/config/settings.py); tests change the environment
    as they go, with monkeypatch.setenv/delenv (and their undo) and now and then straight
    through os.environ, and expect the code to see it. Every such change goes through
    __setitem__ or __delitem__ (update, pop, setdefault and clear do too), so no test has to
    say so. Lazily: a bad value fails where the code next reads it, not in the set-up."""

    def __setitem__(self, key: str, value: str) -> None:
        super().__setitem__(key, value)
        if key in _SETTING_NAMES:
            settings.invalidate()

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        if key in _SETTING_NAMES:
            settings.invalidate()


_SETTING_NAMES = frozenset(settings.Settings.env_names())
os.environ.__class__ = _SettingsFollowTheEnvironment


@pytest.fixture(autouse=True)
def _fresh_settings() -> None:
    """Each test starts from settings read from the environment as it is now."""
    settings.invalidate()


def _seeds_dir() -> Path:
    """The organisations' policies every answer traces to: `../shared/seeds` beside the
    checkout (as in CI), or SAFEGUARD_SEEDS. Tests that check provenance need them and
    fail, never skip, without them."""
    if os.environ.get("SAFEGUARD_SEEDS"):
        return Path(os.environ["SAFEGUARD_SEEDS"])
    beside = ROOT.parent / "shared" / "seeds"
    return beside if beside.is_dir() else Path("/work/shared/seeds")


SEEDS_DIR = _seeds_dir()


@pytest.fixture(autouse=True, scope="session")
def _isolated_var(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep tests away from the developer's var/ (their concern log and key file)."""
    var = tmp_path_factory.mktemp("var")
    os.environ["SAFEGUARD_VAR"] = str(var)
    os.environ["SAFEGUARD_DB_URL"] = f"sqlite:///{var / 'concerns.sqlite3'}"
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    os.environ.pop("SAFEGUARD_ORG", None)
    os.environ.pop("SAFEGUARD_NOW", None)


@pytest.fixture
def pinned_clock(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    """Call with an ISO local time to pin `bot.core.clock.now()` for this test."""

    def pin(iso: str) -> None:
        monkeypatch.setenv("SAFEGUARD_NOW", iso)

    return pin


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


TRAINED_MODEL = ROOT / "models" / "safeguard.tar.gz"


@pytest.fixture(scope="session")
def trained_agent():  # noqa: ANN201
    """The trained Rasa model, loaded once for the tests that only parse text with it
    (loading takes about 30 s on this machine; each test file loading its own cost that
    much of `make test` again). Parse only: a test that handles whole turns loads its own
    agent after the project's Rasa patches are installed (tests/test_replies_rasa.py)."""
    if not TRAINED_MODEL.exists():
        pytest.fail(
            f"no trained model at {TRAINED_MODEL}: run `make train` (make test trains first)"
        )
    from rasa.core.agent import Agent  # heavy: Rasa and TensorFlow load only for these tests

    # Rasa's own model load, whatever this process has patched: this agent is also the
    # reference the faster load is compared with (tests/test_rasa_patches.py).
    with rasas_own_model_load():
        return Agent.load(str(TRAINED_MODEL))


@contextlib.contextmanager
def rasas_own_model_load() -> Iterator[None]:
    """Rasa's own `RasaModel.load` for the duration, even if bot.rasa.server installed its
    faster one in this process; ours is put back afterwards."""
    from bot.rasa import patches

    if not patches.is_replaced(patches.MODEL_LOAD):
        yield
        return
    owner, name = patches.MODEL_LOAD.owner()
    ours = vars(owner)[name]
    patches.restore(patches.MODEL_LOAD)
    try:
        yield
    finally:
        patches.replace(patches.MODEL_LOAD, ours)
